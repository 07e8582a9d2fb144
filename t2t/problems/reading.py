"""Reading a problem's records: reading specs, decoding a tf.Example, iterating files.

`ProblemDataset` is what `Problem.dataset` returns: a re-iterable of example dicts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from t2t.data import example_codec, example_rng, tfrecord
from t2t.data.batching import shuffle_buffer
from t2t.errors import DataError
from t2t.problems.constants import Example, Modes
from t2t.problems.preprocess import maybe_reverse_and_copy

if TYPE_CHECKING:
    from t2t.problems.problem import Problem


@dataclass(frozen=True)
class VarLenFeature:
    """A variable-length feature, decoded to a dense 1-D array (T2T: tf.VarLenFeature)."""

    dtype: Any = np.int64


@dataclass(frozen=True)
class FixedLenFeature:
    """A fixed-shape feature (T2T: tf.FixedLenFeature); `default_value` fills a missing one."""

    shape: tuple[int, ...]
    dtype: Any = np.int64
    default_value: Any = None


def _decode_field(name: str, spec: Any, raw: Mapping[str, Any]) -> Any:
    value = raw.get(name)
    if isinstance(spec, FixedLenFeature):
        if value is None or (isinstance(value, np.ndarray) and value.size == 0):
            if spec.default_value is None:
                raise DataError(f"required feature {name!r} is missing from the record")
            return np.full(spec.shape, spec.default_value, dtype=spec.dtype)
        return np.asarray(value, dtype=spec.dtype).reshape(spec.shape)
    if value is None:
        return np.zeros(0, dtype=spec.dtype)
    if isinstance(value, list):  # bytes_list
        return value
    return value if value.dtype == spec.dtype else value.astype(spec.dtype)


def decode_example(problem: Problem, serialized: bytes) -> Example:
    """Decodes one record with the problem's reading spec (fields not in the spec are dropped)."""
    fields, decoders = _reading_spec(problem)
    raw = example_codec.decode_example(serialized)
    decoded = {name: _decode_field(name, spec, raw) for name, spec in fields.items()}
    if decoders:
        return {name: fn(decoded) for name, fn in decoders.items()}
    return decoded


def _reading_spec(problem: Problem) -> tuple[dict[str, Any], dict[str, Callable] | None]:
    spec = getattr(problem, "_reading_spec_cache", None)
    if spec is None:
        spec = problem.example_reading_spec()
        problem._reading_spec_cache = spec
    return spec


def iterate_file_examples(
    problem: Problem,
    filename: str,
    mode: str,
    hparams: Any,
    preprocess: bool = True,
    rng_key: tuple[int, ...] | None = None,
) -> Iterator[Example]:
    """The examples of one file: decoded, preprocessed, `_rev`/`_copy` applied.

    With `rng_key`, record i's random preprocessing draws from `rng_key + (i,)`
    (`t2t.data.example_rng`); without, from an unseeded generator.
    """
    for index, record in enumerate(tfrecord.read_records(filename)):
        try:
            example = decode_example(problem, record)
        except DataError as error:
            raise DataError(f"{filename}: record {index}: {error}") from None
        example_rng.set_example_key(None if rng_key is None else (*rng_key, index))
        if preprocess:
            processed = problem.preprocess_example(example, mode, hparams)
            examples = [processed] if isinstance(processed, dict) else processed
        else:
            examples = [example]
        for ex in examples:
            yield maybe_reverse_and_copy(ex, problem.was_reversed, problem.was_copy)


class ProblemDataset:
    """Examples of a problem's files; iterate it (again) to read them (again)."""

    def __init__(
        self,
        problem: Problem,
        files: list[str],
        mode: str,
        hparams: Any,
        preprocess: bool,
        shuffle: bool,
        shuffle_buffer_size: int,
        max_records: int,
        seed: int | None,
    ) -> None:
        self.problem = problem
        self.files = files
        self.mode = mode
        self.hparams = hparams
        self.preprocess = preprocess
        self.shuffle = shuffle
        self.shuffle_buffer_size = shuffle_buffer_size
        self.max_records = max_records
        self._rng = random.Random(seed)
        self._seeded = seed is not None

    def _examples(self, files: list[str]) -> Iterator[Example]:
        # Each pass draws a new base for the augmentation keys: seeded runs repeat.
        base = self._rng.getrandbits(62) if self._seeded else None
        for file_index, filename in enumerate(files):
            key = None if base is None else (base, file_index)
            yield from iterate_file_examples(
                self.problem, filename, self.mode, self.hparams, self.preprocess, key
            )

    def __iter__(self) -> Iterator[Example]:
        files = list(self.files)
        if self.shuffle:
            self._rng.shuffle(files)
        examples = self._examples(files)
        if self.max_records >= 0:
            examples = (ex for _, ex in zip(range(self.max_records), examples))
        if self.shuffle and self.mode == Modes.TRAIN:
            examples = shuffle_buffer(examples, self.shuffle_buffer_size, self._rng)
        return examples
