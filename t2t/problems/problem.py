"""The Problem: T2T's description of a dataset, its files, encoders and problem hparams.

Users subclass `Problem` (usually through `text_problems.Text2TextProblem`) and override
hooks: `generate_data`, `hparams`, `feature_encoders`, `example_reading_spec`,
`preprocess_example`, `eval_metrics`, `max_length`, ... The machinery behind them lives in
module-level functions beside this module, so the class stays small (T2T's Problem had 44
methods): `constants` (splits, modes, space ids, metric names), `preprocess` (common
preprocessing, `_rev`/`_copy` on examples), `problem_hparams` (building problem hparams),
`files` (data file names) and `reading` (reading specs, decoding records, `ProblemDataset`).
Their public names are re-exported here, where T2T user code imports them
(`tensor2tensor.data_generators.problem`).

An example is a dict: feature name -> 1-D NumPy array (int64 ids for text).
`Problem.dataset(mode, data_dir)` iterates over the examples of the files on disk:

    problem = registry.problem("algorithmic_reverse_binary40")
    for example in problem.dataset("train", data_dir="~/t2t_data"):
        print(example["inputs"], example["targets"])
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from t2t.data import text_encoder
from t2t.errors import DataError
from t2t.hparams import HParams
from t2t.modalities.names import ModalityType
from t2t.problems.constants import DatasetSplit, Example, Metrics, Modes, SpaceID, TaskID
from t2t.problems.files import _filepaths, data_files
from t2t.problems.preprocess import (
    _hparam,
    default_model_hparams,
    maybe_reverse_and_copy,
    preprocess_example_common,
)
from t2t.problems.problem_hparams import make_problem_hparams, problem_hparams_to_features
from t2t.problems.reading import (
    FixedLenFeature,
    ProblemDataset,
    VarLenFeature,
    decode_example,
    iterate_file_examples,
)
from t2t.registry import camelcase_to_snakecase

# T2T user code imports these from here; most live in the modules named in the docstring.
__all__ = [
    "DatasetSplit",
    "Example",
    "FixedLenFeature",
    "Metrics",
    "ModalityType",
    "Modes",
    "Problem",
    "ProblemDataset",
    "SpaceID",
    "TaskID",
    "VarLenFeature",
    "data_files",
    "decode_example",
    "default_model_hparams",
    "iterate_file_examples",
    "make_problem_hparams",
    "maybe_reverse_and_copy",
    "preprocess_example_common",
    "problem_hparams_to_features",
]

# ----------------------------------------------------------------------------- the class


class Problem:
    """A dataset: how to generate it, encode it, read it and what the model needs to know.

    The registry sets `name` (snake_case of the class name) on registered subclasses and
    instantiates them as `ProblemClass(was_reversed=..., was_copy=...)` for the
    `<name>_rev` / `<name>_copy` variants.
    """

    def __init__(self, was_reversed: bool = False, was_copy: bool = False) -> None:
        self._was_reversed = was_reversed
        self._was_copy = was_copy
        self._encoders: dict[str, Any] | None = None
        self._hparams: HParams | None = None
        self._task_id = -1

    @property
    def name(self) -> str:
        # Registered classes get a plain class attribute `name` from the registry, which
        # shadows this property; unregistered ones use T2T's default naming.
        """The registered name: snake_case of the class name (the registry may set it)."""
        return camelcase_to_snakecase(type(self).__name__)

    @property
    def was_reversed(self) -> bool:
        """True for the `_rev` variant (inputs and targets swapped)."""
        return self._was_reversed

    @property
    def was_copy(self) -> bool:
        """True for the `_copy` variant (targets := inputs)."""
        return self._was_copy

    @property
    def task_id(self) -> int:
        """The task id (-1 unless set, or given by a `global_task_id` method)."""
        if self._task_id == -1 and hasattr(self, "global_task_id"):
            self._task_id = self.global_task_id()
        return self._task_id

    def set_task_id(self, new_task_id: int) -> None:
        """Sets the task id."""
        self._task_id = new_task_id

    # ---- hooks users override --------------------------------------------------------------

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Writes the problem's TFRecord shards (and vocabulary) into `data_dir`."""
        raise NotImplementedError(f"{self.name} does not implement generate_data")

    @property
    def multiprocess_generate(self) -> bool:
        """Whether `generate_data` runs as several tasks (False by default)."""
        return False

    @property
    def num_generate_tasks(self) -> int:
        """Number of data generation tasks (for multiprocess generation)."""
        raise NotImplementedError()

    def prepare_to_generate(self, data_dir: str, tmp_dir: str) -> None:
        """Prepares what the generation tasks share (for multiprocess generation)."""
        raise NotImplementedError()

    def hparams(self, defaults: HParams, model_hparams: Any) -> None:
        """Sets problem hparams (modality, vocab_size, space ids, ...) on `defaults` in place."""

    def max_length(self, model_hparams: Any) -> int:
        """Longest example kept in training: split_to_length, max_length or batch_size."""
        return (
            _hparam(model_hparams, "split_to_length", 0)
            or _hparam(model_hparams, "max_length", 0)
            or _hparam(model_hparams, "batch_size", 0)
        )

    @property
    def batch_size_means_tokens(self) -> bool:
        """Whether `batch_size` counts tokens (True) or examples (False, the default)."""
        return False

    @property
    def skip_random_fraction_when_training(self) -> bool:
        """Whether training skips a random number of examples at the start (T2T's flag)."""
        return True

    def dataset_filename(self) -> str:
        """The prefix of the data files: the registered name without `_rev`/`_copy`."""
        return self.name

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """Feature name -> encoder; the default reads space-separated integers."""
        del data_dir
        return {"inputs": text_encoder.TextEncoder(), "targets": text_encoder.TextEncoder()}

    def example_reading_spec(self) -> tuple[dict[str, Any], dict[str, Callable] | None]:
        """(feature name -> VarLenFeature/FixedLenFeature, decoders or None)."""
        return {"inputs": VarLenFeature(np.int64), "targets": VarLenFeature(np.int64)}, None

    def preprocess_example(self, example: Example, mode: str, hparams: Any) -> Any:
        """One decoded example -> an example, or an iterable of examples."""
        return preprocess_example_common(example, mode, hparams)

    def eval_metrics(self) -> list[str]:
        """The metric names evaluation reports (see `Metrics`)."""
        return [Metrics.ACC, Metrics.ACC_TOP5, Metrics.ACC_PER_SEQ, Metrics.NEG_LOG_PERPLEXITY]

    @property
    def decode_hooks(self) -> list[Callable]:
        """Hooks run on decoded outputs (none by default)."""
        return []

    @property
    def has_inputs(self) -> bool:
        """Whether the problem has an "inputs" feature."""
        return "inputs" in self.get_feature_encoders()

    # ---- cached views ------------------------------------------------------------------------

    def get_feature_encoders(self, data_dir: str | None = None) -> dict[str, Any]:
        """The encoders of `feature_encoders(data_dir)`, made once and cached."""
        if self._encoders is None:
            self._encoders = self.feature_encoders(data_dir)
        return self._encoders

    def get_hparams(self, model_hparams: Any = None) -> HParams:
        """The problem hparams (cached): data spec 1.2, with `_rev`/`_copy` applied."""
        if self._hparams is None:
            self._hparams = make_problem_hparams(self, model_hparams)
        return self._hparams

    @property
    def feature_info(self) -> dict[str, dict[str, Any]]:
        """feature -> {encoder, modality, vocab_size, space_id}."""
        hp = self.get_hparams()
        info = {}
        for name in set(hp.modality) | set(hp.vocabulary):
            space = hp.input_space_id if "input" in name else hp.target_space_id
            info[name] = {
                "encoder": hp.vocabulary.get(name),
                "modality": hp.modality.get(name),
                "vocab_size": hp.vocab_size.get(name),
                "space_id": space,
            }
        return info

    # ---- files ----------------------------------------------------------------------------------

    def training_filepaths(self, data_dir: str, num_shards: int, shuffled: bool) -> list[str]:
        """Paths of the training shards in `data_dir` (`-unshuffled` unless `shuffled`)."""
        return _filepaths(self, "train", data_dir, num_shards, shuffled)

    def dev_filepaths(self, data_dir: str, num_shards: int, shuffled: bool) -> list[str]:
        """Paths of the dev shards in `data_dir`."""
        return _filepaths(self, "dev", data_dir, num_shards, shuffled)

    def test_filepaths(self, data_dir: str, num_shards: int, shuffled: bool) -> list[str]:
        """Paths of the test shards in `data_dir`."""
        return _filepaths(self, "test", data_dir, num_shards, shuffled)

    def data_filepaths(self, split: str, output_dir: str, num_shards: int, shuffled: bool):
        """Paths of the shards of `split` (a `DatasetSplit`) in `output_dir`.

        Raises:
            ValueError: an unknown split.
        """
        tag = {DatasetSplit.TRAIN: "train", DatasetSplit.EVAL: "dev", DatasetSplit.TEST: "test"}
        if split not in tag:
            raise ValueError(f"Unknown value for split: {split}")
        return _filepaths(self, tag[split], output_dir, num_shards, shuffled)

    def filepattern(self, data_dir: str, mode: str, shard: int | None = None) -> str:
        """`data_dir/<name>-train*` (TRAIN), `-dev*` (EVAL, PREDICT) or `-test*` (TEST)."""
        suffixes = {Modes.TRAIN: "train", Modes.EVAL: "dev", Modes.PREDICT: "dev", "test": "test"}
        if mode not in suffixes:
            raise ValueError(f"unknown mode {mode!r}: use train, eval, infer or test")
        shard_str = f"-{shard:05d}" if shard is not None else ""
        path = os.path.join(data_dir, self.dataset_filename())
        return f"{path}-{suffixes[mode]}{shard_str}*"

    def dataset(
        self,
        mode: str,
        data_dir: str | None = None,
        num_threads: int | None = None,
        output_buffer_size: int | None = None,
        shuffle_files: bool | None = None,
        hparams: Any = None,
        preprocess: bool = True,
        dataset_split: str | None = None,
        shard: int | None = None,
        partition_id: int = 0,
        num_partitions: int = 1,
        shuffle_buffer_size: int = 1024,
        max_records: int = -1,
        seed: int | None = None,
    ) -> ProblemDataset:
        """The examples of `mode`'s files (decoded, preprocessed, `_rev`/`_copy` applied).

        Training shuffles the file order and records (buffer `shuffle_buffer_size`) unless
        `shuffle_files=False`; `seed` makes that shuffling reproducible. `num_threads` and
        `output_buffer_size` are accepted for T2T compatibility (see t2t.problems.pipeline for
        parallel reading).

        Returns:
            A re-iterable `ProblemDataset` of example dicts (feature -> 1-D array).

        Raises:
            DataError: no files match, or fewer files than `num_partitions`.
        """
        del num_threads, output_buffer_size
        if not data_dir:
            raise DataError(f"{self.name}: dataset() needs data_dir")
        is_training = mode == Modes.TRAIN
        shuffle = bool(shuffle_files or (shuffle_files is None and is_training))
        hparams = hparams if hparams is not None else default_model_hparams()
        if getattr(hparams, "data_dir", None) is None:
            try:
                hparams.add_hparam("data_dir", data_dir)
            except Exception:  # noqa: BLE001 - plain objects without add_hparam
                hparams.data_dir = data_dir
        self.get_hparams(hparams)
        files = data_files(self, data_dir, dataset_split or mode, shard)
        if len(files) < num_partitions:
            raise DataError(
                f"number of data files ({len(files)}) must be at least the number of "
                f"partitions ({num_partitions})"
            )
        files = files[partition_id::num_partitions]
        return ProblemDataset(
            self, files, mode, hparams, preprocess, shuffle, shuffle_buffer_size, max_records, seed
        )

    def decode_example(self, serialized: bytes) -> Example:
        """One serialized tf.Example -> feature dict, as `example_reading_spec` says."""
        return decode_example(self, serialized)
