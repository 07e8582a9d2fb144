"""The input pipeline's engine: record files -> padded LongTensor batches, bucketed by length.

This module takes plain arguments and knows nothing of problems: the files, a function
from a serialized record to its examples, and the bucketing scheme.
`t2t.problems.pipeline.make_batches(problem, mode, hparams, data_dir)` builds those from
a problem and model hparams (what the trainer calls):

    batches = batches_from_files(files, examples_fn, scheme, seed=1, shuffle=True,
                                 repeat=True, rank=r, world_size=n, num_workers=2)
    for features in batches:          # {"inputs": [B, S], "targets": [B, T], ...}
        ...
    state = batches.state_dict()      # save with the checkpoint; later:
    batches.load_state_dict(state)    # the next iteration continues where it stopped

What happens to an example, in T2T's order (data spec, 1.7 and 6.1): the files of the
split are shuffled (training) and divided among all readers (ranks x DataLoader workers;
by file when there are enough files, else by record); each record is decoded and
preprocessed (`Problem.preprocess_example`, whose random augmentation draws from
`t2t.data.example_rng`, keyed by seed, epoch, reader and record), `_rev`/`_copy` are
applied; in training examples are shuffled in a 1024-example buffer; examples longer
than `max_length` are dropped (training, or eval with `eval_drop_long_sequences`); T2T's
length buckets group them into batches of about `batch_size` tokens; batches are shuffled in a
`batch_shuffle_size` buffer (training) and zero-padded. With `pack_length` (T2T's
pack_dataset) the shuffled examples are first packed into rows of that length
(`t2t.data.packing`), and the rows are filtered and batched in their place.

Determinism and resuming: every random choice comes from `seed`, the epoch and the
reader, so a reader's sequence of batches is a pure function of them. The state is, per
reader, (epoch, batches already consumed); a restored pipeline replays that reader's epoch
without building tensors and continues with the next batch. Departures from T2T: in
training, an epoch's partly filled buckets are filled up with their bucket's first
examples of the epoch (T2T's repeat carried them into the next epoch's buckets instead;
either way every training batch is full, which keeps T2T's tokens per batch: flushing them
made ~6% of text2text_tmpdir's batches partial, some of one row); and T2T's random skip at
the start of training is replaced by per-reader shuffling.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from t2t.data import batching, example_rng, packing, tfrecord
from t2t.errors import DataError

logger = logging.getLogger(__name__)

_RECORD_SHUFFLE_BUFFER = 1024  # T2T's Problem.dataset default

# A serialized record -> the examples it gives (decoded, preprocessed; any number).
ExamplesFn = Callable[[bytes], Iterable[dict[str, np.ndarray]]]


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


class _Reader:
    """One reader's deterministic stream of (epoch, index, batch) for a split's files."""

    def __init__(self, spec: dict[str, Any], reader: int, num_readers: int) -> None:
        self.spec = spec
        self.reader = reader
        self.num_readers = num_readers

    def _rng(self, epoch: int, what: str) -> random.Random:
        # str seeds are hashed with SHA-512: stable across processes and Python runs.
        return random.Random(f"{self.spec['seed']}/{epoch}/{self.reader}/{what}")

    def _records(self, epoch: int) -> Iterator[bytes]:
        files = list(self.spec["files"])
        if self.spec["shuffle"]:
            # The same order on every reader (no reader id in the seed): a partition.
            random.Random(f"{self.spec['seed']}/{epoch}/files").shuffle(files)
        if len(files) >= self.num_readers:
            for filename in files[self.reader :: self.num_readers]:
                yield from tfrecord.read_records(filename)
        else:
            index = 0
            for filename in files:
                for record in tfrecord.read_records(filename):
                    if index % self.num_readers == self.reader:
                        yield record
                    index += 1

    def _examples(self, epoch: int) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """(length, example) of the examples kept; the length is computed once, for both the
        length filter and the bucketing."""
        min_len, max_len = self.spec["min_length"], self.spec["max_length"]
        for ex in self._record_examples(epoch):
            length = batching.example_length(ex)
            if min_len <= length <= max_len:
                yield length, ex

    def _record_examples(self, epoch: int) -> Iterator[dict[str, np.ndarray]]:
        """The examples of this reader's records; record i's random preprocessing
        (augmentation) draws from the key (seed, epoch, reader, i)."""
        examples_fn = self.spec["examples_fn"]
        key = (self.spec["seed"], epoch, self.reader)
        for index, record in enumerate(self._records(epoch)):
            example_rng.set_example_key((*key, index))
            yield from examples_fn(record)

    def _packed_examples(self, epoch: int) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """(length, row) of packed rows, in T2T's order: examples shuffled, packed, then the
        rows filtered by length."""
        spec = self.spec
        examples = self._record_examples(epoch)
        if spec["shuffle"]:
            rng = self._rng(epoch, "examples")
            examples = batching.shuffle_buffer(examples, _RECORD_SHUFFLE_BUFFER, rng)
        rows = packing.pack_sequences(examples, spec["pack_length"], spec["pack_keys"])
        min_len, max_len = spec["min_length"], spec["max_length"]
        for row in rows:
            length = batching.example_length(row)
            if min_len <= length <= max_len:
                yield length, row

    def _epoch_batches(self, epoch: int) -> Iterator[list[tuple[int, dict[str, np.ndarray]]]]:
        spec = self.spec
        if spec["pack_length"]:
            examples = self._packed_examples(epoch)
        else:
            examples = self._examples(epoch)
            if spec["shuffle"]:
                rng = self._rng(epoch, "examples")
                examples = batching.shuffle_buffer(examples, _RECORD_SHUFFLE_BUFFER, rng)
        scheme = spec["scheme"]
        batches = batching.bucket_by_length(
            examples,
            scheme["boundaries"],
            scheme["batch_sizes"],
            length_fn=_first,
            fill_partial=spec["repeat"],
        )
        if spec["shuffle"]:
            rng = self._rng(epoch, "batches")
            batches = batching.shuffle_buffer(batches, spec["batch_shuffle_size"], rng)
        return batches

    def batches(self, epoch: int, skip: int) -> Iterator[tuple[int, int, dict[str, np.ndarray]]]:
        """(epoch, index in epoch, padded batch), starting at batch `skip` of `epoch`."""
        while True:
            produced = 0
            for index, batch in enumerate(self._epoch_batches(epoch)):
                produced += 1
                if index >= skip:
                    yield epoch, index, batching.pad_batch([ex for _, ex in batch])
            if not self.spec["repeat"]:
                return
            if produced == 0:
                raise DataError(
                    f"reader {self.reader} of {self.num_readers} got no example: all were "
                    "filtered out (max_length/min_length) or it has no data"
                )
            epoch, skip = epoch + 1, 0


class _ReaderDataset(torch.utils.data.IterableDataset):
    """Runs one `_Reader` per DataLoader worker; yields (worker, epoch, index, arrays).

    Batches cross the process boundary as NumPy arrays (pickled through the worker's pipe)
    and become tensors in the main process: a torch tensor from a worker travels through a
    new shared-memory segment per tensor, which costs about twice as much per batch.
    """

    def __init__(self, spec: dict[str, Any], positions: dict[int, tuple[int, int]]) -> None:
        super().__init__()
        self.spec = spec
        self.positions = positions

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker = info.id if info is not None else 0
        num_workers = info.num_workers if info is not None else 1
        rank, world_size = self.spec["rank"], self.spec["world_size"]
        reader = _Reader(self.spec, rank * num_workers + worker, world_size * num_workers)
        start_epoch, skip = self.positions.get(worker, (0, 0))
        for epoch, index, batch in reader.batches(start_epoch, skip):
            yield worker, epoch, index, batch


def _keep_as_is(item: Any) -> Any:
    """DataLoader collate_fn that does not turn the worker's arrays into tensors."""
    return item


class Batches:
    """An iterable of padded feature batches with a resumable position.

    Iterating yields dicts of tensors: "inputs" LongTensor[B, S] (problems with inputs),
    "targets" LongTensor[B, T] (or [B, 1] for class labels), other stored features padded
    the same way, and "input_space_id" / "target_space_id" as 0-d LongTensors. Training
    (repeat=True) never ends; eval iterates once over the split per `iter()`.
    """

    def __init__(self, spec: dict[str, Any], num_workers: int) -> None:
        self._spec = spec
        self.num_workers = num_workers
        self.scheme = spec["scheme"]
        self._positions: dict[int, tuple[int, int]] = {}
        self._next_worker = 0
        space_ids = spec["space_ids"]
        self._space_ids = {k: torch.tensor(v, dtype=torch.long) for k, v in space_ids.items()}

    def _loader(self) -> Any:
        dataset = _ReaderDataset(self._spec, dict(self._positions))
        if self.num_workers == 0:
            return iter(dataset)
        return iter(
            torch.utils.data.DataLoader(
                dataset,
                batch_size=None,
                num_workers=self.num_workers,
                prefetch_factor=4,
                collate_fn=_keep_as_is,
            )
        )

    def _in_worker_order(self, items: Iterator[tuple]) -> Iterator[tuple]:
        """Round-robin over workers starting at the saved next worker (the DataLoader always
        starts at worker 0). Only for endless streams: a finite worker may run dry."""
        if self.num_workers <= 1 or not self._spec["repeat"]:
            yield from items
            return
        pending: dict[int, list[tuple]] = {w: [] for w in range(self.num_workers)}
        expected = self._next_worker
        for item in items:
            pending[int(item[0])].append(item)
            while pending[expected]:
                yield pending[expected].pop(0)
                expected = (expected + 1) % self.num_workers

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for worker, epoch, index, arrays in self._in_worker_order(self._loader()):
            tensors = {name: torch.from_numpy(value) for name, value in arrays.items()}
            worker = int(worker)
            # The next batch this worker owes us: recorded only when the batch is handed out.
            self._positions[worker] = (int(epoch), int(index) + 1)
            self._next_worker = (worker + 1) % max(1, self.num_workers)
            tensors.update(self._space_ids)
            yield tensors
        # A finite (eval) pass is complete: the next iteration starts from the beginning.
        self._positions = {}
        self._next_worker = 0

    def state_dict(self) -> dict[str, Any]:
        """The position (per reader: epoch, batches consumed), JSON-serialisable."""
        return {
            "version": 1,
            "num_workers": self.num_workers,
            "rank": self._spec["rank"],
            "world_size": self._spec["world_size"],
            "seed": self._spec["seed"],
            "positions": {str(w): list(p) for w, p in sorted(self._positions.items())},
            "next_worker": self._next_worker,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues from a `state_dict()`; the next `iter()` resumes there.

        With a different number of workers or world size, readers cannot be matched: the
        pipeline restarts at the beginning of the earliest saved epoch (with a warning).
        """
        positions = {int(w): (int(p[0]), int(p[1])) for w, p in state["positions"].items()}
        same_layout = (
            state.get("num_workers") == self.num_workers
            and state.get("world_size") == self._spec["world_size"]
            and state.get("seed") == self._spec["seed"]
        )
        if same_layout:
            self._positions = positions
            self._next_worker = int(state.get("next_worker", 0))
            return
        epoch = min((p[0] for p in positions.values()), default=0)
        logger.warning(
            "input pipeline state saved with num_workers=%s world_size=%s seed=%s; now %s/%s/%s:"
            " restarting at the beginning of epoch %d",
            state.get("num_workers"), state.get("world_size"), state.get("seed"),
            self.num_workers, self._spec["world_size"], self._spec["seed"], epoch,
        )  # fmt: skip
        self._positions = {w: (epoch, 0) for w in range(max(1, self.num_workers))}
        self._next_worker = 0


def batches_from_files(
    files: list[str],
    examples_fn: ExamplesFn,
    scheme: dict[str, Any],
    *,
    shuffle: bool,
    repeat: bool,
    min_length: int = 0,
    max_length: int = 10**9,
    batch_shuffle_size: int = 512,
    space_ids: dict[str, int] | None = None,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pack_length: int = 0,
    pack_keys: Sequence[str] = ("inputs", "targets"),
) -> Batches:
    """Builds the batch iterable over the TFRecord `files`.

    Args:
        files: the split's record files.
        examples_fn: serialized record -> its examples (dicts of int arrays); must be
            picklable when num_workers > 0.
        scheme: {"boundaries", "batch_sizes"} from `batching.batching_scheme` (or one
            bucket of a fixed batch size).
        shuffle: shuffle files, examples (1024-example buffer) and batches.
        repeat: loop over the data forever (training); else one pass per `iter()`.
        min_length, max_length: examples outside [min_length, max_length] are dropped.
        batch_shuffle_size: the batch shuffle buffer (when shuffling).
        space_ids: scalar features added to every batch ("input_space_id", ...).
        seed: shuffling seed; the same seed gives the same batches.
        rank, world_size: this process among the distributed ranks (files are divided).
        num_workers: DataLoader worker processes per rank (0: read in this process).
        pack_length: > 0: after the example shuffle, pack the `pack_keys` streams into rows
            of this length (`t2t.data.packing`, T2T's pack_dataset); the rows are then
            length-filtered and batched like examples.
        pack_keys: the streams packed together.

    Returns:
        A `Batches` iterable with `state_dict()` / `load_state_dict()`.

    Raises:
        DataError: bad rank/world_size.
    """
    if not 0 <= rank < world_size:
        raise DataError(f"rank {rank} is not in [0, world_size={world_size})")
    spec = {
        "files": list(files),
        "examples_fn": examples_fn,
        "shuffle": shuffle,
        "repeat": repeat,
        "seed": seed,
        "rank": rank,
        "world_size": world_size,
        "scheme": scheme,
        "min_length": min_length,
        "max_length": max_length,
        "batch_shuffle_size": batch_shuffle_size,
        "space_ids": dict(space_ids or {}),
        "pack_length": pack_length,
        "pack_keys": tuple(pack_keys),
    }
    return Batches(spec, num_workers)
