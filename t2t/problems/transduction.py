"""Transduction problems: copy, reverse and bigram-flip token sequences (Grefenstette et al.).

Text2Text problems over the tokens `sym_1..sym_N` with a token vocabulary. Lengths and
tokens come from Python's `random` (seeded by t2t-datagen), drawn in T2T's order. As in
T2T, `is_generate_per_split` is False, so only TRAIN-length samples are generated and
split 100:1 into train and dev shards (the EVAL lengths exist but go unused); the
constructor ignores was_reversed/was_copy.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from typing import Any

from t2t import registry
from t2t.data import text_encoder
from t2t.problems.problem import DatasetSplit
from t2t.problems.text_problems import Text2TextProblem, VocabType

MAX_GENERATOR_ATTEMPTS = 100


class TransductionProblem(Text2TextProblem):
    """Base: override `transpose_sequence` (and the length/sample tables for variants)."""

    def __init__(self, was_reversed: bool = False, was_copy: bool = False) -> None:
        del was_reversed, was_copy  # T2T ignores them for these problems
        super().__init__(was_reversed=False, was_copy=False)
        self.vocab = self.build_vocab()

    @property
    def num_symbols(self) -> int:
        """Vocabulary size: the tokens sym_1..sym_N (128)."""
        return 128

    def min_sequence_length(self, dataset_split: str) -> int:
        """Shortest sequence of a split (train 8, eval/test 65)."""
        return {DatasetSplit.TRAIN: 8, DatasetSplit.EVAL: 65, DatasetSplit.TEST: 65}[dataset_split]

    def max_sequence_length(self, dataset_split: str) -> int:
        """Longest sequence of a split (train 64, eval/test 128)."""
        return {DatasetSplit.TRAIN: 64, DatasetSplit.EVAL: 128, DatasetSplit.TEST: 128}[
            dataset_split
        ]

    def num_samples(self, dataset_split: str) -> int:
        """Number of samples generated for a split (train 1M, eval/test 10k)."""
        return {DatasetSplit.TRAIN: 1000000, DatasetSplit.EVAL: 10000, DatasetSplit.TEST: 10000}[
            dataset_split
        ]

    @property
    def num_shards(self) -> int:
        """Nominal shard count (unused, as in T2T: `dataset_splits` decides)."""
        return 10  # unused, as in T2T (dataset_splits decides)

    @property
    def is_generate_per_split(self) -> bool:
        """False: only train-length samples are generated, then split 100:1 into train and dev."""
        return False

    @property
    def vocab_type(self) -> str:
        """A token vocabulary (the `sym_*` tokens)."""
        return VocabType.TOKEN

    def sequence_length(self, dataset_split: str) -> int:
        """A length drawn uniformly from the split's [min, max] with Python's `random`."""
        return random.randint(
            self.min_sequence_length(dataset_split), self.max_sequence_length(dataset_split)
        )

    def build_vocab(self) -> list[str]:
        """The tokens `sym_1..sym_N`."""
        return [f"sym_{i}" for i in range(1, self.num_symbols + 1)]

    def get_or_create_vocab(self, data_dir: str | None, tmp_dir: str | None, force_get=False):
        """The stored token vocab, created (sorted `sym_*` + reserved) if missing."""
        if not data_dir:  # the vocabulary is fixed: no file needed to know it
            return text_encoder.TokenTextEncoder(None, vocab_list=sorted(self.vocab))
        path = os.path.join(data_dir, self.vocab_filename)
        if os.path.exists(path):
            return text_encoder.TokenTextEncoder(path, replace_oov=self.oov_token)
        encoder = text_encoder.TokenTextEncoder(None, vocab_list=sorted(self.vocab))
        os.makedirs(data_dir, exist_ok=True)
        encoder.store_to_file(path + ".incomplete")
        os.replace(path + ".incomplete", path)
        return encoder

    def generate_random_sequence(self, dataset_split: str) -> list[str]:
        """A random token sequence of `sequence_length(dataset_split)` tokens."""
        return [random.choice(self.vocab) for _ in range(self.sequence_length(dataset_split))]

    def transpose_sequence(self, input_sequence: list[str]) -> list[str]:
        """The target of a source sequence (defined by each problem)."""
        raise NotImplementedError()

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, Any]]:
        """{"inputs": source, "targets": transposed source} as space-joined tokens."""
        for _ in range(self.num_samples(dataset_split)):
            source = self.generate_random_sequence(dataset_split)
            target = self.transpose_sequence(source)
            yield {"inputs": " ".join(source), "targets": " ".join(target)}


class _SmallTables:
    """Lengths 4..16 (train) / 17..32 (eval, test); 100k train samples; 64 symbols."""

    @property
    def num_symbols(self) -> int:
        return 64

    def min_sequence_length(self, dataset_split: str) -> int:
        return {DatasetSplit.TRAIN: 4, DatasetSplit.EVAL: 17, DatasetSplit.TEST: 17}[dataset_split]

    def max_sequence_length(self, dataset_split: str) -> int:
        return {DatasetSplit.TRAIN: 16, DatasetSplit.EVAL: 32, DatasetSplit.TEST: 32}[dataset_split]

    def num_samples(self, dataset_split: str) -> int:
        return {DatasetSplit.TRAIN: 100000, DatasetSplit.EVAL: 10000, DatasetSplit.TEST: 10000}[
            dataset_split
        ]


@registry.register_problem
class CopySequence(TransductionProblem):
    """Targets are the inputs (lengths 8..64, 128 symbols)."""

    def transpose_sequence(self, input_sequence):
        """The sequence unchanged."""
        return input_sequence


@registry.register_problem
class CopySequenceSmall(_SmallTables, CopySequence):
    """copy_sequence with the small tables (lengths 4..16, 64 symbols, 100k samples)."""


@registry.register_problem
class ReverseSequence(TransductionProblem):
    """Targets are the inputs reversed (lengths 8..64, 128 symbols)."""

    def transpose_sequence(self, input_sequence):
        """The sequence reversed."""
        return input_sequence[::-1]


@registry.register_problem
class ReverseSequenceSmall(_SmallTables, ReverseSequence):
    """reverse_sequence with the small tables (lengths 4..16, 64 symbols, 100k samples)."""


@registry.register_problem
class FlipBiGramSequence(TransductionProblem):
    """Swap each pair: [x1, x0, x3, x2, ...] (even lengths only)."""

    def sequence_length(self, dataset_split: str) -> int:
        """An even length within the split's [min, max] (T2T's rounding)."""
        min_length = self.min_sequence_length(dataset_split)
        min_length += min_length % 2
        max_length = self.max_sequence_length(dataset_split)
        max_length -= max_length % 2
        length = random.randint(min_length, max_length)
        return length - (length % 2)

    def transpose_sequence(self, input_sequence):
        """Each pair of neighbours swapped."""
        return [
            input_sequence[i + 1] if i % 2 == 0 else input_sequence[i - 1]
            for i in range(len(input_sequence))
        ]
