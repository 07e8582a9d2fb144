"""On-the-fly packing: several short examples share one fixed-length row (T2T's pack_dataset).

    rows = pack_sequences(examples, length=256, keys=("inputs", "targets"))
    # each row: {"inputs": [256], "inputs_segmentation": [256], "inputs_position": [256],
    #            "targets": [256], "targets_segmentation": [256], "targets_position": [256]}

Segment ids number the examples of a row 1, 2, ... (0 = padding) and positions restart at 0
in every example, in every stream; the Transformer reads them to keep the examples of a row
from attending to each other (data spec 6.6).

The placement follows T2T's pure-TF packer (`SequenceDatasetPacker(length, spacing=0,
queue_size=10)`), the one its pip package can run (the default `use_custom_ops=True` path
needs a compiled op that the package does not ship): examples with a stream longer than
`length` are dropped; each example goes to the first of `queue_size` open rows, in order
from the oldest, where every stream fits; when none fits, the oldest row is emitted and
reopened for it. The stream is packed in windows of `window_size` examples (T2T packs
windows in parallel; a window counts dropped examples too); at the end of a window its open
rows are emitted, oldest first.
Segment ids are numbered per example (the same number in every stream of a row), and like
T2T, ids and positions are 0 wherever the token is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from t2t.errors import DataError

__all__ = ["default_window_size", "pack_sequences"]


def default_window_size(length: int, queue_size: int = 10) -> int:
    """T2T's window: enough examples to fill every open row about ten times."""
    return max(1, int(length / 8 * queue_size * 10))


class _Row:
    """One open row: per stream, the tokens and the segment id of each token."""

    def __init__(self, num_streams: int) -> None:
        self.tokens: list[list[int]] = [[] for _ in range(num_streams)]
        self.segments: list[list[int]] = [[] for _ in range(num_streams)]
        self.num_examples = 0

    def fits(self, pieces: Sequence[np.ndarray], length: int) -> bool:
        return all(len(t) + len(p) <= length for t, p in zip(self.tokens, pieces))

    def add(self, pieces: Sequence[np.ndarray]) -> None:
        self.num_examples += 1
        for tokens, segments, piece in zip(self.tokens, self.segments, pieces):
            tokens.extend(int(v) for v in piece)
            segments.extend([self.num_examples] * len(piece))


def _finish(row: _Row, keys: Sequence[str], length: int) -> dict[str, np.ndarray]:
    """The row as zero-padded int64 arrays [length]: tokens, segment ids, positions."""
    out: dict[str, np.ndarray] = {}
    for key, tokens, segments in zip(keys, row.tokens, row.segments):
        ids = np.zeros(length, np.int64)
        ids[: len(tokens)] = tokens
        segmentation = np.zeros(length, np.int64)
        segmentation[: len(segments)] = segments
        position = np.zeros(length, np.int64)
        if segments:
            # Offset within the segment: index minus the index where its segment starts.
            index = np.arange(len(segments))
            starts = np.flatnonzero(np.diff(segmentation[: len(segments)], prepend=0))
            position[: len(segments)] = index - starts[np.searchsorted(starts, index, "right") - 1]
        nonzero = ids != 0
        out[key] = ids
        out[key + "_segmentation"] = segmentation * nonzero
        out[key + "_position"] = position * nonzero
    return out


def _pack_window(
    examples: Iterable[Sequence[np.ndarray]], length: int, num_streams: int, queue_size: int
) -> Iterator[_Row]:
    """First-fit of the examples' streams into `queue_size` open rows; yields full rows."""
    rows = [_Row(num_streams) for _ in range(queue_size)]
    top = 0  # the oldest open row
    for pieces in examples:
        order = [(top + i) % queue_size for i in range(queue_size)]
        target = next((i for i in order if rows[i].fits(pieces, length)), None)
        if target is None:
            yield rows[top]
            rows[top] = _Row(num_streams)
            target, top = top, (top + 1) % queue_size
        rows[target].add(pieces)
    for i in range(queue_size):
        row = rows[(top + i) % queue_size]
        if row.num_examples:
            yield row


def _streams(
    examples: Iterable[Mapping[str, Any]], keys: Sequence[str], length: int
) -> Iterator[list[np.ndarray]]:
    """Each example's streams as 1-D arrays; examples with a stream over `length` dropped."""
    for example in examples:
        try:
            pieces = [np.asarray(example[key]).reshape(-1) for key in keys]
        except KeyError as error:
            raise DataError(
                f"packing needs feature {error.args[0]!r}; the example has {sorted(example)}"
            ) from None
        if all(len(p) <= length for p in pieces):
            yield pieces


def pack_sequences(
    examples: Iterable[Mapping[str, Any]],
    length: int,
    keys: Sequence[str] = ("inputs", "targets"),
    queue_size: int = 10,
    window_size: int | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Packs examples into rows of exactly `length` tokens per stream (T2T's pack_dataset).

    Args:
        examples: dicts holding at least `keys` (1-D int sequences); other features are
            dropped, as in T2T.
        length: the row length (T2T: hparams.max_length).
        keys: the streams packed together (an example's streams share its segment id).
        queue_size: rows kept open for first-fit.
        window_size: examples packed independently of the next ones (default
            `default_window_size(length, queue_size)`).

    Yields:
        Rows {key, key_segmentation, key_position: int64 [length]} per key, zero-padded.

    Raises:
        DataError: length < 1, or an example lacks one of `keys`.
    """
    if length < 1:
        raise DataError(f"packing needs a row length >= 1 (hparams.max_length), got {length}")
    keys = tuple(keys)
    window = window_size or default_window_size(length, queue_size)
    examples = iter(examples)
    while True:
        # A window counts the examples read, the dropped ones too (T2T windows, then drops).
        chunk = [example for _, example in zip(range(window), examples)]
        if not chunk:
            return
        for row in _pack_window(_streams(chunk, keys, length), length, len(keys), queue_size):
            yield _finish(row, keys, length)
