"""An experiment: a problem, a model and hparams, trained and evaluated in an output dir.

This is what t2t-trainer runs (T2T's `trainer_lib.create_experiment`), as plain functions:

    exp = build_experiment("reverse_sequence_small", "transformer", "transformer_tiny",
                           overrides="", data_dir="~/t2t_data")
    train_and_evaluate(exp, RunOptions(output_dir="~/t2t_train/rev", train_steps=1000))

`build_experiment` is `t2t.runs.build.build_run` (the one model builder, shared with
decoding); `train_and_evaluate`, `evaluate_checkpoint` and `continuous_eval` are T2T's
schedules.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from typing import Any

import torch

from t2t import registry
from t2t.data import output_paths
from t2t.errors import DataError, T2TError
from t2t.metrics.metrics import METRICS_FNS, eval_metric_key
from t2t.runs import checkpoints, run_files, run_lock, vocab_check
from t2t.runs.build import Experiment, build_run
from t2t.train import distributed, trainer
from t2t.train.learning_rate import learning_rate_schedule

log = logging.getLogger("t2t.trainer")

build_experiment = build_run  # T2T's name for it (trainer_lib.create_experiment)

__all__ = ["Experiment", "RunOptions", "build_experiment", "train_and_evaluate"]


@dataclasses.dataclass
class RunOptions:
    """What t2t-trainer's flags say about the run (see t2t.train.trainer.TrainConfig)."""

    output_dir: str
    train_steps: int
    eval_steps: int | None = 100
    local_eval_frequency: int = 1000
    save_checkpoints_steps: int | None = None
    save_checkpoints_secs: int = 0
    keep_checkpoint_max: int = 20
    keep_checkpoint_every_n_hours: int = 0
    log_every_steps: int = 100
    seed: int | None = None
    num_workers: int = 0
    eval_use_test_set: bool = False
    autocast_dtype: str | None = None
    compile: bool = False
    device: str | None = None
    progress_bar: bool = True
    early_stopping_steps: int | None = None
    early_stopping_metric: str = "loss"
    early_stopping_delta: float = 0.1
    early_stopping_minimize: bool = True
    start_over_if_unreadable: bool = False


def metrics_fn_for(exp: Experiment) -> trainer.MetricsFn:
    """`metrics_fn(logits, features)` computing the problem's eval_metrics with T2T's keys."""
    names = [name for name in exp.problem.eval_metrics() if name in METRICS_FNS]
    skipped = sorted(set(exp.problem.eval_metrics()) - set(names))
    if skipped:
        log.warning("eval metrics not implemented in t2t, skipped: %s", ", ".join(skipped))

    # T2T weights every metric with hparams.weights_fn["targets"] or the modality's default.
    weights_fn = exp.model.metrics_weights_fn()
    tasks = getattr(exp.problem.get_hparams(exp.hparams), "multiproblem_tasks", None)
    if tasks:
        return _multi_problem_metrics_fn(names, tasks)

    def metrics_fn(logits: torch.Tensor, features: dict[str, torch.Tensor]) -> dict[str, Any]:
        """{eval key: (value_sum, weight_sum)} of every metric for logits [B, T, V] of one batch."""
        labels, logits = features["targets"], logits.float()
        return {
            eval_metric_key(exp.problem_name, name): METRICS_FNS[name](
                logits, labels, weights_fn=weights_fn
            )
            for name in names
        }

    return metrics_fn


def _multi_problem_metrics_fn(names: list[str], tasks: list) -> trainer.MetricsFn:
    """Every metric per task of a MultiProblem, on the tokens after the task's id (T2T's
    `metrics-<task>/targets/<metric>`)."""
    from t2t.modalities.multi_problem_loss import weights_multi_problem

    def metrics_fn(logits: torch.Tensor, features: dict[str, torch.Tensor]) -> dict[str, Any]:
        """{eval key: (value_sum, weight_sum)} per task and metric for logits [B, T, V]."""
        labels, logits = features["targets"], logits.float()
        return {
            eval_metric_key(task_name, name): METRICS_FNS[name](
                logits, labels, weights_fn=lambda x, t=task_id: weights_multi_problem(x, t)
            )
            for task_name, task_id, _ in tasks
            for name in names
        }

    return metrics_fn


def _batches(exp: Experiment, mode: str, options: RunOptions, context: Any) -> Any:
    from t2t.problems.pipeline import make_batches

    split = None
    if mode == "eval" and options.eval_use_test_set:
        split = "test"
    try:
        return make_batches(
            exp.problem,
            mode,
            exp.hparams,
            exp.data_dir,
            rank=context.rank,
            world_size=context.world_size,
            num_workers=options.num_workers if mode == "train" else 0,
            seed=options.seed or 0,
            dataset_split=split,
        )
    except DataError as error:
        raise DataError(
            f"{error} (generate the data with t2t-datagen --problem={exp.problem_name} "
            f"--data_dir={exp.data_dir}, or pass --generate_data)"
        ) from None


class _FreshBatches:
    """Eval batches that start from the first batch at every evaluation.

    (A pipeline `Batches` object continues where it stopped, which is right for training
    but would make an evaluation with eval_steps see the batches after the previous one's.)
    """

    def __init__(self, exp: Experiment, options: RunOptions, context: Any) -> None:
        self._args = (exp, "eval", options, context)
        _batches(*self._args)  # fail now, not at the first evaluation, when data is missing

    def __iter__(self):
        return iter(_batches(*self._args))


def _early_stopping(options: RunOptions) -> trainer.EarlyStopping | None:
    if not options.early_stopping_steps:
        return None
    return trainer.EarlyStopping(
        num_steps=options.early_stopping_steps,
        metric=options.early_stopping_metric,
        delta=options.early_stopping_delta,
        minimize=options.early_stopping_minimize,
    )


def _config(exp: Experiment, options: RunOptions, evaluate: bool) -> trainer.TrainConfig:
    save_every = options.save_checkpoints_steps or options.local_eval_frequency
    return trainer.TrainConfig.from_hparams(
        exp.hparams,
        output_dir=options.output_dir,
        train_steps=options.train_steps,
        eval_steps=options.eval_steps,
        save_checkpoints_steps=save_every,
        save_checkpoints_secs=options.save_checkpoints_secs,
        early_stopping=_early_stopping(options) if evaluate else None,
        eval_every_steps=options.local_eval_frequency if evaluate else 0,
        keep_checkpoint_max=options.keep_checkpoint_max,
        keep_checkpoint_every_n_hours=options.keep_checkpoint_every_n_hours,
        log_every_steps=options.log_every_steps,
        seed=options.seed,
        autocast_dtype=options.autocast_dtype,
        compile=options.compile,
        device=options.device,
        progress_bar=options.progress_bar,
        start_over_if_unreadable=options.start_over_if_unreadable,
    )


def write_run_files(exp: Experiment, options: RunOptions) -> None:
    """hparams.json and run.json of the run (rank 0 only)."""
    run_files.write_run_files(
        options.output_dir,
        exp.hparams,
        {
            "problem": exp.problem_name,
            "model": exp.model_name,
            "hparams_set": exp.hparams_set,
            "hparams": exp.overrides,
            "data_dir": os.path.abspath(exp.data_dir),
            "seed": options.seed,
            "train_steps": options.train_steps,
            "num_parameters": exp.num_parameters,
            "vocab_sizes": vocab_check.vocab_sizes(exp.problem.get_hparams(exp.hparams)),
        },
    )


def train_and_evaluate(exp: Experiment, options: RunOptions, evaluate: bool = True) -> dict:
    """Trains to options.train_steps (resuming), evaluating every local_eval_frequency steps.

    Returns:
        The trainer's result: step, loss, checkpoint, eval (last metrics or None).
    """
    context = distributed.setup(options.device)
    hp = exp.hparams
    # Schedules that decay to the end of training read it from hparams, as in T2T.
    if "train_steps" in hp:
        hp.set_hparam("train_steps", options.train_steps)
    else:
        hp.add_hparam("train_steps", options.train_steps)
    train_batches = _batches(exp, "train", options, context)
    eval_batches = _FreshBatches(exp, options, context) if evaluate else None
    # Settings that fail only when used (the schedule's factors, the optimizer's name) fail
    # here, before the run files are written.
    learning_rate_schedule(hp)(0)
    registry.optimizer(hp.optimizer)
    if not context.is_chief:
        return _train(exp, options, evaluate, context, train_batches, eval_batches)
    output_paths.check_output_dir(options.output_dir)
    with run_lock.hold(options.output_dir):  # before hparams.json / run.json are rewritten
        # Only a run that starts training writes its run files: one that fails before (missing
        # data, a bad flag) must not leave an hparams.json a later run would merge.
        write_run_files(exp, options)
        return _train(exp, options, evaluate, context, train_batches, eval_batches)


def _train(
    exp: Experiment,
    options: RunOptions,
    evaluate: bool,
    context: Any,
    train_batches: Any,
    eval_batches: Any,
) -> dict:
    """Runs the training loop on built batches (the caller holds the run's lock)."""
    hp = exp.hparams
    return trainer.train(
        exp.model,
        lambda params: registry.optimizer(hp.optimizer)(params, hp),
        learning_rate_schedule(hp),
        train_batches,
        _config(exp, options, evaluate),
        eval_batches=eval_batches,
        metrics_fn=metrics_fn_for(exp),
    )


def evaluate_checkpoint(exp: Experiment, options: RunOptions, prefix: str) -> dict[str, float]:
    """Loads checkpoint `prefix` into the model and evaluates it on the dev (or test) split."""
    context = distributed.setup(options.device)
    checkpoints.load_weights(exp.model, prefix)
    exp.model.to(context.device)
    metrics = trainer.evaluate(
        exp.model,
        _batches(exp, "eval", options, context),
        metrics_fn_for(exp),
        options.eval_steps,
        context.device,
        options.autocast_dtype,
        context,
    )
    step = checkpoints.checkpoint_step(prefix)
    if context.is_chief:
        from t2t.train.logger import TrainingLogger

        logger = TrainingLogger(options.output_dir, True, options.train_steps, step, False)
        logger.evaluation(step, "test" if options.eval_use_test_set else "eval", metrics)
        logger.close()
    return metrics


def latest_checkpoint_or_error(output_dir: str) -> str:
    """The latest intact checkpoint of output_dir.

    Raises:
        T2TError: there is none.
    """
    prefix = checkpoints.latest_checkpoint(output_dir, need_state=False)
    if prefix is None:
        raise T2TError(f"no checkpoint in {output_dir}: train first (--schedule=train)")
    return prefix


def continuous_eval(exp: Experiment, options: RunOptions, timeout_mins: int) -> None:
    """Evaluates each new checkpoint of output_dir until train_steps is reached.

    Waits at most `timeout_mins` for a new checkpoint (-1: forever), as T2T did.
    """
    seen: str | None = None
    waited_since = time.monotonic()
    while True:
        prefix = checkpoints.latest_checkpoint(options.output_dir, need_state=False)
        if prefix is not None and prefix != seen:
            seen, waited_since = prefix, time.monotonic()
            evaluate_checkpoint(exp, options, prefix)
            if checkpoints.checkpoint_step(prefix) >= options.train_steps:
                return
        elif timeout_mins >= 0 and time.monotonic() - waited_since > 60 * timeout_mins:
            log.info("no new checkpoint for %d minutes: continuous_eval stops", timeout_mins)
            return
        time.sleep(5)
