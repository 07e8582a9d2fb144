"""Algorithmic problems: identity, shift, reverse, addition, multiplication, sort.

Their case generators are in `algorithmic_generators` (re-exported here), the cipher
problems in `cipher` (T2T's module layout).

Data is bit-for-bit what T2T's t2t-datagen writes: generators draw from NumPy's global
RNG in T2T's order (t2t-datagen seeds it with --random_seed=429459 before each problem),
every symbol is shifted by the 2 reserved ids and EOS=1 is appended, and example k goes to
train shard k % num_shards (no shuffling). Pass `rng=np.random.RandomState(seed)` to a
generator to draw from a private RNG instead.

T2T quirk: addition/multiplication use the separator symbol `base` and the nlp-like
reverse can draw symbol `num_symbols`, i.e. id `num_symbols + 2`, one past T2T's declared
vocab_size. The files keep those ids (as the original's). Addition and multiplication use
the separator in every example, so we declare their vocab_size one larger (deliberate
departure). The nlp-like reverse problems keep T2T's vocab_size (8002 / 32002, so a model
has the original's parameter count): the top symbol is rare (4 of 3.6M train tokens, none
in dev) and its id is read as PAD (0), which is what T2T's GPU run sees (an out-of-range
lookup gives a zero embedding, which the encoder takes for padding).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from t2t import registry
from t2t.data import text_encoder
from t2t.problems import generator_utils

# The generators live in algorithmic_generators.py; T2T code calls them from here.
from t2t.problems.algorithmic_generators import (  # noqa: F401 - re-exported
    Case,
    addition_generator,
    identity_generator,
    lower_endian_to_number,
    multiplication_generator,
    number_to_lower_endian,
    random_number_lower_endian,
    reverse_generator,
    reverse_generator_nlplike,
    shift_generator,
    sort_generator,
    zipf_distribution,
    zipf_random_sample,
)
from t2t.problems.problem import Metrics, ModalityType, Problem, SpaceID


class AlgorithmicProblem(Problem):
    """Base: `num_symbols`, `generator(nbr_symbols, max_length, nbr_cases)` and sizes."""

    @property
    def num_symbols(self) -> int:
        """Number of symbols (ids 2..num_symbols+1 after the reserved PAD and EOS)."""
        raise NotImplementedError()

    def generator(self, nbr_symbols: int, max_length: int, nbr_cases: int) -> Iterator[Case]:
        """Cases {"inputs": [...], "targets": [...]} over symbols 0..nbr_symbols-1."""
        raise NotImplementedError()

    @property
    def train_length(self) -> int:
        """Longest training sequence (40)."""
        return 40

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (400)."""
        return 400

    @property
    def train_size(self) -> int:
        """Number of training cases (100,000)."""
        return 100000

    @property
    def dev_size(self) -> int:
        """Number of dev cases (10,000)."""
        return 10000

    @property
    def num_shards(self) -> int:
        """Number of training shards (10; dev has 1)."""
        return 10

    @property
    def extra_symbols(self) -> int:
        """Ids used on disk beyond num_symbols (see the module docstring)."""
        return 0

    def generate_data(self, data_dir: str, tmp_dir: str | None = None, task_id: int = -1) -> None:
        """Writes the train and dev shards: symbols shifted by 2, EOS appended, case k in
        train shard k % num_shards, no shuffling (as T2T)."""
        del tmp_dir, task_id
        generator_utils.generate_dataset_and_shuffle(
            self._generator_eos(self.num_symbols, self.train_length, self.train_size),
            self.training_filepaths(data_dir, self.num_shards, shuffled=True),
            self._generator_eos(self.num_symbols, self.dev_length, self.dev_size),
            self.dev_filepaths(data_dir, 1, shuffled=True),
            shuffle=False,
        )

    def _generator_eos(self, nbr_symbols: int, max_length: int, nbr_cases: int) -> Iterator[Case]:
        """Shifts every symbol by the reserved ids and appends EOS (lazily, like T2T)."""
        shift = text_encoder.NUM_RESERVED_TOKENS
        for case in self.generator(nbr_symbols, max_length, nbr_cases):
            yield {
                name: [int(i) + shift for i in values] + [text_encoder.EOS_ID]
                for name, values in case.items()
            }

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """Symbol modalities of num_symbols + 2 (+ extra_symbols) ids, digit space ids."""
        vocab_size = self.num_symbols + text_encoder.NUM_RESERVED_TOKENS + self.extra_symbols
        defaults.modality = {"inputs": ModalityType.SYMBOL, "targets": ModalityType.SYMBOL}
        defaults.vocab_size = {"inputs": vocab_size, "targets": vocab_size}
        defaults.input_space_id = SpaceID.DIGIT_0
        defaults.target_space_id = SpaceID.DIGIT_1


# ----------------------------------------------------------------------------- problems


@registry.register_problem
class AlgorithmicIdentityBinary40(AlgorithmicProblem):
    """Copy a binary sequence."""

    @property
    def num_symbols(self) -> int:
        """Two symbols."""
        return 2

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Targets equal the inputs."""
        return identity_generator(nbr_symbols, max_length, nbr_cases)


@registry.register_problem
class AlgorithmicIdentityDecimal40(AlgorithmicIdentityBinary40):
    """Identity over 10 symbols."""

    @property
    def num_symbols(self) -> int:
        """Ten symbols."""
        return 10


@registry.register_problem
class AlgorithmicIdentityVocab95Train20Eval30(AlgorithmicIdentityBinary40):
    """Identity over 95 symbols; train length 20, dev length 30, 1M training cases."""

    @property
    def num_symbols(self) -> int:
        """95 symbols."""
        return 95

    @property
    def train_length(self) -> int:
        """Longest training sequence (20)."""
        return 20

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (30)."""
        return 30

    @property
    def train_size(self) -> int:
        """Number of training cases (1,000,000)."""
        return 1000000


@registry.register_problem
class AlgorithmicShiftDecimal40(AlgorithmicProblem):
    """Add 10 to each of 0..9."""

    @property
    def num_symbols(self) -> int:
        """20 symbols: the inputs use 0..9, the targets 10..19."""
        return 20

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Each target symbol is its input symbol + 10."""
        return shift_generator(nbr_symbols, 10, max_length, nbr_cases)

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (80)."""
        return 80


@registry.register_problem
class AlgorithmicReverseBinary40(AlgorithmicProblem):
    """Reverse a binary sequence."""

    @property
    def num_symbols(self) -> int:
        """Two symbols."""
        return 2

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Targets are the inputs reversed."""
        return reverse_generator(nbr_symbols, max_length, nbr_cases)


@registry.register_problem
class AlgorithmicReverseDecimal40(AlgorithmicReverseBinary40):
    """Reverse over 10 symbols."""

    @property
    def num_symbols(self) -> int:
        """Ten symbols."""
        return 10


@registry.register_problem
class AlgorithmicReverseNlplike8k(AlgorithmicProblem):
    """Reverse Zipf-distributed sequences (8000 symbols, alpha 1.3)."""

    @property
    def num_symbols(self) -> int:
        """8000 symbols."""
        return 8000

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Zipf-distributed symbols (alpha 1.3), lengths around 35; targets reversed."""
        return reverse_generator_nlplike(nbr_symbols, max_length, nbr_cases, 10, 1.300)

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> Any:
        """Reads the generator's rare top id (one past T2T's vocab) as PAD, then T2T's common
        preprocessing (see the module docstring)."""
        vocab_size = self.num_symbols + text_encoder.NUM_RESERVED_TOKENS
        for name in ("inputs", "targets"):
            if name in example:
                values = np.asarray(example[name])
                example[name] = np.where(values >= vocab_size, 0, values).astype(values.dtype)
        return super().preprocess_example(example, mode, hparams)

    @property
    def train_length(self) -> int:
        """Longest training sequence (70)."""
        return 70

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (70)."""
        return 70


@registry.register_problem
class AlgorithmicReverseNlplike32k(AlgorithmicReverseNlplike8k):
    """Reverse over 32000 Zipf-distributed symbols (alpha 1.05)."""

    @property
    def num_symbols(self) -> int:
        """32000 symbols."""
        return 32000

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Zipf-distributed symbols (alpha 1.05), lengths around 35; targets reversed."""
        return reverse_generator_nlplike(nbr_symbols, max_length, nbr_cases, 10, 1.050)


@registry.register_problem
class AlgorithmicAdditionBinary40(AlgorithmicProblem):
    """Add two binary numbers (lower-endian digits)."""

    @property
    def num_symbols(self) -> int:
        """Two digits."""
        return 2

    @property
    def extra_symbols(self) -> int:
        """One: the separator symbol (id num_symbols + 2) between the two numbers."""
        return 1

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Inputs: number, separator, number; targets: their sum (lower-endian digits)."""
        return addition_generator(nbr_symbols, max_length, nbr_cases)


@registry.register_problem
class AlgorithmicAdditionDecimal40(AlgorithmicAdditionBinary40):
    """Add two decimal numbers (lower-endian digits)."""

    @property
    def num_symbols(self) -> int:
        """Ten digits."""
        return 10


@registry.register_problem
class AlgorithmicMultiplicationBinary40(AlgorithmicProblem):
    """Multiply two binary numbers (lower-endian digits)."""

    @property
    def num_symbols(self) -> int:
        """Two digits."""
        return 2

    @property
    def extra_symbols(self) -> int:
        """One: the separator symbol (id num_symbols + 2) between the two numbers."""
        return 1

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Inputs: number, separator, number; targets: their product (lower-endian digits)."""
        return multiplication_generator(nbr_symbols, max_length, nbr_cases)


@registry.register_problem
class AlgorithmicMultiplicationDecimal40(AlgorithmicMultiplicationBinary40):
    """Multiply two decimal numbers (lower-endian digits)."""

    @property
    def num_symbols(self) -> int:
        """Ten digits."""
        return 10


@registry.register_problem
class AlgorithmicReverseBinary40Test(AlgorithmicReverseBinary40):
    """A tiny reverse problem for tests: 1000 train / 100 dev cases of length <= 10."""

    @property
    def train_length(self) -> int:
        """Longest training sequence (10)."""
        return 10

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (10)."""
        return 10

    @property
    def train_size(self) -> int:
        """Number of training cases (1000)."""
        return 1000

    @property
    def dev_size(self) -> int:
        """Number of dev cases (100)."""
        return 100

    @property
    def num_shards(self) -> int:
        """One training shard."""
        return 1


@registry.register_problem
class AlgorithmicSortProblem(AlgorithmicProblem):
    """Sort numbers 0..19 (with replacement)."""

    @property
    def num_symbols(self) -> int:
        """The values 0..max(train_length, dev_length)-1."""
        return max(self.train_length, self.dev_length)

    @property
    def train_length(self) -> int:
        """Longest training sequence (10)."""
        return 10

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (twice the training one)."""
        return self.train_length * 2

    @property
    def unique(self) -> bool:
        """False: values are drawn with replacement."""
        return False

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Targets are the inputs sorted."""
        return sort_generator(nbr_symbols, max_length, nbr_cases, self.unique)

    def eval_metrics(self) -> list[str]:
        """The usual metrics plus edit distance."""
        return super().eval_metrics() + [Metrics.EDIT_DISTANCE]


@registry.register_problem
class TinyAlgo(AlgorithmicIdentityBinary40):
    """Test problem: 100 raw identity cases (no shift, no EOS) per split, one shard each."""

    def generate_data(self, data_dir: str, tmp_dir: str | None = None, task_id: int = -1) -> None:
        """Writes 100 raw identity cases (no shift, no EOS) into one train and one dev shard."""
        del tmp_dir, task_id
        generator_utils.generate_files(
            identity_generator(self.num_symbols, 40, 100000),
            self.training_filepaths(data_dir, 1, shuffled=True),
            100,
        )
        generator_utils.generate_files(
            identity_generator(self.num_symbols, 400, 10000),
            self.dev_filepaths(data_dir, 1, shuffled=True),
            100,
        )
