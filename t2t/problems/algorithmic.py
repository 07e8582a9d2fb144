"""Algorithmic problems: identity, shift, reverse, addition, multiplication, sort, ciphers.

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

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from t2t import registry
from t2t.data import text_encoder
from t2t.problems import generator_utils
from t2t.problems.problem import Metrics, ModalityType, Problem, SpaceID

Case = dict[str, list[int]]


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


# ----------------------------------------------------------------------------- generators


def identity_generator(
    nbr_symbols: int, max_length: int, nbr_cases: int, rng: Any = np.random
) -> Iterator[Case]:
    """Length ~ U{1..max_length}, symbols ~ U{0..nbr_symbols-1}; targets = inputs."""
    for _ in range(nbr_cases):
        length = rng.randint(max_length) + 1
        # One vectorised draw consumes the RNG exactly as T2T's `length` scalar draws.
        inputs = rng.randint(nbr_symbols, size=length).tolist()
        yield {"inputs": inputs, "targets": inputs}


def shift_generator(
    nbr_symbols: int, shift: int, max_length: int, nbr_cases: int, rng: Any = np.random
) -> Iterator[Case]:
    """Symbols ~ U{0..nbr_symbols-shift-1}; targets = inputs + shift."""
    for _ in range(nbr_cases):
        length = rng.randint(max_length) + 1
        inputs = rng.randint(nbr_symbols - shift, size=length).tolist()
        yield {"inputs": inputs, "targets": [i + shift for i in inputs]}


def reverse_generator(
    nbr_symbols: int, max_length: int, nbr_cases: int, rng: Any = np.random
) -> Iterator[Case]:
    """As identity; targets = reversed inputs."""
    for _ in range(nbr_cases):
        length = rng.randint(max_length) + 1
        inputs = rng.randint(nbr_symbols, size=length).tolist()
        yield {"inputs": inputs, "targets": inputs[::-1]}


def zipf_distribution(nbr_symbols: int, alpha: float) -> list[float]:
    """Cumulative Zipf distribution [0, c1, ..., 1] (length nbr_symbols + 1)."""
    weights = np.power(np.arange(1, nbr_symbols + 1), -alpha)
    zeta = np.r_[0.0, np.cumsum(weights)]
    return [x / zeta[-1] for x in zeta]


def zipf_random_sample(distr_map: Sequence[float], sample_len: int, rng: Any = np.random):
    """`sample_len` symbols in 1..n drawn from the cumulative Zipf map."""
    u = rng.random_sample(sample_len)
    return list(np.searchsorted(distr_map, u))


def reverse_generator_nlplike(
    nbr_symbols: int,
    max_length: int,
    nbr_cases: int,
    scale_std_dev: float = 100,
    alpha: float = 1.5,
    rng: Any = np.random,
) -> Iterator[Case]:
    """Zipf-distributed symbols, Gaussian lengths around max_length/2; targets reversed."""
    std_dev = max_length / scale_std_dev
    distr_map = zipf_distribution(nbr_symbols, alpha)
    for _ in range(nbr_cases):
        length = int(abs(rng.normal(loc=max_length / 2, scale=std_dev)) + 1)
        inputs = [int(x) for x in zipf_random_sample(distr_map, length, rng)]
        yield {"inputs": inputs, "targets": inputs[::-1]}


def lower_endian_to_number(digits: Sequence[int], base: int) -> int:
    """[7, 3, 1, 2] base 10 -> 2137."""
    return sum(d * base**i for i, d in enumerate(digits))


def number_to_lower_endian(n: int, base: int) -> list[int]:
    """2137 base 10 -> [7, 3, 1, 2]; 0 -> [0]."""
    digits = [n % base]
    n //= base
    while n:
        digits.append(n % base)
        n //= base
    return digits


def random_number_lower_endian(length: int, base: int, rng: Any = np.random) -> list[int]:
    """`length` random digits, the most significant (last) non-zero unless length == 1."""
    if length == 1:
        return [rng.randint(base)]
    prefix = rng.randint(base, size=length - 1).tolist()
    return prefix + [rng.randint(base - 1) + 1]


def _arithmetic_generator(base, max_length, nbr_cases, operation, rng) -> Iterator[Case]:
    if max_length < 3:
        raise ValueError("Maximum length must be at least 3.")
    for _ in range(nbr_cases):
        l1 = rng.randint(max_length // 2) + 1
        l2 = rng.randint(max_length - l1 - 1) + 1
        n1 = random_number_lower_endian(l1, base, rng)
        n2 = random_number_lower_endian(l2, base, rng)
        result = operation(lower_endian_to_number(n1, base), lower_endian_to_number(n2, base))
        inputs = [int(x) for x in n1] + [base] + [int(x) for x in n2]
        yield {"inputs": inputs, "targets": number_to_lower_endian(result, base)}


def addition_generator(base: int, max_length: int, nbr_cases: int, rng: Any = np.random):
    """inputs = n1 + [base] + n2 (lower-endian digits); targets = digits of n1 + n2."""
    return _arithmetic_generator(base, max_length, nbr_cases, lambda a, b: a + b, rng)


def multiplication_generator(base: int, max_length: int, nbr_cases: int, rng: Any = np.random):
    """inputs = n1 + [base] + n2 (lower-endian digits); targets = digits of n1 * n2."""
    return _arithmetic_generator(base, max_length, nbr_cases, lambda a, b: a * b, rng)


def sort_generator(
    nbr_symbols: int, max_length: int, nbr_cases: int, unique: bool = False, rng: Any = np.random
) -> Iterator[Case]:
    """Length ~ U{1..max_length}; symbols with (or, if `unique`, without) replacement."""
    for _ in range(nbr_cases):
        length = rng.randint(max_length) + 1
        if unique:
            symbols = np.arange(nbr_symbols)
            rng.shuffle(symbols)
            inputs = symbols[:length].tolist()
        else:
            inputs = rng.randint(nbr_symbols, size=length).tolist()
        yield {"inputs": inputs, "targets": sorted(inputs)}


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


# ----------------------------------------------------------------------------- ciphers


class ShiftEncryptionLayer:
    """Maps vocab[i] to the alphabet rotated right by `shift`: x -> (x - shift) mod n."""

    def __init__(self, vocab: Sequence[int], shift: int) -> None:
        self.shift = shift
        rotated = deque(vocab)
        rotated.rotate(shift)
        self.encrypt = dict(zip(vocab, list(rotated)))
        self.decrypt = dict(zip(list(rotated), vocab))

    def encrypt_character(self, character: int) -> int:
        """The cipher symbol of a plaintext symbol."""
        return self.encrypt[character]

    def decrypt_character(self, character: int) -> int:
        """The plaintext symbol of a cipher symbol."""
        return self.decrypt[character]


def generate_plaintext_random(
    plain_vocab: Sequence[int],
    distribution: Sequence[float] | None,
    train_samples: int,
    length: int,
    rng: Any = np.random,
) -> np.ndarray:
    """One [train_samples, length] draw of symbol indices (T2T draws all cases at once)."""
    if distribution is not None and len(distribution) != len(plain_vocab):
        raise ValueError("distribution and vocabulary differ in length")
    return rng.choice(range(len(plain_vocab)), (train_samples, length), p=distribution)


def _shift_enciphered(plaintext, plain_vocab: Sequence[int], shift: int) -> Iterator[list[int]]:
    cipher = ShiftEncryptionLayer(list(plain_vocab), shift)
    for sentence in plaintext:
        yield [cipher.encrypt_character(int(c)) for c in sentence]


def _vigenere_enciphered(plaintext, plain_vocab: Sequence[int], key: Sequence[int]):
    vocab = list(plain_vocab)
    layers = [ShiftEncryptionLayer(vocab, i) for i in range(len(vocab))]
    for sentence in plaintext:
        yield [layers[key[j % len(key)]].encrypt_character(int(c)) for j, c in enumerate(sentence)]


def encipher_shift(plaintext, plain_vocab: Sequence[int], shift: int) -> list[list[int]]:
    """Every sentence of `plaintext` (rows of symbol indices) shift-enciphered."""
    return list(_shift_enciphered(plaintext, plain_vocab, shift))


def encipher_vigenere(plaintext, plain_vocab: Sequence[int], key: Sequence[int]):
    """Every sentence enciphered with the Vigenere `key` (a shift per position)."""
    return list(_vigenere_enciphered(plaintext, plain_vocab, key))


@registry.register_problem
class AlgorithmicCipherShift5(AlgorithmicProblem):
    """Shift cipher over 5 symbols with a skewed plaintext distribution."""

    @property
    def num_symbols(self) -> int:
        """Five symbols."""
        return 5

    @property
    def distribution(self) -> list[float]:
        """Probability of each plaintext symbol."""
        return [0.4, 0.3, 0.2, 0.08, 0.02]

    @property
    def shift(self) -> int:
        """Rotation of the alphabet (1)."""
        return 1

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Plaintext drawn from `distribution`; targets are its shift encipherment."""
        vocab = range(nbr_symbols)
        indices = generate_plaintext_random(vocab, self.distribution, nbr_cases, max_length)
        # Enciphered lazily: the plaintext is one draw (as T2T), the cipher is per case.
        codes = _shift_enciphered(indices, vocab, self.shift)
        for plain, code in zip(indices, codes):
            yield {"inputs": plain.tolist(), "targets": code}

    @property
    def train_length(self) -> int:
        """Longest training sequence (100)."""
        return 100

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (the training one)."""
        return self.train_length


@registry.register_problem
class AlgorithmicCipherVigenere5(AlgorithmicProblem):
    """Vigenere cipher (key [1, 3]) over 5 symbols."""

    @property
    def num_symbols(self) -> int:
        """Five symbols."""
        return 5

    @property
    def distribution(self) -> list[float]:
        """Probability of each plaintext symbol."""
        return [0.4, 0.3, 0.2, 0.08, 0.02]

    @property
    def key(self) -> list[int]:
        """Shift of each position, cycled (Vigenere key [1, 3])."""
        return [1, 3]

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Plaintext drawn from `distribution`; targets are its Vigenere encipherment."""
        vocab = range(nbr_symbols)
        indices = generate_plaintext_random(vocab, self.distribution, nbr_cases, max_length)
        codes = _vigenere_enciphered(indices, vocab, self.key)
        for plain, code in zip(indices, codes):
            yield {"inputs": plain.tolist(), "targets": code}

    @property
    def train_length(self) -> int:
        """Longest training sequence (200)."""
        return 200

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (the training one)."""
        return self.train_length


def _linear_distribution(n: int) -> list[float]:
    total = sum(range(n))
    return [v / total for v in range(n)]


@registry.register_problem
class AlgorithmicCipherShift200(AlgorithmicCipherShift5):
    """Shift cipher over 200 symbols, symbol v drawn with probability proportional to v."""

    @property
    def num_symbols(self) -> int:
        """200 symbols."""
        return 200

    @property
    def distribution(self) -> list[float]:
        """Symbol v with probability v / sum(0..199)."""
        return _linear_distribution(self.num_symbols)


@registry.register_problem
class AlgorithmicCipherVigenere200(AlgorithmicCipherVigenere5):
    """Vigenere cipher over 200 symbols, symbol v drawn with probability proportional to v."""

    @property
    def num_symbols(self) -> int:
        """200 symbols."""
        return 200

    @property
    def distribution(self) -> list[float]:
        """Symbol v with probability v / sum(0..199)."""
        return _linear_distribution(self.num_symbols)
