"""Cipher problems (T2T's `data_generators/cipher.py`): shift and Vigenère ciphers.

Plaintext is drawn over a small alphabet; the target is the plaintext, the input its
enciphered form. Data is what T2T writes, drawn from NumPy's global RNG in T2T's order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from t2t import registry
from t2t.problems.algorithmic import AlgorithmicProblem


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


class _CipherProblem(AlgorithmicProblem):
    """Plaintext drawn from `distribution`; targets are its encipherment (`enciphered`)."""

    @property
    def distribution(self) -> list[float]:
        """Probability of each plaintext symbol."""
        raise NotImplementedError()

    def enciphered(self, plaintext, vocab: Sequence[int]) -> Iterator[list[int]]:
        """The ciphertext of each plaintext, in order."""
        raise NotImplementedError()

    def generator(self, nbr_symbols, max_length, nbr_cases):
        """Plaintext drawn from `distribution`; targets are its encipherment."""
        vocab = range(nbr_symbols)
        indices = generate_plaintext_random(vocab, self.distribution, nbr_cases, max_length)
        # Enciphered lazily: the plaintext is one draw (as T2T), the cipher is per case.
        for plain, code in zip(indices, self.enciphered(indices, vocab)):
            yield {"inputs": plain.tolist(), "targets": code}

    @property
    def dev_length(self) -> int:
        """Longest dev sequence (the training one)."""
        return self.train_length


@registry.register_problem
class AlgorithmicCipherShift5(_CipherProblem):
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

    def enciphered(self, plaintext, vocab: Sequence[int]) -> Iterator[list[int]]:
        """The shift encipherment of each plaintext."""
        return _shift_enciphered(plaintext, vocab, self.shift)

    @property
    def train_length(self) -> int:
        """Longest training sequence (100)."""
        return 100


@registry.register_problem
class AlgorithmicCipherVigenere5(_CipherProblem):
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

    def enciphered(self, plaintext, vocab: Sequence[int]) -> Iterator[list[int]]:
        """The Vigenere encipherment of each plaintext."""
        return _vigenere_enciphered(plaintext, vocab, self.key)

    @property
    def train_length(self) -> int:
        """Longest training sequence (200)."""
        return 200


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
