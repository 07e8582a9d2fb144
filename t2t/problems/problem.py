"""The Problem: T2T's description of a dataset, its files, encoders and problem hparams.

Users subclass `Problem` (usually through `text_problems.Text2TextProblem`) and override
hooks: `generate_data`, `hparams`, `feature_encoders`, `example_reading_spec`,
`preprocess_example`, `eval_metrics`, `max_length`, ... The machinery behind them (problem
hparams, `_rev`/`_copy` transforms, decoding records, reading files) lives in module-level
functions here, so the class stays small (T2T's Problem had 44 methods).

An example is a dict: feature name -> 1-D NumPy array (int64 ids for text).
`Problem.dataset(mode, data_dir)` iterates over the examples of the files on disk:

    problem = registry.problem("algorithmic_reverse_binary40")
    for example in problem.dataset("train", data_dir="~/t2t_data"):
        print(example["inputs"], example["targets"])
"""

from __future__ import annotations

import glob
import logging
import os
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from t2t.data import example_codec, text_encoder, tfrecord
from t2t.data.batching import shuffle_buffer
from t2t.errors import DataError
from t2t.hparams import HParams
from t2t.modalities.names import ModalityType as ModalityType  # T2T user code imports it here
from t2t.problems import generator_utils
from t2t.registry import camelcase_to_snakecase

logger = logging.getLogger(__name__)

Example = dict[str, np.ndarray]


class DatasetSplit:
    TRAIN = "train"
    EVAL = "eval"
    TEST = "test"


class Modes:
    """tf.estimator ModeKeys strings, used as `mode` everywhere."""

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


class SpaceID:
    """Input/target space ids: models get them as `input_space_id`/`target_space_id`."""

    GENERIC = 0
    IMAGE_LABEL = 1
    EN_CHR = 2
    EN_TOK = 3
    EN_BPE_TOK = 4
    FR_CHR = 5
    FR_TOK = 6
    DE_CHR = 7
    DE_TOK = 8
    DE_BPE_TOK = 9
    DIGIT_0 = 10
    DIGIT_1 = 11
    AUDIO_WAV = 12
    AUDIO_SPECTRAL = 13
    PARSE_CHR = 14
    PARSE_TOK = 15
    ZH_TOK = 16
    ICE_CHAR = 17
    ICE_TOK = 18
    ICE_PARSE_TOK = 19
    MK_TOK = 20
    CS_TOK = 21
    CS_CHR = 22
    DNA = 23
    REAL = 24
    IMAGE = 25
    PEPTIDE = 26
    PY_TOK = 27
    CPP_TOK = 28
    STROKES = 29
    PICKLED_PYTHON = 30


class TaskID:
    EN_CHR = 2
    EN_CHR_SENT = 3
    EN_PR_HYP = 4
    EN_NLI = 5
    COLA = 6
    EN_Q_CONT = 7
    EN_SIM = 8
    EN_SENT_PAIR = 9
    THREE_CL_NLI = 10


class Metrics:
    """T2T's metric names (the values returned by `eval_metrics`)."""

    ACC = "accuracy"
    ACC_TOP5 = "accuracy_top5"
    ACC_PER_SEQ = "accuracy_per_sequence"
    NEG_LOG_PERPLEXITY = "neg_log_perplexity"
    APPROX_BLEU = "approx_bleu_score"
    RMSE = "rmse"
    PEARSON = "pearson"
    ROUGE_2_F = "rouge_2_fscore"
    ROUGE_L_F = "rouge_L_fscore"
    EDIT_DISTANCE = "edit_distance"
    WORD_ERROR_RATE = "word_error_rate"


# ----------------------------------------------------------------------------- reading specs


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


def default_model_hparams() -> HParams:
    """What the data side reads from model hparams when none are given."""
    return HParams(
        max_input_seq_length=0,
        max_target_seq_length=0,
        prepend_mode="none",
        split_to_length=0,
        data_dir=None,
    )


def _hparam(hparams: Any, name: str, default: Any = None) -> Any:
    value = getattr(hparams, name, default)
    return default if value is None else value


def preprocess_example_common(example: Example, mode: str, hparams: Any) -> Example | list[Example]:
    """T2T's common preprocessing: truncation, prepend modes, split_to_length (in this order).

    Args:
        example: feature name -> 1-D array.
        mode: "train", "eval" or "infer".
        hparams: model hparams (max_input_seq_length, max_target_seq_length, prepend_mode,
            split_to_length).

    Returns:
        The example, or a list of examples when `split_to_length` chops it into pieces.
    """
    max_input = _hparam(hparams, "max_input_seq_length", 0)
    max_target = _hparam(hparams, "max_target_seq_length", 0)
    prepend_mode = _hparam(hparams, "prepend_mode", "none")
    if "inputs" in example and max_input > 0:
        example["inputs"] = example["inputs"][:max_input]
    if prepend_mode != "none":
        inputs = np.concatenate([example["inputs"], np.zeros(1, dtype=example["inputs"].dtype)])
        if mode == Modes.PREDICT:
            example["partial_targets"] = inputs
        else:
            example["targets"] = np.concatenate([inputs, example["targets"]])
    if "targets" in example and max_target > 0:
        example["targets"] = example["targets"][:max_target]
    split = _hparam(hparams, "split_to_length", 0)
    if split:
        return _split_to_length(example, split)
    return example


def _split_to_length(example: Example, length: int) -> list[Example]:
    dropped = [k for k in example if k not in ("inputs", "targets")]
    if dropped:
        logger.warning("split_to_length drops features %s", dropped)
    kept = {k: v for k, v in example.items() if k in ("inputs", "targets")}
    for name, value in kept.items():
        if len(value) % length:
            raise DataError(
                f"split_to_length={length}: feature {name!r} has length {len(value)}, "
                "which is not a multiple"
            )
    num_pieces = min(len(v) // length for v in kept.values()) if kept else 0
    return [
        {k: v[i * length : (i + 1) * length] for k, v in kept.items()} for i in range(num_pieces)
    ]


def maybe_reverse_and_copy(example: Example, was_reversed: bool, was_copy: bool) -> Example:
    """Applies the `_rev` (swap inputs/targets) then `_copy` (targets := inputs) transforms."""
    if was_reversed:
        for a, b in (
            ("inputs", "targets"),
            ("inputs_segmentation", "targets_segmentation"),
            ("inputs_position", "targets_position"),
        ):
            if a in example or b in example:
                va, vb = example.pop(a, None), example.pop(b, None)
                if va is not None:
                    example[b] = va
                if vb is not None:
                    example[a] = vb
    if was_copy:
        if "inputs" in example:
            example["targets"] = example["inputs"]
        for suffix in ("_segmentation", "_position"):
            if "inputs" + suffix in example and "targets" + suffix not in example:
                example["targets" + suffix] = example["inputs" + suffix]
    return example


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
        return camelcase_to_snakecase(type(self).__name__)

    @property
    def was_reversed(self) -> bool:
        return self._was_reversed

    @property
    def was_copy(self) -> bool:
        return self._was_copy

    @property
    def task_id(self) -> int:
        if self._task_id == -1 and hasattr(self, "global_task_id"):
            self._task_id = self.global_task_id()
        return self._task_id

    def set_task_id(self, new_task_id: int) -> None:
        self._task_id = new_task_id

    # ---- hooks users override --------------------------------------------------------------

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Writes the problem's TFRecord shards (and vocabulary) into `data_dir`."""
        raise NotImplementedError(f"{self.name} does not implement generate_data")

    @property
    def multiprocess_generate(self) -> bool:
        return False

    @property
    def num_generate_tasks(self) -> int:
        raise NotImplementedError()

    def prepare_to_generate(self, data_dir: str, tmp_dir: str) -> None:
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
        return False

    @property
    def skip_random_fraction_when_training(self) -> bool:
        return True

    def dataset_filename(self) -> str:
        """The prefix of the data files: the registered name without `_rev`/`_copy`."""
        return self.name

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        del data_dir
        return {"inputs": text_encoder.TextEncoder(), "targets": text_encoder.TextEncoder()}

    def example_reading_spec(self) -> tuple[dict[str, Any], dict[str, Callable] | None]:
        """(feature name -> VarLenFeature/FixedLenFeature, decoders or None)."""
        return {"inputs": VarLenFeature(np.int64), "targets": VarLenFeature(np.int64)}, None

    def preprocess_example(self, example: Example, mode: str, hparams: Any) -> Any:
        """One decoded example -> an example, or an iterable of examples."""
        return preprocess_example_common(example, mode, hparams)

    def eval_metrics(self) -> list[str]:
        return [Metrics.ACC, Metrics.ACC_TOP5, Metrics.ACC_PER_SEQ, Metrics.NEG_LOG_PERPLEXITY]

    @property
    def decode_hooks(self) -> list[Callable]:
        return []

    @property
    def has_inputs(self) -> bool:
        return "inputs" in self.get_feature_encoders()

    # ---- cached views ------------------------------------------------------------------------

    def get_feature_encoders(self, data_dir: str | None = None) -> dict[str, Any]:
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
        return _filepaths(self, "train", data_dir, num_shards, shuffled)

    def dev_filepaths(self, data_dir: str, num_shards: int, shuffled: bool) -> list[str]:
        return _filepaths(self, "dev", data_dir, num_shards, shuffled)

    def test_filepaths(self, data_dir: str, num_shards: int, shuffled: bool) -> list[str]:
        return _filepaths(self, "test", data_dir, num_shards, shuffled)

    def data_filepaths(self, split: str, output_dir: str, num_shards: int, shuffled: bool):
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


# ----------------------------------------------------------------------------- machinery


def _filepaths(
    problem: Problem, tag: str, data_dir: str, num_shards: int, shuffled: bool
) -> list[str]:
    name = problem.dataset_filename()
    if not shuffled:
        name += generator_utils.UNSHUFFLED_SUFFIX
    return generator_utils._data_filenames(f"{name}-{tag}", data_dir, num_shards)


def data_files(problem: Problem, data_dir: str, mode: str, shard: int | None = None) -> list[str]:
    """Sorted data files of `mode` ("train", "eval"/"infer" -> dev, "test").

    Raises:
        DataError: no file matches (with the command that generates the data).
    """
    pattern = problem.filepattern(os.path.expanduser(data_dir), mode, shard)
    files = sorted(
        f for f in glob.glob(pattern) if not f.endswith(generator_utils.INCOMPLETE_SUFFIX)
    )
    if not files:
        raise DataError(
            f"no data files match {pattern}. Generate them with: t2t-datagen "
            f"--problem={problem.name} --data_dir={data_dir}"
        )
    return files


def _default_problem_hparams() -> HParams:
    return HParams(
        loss_multiplier=1.0,
        batch_size_multiplier=1,
        stop_at_eos=False,
        modality={},
        vocab_size={},
        input_space_id=SpaceID.GENERIC,
        target_space_id=SpaceID.GENERIC,
    )


def make_problem_hparams(problem: Problem, model_hparams: Any = None) -> HParams:
    """Builds problem hparams: defaults, the problem's `hparams` hook, then `_rev`/`_copy`.

    Raises:
        ValueError: the problem's `hparams` returned something instead of mutating in place.
    """
    if model_hparams is None:
        model_hparams = default_model_hparams()
    data_dir = getattr(model_hparams, "data_dir", None) or None
    encoders = problem.get_feature_encoders(data_dir)
    hp = _default_problem_hparams()
    if problem.hparams(hp, model_hparams) is not None:
        raise ValueError(
            "The Problem subclass hparams function should mutate the defaults passed in "
            "and return None."
        )
    # A copy: the _rev transform swaps entries, the problem's own encoders stay as on disk.
    hp.add_hparam("vocabulary", dict(encoders))
    hp.add_hparam("was_reversed", problem.was_reversed)
    hp.add_hparam("was_copy", problem.was_copy)
    if problem.was_reversed:
        _reverse_problem_hparams(hp)
    if problem.was_copy:
        _copy_problem_hparams(hp)
    return hp


def _swap_name(name: str) -> str:
    if "target" in name:
        return name.replace("target", "input")
    return name.replace("input", "target")


def _reverse_problem_hparams(p: HParams) -> None:
    # Modalities: names with "target" and "input" trade places; others are kept.
    p.modality = {
        (_swap_name(k) if ("target" in k or "input" in k) else k): v for k, v in p.modality.items()
    }
    # Vocab sizes: only (X-with-"target", its "input" twin) pairs survive, swapped (T2T).
    reversed_vocab = {}
    for name in p.vocab_size:
        twin = name.replace("target", "input")
        if "target" in name and twin in p.vocab_size:
            reversed_vocab[name] = p.vocab_size[twin]
            reversed_vocab[twin] = p.vocab_size[name]
    p.vocab_size = reversed_vocab
    inputs_vocab = p.vocabulary.pop("inputs", None)
    targets_vocab = p.vocabulary.pop("targets", None)
    if inputs_vocab is not None:
        p.vocabulary["targets"] = inputs_vocab
    if targets_vocab is not None:
        p.vocabulary["inputs"] = targets_vocab
    input_space, target_space = p.input_space_id, p.target_space_id
    p.target_space_id = SpaceID.GENERIC if input_space is None else input_space
    p.input_space_id = SpaceID.GENERIC if target_space is None else target_space
    p.was_reversed = True


def _copy_problem_hparams(p: HParams) -> None:
    p.modality["targets"] = p.modality["inputs"]
    p.vocab_size["targets"] = p.vocab_size["inputs"]
    p.vocabulary["targets"] = p.vocabulary["inputs"]
    p.target_space_id = p.input_space_id
    p.was_copy = True


def problem_hparams_to_features(problem_hparams: Any) -> dict[str, int]:
    """{"input_space_id", "target_space_id"} (GENERIC for None)."""
    input_space = getattr(problem_hparams, "input_space_id", None)
    target_space = getattr(problem_hparams, "target_space_id", None)
    return {
        "input_space_id": SpaceID.GENERIC if input_space is None else int(input_space),
        "target_space_id": SpaceID.GENERIC if target_space is None else int(target_space),
    }


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
    problem: Problem, filename: str, mode: str, hparams: Any, preprocess: bool = True
) -> Iterator[Example]:
    """The examples of one file: decoded, preprocessed, `_rev`/`_copy` applied."""
    for index, record in enumerate(tfrecord.read_records(filename)):
        try:
            example = decode_example(problem, record)
        except DataError as error:
            raise DataError(f"{filename}: record {index}: {error}") from None
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

    def _examples(self, files: list[str]) -> Iterator[Example]:
        for filename in files:
            yield from iterate_file_examples(
                self.problem, filename, self.mode, self.hparams, self.preprocess
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
