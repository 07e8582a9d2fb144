"""Length bucketing and padding: T2T's batching scheme, reproduced exactly.

T2T batches by TOKENS: examples are put in buckets by length, and a bucket whose upper
bound is L emits batches of about `batch_size // L` examples, rounded down to a divisor of
a "highly composite" window size (data spec, 6.2-6.3). Each batch is zero-padded to its
longest example, per feature.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

# T2T's list, verbatim: the window size is the largest of these <= 3 * max batch size.
_HIGHLY_COMPOSITE_NUMBERS = [
    1, 2, 4, 6, 12, 24, 36, 48, 60, 120, 180, 240, 360, 720, 840, 1260, 1680, 2520, 5040,
    7560, 10080, 15120, 20160, 25200, 27720, 45360, 50400, 55440, 83160, 110880, 166320,
    221760, 277200, 332640, 498960, 554400, 665280, 720720, 1081080, 1441440, 2162160,
    2882880, 3603600, 4324320, 6486480, 7207200, 8648640, 10810800, 14414400, 17297280,
    21621600, 32432400, 36756720, 43243200, 61261200, 73513440, 110270160,
]  # fmt: skip


def bucket_boundaries(
    max_length: int, min_length: int = 8, length_bucket_step: float = 1.1
) -> list[int]:
    """Bucket upper bounds: min_length, then x = max(x + 1, int(x * step)) while x < max_length.

    Raises:
        ValueError: length_bucket_step <= 1.
    """
    if length_bucket_step <= 1.0:
        raise ValueError(f"length_bucket_step must be > 1.0, got {length_bucket_step}")
    x = min_length
    boundaries = []
    while x < max_length:
        boundaries.append(x)
        x = max(x + 1, int(x * length_bucket_step))
    return boundaries


_bucket_boundaries = bucket_boundaries  # T2T's private name, used by some user code


def batching_scheme(
    batch_size: int,
    max_length: int,
    min_length_bucket: int,
    length_bucket_step: float,
    drop_long_sequences: bool = False,
    shard_multiplier: int = 1,
    length_multiplier: int = 1,
    min_length: int = 0,
) -> dict[str, Any]:
    """T2T's batching scheme: bucket boundaries and per-bucket batch sizes (in examples).

    Args:
        batch_size: tokens per batch (per shard).
        max_length: longest example; 0 means batch_size.
        min_length_bucket: first bucket boundary.
        length_bucket_step: ratio between consecutive boundaries (> 1).
        drop_long_sequences: report max_length (else 10**9) as the longest kept example.
        shard_multiplier: batch sizes are multiplied by this (data-parallel shards).
        length_multiplier: boundaries and max_length are multiplied by this.
        min_length: shortest example kept.

    Returns:
        {"boundaries", "batch_sizes" (len(boundaries) + 1), "min_length", "max_length",
        "shuffle_queue_size"}.

    Raises:
        ValueError: max_length < min_length.
    """
    max_length = max_length or batch_size
    if max_length < min_length:
        raise ValueError("max_length must be greater or equal to min_length")
    boundaries = bucket_boundaries(max_length, min_length_bucket, length_bucket_step)
    boundaries = [boundary * length_multiplier for boundary in boundaries]
    max_length *= length_multiplier
    batch_sizes = [max(1, batch_size // length) for length in boundaries + [max_length]]
    window_size = max(n for n in _HIGHLY_COMPOSITE_NUMBERS if n <= 3 * max(batch_sizes))
    divisors = [d for d in range(1, window_size + 1) if window_size % d == 0]
    # Round each batch size down to a divisor of the window (T2T's rule).
    batch_sizes = [divisors[bisect.bisect_right(divisors, bs) - 1] for bs in batch_sizes]
    window_size *= shard_multiplier
    batch_sizes = [bs * shard_multiplier for bs in batch_sizes]
    return {
        "boundaries": boundaries,
        "batch_sizes": batch_sizes,
        "min_length": min_length,
        "max_length": max_length if drop_long_sequences else 10**9,
        "shuffle_queue_size": (window_size // min(batch_sizes)) * 3,
    }


def hparams_to_batching_scheme(
    hparams: Any,
    drop_long_sequences: bool = False,
    shard_multiplier: int = 1,
    length_multiplier: int = 1,
) -> dict[str, Any]:
    """`batching_scheme` from model hparams (batch_size, max_length, min_length, ...)."""
    return batching_scheme(
        batch_size=hparams.batch_size,
        min_length=hparams.min_length,
        max_length=hparams.max_length,
        min_length_bucket=hparams.min_length_bucket,
        length_bucket_step=hparams.length_bucket_step,
        drop_long_sequences=drop_long_sequences,
        shard_multiplier=shard_multiplier,
        length_multiplier=length_multiplier,
    )


def example_length(example: Mapping[str, Any]) -> int:
    """Max over features of the length (dim 0; dim 0 * dim 1 for rank > 2), as T2T."""
    length = 0
    for value in example.values():
        # ndarray.shape directly: np.shape() costs a microsecond per call, per feature.
        shape = value.shape if isinstance(value, np.ndarray) else np.shape(value)
        if not shape:
            continue
        feature_length = shape[0] * shape[1] if len(shape) > 2 else shape[0]
        if feature_length > length:
            length = feature_length
    return length


def bucket_by_length(
    examples: Iterable[Any],
    boundaries: Sequence[int],
    batch_sizes: Sequence[int],
    length_fn: Callable[[Any], int] = example_length,
    fill_partial: bool = False,
) -> Iterator[list[Any]]:
    """Groups examples into batches per length bucket (tf's bucket_by_sequence_length).

    An example of length l goes to bucket i with boundaries[i-1] <= l < boundaries[i];
    bucket i emits a batch whenever it holds batch_sizes[i] examples. When the input ends
    the partial batches are emitted, bucket by bucket. With `fill_partial` (repeated
    training data) each partial batch is first filled up to its bucket's batch size with
    that bucket's first examples of the pass, cyclically: T2T repeats its training data
    before bucketing, so its buckets carry over into the next epoch and every training
    batch is full.
    """
    if len(batch_sizes) != len(boundaries) + 1:
        raise ValueError("need len(boundaries) + 1 batch sizes")
    buckets: list[list[Any]] = [[] for _ in batch_sizes]
    firsts: list[list[Any]] = [[] for _ in batch_sizes]  # at most one batch per bucket
    for example in examples:
        index = bisect.bisect_right(boundaries, length_fn(example))
        bucket = buckets[index]
        bucket.append(example)
        if fill_partial and len(firsts[index]) < batch_sizes[index]:
            firsts[index].append(example)
        if len(bucket) >= batch_sizes[index]:
            yield bucket
            buckets[index] = []
    for index, bucket in enumerate(buckets):
        if bucket:
            if fill_partial:
                fill = itertools.cycle(firsts[index])
                bucket = bucket + [next(fill) for _ in range(batch_sizes[index] - len(bucket))]
            yield bucket


def padded_length_batches(
    examples: Iterable[Mapping[str, Any]],
    scheme: Mapping[str, Any],
    max_length: int,
    fill_partial: bool = False,
) -> Iterator[dict[str, np.ndarray]]:
    """Examples no longer than `max_length`, bucketed by length with `scheme`'s boundaries
    and batch sizes (`bucket_by_length`, `fill_partial` as there), each batch padded."""
    kept = ((length, ex) for ex in examples if (length := example_length(ex)) <= max_length)
    batches = bucket_by_length(
        kept,
        scheme["boundaries"],
        scheme["batch_sizes"],
        length_fn=lambda pair: pair[0],
        fill_partial=fill_partial,
    )
    for batch in batches:
        yield pad_batch([ex for _, ex in batch])


def pad_batch(examples: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    """Stacks a list of examples, zero-padding each feature to its longest value in the batch.

    Features of rank 1 become [B, T]; features that are not numeric arrays (bytes) are dropped.

    Returns:
        feature name -> array [B, T, ...] (int64 for integer features, float32 for floats).
    """
    batch: dict[str, np.ndarray] = {}
    names = examples[0].keys()
    for name in names:
        values = [ex.get(name) for ex in examples]
        if not all(isinstance(v, np.ndarray) for v in values):
            continue
        dtype = np.float32 if values[0].dtype.kind == "f" else np.int64
        if all(v.ndim == 1 for v in values):
            batch[name] = _pad_rows(values, dtype)
        elif all(v.shape == values[0].shape for v in values):
            batch[name] = np.stack(values).astype(dtype, copy=False)  # fixed shapes: images
        else:
            batch[name] = _pad_nd(values, dtype)
    return batch


def _pad_rows(values: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
    """1-D values -> [B, T]: one masked assignment instead of a Python loop over rows.

    The mask selects, row by row, the first len(row) cells, in the same (row-major) order
    as the concatenated values; same result as `_pad_nd`, which tests check.
    """
    lengths = np.fromiter((v.shape[0] for v in values), dtype=np.int64, count=len(values))
    width = int(lengths.max())
    out = np.zeros((len(values), width), dtype=dtype)
    mask = np.arange(width) < lengths[:, None]  # [B, T]
    out[mask] = np.concatenate(values)
    return out


def _pad_nd(values: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
    """Any rank: each value copied into the corner of a zero array of the largest shape."""
    shape = tuple(max(v.shape[d] for v in values) for d in range(values[0].ndim))
    out = np.zeros((len(values),) + shape, dtype=dtype)
    for row, value in enumerate(values):
        out[(row,) + tuple(slice(0, n) for n in value.shape)] = value
    return out


def shuffle_buffer(items: Iterable[Any], size: int, rng: random.Random) -> Iterator[Any]:
    """tf.data-style shuffle: fill a buffer of `size`, emit a random element, refill."""
    if size <= 1:
        yield from items
        return
    buffer: list[Any] = []
    for item in items:
        if len(buffer) < size:
            buffer.append(item)
            continue
        index = rng.randrange(size)
        yield buffer[index]
        buffer[index] = item
    rng.shuffle(buffer)
    yield from buffer
