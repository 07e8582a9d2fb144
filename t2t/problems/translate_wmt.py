"""Other translation pairs: en-fr, en-cs (WMT), en-zh (WMT, separate vocabs), en-vi (IWSLT).

Corpora and URLs are T2T's (data spec, 4.2); the lists are module attributes so that
tests or local mirrors can replace them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from t2t import registry
from t2t.data import text_encoder
from t2t.problems import generator_utils, text_problems
from t2t.problems.problem import DatasetSplit
from t2t.problems.translate import TranslateProblem, compile_data

# ----------------------------------------------------------------------------- en-fr

ENFR_TRAIN_SMALL_DATA = [
    [
        "https://s3.amazonaws.com/opennmt-trainingdata/baseline-1M-enfr.tgz",
        ("baseline-1M-enfr/baseline-1M_train.en", "baseline-1M-enfr/baseline-1M_train.fr"),
    ],
]
ENFR_TEST_SMALL_DATA = [
    [
        "https://s3.amazonaws.com/opennmt-trainingdata/baseline-1M-enfr.tgz",
        ("baseline-1M-enfr/baseline-1M_valid.en", "baseline-1M-enfr/baseline-1M_valid.fr"),
    ],
]
ENFR_TRAIN_LARGE_DATA = [
    [
        "http://www.statmt.org/wmt13/training-parallel-commoncrawl.tgz",
        ("commoncrawl.fr-en.en", "commoncrawl.fr-en.fr"),
    ],
    [
        "http://www.statmt.org/wmt13/training-parallel-europarl-v7.tgz",
        ("training/europarl-v7.fr-en.en", "training/europarl-v7.fr-en.fr"),
    ],
    [
        "http://www.statmt.org/wmt14/training-parallel-nc-v9.tgz",
        ("training/news-commentary-v9.fr-en.en", "training/news-commentary-v9.fr-en.fr"),
    ],
    [
        "http://www.statmt.org/wmt10/training-giga-fren.tar",
        ("giga-fren.release2.fixed.en.gz", "giga-fren.release2.fixed.fr.gz"),
    ],
    [
        "http://www.statmt.org/wmt13/training-parallel-un.tgz",
        ("un/undoc.2000.fr-en.en", "un/undoc.2000.fr-en.fr"),
    ],
]
ENFR_TEST_LARGE_DATA = [
    [
        "http://data.statmt.org/wmt17/translation-task/dev.tgz",
        ("dev/newstest2013.en", "dev/newstest2013.fr"),
    ],
]


@registry.register_problem
class TranslateEnfrWmtSmall8k(TranslateProblem):
    """En-Fr on OpenNMT's 1M-pair baseline corpus, 8k subwords."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**13)."""
        return 2**13

    @property
    def use_small_dataset(self) -> bool:
        """True: OpenNMT's 1M-pair corpus; False: the full WMT corpora."""
        return True

    def source_data_files(self, dataset_split: str) -> list:
        """Train: the training corpora (small or large); else: the dev corpora."""
        train = dataset_split == DatasetSplit.TRAIN
        if self.use_small_dataset:
            return ENFR_TRAIN_SMALL_DATA if train else ENFR_TEST_SMALL_DATA
        return ENFR_TRAIN_LARGE_DATA if train else ENFR_TEST_LARGE_DATA

    def vocab_data_files(self) -> list:
        """The training corpora (small or large) the vocabulary is sampled from."""
        return ENFR_TRAIN_SMALL_DATA if self.use_small_dataset else ENFR_TRAIN_LARGE_DATA


@registry.register_problem
class TranslateEnfrWmtSmall32k(TranslateEnfrWmtSmall8k):
    """As translate_enfr_wmt_small8k, with a 32k subword vocabulary."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**15)."""
        return 2**15


@registry.register_problem
class TranslateEnfrWmt8k(TranslateEnfrWmtSmall8k):
    """En-Fr on the full WMT corpora (CommonCrawl, Europarl, NC v9, Giga, UN)."""

    @property
    def use_small_dataset(self) -> bool:
        """False: the full WMT training corpora."""
        return False


@registry.register_problem
class TranslateEnfrWmt32k(TranslateEnfrWmt8k):
    """As translate_enfr_wmt8k, with a 32k subword vocabulary."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**15)."""
        return 2**15


@registry.register_problem
class TranslateEnfrWmtSmallCharacters(TranslateEnfrWmtSmall8k):
    """As translate_enfr_wmt_small8k, over characters."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of subwords."""
        return text_problems.VocabType.CHARACTER


@registry.register_problem
class TranslateEnfrWmtCharacters(TranslateEnfrWmt8k):
    """As translate_enfr_wmt8k, over characters."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of subwords."""
        return text_problems.VocabType.CHARACTER


# ----------------------------------------------------------------------------- en-cs

ENCS_TRAIN_DATASETS = [
    [
        "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/"
        "11234/1-1458/data-plaintext-format.tar",
        ("tsv", 3, 2, "data.plaintext-format/*train.gz"),
    ],
    [
        "http://data.statmt.org/wmt18/translation-task/training-parallel-nc-v13.tgz",
        (
            "training-parallel-nc-v13/news-commentary-v13.cs-en.en",
            "training-parallel-nc-v13/news-commentary-v13.cs-en.cs",
        ),
    ],
    [
        "http://www.statmt.org/wmt13/training-parallel-commoncrawl.tgz",
        ("commoncrawl.cs-en.en", "commoncrawl.cs-en.cs"),
    ],
    [
        "http://www.statmt.org/wmt13/training-parallel-europarl-v7.tgz",
        ("training/europarl-v7.cs-en.en", "training/europarl-v7.cs-en.cs"),
    ],
]
ENCS_TEST_DATASETS = [
    [
        "http://data.statmt.org/wmt17/translation-task/dev.tgz",
        ("dev/newstest2013.en", "dev/newstest2013.cs"),
    ],
]


@registry.register_problem
class TranslateEncsWmt32k(TranslateProblem):
    """En-Cs on CzEng 1.6 (tsv), news-commentary v13, CommonCrawl, Europarl v7."""

    def source_data_files(self, dataset_split: str) -> list:
        """Train: the WMT En-Cs training corpora; else: the dev corpora."""
        return ENCS_TRAIN_DATASETS if dataset_split == DatasetSplit.TRAIN else ENCS_TEST_DATASETS

    def vocab_data_files(self) -> list:
        """The training corpora the vocabulary is sampled from (CzEng read from its compiled
        files, as T2T)."""
        # CzEng is tsv: the vocab samples the compiled training files instead (as T2T).
        datasets = self.source_data_files(DatasetSplit.TRAIN)
        vocab_datasets = []
        if datasets[0][0].endswith("data-plaintext-format.tar"):
            compiled = f"{self.name}-compiled-train"
            vocab_datasets.append([datasets[0][0], [compiled + ".lang1", compiled + ".lang2"]])
            datasets = datasets[1:]
        return vocab_datasets + [[d[0], [d[1][0], d[1][1]]] for d in datasets]


@registry.register_problem
class TranslateEncsWmtCharacters(TranslateProblem):
    """En-Cs over characters, on the same corpora as translate_encs_wmt32k."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of subwords."""
        return text_problems.VocabType.CHARACTER

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, Any]]:
        """{"inputs": English, "targets": Czech} of the split's compiled corpora."""
        train = dataset_split == DatasetSplit.TRAIN
        datasets = ENCS_TRAIN_DATASETS if train else ENCS_TEST_DATASETS
        path = compile_data(tmp_dir, datasets, "wmt_encs_chr_%s" % ("train" if train else "dev"))
        return text_problems.text2text_txt_iterator(path + ".lang1", path + ".lang2")


# ----------------------------------------------------------------------------- en-zh

_STAT_MT_URL = "http://data.statmt.org/wmt18/translation-task/"
ENZH_NC_TRAIN_DATASETS = [
    [
        _STAT_MT_URL + "training-parallel-nc-v13.tgz",
        [
            "training-parallel-nc-v13/news-commentary-v13.zh-en.en",
            "training-parallel-nc-v13/news-commentary-v13.zh-en.zh",
        ],
    ]
]
ENZH_NC_TEST_DATASETS = [
    [
        _STAT_MT_URL + "dev.tgz",
        ("dev/newsdev2017-enzh-src.en.sgm", "dev/newsdev2017-enzh-ref.zh.sgm"),
    ]
]
ENZH_UN_TRAIN_DATASETS = [
    [
        "https://s3-us-west-2.amazonaws.com/twairball.wmt17.zh-en/UNv1.0.en-zh.tar.gz",
        ["en-zh/UNv1.0.en-zh.en", "en-zh/UNv1.0.en-zh.zh"],
    ]
]
_CWMT_URL = "https://s3-us-west-2.amazonaws.com/twairball.wmt17.zh-en/cwmt.tgz"
ENZH_CWMT_TRAIN_DATASETS = [
    [_CWMT_URL, [f"cwmt/{en}", f"cwmt/{zh}"]]
    for en, zh in [
        ("casia2015/casia2015_en.txt", "casia2015/casia2015_ch.txt"),
        ("casict2015/casict2015_en.txt", "casict2015/casict2015_ch.txt"),
        ("neu2017/NEU_en.txt", "neu2017/NEU_cn.txt"),
        ("datum2015/datum_en.txt", "datum2015/datum_ch.txt"),
    ]
    + [(f"datum2017/Book{i}_en.txt", f"datum2017/Book{i}_cn.txt") for i in range(1, 21)]
]


@registry.register_problem
class TranslateEnzhWmt32k(TranslateProblem):
    """En-Zh on news-commentary v13 (+ CWMT and UN if their archives are in tmp_dir).

    Separate source and target vocabularies: `vocab.<name>.32768.subwords.en` / `.zh`.
    """

    @property
    def source_vocab_name(self) -> str:
        """File name of the English subword vocabulary."""
        return f"{self.vocab_filename}.en"

    @property
    def target_vocab_name(self) -> str:
        """File name of the Chinese subword vocabulary."""
        return f"{self.vocab_filename}.zh"

    def get_training_dataset(self, tmp_dir: str) -> list:
        """News-commentary, plus the CWMT and UN corpora when their archives are already
        in `tmp_dir` (put there by hand, as in T2T)."""
        datasets = list(ENZH_NC_TRAIN_DATASETS)
        for extra in (ENZH_CWMT_TRAIN_DATASETS, ENZH_UN_TRAIN_DATASETS):
            if os.path.exists(os.path.join(tmp_dir, extra[0][0].split("/")[-1])):
                datasets += extra
        return datasets

    def generate_encoded_samples(self, data_dir, tmp_dir, dataset_split):
        """Encoded pairs of the split, with a separate vocabulary built for each side."""
        train = dataset_split == DatasetSplit.TRAIN
        train_dataset = self.get_training_dataset(tmp_dir)
        datasets = train_dataset if train else ENZH_NC_TEST_DATASETS
        vocabs = [
            generator_utils.get_or_generate_vocab(
                data_dir,
                tmp_dir,
                name,
                self.approx_vocab_size,
                [[item[0], [item[1][side]]] for item in train_dataset],
                file_byte_budget=1e8,
                max_subtoken_length=self.max_subtoken_length,
            )
            for side, name in ((0, self.source_vocab_name), (1, self.target_vocab_name))
        ]
        tag = "train" if train else "dev"
        path = compile_data(tmp_dir, datasets, f"wmt_enzh_{self.approx_vocab_size}k_tok_{tag}")
        return text_problems.text2text_generate_encoded(
            text_problems.text2text_txt_iterator(path + ".lang1", path + ".lang2"), *vocabs
        )

    def feature_encoders(self, data_dir):
        """{"inputs": English subword encoder, "targets": Chinese subword encoder}."""
        paths = [
            os.path.join(data_dir or "", n)
            for n in (self.source_vocab_name, self.target_vocab_name)
        ]
        for path in paths:
            text_problems._require_vocab(self, path if data_dir else None)
        return {
            "inputs": text_encoder.SubwordTextEncoder(paths[0]),
            "targets": text_encoder.SubwordTextEncoder(paths[1]),
        }


@registry.register_problem
class TranslateEnzhWmt8k(TranslateEnzhWmt32k):
    """Toy En-Zh: news-commentary only, 8k vocabs, 10 train shards."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of each subword vocabulary (2**13)."""
        return 2**13

    @property
    def dataset_splits(self) -> list:
        """10 train shards and 1 dev shard."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 10},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]

    def get_training_dataset(self, tmp_dir: str) -> list:
        """News-commentary only."""
        return list(ENZH_NC_TRAIN_DATASETS)


# ----------------------------------------------------------------------------- en-vi

ENVI_TRAIN_DATASETS = [
    [
        "https://github.com/stefan-it/nmt-en-vi/raw/master/data/train-en-vi.tgz",
        ("train.en", "train.vi"),
    ]
]
ENVI_TEST_DATASETS = [
    [
        "https://github.com/stefan-it/nmt-en-vi/raw/master/data/dev-2012-en-vi.tgz",
        ("tst2012.en", "tst2012.vi"),
    ]
]


@registry.register_problem
class TranslateEnviIwslt32k(TranslateProblem):
    """En-Vi on IWSLT'15 (~133k pairs); dev tst2012."""

    def source_data_files(self, dataset_split: str) -> list:
        """Train: the IWSLT'15 training corpus; else: tst2012."""
        return ENVI_TRAIN_DATASETS if dataset_split == DatasetSplit.TRAIN else ENVI_TEST_DATASETS
