"""T2T's `multi_problem_v2` sampling schedules: which problem each training example comes
from, as a function of the global step.

A schedule is a tuple (interpolation, steps, pmfs): "step" or "linear", the global steps
[N] and a distribution over the M problems at each of them [N, M]. Before steps[0] the
first distribution holds, after steps[-1] the last; in between "step" keeps the latest
distribution and "linear" interpolates. As a string: "linear @0 1.0 0.0 @100 0.0 1.0".

    schedule = decode_schedule("step @0 0.7 0.3")
    pmf = get_schedule_distribution(schedule, global_step=1000)   # [0.7, 0.3]
    index = categorical_case(pmf, random.random())                # 0 or 1

`MultiProblemV2` mixes the examples of several problems with such a schedule: in
training each example's problem is drawn from the schedule's distribution at the global
step (each example tagged with its `problem_id` [1]); in evaluation the problems' examples
take turns. `MultiText2TextProblem` first brings every example to the fixed length
`max_length(hparams)` (a problem without inputs gets inputs ++ targets as its targets).

Departures from T2T 1.15.7: the global step a training example sees is the number of
batches the pipeline has produced (`ScheduledBatches`, kept in its state_dict, so a
resumed run continues the schedule); T2T read the trainer's global_step variable, which
its prefetching ran ahead of. Evaluation goes through each problem's dev set once (T2T
repeated them forever and left the count to eval_steps).
"""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from t2t.data import batching
from t2t.errors import DataError
from t2t.problems import problem as problem_lib
from t2t.problems import text_problems
from t2t.problems.constants import Modes
from t2t.problems.mixing_batches import MixingBatches, in_turns

__all__ = [
    "MultiProblemV2",
    "MultiText2TextProblem",
    "ScheduledBatches",
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


# ----------------------------------------------------------------------------- the dataset


def _forever(examples: Iterable[dict], name: str) -> Iterator[dict]:
    """The examples over and over (T2T's `repeat()`).

    Raises:
        DataError: there are none.
    """
    while True:
        produced = False
        for example in examples:
            produced = True
            yield example
        if not produced:
            raise DataError(f"{name} has no examples to mix")


class MultiProblemV2(problem_lib.Problem):
    """Problems whose examples are mixed by a sampling schedule (T2T's MultiProblemV2).

    Args:
        problems: the Problem instances, in the order of the schedule's distributions.
        schedule: (interpolation, steps, pmfs), see `decode_schedule`.
    """

    def __init__(
        self,
        problems: Sequence[problem_lib.Problem],
        schedule: Schedule,
        was_reversed: bool = False,
        was_copy: bool = False,
    ) -> None:
        super().__init__(was_reversed, was_copy)
        self.problems = list(problems)
        self.schedule = schedule

    def filepattern(self, data_dir: str, mode: str, shard: int | None = None) -> list[str]:
        """One file pattern per problem."""
        return [p.filepattern(data_dir, mode, shard) for p in self.problems]

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Generates every problem's data."""
        for p in self.problems:
            p.generate_data(data_dir, tmp_dir, task_id)

    @property
    def only_eval_first_problem(self) -> bool:
        """Evaluate on the first problem's examples only (False: on all, in turns)."""
        return False

    def normalize_example(self, example: dict, hparams: Any) -> dict:
        """Brings an example of any problem to the shared form before mixing (as is here)."""
        del hparams
        return example

    def dataset(  # type: ignore[override]
        self,
        mode: str,
        hparams: Any = None,
        global_step: Callable[[], int] | int | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> Iterator[dict]:
        """The mixed examples, each with "problem_id" [1] (its index in `problems`).

        Args:
            mode: "train" draws each example's problem from the schedule, forever; other
                modes give the problems' examples in turns until all are used up.
            hparams: model hparams, passed to the problems and `normalize_example`.
            global_step: the step the schedule is read at: a number, or a function called
                before each draw (None: step 0).
            seed: seeds the draws and the problems' shuffling.
            **kwargs: `Problem.dataset` keywords for every problem (data_dir, ...).
        """
        datasets = [
            _Tagged(self, index, p.dataset(mode, hparams=hparams, seed=seed, **kwargs), hparams)
            for index, p in enumerate(self.problems)
        ]
        if mode == Modes.TRAIN:
            step = global_step if callable(global_step) else (lambda: int(global_step or 0))
            return self._sampled(datasets, step, random.Random(f"{seed}/mix"))
        if self.only_eval_first_problem:
            return iter(datasets[0])
        return in_turns([iter(d) for d in datasets])

    def _sampled(
        self, datasets: list[Iterable[dict]], step: Callable[[], int], rng: random.Random
    ) -> Iterator[dict]:
        streams = [_forever(d, p.name) for d, p in zip(datasets, self.problems)]
        while True:
            pmf = get_schedule_distribution(self.schedule, step())
            yield next(streams[categorical_case(pmf, rng.random())])

    def mixed_batches(self, mode: str, hparams: Any, data_dir: str, **kwargs: Any):
        """The batches of the mixed examples (what `pipeline.make_batches` returns for it)."""
        return ScheduledBatches(self, mode, hparams, data_dir, **kwargs)


class _Tagged:
    """A problem's examples with "problem_id" [1] added and normalized; each iteration reads
    the problem's dataset again (reshuffled when it shuffles)."""

    def __init__(self, owner: MultiProblemV2, index: int, examples: Iterable, hparams: Any):
        self.owner, self.index, self.examples, self.hparams = owner, index, examples, hparams

    def __iter__(self) -> Iterator[dict]:
        for example in self.examples:
            example = dict(example, problem_id=np.array([self.index], dtype=np.int64))
            yield self.owner.normalize_example(example, self.hparams)


class MultiText2TextProblem(MultiProblemV2, text_problems.Text2TextProblem):
    """Text-to-text problems sharing one vocabulary, mixed by a schedule; every example is
    cut or zero-padded to `max_length(hparams)` (T2T's MultiText2TextProblem)."""

    def normalize_example(self, example: dict, hparams: Any) -> dict:
        """Fixed-length inputs / targets; without inputs, (inputs minus EOS) ++ targets.

        Raises:
            DataError: examples with inputs to concatenate on the fly when packed.
        """
        length = self.max_length(hparams)
        example = dict(example)
        if self.has_inputs:
            example["inputs"] = _fixed(example["inputs"], length)
            example["targets"] = _fixed(example["targets"], length)
        elif "inputs" in example:
            if self.packed_length:
                raise DataError("cannot concatenate packed examples on the fly")
            inputs = np.asarray(example.pop("inputs"))[:-1]  # the EOS goes
            example["targets"] = _fixed(np.concatenate([inputs, example["targets"]]), length)
        else:
            example["targets"] = _fixed(example["targets"], length)
        if self.packed_length:
            for stream in ["inputs", "targets"] if self.has_inputs else ["targets"]:
                if stream + "_segmentation" in example:
                    for suffix in ("_segmentation", "_position"):
                        example[stream + suffix] = _fixed(example[stream + suffix], length)
                else:
                    segmentation = (example[stream] != 0).astype(np.int64)
                    example[stream + "_segmentation"] = segmentation
                    example[stream + "_position"] = segmentation * np.arange(length)
        return example

    def generate_data_with_shared_vocab(self, data_dir: str, tmp_dir: str, task_id: int = -1):
        """Generates every problem's data with this problem's vocabulary file, copied to
        each problem's vocabulary name first.

        Raises:
            DataError: the shared vocabulary file is missing (build it with t2t-build-vocab).
        """
        shared = os.path.join(data_dir, self.vocab_filename)
        if not os.path.exists(shared):
            raise DataError(
                f"Global vocabulary file: {shared} does not exist, please create one first"
            )
        for p in self.problems:
            local = os.path.join(data_dir, p.vocab_filename)
            if not os.path.exists(local):
                shutil.copyfile(shared, local)
            p.generate_data(data_dir, tmp_dir, task_id)


def _fixed(ids: Any, length: int) -> np.ndarray:
    """ids cut or zero-padded to exactly `length` [length]."""
    out = np.zeros([length], dtype=np.int64)
    ids = np.asarray(ids, dtype=np.int64).reshape([-1])[:length]
    out[: len(ids)] = ids
    return out


# ----------------------------------------------------------------------------- the batches


class ScheduledBatches(MixingBatches):
    """Padded batches of a MultiProblemV2; the schedule reads the number of batches made.

    Iterating yields {"targets": LongTensor[B, T], "problem_id": LongTensor[B, 1], ...}
    (in training, forever). `state_dict()` keeps the step.
    """

    def __init__(self, problem: MultiProblemV2, mode: str, hparams: Any, data_dir: str, **kwargs):
        super().__init__(problem, mode, hparams, data_dir, **kwargs)
        self.step = 0  # batches made: the schedule's global step
        self.check_data(problem.problems)

    def _examples(self) -> Iterator[dict]:
        kwargs = dict(
            data_dir=self.data_dir,
            shuffle_files=self.shuffle,
            preprocess=self.preprocess,
            dataset_split=self.dataset_split,
            partition_id=self.rank,
            num_partitions=self.world_size,
        )
        seed = hash((self.seed, self._passes, self.rank)) & 0x7FFFFFFF
        return self.problem.dataset(
            self.mode, self.hparams, global_step=lambda: self.step, seed=seed, **kwargs
        )

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        batches = batching.padded_length_batches(
            self._examples(), self.scheme, self.max_length, fill_partial=self.repeat
        )
        for arrays in batches:
            if self.is_training:
                self.step += 1
            yield {name: torch.from_numpy(value) for name, value in arrays.items()}
        self._passes += 1

    def state_dict(self) -> dict[str, Any]:
        """{"step", "passes"}: the schedule's position."""
        return {"version": 1, "step": self.step, "passes": self._passes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues the schedule at the saved step; the problems' examples restart
        reshuffled."""
        self.step = int(state.get("step", 0))
        self._passes = int(state.get("passes", 0)) + 1
