"""The algorithmic problems' case generators, drawing from NumPy's RNG in T2T's order.

Each generator yields cases {"inputs": [...], "targets": [...]} over symbols
0..nbr_symbols-1 (before the shift past the reserved ids). `rng` defaults to NumPy's
global RNG, which t2t-datagen seeds as T2T does; pass `np.random.RandomState(seed)` for a
private one. `t2t.problems.algorithmic` re-exports them under T2T's module name.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

Case = dict[str, list[int]]


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
