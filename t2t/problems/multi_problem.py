"""MultiProblem: several text problems trained as one language model (T2T's multitask setup).

A `MultiProblem` holds a `task_list`; the first task is the primary one (usually a language
model) whose targets vocabulary every task shares. T2T's recipe (data spec 2.10):

* each task gets an id just past the shared vocabulary: `task_id = vocab_size + index`;
  the model's target vocabulary grows by the number of tasks plus the largest number of
  classes of a classification task (or to `multiproblem_vocab_size` if that is larger);
* every example becomes a language-model example (`normalize_example_nlp`):
  `targets = inputs ++ [task_id] ++ targets` for tasks with inputs, `[task_id] ++ targets`
  for the others; class labels are spelled as a token (a digit character, or an id past
  the task ids for subword vocabularies);
* training draws each example's task with the `multiproblem_mixing_schedule`
  (`constant`, `exponential`, `pretrain`), or with `multiproblem_per_task_threshold`;
* evaluation interleaves the tasks' dev sets and reports every metric per task
  (`metrics-<task name>/targets/<metric>`, weighted on the tokens after the task id);
* the loss can be split per task and reweighted (`multiproblem_reweight_label_loss`,
  `multiproblem_label_weight`), see `t2t.modalities.multi_problem_loss`.

    problem = registry.problem("languagemodel_lm1b_sentiment_imdb")
    batches = problem.mixed_batches("train", hparams, data_dir)   # what make_batches returns

Departures from T2T: the schedule's step counter (T2T's `problem_step` variable) is kept in
the batches' `state_dict` so a resumed run continues the schedule; after a resume the task
streams restart from a reshuffled start instead of their exact position. Evaluation
interleaves the dev sets until every one is exhausted (T2T zipped them after padding each
with 20,000 all-zero examples that the metrics ignored).
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from t2t.data import batching
from t2t.errors import DataError
from t2t.hparams import HParams, copy_hparams
from t2t.modalities.names import ModalityType
from t2t.problems import problem as problem_lib
from t2t.problems.constants import Metrics, Modes
from t2t.problems.mixing_batches import MixingBatches, in_turns
from t2t.problems.text_problems import VocabType

log = logging.getLogger(__name__)

__all__ = [
    "MixingSchedule",
    "MultiProblem",
    "choose_task",
    "inverse_exp_decay",
    "mixing_probability",
    "normalize_example_nlp",
    "per_task_thresholds",
    "task_probabilities",
]


class MixingSchedule:
    """Names of T2T's schedules (`multiproblem_mixing_schedule`)."""

    EXPONENTIAL = "exponential"
    CONSTANT = "constant"
    PRETRAIN = "pretrain"


# ----------------------------------------------------------------------------- the schedule


def inverse_exp_decay(max_step: float, min_value: float, step: float) -> float:
    """Rises exponentially from `min_value` at step 0 to 1.0 at `max_step` (then stays 1).

    T2T's `common_layers.inverse_exp_decay`: base**max(max_step - step, 0) with
    base = exp(log(min_value) / max_step), in float32 as TF computes it (the rounding of
    base, raised to a power of up to max_step, moves the result by ~1e-4 relative).
    """
    f32 = np.float32
    base = np.exp(np.log(f32(min_value)) / f32(max_step))
    return float(np.power(base, f32(max(float(max_step) - float(step), 0.0))))


def mixing_probability(schedule: str, step: int, threshold: float, max_examples: float) -> float:
    """The probability mass of the secondary tasks at `step` (0: only the primary task).

    Args:
        schedule: "constant" (always `threshold`), "exponential" (`threshold` times
            `inverse_exp_decay(max_examples, 1e-4, step)`) or "pretrain" (0 while
            step <= max_examples, then 1).
        step: the number of examples drawn so far, this one included (T2T counts from 1).
        threshold: `multiproblem_schedule_threshold`.
        max_examples: `multiproblem_schedule_max_examples`.

    Raises:
        ValueError: an unknown schedule.
    """
    if schedule == MixingSchedule.CONSTANT:
        return float(threshold)
    if schedule == MixingSchedule.EXPONENTIAL:
        return inverse_exp_decay(max_examples, 1e-4, step) * threshold
    if schedule == MixingSchedule.PRETRAIN:
        return 1.0 if step > int(max_examples) else 0.0
    raise ValueError(
        f"Unknown schedule {schedule!r}: multiproblem_mixing_schedule is one of "
        "constant, exponential, pretrain"
    )


def per_task_thresholds(spec: str, num_tasks: int) -> list[float] | None:
    """`multiproblem_per_task_threshold` ("a,b,c") -> normalised cumulative sums, or None.

    None when `spec` is empty, or (with a warning, as in T2T) when it names a different
    number of tasks than there are.
    """
    if not spec:
        return None
    weights = [float(t) for t in spec.split(",")]
    total = sum(weights)
    cumulative = list(itertools.accumulate(w / total for w in weights))
    if len(cumulative) != num_tasks:
        log.warning("Specified %d thresholds but encountered %d tasks.", len(weights), num_tasks)
        return None
    return cumulative


def choose_task(
    rand: float, prob: float, num_tasks: int, thresholds: Sequence[float] | None = None
) -> int:
    """The task a uniform draw `rand` in [0, 1) picks (T2T's recursive `sample_task`).

    With `thresholds` (cumulative): the first task i < n-1 with rand < thresholds[i], else
    the last. Without: the primary task when rand > prob; otherwise the mass `prob` is
    split evenly among the secondary tasks (task i when rand > prob - i * prob / (n - 1)).
    """
    for index in range(num_tasks - 1):
        if thresholds is not None:
            if rand < thresholds[index]:
                return index
        elif rand > prob - index * prob / (num_tasks - 1):
            return index
    return num_tasks - 1


def task_probabilities(
    prob: float, num_tasks: int, thresholds: Sequence[float] | None = None
) -> list[float]:
    """The probability of each task under `choose_task` (for logs and tests)."""
    if thresholds is not None:
        bounds = [0.0, *thresholds[:-1], 1.0]
        return [bounds[i + 1] - bounds[i] for i in range(num_tasks)]
    if num_tasks == 1:
        return [1.0]
    prob = min(max(prob, 0.0), 1.0)
    return [1.0 - prob] + [prob / (num_tasks - 1)] * (num_tasks - 1)


# ----------------------------------------------------------------------------- normalizing


def _fixed_length(ids: np.ndarray, size: int) -> np.ndarray:
    """ids cut or zero-padded to exactly `size`."""
    out = np.zeros([size], dtype=np.int64)
    ids = ids[:size]
    out[: len(ids)] = ids
    return out


def normalize_example_nlp(
    task: problem_lib.Problem,
    example: dict[str, np.ndarray],
    is_infer: bool,
    vocab_type: str,
    vocab_offset: int,
    max_input_length: int,
    max_target_length: int,
    fixed_train_length: int,
) -> dict[str, np.ndarray]:
    """One task's example as a language-model example of the shared vocabulary.

    Args:
        task: the example's problem (its `task_id` must be set).
        example: {"inputs"?: [S] ending in EOS, "targets": [T], ...}.
        is_infer: inference keeps "inputs" (+ the task id) and leaves targets alone.
        vocab_type: the MultiProblem's `vocab_type` (how class labels are spelled).
        vocab_offset: first id of the class labels for subword vocabularies
            (vocab_size + number of tasks).
        max_input_length, max_target_length: > 0 cuts inputs / targets of sequence tasks
            (targets are not cut at inference).
        fixed_train_length: > 0 pads or cuts the result to exactly this length.

    Returns:
        {"targets": [inputs ++ task_id ++ targets] (or [task_id ++ targets]), "task_id": [1],
        other features unchanged}; at inference {"inputs": inputs ++ task_id, "targets", ...}.
    """
    example = dict(example)
    has_inputs = task.has_inputs and "inputs" in example
    if has_inputs:
        example["inputs"] = example["inputs"][:-1]  # the EOS gives way to the task id
    targets = np.asarray(example["targets"], dtype=np.int64).reshape([-1])
    if hasattr(task, "class_labels"):
        if vocab_type == VocabType.CHARACTER:
            # The label's last decimal digit as its character ('0' is byte 48, id 50).
            targets = targets % 10 + 50
        elif vocab_type == VocabType.SUBWORD:
            targets = vocab_offset + targets
    elif has_inputs:
        if max_input_length > 0:
            example["inputs"] = example["inputs"][:max_input_length]
        if max_target_length > 0 and not is_infer:
            targets = targets[:max_target_length]
    task_id = np.array([task.task_id], dtype=np.int64)
    if has_inputs and is_infer:
        example["inputs"] = np.concatenate([example["inputs"], task_id])
        example["targets"] = targets
    else:
        parts = [example.pop("inputs"), task_id, targets] if has_inputs else [task_id, targets]
        targets = np.concatenate(parts).astype(np.int64)
        if fixed_train_length > 0 and not is_infer:
            targets = _fixed_length(targets, fixed_train_length)
        example["targets"] = targets
        example.pop("inputs", None)
    example["task_id"] = task_id
    return example


# ----------------------------------------------------------------------------- the problem


def _hp(hparams: Any, name: str, default: Any) -> Any:
    value = getattr(hparams, name, None)
    return default if value is None else value


class MultiProblem(problem_lib.Problem):
    """Problems mixed into one language-model problem; subclasses fill `self.task_list`.

    Subclasses append their tasks in `__init__` (the primary task first) and say how class
    labels are spelled through `vocab_type` (VocabType.CHARACTER or SUBWORD).
    """

    def __init__(self, was_reversed: bool = False, was_copy: bool = False) -> None:
        super().__init__(was_reversed, was_copy)
        self.task_list: list[problem_lib.Problem] = []

    @property
    def vocab_type(self) -> str:
        """How class labels are spelled: SUBWORD (ids past the task ids) by default."""
        return VocabType.SUBWORD

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Generates every task's data.

        Raises:
            DataError: fewer than two tasks.
        """
        if len(self.task_list) < 2:
            raise DataError(f"{self.name}: a MultiProblem needs at least two tasks")
        for task in self.task_list:
            task.generate_data(data_dir, tmp_dir, task_id)

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """The primary task's encoders (its targets vocabulary is shared)."""
        return self.task_list[0].get_feature_encoders(data_dir)

    def example_reading_spec(self):
        """The primary task's reading spec (each task reads its own files)."""
        return self.task_list[0].example_reading_spec()

    @property
    def has_inputs(self) -> bool:
        """Training examples have targets only (the inputs move into the targets)."""
        return self.task_list[0].has_inputs

    @property
    def batch_size_means_tokens(self) -> bool:
        """Batches count tokens: every example is a variable-length language-model example."""
        return True

    def filepattern(self, data_dir: str, mode: str, shard: int | None = None) -> list[str]:
        """One file pattern per task."""
        return [task.filepattern(data_dir, mode, shard) for task in self.task_list]

    def eval_metrics(self) -> list[str]:
        """Accuracy and log-perplexity (+ ROUGE-2/L when a task name contains "summarize")."""
        metrics = [Metrics.ACC, Metrics.NEG_LOG_PERPLEXITY]
        if any("summarize" in task.name for task in self.task_list):
            metrics += [Metrics.ROUGE_2_F, Metrics.ROUGE_L_F]
        return metrics

    def update_task_ids(self, encoder_vocab_size: int) -> None:
        """Task i gets id `encoder_vocab_size + i`."""
        for index, task in enumerate(self.task_list):
            task.set_task_id(index + encoder_vocab_size)
            log.info("Task %d (%s) has id %d.", index, task.name, task.task_id)

    def get_max_num_classes(self) -> int:
        """The largest `num_classes` of a classification task (0 when there is none)."""
        return max((getattr(t, "num_classes", 0) or 0 for t in self._class_tasks()), default=0)

    def _class_tasks(self) -> list[problem_lib.Problem]:
        return [task for task in self.task_list if hasattr(task, "class_labels")]

    def get_hparams(self, model_hparams: Any = None) -> HParams:
        """The primary task's hparams with the targets vocabulary grown for the task ids and
        class labels (or to `multiproblem_vocab_size`), a symbol targets modality, and
        `multiproblem_tasks`: [(name, task_id, is_classification), ...] for the loss."""
        if self._hparams is not None:
            return self._hparams
        primary = self.task_list[0].get_hparams(model_hparams)
        hp = copy_hparams(primary)
        hp.modality = dict(primary.modality)
        hp.vocab_size = dict(primary.vocab_size)
        hp.vocabulary = dict(primary.vocabulary)
        vocab_size = hp.vocabulary["targets"].vocab_size
        new_size = vocab_size + len(self.task_list) + self.get_max_num_classes()
        new_size = max(new_size, int(_hp(model_hparams, "multiproblem_vocab_size", -1)))
        log.info("Old vocabulary size: %d; new vocabulary size: %d", vocab_size, new_size)
        self.update_task_ids(vocab_size)
        hp.vocab_size["targets"] = new_size
        hp.modality["targets"] = ModalityType.SYMBOL
        hp.multiproblem_tasks = [
            (task.name, task.task_id, hasattr(task, "class_labels")) for task in self.task_list
        ]
        self._hparams = hp
        return hp

    def normalize_example(
        self, task: problem_lib.Problem, example: dict, encoder: Any, hparams: Any, is_infer: bool
    ) -> dict:
        """`normalize_example_nlp` with this problem's settings (override for other uses)."""
        return normalize_example_nlp(
            task,
            example,
            is_infer,
            self.vocab_type,
            encoder.vocab_size + len(self.task_list),
            int(_hp(hparams, "multiproblem_max_input_length", -1)),
            int(_hp(hparams, "multiproblem_max_target_length", -1)),
            int(_hp(hparams, "multiproblem_fixed_train_length", -1)),
        )

    def mixed_batches(self, mode: str, hparams: Any, data_dir: str, **kwargs: Any) -> MixedBatches:
        """The batches of the mixed tasks (what `t2t.problems.pipeline.make_batches` returns).

        Args:
            mode: "train" mixes with the schedule forever; "eval"/"infer" interleave once.
            hparams: model hparams (batching and the multiproblem_* settings).
            data_dir: where every task's data files are.
            **kwargs: make_batches' keywords (seed, shuffle, repeat, rank, world_size,
                dataset_split, preprocess; num_workers is ignored: read in this process).
        """
        return MixedBatches(self, mode, hparams, data_dir, **kwargs)


# ----------------------------------------------------------------------------- the batches

_MIXED_FEATURES = ("inputs", "targets", "task_id")


class MixedBatches(MixingBatches):
    """Padded batches of examples drawn from the tasks of a MultiProblem.

    Iterating yields {"targets": LongTensor[B, T], "task_id": LongTensor[B, 1], space ids};
    in training it never ends. `state_dict()` keeps the schedule's step.
    """

    def __init__(self, problem: MultiProblem, mode: str, hparams: Any, data_dir: str, **kwargs):
        super().__init__(problem, mode, hparams, data_dir, **kwargs)
        self.problem_step = 0  # T2T's problem_step: examples drawn by the schedule
        self.encoder = problem.task_list[0].get_feature_encoders(data_dir)["targets"]
        problem.get_hparams(self.hparams)  # sets the task ids
        features = problem_lib.problem_hparams_to_features(problem.get_hparams(self.hparams))
        self._space_ids = {k: torch.tensor(v, dtype=torch.long) for k, v in features.items()}
        self.check_data(problem.task_list)

    def _task_examples(self, index: int) -> Iterator[dict]:
        task = self.problem.task_list[index]
        dataset = task.dataset(
            self.mode,
            data_dir=self.data_dir,
            shuffle_files=self.shuffle,
            hparams=self.hparams,
            preprocess=self.preprocess,
            dataset_split=self.dataset_split,
            partition_id=self.rank,
            num_partitions=self.world_size,
            seed=hash((self.seed, self._passes, index)) & 0x7FFFFFFF,
        )
        is_infer = self.mode == Modes.PREDICT
        while True:
            produced = False
            for example in dataset:
                produced = True
                example = self.problem.normalize_example(
                    task, example, self.encoder, self.hparams, is_infer
                )
                # Only the shared features: the tasks' other features need not match.
                yield {k: v for k, v in example.items() if k in _MIXED_FEATURES}
            if not (self.is_training and produced):
                return

    def _mixed(self) -> Iterator[dict]:
        """Training: one task per example, drawn with the schedule."""
        hp, tasks = self.hparams, self.problem.task_list
        streams = [self._task_examples(i) for i in range(len(tasks))]
        rng = random.Random(f"{self.seed}/{self._passes}/{self.rank}/mix")
        schedule = _hp(hp, "multiproblem_mixing_schedule", MixingSchedule.CONSTANT)
        threshold = float(_hp(hp, "multiproblem_schedule_threshold", 0.5))
        max_examples = float(_hp(hp, "multiproblem_schedule_max_examples", 1e7))
        thresholds = per_task_thresholds(_hp(hp, "multiproblem_per_task_threshold", ""), len(tasks))
        while True:
            self.problem_step += 1
            prob = mixing_probability(schedule, self.problem_step, threshold, max_examples)
            index = choose_task(rng.random(), prob, len(tasks), thresholds)
            example = next(streams[index], None)
            if example is None:
                raise DataError(f"task {tasks[index].name} has no {self.mode} examples")
            yield example

    def _interleaved(self) -> Iterator[dict]:
        """Evaluation: the tasks' examples in turn (only task 1 with target_eval_only)."""
        if _hp(self.hparams, "multiproblem_target_eval_only", False):
            yield from self._task_examples(1)
            return
        yield from in_turns(self._task_examples(i) for i in range(len(self.problem.task_list)))

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        examples = self._mixed() if self.is_training else self._interleaved()
        batches = batching.padded_length_batches(
            examples, self.scheme, self.max_length, fill_partial=self.repeat
        )
        for arrays in batches:
            tensors = {name: torch.from_numpy(value) for name, value in arrays.items()}
            tensors.update(self._space_ids)
            yield tensors
        self._passes += 1

    def state_dict(self) -> dict[str, Any]:
        """{"problem_step", "passes"}: the schedule's position."""
        return {"version": 1, "problem_step": self.problem_step, "passes": self._passes}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues the schedule at the saved step; the task streams restart reshuffled."""
        self.problem_step = int(state.get("problem_step", 0))
        self._passes = int(state.get("passes", 0)) + 1
