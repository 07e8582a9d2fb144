"""A problem's batches: what the trainer reads, built on the plain `t2t.data.pipeline`.

    batches = make_batches(problem, "train", hparams, data_dir, rank=r, world_size=n,
                           num_workers=2, seed=1)
    for features in batches:          # {"inputs": [B, S], "targets": [B, T],
        ...                           #  "input_space_id": [], "target_space_id": []}

This is the problem-aware half of the input pipeline (data spec, 1.7 and 6.1): the split's
files, each record decoded with the problem's reading spec and preprocessed
(`Problem.preprocess_example`, then `_rev`/`_copy`), T2T's length buckets from the model
hparams, and the problem's space ids. With `pack_dataset`, the shuffled examples are packed
into rows of `max_length` (`t2t.data.packing`, data spec 6.6) before the length filter and
the batching. Missing model hparams take `basic_params1`'s values. The hparams handed in are
never modified.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from t2t.data import batching
from t2t.data.pipeline import Batches, batches_from_files
from t2t.errors import DataError
from t2t.hparams import basic_params1, copy_hparams
from t2t.problems import problem as problem_lib

__all__ = ["Batches", "batching_scheme_for", "make_batches"]

_DEFAULTS = basic_params1()


def _hp(hparams: Any, name: str) -> Any:
    """hparams.name, or basic_params1's value when it is missing or None."""
    value = getattr(hparams, name, None)
    return getattr(_DEFAULTS, name) if value is None else value


def batching_scheme_for(problem: problem_lib.Problem, hparams: Any) -> dict[str, Any]:
    """The boundaries and batch sizes the pipeline uses for `problem` with model `hparams`.

    Tokens mode (T2T: the problem says so, or some feature is variable-length) uses T2T's
    buckets; otherwise, and with `use_fixed_batch_size`, one bucket of `batch_size` examples.
    With `pack_dataset` every row is `max_length` long: in tokens mode a batch holds about
    batch_size // max_length rows (T2T's last bucket); otherwise batch_size rows.
    """
    if not _means_tokens(problem, hparams) or _hp(hparams, "use_fixed_batch_size"):
        batch_size = _hp(hparams, "batch_size")
        return {"boundaries": [], "batch_sizes": [batch_size], "min_length": 0,
                "max_length": 10**9}  # fmt: skip
    return batching.batching_scheme(
        batch_size=_hp(hparams, "batch_size"),
        max_length=_hp(hparams, "max_length"),
        min_length_bucket=_hp(hparams, "min_length_bucket"),
        length_bucket_step=_hp(hparams, "length_bucket_step"),
        drop_long_sequences=False,
        shard_multiplier=1,  # one process per GPU: batch_size is per GPU, as in T2T
        length_multiplier=problem.get_hparams(hparams).batch_size_multiplier,
        min_length=_hp(hparams, "min_length"),
    )


def _means_tokens(problem: problem_lib.Problem, hparams: Any) -> bool:
    """Whether batch_size counts tokens: the problem says so, or some feature has a
    variable length. Fixed-shape examples (images) are batched by count (T2T's rule)."""
    fields, _ = problem.example_reading_spec()
    # Packed rows have a fixed length, so only the problem can make batch_size count
    # tokens then (T2T decides from the dataset's shapes, which packing makes fixed).
    variable_length = not _hp(hparams, "pack_dataset") and any(
        isinstance(spec, problem_lib.VarLenFeature) for spec in fields.values()
    )
    return bool(problem.batch_size_means_tokens or variable_length)


class ProblemExamples:
    """A serialized record -> its examples: decoded, preprocessed, then `_rev`/`_copy`.

    A class (not a closure) so that DataLoader workers can receive it.
    """

    def __init__(self, problem: problem_lib.Problem, mode: str, hparams: Any, preprocess: bool):
        self.problem, self.mode, self.hparams, self.preprocess = problem, mode, hparams, preprocess

    def __call__(self, record: bytes) -> list[dict[str, np.ndarray]]:
        problem = self.problem
        example = problem_lib.decode_example(problem, record)
        if self.preprocess:
            processed = problem.preprocess_example(example, self.mode, self.hparams)
            examples = [processed] if isinstance(processed, dict) else processed
        else:
            examples = [example]
        return [
            problem_lib.maybe_reverse_and_copy(ex, problem.was_reversed, problem.was_copy)
            for ex in examples
        ]


def _with_data_dir(hparams: Any, data_dir: str) -> Any:
    """hparams with data_dir set (encoders find vocab files through it, as in T2T): the
    hparams themselves when they have one, else a copy."""
    if getattr(hparams, "data_dir", None) is not None:
        return hparams
    if hasattr(hparams, "add_hparam"):
        copied = copy_hparams(hparams)
        copied.add_hparam("data_dir", data_dir)
        return copied
    copied = copy.copy(hparams)
    copied.data_dir = data_dir
    return copied


def make_batches(
    problem: problem_lib.Problem | str,
    mode: str,
    hparams: Any,
    data_dir: str,
    *,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    seed: int = 0,
    repeat: bool | None = None,
    shuffle: bool | None = None,
    dataset_split: str | None = None,
    preprocess: bool = True,
) -> Batches:
    """Builds the batch iterable for `mode` ("train", "eval", "infer" or "test").

    Args:
        problem: a Problem or a registered name (with `_rev`/`_copy`).
        mode: "train" shuffles and drops examples longer than max_length; others don't.
        hparams: model hparams: batch_size (tokens), max_length, min_length,
            min_length_bucket, length_bucket_step, eval_drop_long_sequences,
            use_fixed_batch_size, batch_shuffle_size, pack_dataset (pack the examples into
            rows of max_length, `t2t.data.packing`), and the preprocessing ones
            (max_input_seq_length, max_target_seq_length, prepend_mode, split_to_length).
        data_dir: the directory t2t-datagen wrote.
        rank, world_size: this process among the distributed ranks (files are divided).
        num_workers: DataLoader worker processes per rank (0: read in this process).
        seed: shuffling seed; the same seed gives the same batches.
        repeat: loop over the data forever (default: mode == "train").
        shuffle: shuffle files, examples and batches (default: mode == "train").
        dataset_split: read this split's files instead of mode's.
        preprocess: apply Problem.preprocess_example.

    Returns:
        A `Batches` iterable with `state_dict()` / `load_state_dict()`.

    Raises:
        DataError: no data files, bad rank/world_size, or pack_dataset without a
            max_length or on already packed data.
    """
    if isinstance(problem, str):
        from t2t import registry

        problem = registry.problem(problem)
    if not 0 <= rank < world_size:
        raise DataError(f"rank {rank} is not in [0, world_size={world_size})")
    if hasattr(problem, "mixed_batches"):  # a MultiProblem draws from its tasks' files
        return problem.mixed_batches(
            mode, hparams, data_dir, rank=rank, world_size=world_size, num_workers=num_workers,
            seed=seed, repeat=repeat, shuffle=shuffle, dataset_split=dataset_split,
            preprocess=preprocess,
        )  # fmt: skip
    pack_length, pack_keys = _packing_for(problem, hparams)
    is_training = mode == problem_lib.Modes.TRAIN
    hparams = _with_data_dir(hparams, data_dir)
    problem_hparams = problem.get_hparams(hparams)
    files = problem_lib.data_files(problem, data_dir, dataset_split or mode)
    # T2T filters by length only when batch_size counts tokens: a fixed-shape example
    # (an image: its "length" is H*W) is never dropped.
    drop_long = _means_tokens(problem, hparams) and (
        is_training or _hp(hparams, "eval_drop_long_sequences")
    )
    return batches_from_files(
        files,
        ProblemExamples(problem, mode, hparams, preprocess),
        batching_scheme_for(problem, hparams),
        shuffle=is_training if shuffle is None else shuffle,
        repeat=is_training if repeat is None else repeat,
        min_length=_hp(hparams, "min_length") if _means_tokens(problem, hparams) else 0,
        max_length=problem.max_length(hparams) if drop_long else 10**9,
        batch_shuffle_size=_hp(hparams, "batch_shuffle_size"),
        space_ids=problem_lib.problem_hparams_to_features(problem_hparams),
        seed=seed,
        rank=rank,
        world_size=world_size,
        num_workers=num_workers,
        pack_length=pack_length,
        pack_keys=pack_keys,
    )


def _packing_for(problem: problem_lib.Problem, hparams: Any) -> tuple[int, list[str]]:
    """(row length, streams) of T2T's on-the-fly packing; (0, []) when pack_dataset is off.

    T2T packs "inputs" and "targets" into rows of hparams.max_length; a problem without
    inputs packs its targets alone (T2T's packer would reject it).

    Raises:
        DataError: max_length is 0, or the problem's data is already packed.
    """
    if not _hp(hparams, "pack_dataset"):
        return 0, []
    length = _hp(hparams, "max_length")
    if not length or length < 1:
        raise DataError(
            "pack_dataset=true packs examples into rows of hparams.max_length tokens: "
            f"set max_length > 0 (it is {length})"
        )
    if getattr(problem, "packed_length", None):
        raise DataError(
            f"problem {problem.name} is already packed (packed_length={problem.packed_length}):"
            " set pack_dataset=false, or use the unpacked problem"
        )
    fields, _ = problem.example_reading_spec()
    keys = [key for key in ("inputs", "targets") if key in fields]
    if not keys:
        raise DataError(f"pack_dataset=true: problem {problem.name} has no inputs or targets")
    return length, keys
