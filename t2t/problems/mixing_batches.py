"""The reading settings shared by the batch streams of multi-problem datasets.

`MixedBatches` (MultiProblem) and `ScheduledBatches` (MultiProblemV2) read several problems'
examples in this process, mix them by a schedule and pad them into batches. Both take the
same arguments as a single problem's reader (mode, hparams, data_dir, seed, shuffle, repeat,
rank/world_size, split); `MixingBatches.__init__` turns them into the attributes both use
and checks every problem's data files up front; `in_turns` is evaluation's round-robin
over the problems' examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from t2t.problems import problem as problem_lib
from t2t.problems.constants import Modes


class MixingBatches:
    """Base of the multi-problem batch streams: the settings of one reading pass.

    Attributes set: problem, mode, data_dir, hparams (with data_dir), is_training, shuffle
    and repeat (default: in training only), seed, rank, world_size, dataset_split,
    preprocess, scheme (the problem's batching scheme), max_length (training only) and
    `_passes` (passes made, which reseeds each pass).
    """

    def __init__(
        self,
        problem: Any,
        mode: str,
        hparams: Any,
        data_dir: str,
        *,
        seed: int = 0,
        shuffle: bool | None = None,
        repeat: bool | None = None,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        dataset_split: str | None = None,
        preprocess: bool = True,
    ) -> None:
        from t2t.problems import pipeline

        del num_workers  # the mixing reads in this process
        self.problem, self.mode, self.data_dir = problem, mode, data_dir
        self.hparams = pipeline._with_data_dir(hparams, data_dir)
        self.is_training = mode == Modes.TRAIN
        self.shuffle = self.is_training if shuffle is None else shuffle
        self.repeat = self.is_training if repeat is None else repeat
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.dataset_split, self.preprocess = dataset_split, preprocess
        self._passes = 0
        self.scheme = pipeline.batching_scheme_for(problem, self.hparams)
        self.max_length = problem.max_length(self.hparams) if self.is_training else 10**9

    def check_data(self, problems: Sequence[Any]) -> None:
        """Raises DataError now, not mid-training, when a problem's data files are missing."""
        for each in problems:
            problem_lib.data_files(each, self.data_dir, self.dataset_split or self.mode)


def in_turns(streams: Iterable[Iterator[dict]]) -> Iterator[dict]:
    """One example of each stream in turn until all are exhausted (evaluation's mixing)."""
    streams = list(streams)
    while streams:
        alive = []
        for stream in streams:
            example = next(stream, None)
            if example is not None:
                alive.append(stream)
                yield example
        streams = alive
