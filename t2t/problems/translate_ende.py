"""English-German WMT translation: translate_ende_wmt8k / 32k / characters (+ packed).

Corpora and URLs are T2T's (data spec, 4.2). The lists are module attributes so that tests
(or users with a local mirror) can point them elsewhere.
"""

from __future__ import annotations

from t2t import registry
from t2t.problems.problem import DatasetSplit
from t2t.problems.text_problems import VocabType
from t2t.problems.translate import TranslateProblem

ENDE_TRAIN_DATASETS = [
    [
        "http://data.statmt.org/wmt18/translation-task/training-parallel-nc-v13.tgz",
        (
            "training-parallel-nc-v13/news-commentary-v13.de-en.en",
            "training-parallel-nc-v13/news-commentary-v13.de-en.de",
        ),
    ],
    [
        "http://www.statmt.org/wmt13/training-parallel-commoncrawl.tgz",
        ("commoncrawl.de-en.en", "commoncrawl.de-en.de"),
    ],
    [
        "http://www.statmt.org/wmt13/training-parallel-europarl-v7.tgz",
        ("training/europarl-v7.de-en.en", "training/europarl-v7.de-en.de"),
    ],
]
ENDE_EVAL_DATASETS = [
    [
        "http://data.statmt.org/wmt17/translation-task/dev.tgz",
        ("dev/newstest2013.en", "dev/newstest2013.de"),
    ],
]


@registry.register_problem
class TranslateEndeWmt32k(TranslateProblem):
    """En-De on WMT (news-commentary v13, CommonCrawl, Europarl v7); dev newstest2013."""

    @property
    def additional_training_datasets(self) -> list:
        """Corpora a subclass adds to the training data (none here)."""
        return []

    def source_data_files(self, dataset_split: str) -> list:
        """The WMT training corpora for train (plus any additional ones); newstest2013 else."""
        if dataset_split == DatasetSplit.TRAIN:
            return ENDE_TRAIN_DATASETS + self.additional_training_datasets
        return ENDE_EVAL_DATASETS


@registry.register_problem
class TranslateEndeWmt8k(TranslateEndeWmt32k):
    """As translate_ende_wmt32k, with an 8k subword vocabulary."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**13)."""
        return 2**13


@registry.register_problem
class TranslateEndeWmtCharacters(TranslateEndeWmt8k):
    """Byte-level En-De (vocab 258, loss_multiplier 2)."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of subwords."""
        return VocabType.CHARACTER


@registry.register_problem
class TranslateEndeWmt32kPacked(TranslateEndeWmt32k):
    """translate_ende_wmt32k's examples packed into 256-token rows, with its vocabulary."""

    @property
    def packed_length(self) -> int:
        """Length of a packed row (256 tokens)."""
        return 256

    @property
    def use_vocab_from_other_problem(self):
        """The unpacked problem, whose vocabulary file this one uses."""
        return TranslateEndeWmt32k()


@registry.register_problem
class TranslateEndeWmt8kPacked(TranslateEndeWmt8k):
    """translate_ende_wmt8k's examples packed into 256-token rows, with its vocabulary."""

    @property
    def packed_length(self) -> int:
        """Length of a packed row (256 tokens)."""
        return 256

    @property
    def use_vocab_from_other_problem(self):
        """The unpacked problem, whose vocabulary file this one uses."""
        return TranslateEndeWmt8k()
