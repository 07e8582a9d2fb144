"""Language modelling: PTB (10k words / characters), LM1B (32k / 8k subwords, characters),
WikiText-103 (tokens / characters). Corpora, URLs and vocabularies as in T2T (data spec, 4.3).

URLs are module attributes (tests and local mirrors replace them). Departure: an LM1B tarball
placed in tmp_dir by hand is extracted (T2T extracted only after downloading). T2T quirk kept on
purpose: `languagemodel_ptb10k`'s vocab file has no reserved lines, so the most frequent
word gets id 0 (= padding) and the second id 1 (= EOS); files stay compatible with T2T.
"""

from __future__ import annotations

import collections
import glob
import os
import tarfile
from collections.abc import Iterator
from typing import Any

from t2t import registry
from t2t.data import text_encoder
from t2t.errors import DataError
from t2t.problems import generator_utils, safe_extract
from t2t.problems.problem import DatasetSplit, TaskID
from t2t.problems.text_problems import Text2SelfProblem, VocabType

EOS = text_encoder.EOS

# ----------------------------------------------------------------------------- PTB

PTB_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"


def _ptb_words(filename: str) -> list[str]:
    with open(filename, encoding="utf-8") as f:
        return f.read().replace("\n", f" {EOS} ").split()


def _build_ptb_vocab(filename: str, vocab_path: str, vocab_size: int) -> None:
    """The `vocab_size` most frequent words (ties by word), one per line, no reserved lines."""
    counts = collections.Counter(_ptb_words(filename))
    words = [w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))][:vocab_size]
    with open(vocab_path + ".incomplete", "w", encoding="utf-8") as f:
        f.write("\n".join(words))
    os.replace(vocab_path + ".incomplete", vocab_path)


def _maybe_download_ptb(tmp_dir: str, vocab_type: str) -> list[str]:
    """Downloads and extracts the PTB `.txt` members; returns the word or char file names."""
    archive = generator_utils.maybe_download(tmp_dir, os.path.basename(PTB_URL), PTB_URL)
    word_files, char_files = [], []
    with tarfile.open(archive, "r:gz") as tgz:
        members = [m for m in tgz.getmembers() if "ptb" in m.name and ".txt" in m.name]
    for member in members:
        (char_files if "char" in member.name else word_files).append(member.name)
    safe_extract.extract_tar(archive, tmp_dir, members=members)
    return char_files if vocab_type == VocabType.CHARACTER else word_files


@registry.register_problem
class LanguagemodelPtb10k(Text2SelfProblem):
    """Penn Treebank words (Mikolov's version), 10k-word vocab, 10 train shards."""

    @property
    def dataset_splits(self) -> list[dict[str, Any]]:
        """10 train shards and 1 dev shard."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 10},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]

    @property
    def is_generate_per_split(self) -> bool:
        """True: train and dev come from the PTB train and valid files."""
        return True

    @property
    def vocab_filename(self) -> str:
        """The word vocabulary file (the 10,000 most frequent train words, no reserved ids)."""
        return "vocab.lmptb.10000"

    @property
    def vocab_type(self) -> str:
        """A token vocabulary (words)."""
        return VocabType.TOKEN

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, str]]:
        """{"targets": line} of the split's PTB file, each line ending in a literal "<EOS>";
        builds the vocabulary from the train file first if it is missing."""
        files = _maybe_download_ptb(tmp_dir, self.vocab_type)
        train_file = next((os.path.join(tmp_dir, f) for f in files if "train" in f), None)
        valid_file = next((os.path.join(tmp_dir, f) for f in files if "valid" in f), None)
        if not (train_file and valid_file):
            raise DataError(f"{PTB_URL}: no ptb train/valid .txt files in the archive")
        vocab_path = os.path.join(data_dir, self.vocab_filename)
        if not os.path.exists(vocab_path):
            os.makedirs(data_dir, exist_ok=True)
            _build_ptb_vocab(train_file, vocab_path, 10000)
        path = train_file if dataset_split == DatasetSplit.TRAIN else valid_file

        def samples() -> Iterator[dict[str, str]]:
            """One sample per line, ending in the EOS token as in T2T's PTB reader."""
            with open(path, encoding="utf-8") as f:
                for line in f:
                    yield {"targets": " ".join(line.replace("\n", f" {EOS} ").split())}

        return samples()


@registry.register_problem
class LanguagemodelPtbCharacters(LanguagemodelPtb10k):
    """PTB characters (the ptb.char.* files), byte vocabulary."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of words."""
        return VocabType.CHARACTER


# ----------------------------------------------------------------------------- LM1B

LM1B_CORPUS_URL = (
    "http://www.statmt.org/lm-benchmark/1-billion-word-language-modeling-benchmark-r13output.tar.gz"
)
LM1B_VOCAB_URL = "http://download.tensorflow.org/models/LM_LSTM_CNN/vocab-2016-09-10.txt"
_LM1B_DIR = "1-billion-word-language-modeling-benchmark-r13output"


def _lm1b_original_vocab(tmp_dir: str) -> set[str]:
    filename = os.path.basename(LM1B_VOCAB_URL + ".en")
    path = generator_utils.maybe_download(tmp_dir, filename, LM1B_VOCAB_URL)
    with open(path, encoding="utf-8") as f:
        return {line.strip() for line in f}


def _lm1b_files(tmp_dir: str, split: str) -> list[str]:
    if split == DatasetSplit.TRAIN:
        return [
            os.path.join(tmp_dir, _LM1B_DIR, "training-monolingual.tokenized.shuffled",
                         f"news.en-{i:05d}-of-00100")
            for i in range(1, 100)
        ]  # fmt: skip
    return [
        os.path.join(tmp_dir, _LM1B_DIR, "heldout-monolingual.tokenized.shuffled",
                     "news.en.heldout-00000-of-00050")
    ]  # fmt: skip


def _maybe_download_lm1b(tmp_dir: str) -> None:
    path = generator_utils.maybe_download(
        tmp_dir, os.path.basename(LM1B_CORPUS_URL), LM1B_CORPUS_URL
    )
    # T2T extracted only right after downloading, so a tarball placed in tmp_dir by hand
    # made it fail on the first missing file; we extract whenever the corpus is missing.
    if not os.path.isdir(os.path.join(tmp_dir, _LM1B_DIR)):
        generator_utils.extract_tar(path, tmp_dir)


@registry.register_problem
class LanguagemodelLm1b32k(Text2SelfProblem):
    """One Billion Word benchmark, 32k subwords; words outside its vocab become "UNK"."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**15)."""
        return 2**15

    @property
    def max_samples_for_vocab(self) -> int:
        """Sentences read to build the subword vocabulary (63,000)."""
        return 63000

    @property
    def is_generate_per_split(self) -> bool:
        """True: train reads the training shards, dev the first held-out shard."""
        return True

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, str]]:
        """{"targets": sentence} of the split, words outside the original LM1B vocab as "UNK"."""
        _maybe_download_lm1b(tmp_dir)
        vocab = _lm1b_original_vocab(tmp_dir)
        for path in _lm1b_files(tmp_dir, dataset_split):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    words = [w if w in vocab else "UNK" for w in line.split()]
                    yield {"targets": " ".join(words)}


@registry.register_problem
class LanguagemodelLm1b8k(LanguagemodelLm1b32k):
    """As languagemodel_lm1b32k, with an 8k subword vocabulary."""

    @property
    def approx_vocab_size(self) -> int:
        """Target size of the subword vocabulary (2**13)."""
        return 2**13


@registry.register_problem
class LanguagemodelLm1bCharacters(LanguagemodelLm1b32k):
    """As languagemodel_lm1b32k, over characters."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of subwords."""
        return VocabType.CHARACTER

    def global_task_id(self) -> int:
        """T2T's task id for English characters."""
        return TaskID.EN_CHR


# ----------------------------------------------------------------------------- WikiText-103

WIKITEXT103_URL = "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-v1.zip"
WIKITEXT103_RAW_URL = (
    "https://s3.amazonaws.com/research.metamind.io/wikitext/wikitext-103-raw-v1.zip"
)


def _maybe_download_wikitext(tmp_dir: str, vocab_type: str) -> dict[str, str]:
    """{split: file} for the token (or, for characters, raw) WikiText-103 release."""
    if vocab_type == VocabType.CHARACTER:
        url, dir_name = WIKITEXT103_RAW_URL, "wikitext-103-raw"
    else:
        url, dir_name = WIKITEXT103_URL, "wikitext-103"
    archive = generator_utils.maybe_download(tmp_dir, os.path.basename(url), url)
    safe_extract.extract_zip(archive, tmp_dir)
    found = {}
    for path in sorted(glob.glob(os.path.join(tmp_dir, dir_name, "*"))):
        name = os.path.basename(path)
        for key, split in (("train", DatasetSplit.TRAIN), ("valid", DatasetSplit.EVAL),
                           ("test", DatasetSplit.TEST)):  # fmt: skip
            if key in name:
                found[split] = path
                break
    missing = {DatasetSplit.TRAIN, DatasetSplit.EVAL, DatasetSplit.TEST} - set(found)
    if missing:
        raise DataError(f"{archive}: no {', '.join(sorted(missing))} file in {dir_name}/")
    return found


def _build_wikitext_vocab(filename: str, vocab_path: str) -> None:
    """Every token of the train file by (-count, token), after <pad>, <EOS>."""
    with open(filename, encoding="utf-8") as f:
        counts = collections.Counter(f.read().split())
    words = [w for w, _ in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]
    encoder = text_encoder.TokenTextEncoder(None, vocab_list=words)
    encoder.store_to_file(vocab_path + ".incomplete")
    os.replace(vocab_path + ".incomplete", vocab_path)


@registry.register_problem
class LanguagemodelWikitext103(Text2SelfProblem):
    """WikiText-103 tokens; 10 train, 1 dev, 1 test shard; vocab = all train tokens."""

    @property
    def dataset_splits(self) -> list[dict[str, Any]]:
        """10 train shards, 1 dev shard and 1 test shard."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 10},
            {"split": DatasetSplit.EVAL, "shards": 1},
            {"split": DatasetSplit.TEST, "shards": 1},
        ]

    @property
    def is_generate_per_split(self) -> bool:
        """True: each split has its own WikiText-103 file."""
        return True

    @property
    def vocab_type(self) -> str:
        """A token vocabulary (every train token)."""
        return VocabType.TOKEN

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, str]]:
        """{"targets": line} of the split's non-empty lines (whitespace normalised); for
        train, builds the token vocabulary from the train file first if it is missing."""
        files = _maybe_download_wikitext(tmp_dir, self.vocab_type)
        path = files[dataset_split]
        vocab_path = os.path.join(data_dir, self.vocab_filename)
        if dataset_split == DatasetSplit.TRAIN and self.vocab_type == VocabType.TOKEN:
            if not os.path.exists(vocab_path):
                os.makedirs(data_dir, exist_ok=True)
                _build_wikitext_vocab(path, vocab_path)

        def samples() -> Iterator[dict[str, str]]:
            """One sample per non-empty line, whitespace collapsed."""
            with open(path, encoding="utf-8") as f:
                for line in f:
                    line = " ".join(line.strip().split())
                    if line:
                        yield {"targets": line}

        return samples()


@registry.register_problem
class LanguagemodelWikitext103Characters(LanguagemodelWikitext103):
    """As languagemodel_wikitext103, over characters of the raw release."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of tokens."""
        return VocabType.CHARACTER
