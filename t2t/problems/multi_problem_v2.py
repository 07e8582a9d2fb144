"""T2T's `multi_problem_v2` sampling schedules: which problem each training example comes
from, as a function of the global step.

A schedule is a tuple (interpolation, steps, pmfs): "step" or "linear", the global steps
[N] and a distribution over the M problems at each of them [N, M]. Before steps[0] the
first distribution holds, after steps[-1] the last; in between "step" keeps the latest
distribution and "linear" interpolates. As a string: "linear @0 1.0 0.0 @100 0.0 1.0".

    schedule = decode_schedule("step @0 0.7 0.3")
    pmf = get_schedule_distribution(schedule, global_step=1000)   # [0.7, 0.3]
    index = categorical_case(pmf, random.random())                # 0 or 1

Only the schedule arithmetic is here; T2T's `MultiProblemV2` dataset class (which
samples inside a tf.data pipeline at the global step) is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "categorical_case",
    "constant_schedule",
    "decode_schedule",
    "encode_schedule",
    "epoch_rates_to_pmf",
    "example_rates_to_pmf",
    "get_schedule_distribution",
    "linear_interpolation",
    "step_interpolation",
    "tuplize",
]

Schedule = tuple[str, tuple[int, ...], tuple[tuple[float, ...], ...]]


def tuplize(nested: Any) -> Any:
    """Nested lists / arrays -> nested tuples (strings stay strings)."""
    if isinstance(nested, str):
        return nested
    try:
        return tuple(tuplize(item) for item in nested)
    except TypeError:
        return nested


def linear_interpolation(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation of fp [D, *M] at x [*N] -> [*N, *M] float32
    (constant outside [xp[0], xp[-1]])."""
    x = np.asarray(x, dtype=np.float64)
    columns = fp.reshape(fp.shape[0], -1).T  # [prod(M), D]
    y = np.stack([np.interp(x, xp, column) for column in columns]).T
    return y.reshape(x.shape[:1] + fp.shape[1:]).astype(np.float32)


def step_interpolation(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """fp[i] for xp[i] <= x < xp[i+1] (fp[0] below xp[0], fp[-1] from xp[-1]) -> float32.

    Raises:
        ValueError: xp is not increasing.
    """
    xp = np.asarray(xp)
    if np.any(np.diff(xp) <= 0):
        raise ValueError("xp must be increasing.")
    # The number of points at or below x picks the value; below xp[0] it is fp[0].
    index = np.maximum(np.searchsorted(xp, np.asarray(x), side="right") - 1, 0)
    return np.asarray(fp)[index].astype(np.float32)


def get_schedule_distribution(schedule: Schedule, global_step: int) -> np.ndarray:
    """The sampling distribution [M] at `global_step`.

    Raises:
        ValueError: an interpolation other than "step" or "linear".
    """
    interpolation, steps, pmfs = schedule
    if len(pmfs) == 1:
        return np.asarray(pmfs[0], dtype=np.float32)
    functions = {"step": step_interpolation, "linear": linear_interpolation}
    if interpolation not in functions:
        raise ValueError(f"Invalid interpolation strategy: {interpolation}")
    x = np.asarray([global_step])
    return functions[interpolation](x, np.asarray(steps), np.asarray(pmfs))[0]


def categorical_case(pmf: Sequence[float], rand: float) -> int:
    """The index i with cdf[i-1] <= rand < cdf[i] (T2T's `categorical_case`)."""
    cdf = np.concatenate([[0.0], np.cumsum(np.asarray(pmf, dtype=np.float32))])
    for index in range(len(pmf)):
        if cdf[index] <= rand < cdf[index + 1]:
            return index
    raise ValueError(f"rand {rand} is outside the distribution's support {cdf.tolist()}")


def constant_schedule(pmf: Sequence[float]) -> Schedule:
    """A schedule sampling from `pmf` throughout training."""
    return ("step", (0,), (tuplize(pmf),))


def example_rates_to_pmf(example_rates: Sequence[float]) -> list[float]:
    """Relative example rates -> a distribution."""
    total = sum(example_rates)
    return [rate / total for rate in example_rates]


def epoch_rates_to_pmf(problems: Sequence[Any], epoch_rates: Sequence[float] | None = None):
    """Relative epoch rates (default 1 each) -> a distribution, through each problem's
    `num_training_examples`."""
    rates = [1.0] * len(problems) if epoch_rates is None else epoch_rates
    return example_rates_to_pmf(
        [rate * p.num_training_examples for p, rate in zip(problems, rates)]
    )


def encode_schedule(schedule: Schedule) -> str:
    """(interpolation, steps, pmfs) -> "interpolation @step p p ... @step p p ..."."""
    interpolation, steps, pmfs = schedule
    parts = [f"@{step} " + " ".join(str(p) for p in pmf) for step, pmf in zip(steps, pmfs)]
    return interpolation + " " + " ".join(parts)


def decode_schedule(string: str) -> Schedule:
    """The inverse of `encode_schedule`."""
    words = string.split()
    steps = [int(word[1:]) for word in words[1:] if word.startswith("@")]
    values = [float(word) for word in words[1:] if not word.startswith("@")]
    pmfs = np.reshape(values, [len(steps), -1])
    return words[0], tuplize(steps), tuplize(pmfs)
