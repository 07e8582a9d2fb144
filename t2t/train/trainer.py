"""The one training loop: batch -> forward -> loss -> backward -> clip -> step -> log.

`train()` serves every model. A model is an `nn.Module` called as
`logits, losses = model(features)` with `losses["training"]` a scalar and, for token-level
losses, `losses["training_num"]` / `losses["training_den"]` (so that the loss over several
processes is sum(num) / sum(den), as T2T's data-parallel shards were). Any other entry of
`losses` (not ending in _num/_den) is added to the loss, as T2T summed its losses.

What T2T did around the loss is reproduced in the same order: L2 weight decay in the loss
(as `grad += wd * p`), gradient noise, global-norm clipping, then the optimizer with the
learning rate of the current global step. `optimizer_multistep_accumulate_steps` is the
optimizer's business (`MultistepAdam`): every batch is one global step, as in T2T.

Resuming: the latest intact checkpoint in output_dir restores weights, optimizer state,
global step, each process's data position (`train_batches.state_dict()` when it has one,
else the number of batches to skip) and RNG states, so that on CPU the losses after a resume
equal those of an uninterrupted run.
"""

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from typing import Any

import torch

from t2t.errors import T2TError
from t2t.runs import checkpoints, run_lock
from t2t.train import distributed
from t2t.train.early_stopping import EarlyStopping
from t2t.train.logger import TrainingLogger
from t2t.train.loss_scale import initial_loss_scale
from t2t.train.optimizers import (
    add_gradient_noise,
    add_weight_decay_gradient,
    add_weight_noise,
    body_parameters,
    decayed_parameters,
)
from t2t.train.run_state import (  # re-exported: the loop's state, seeding and data position
    BatchStream,
    RunState,
    SaveClock,
    eval_missing,
    is_due,
    resume,
    rng_state,
    save,
    seed_everything,
    set_rng_state,
)
from t2t.train.scheduled_sampling import ScheduledSampling

log = logging.getLogger("t2t.trainer")

Features = dict[str, torch.Tensor]
__all__ = [
    "BatchStream",
    "TrainConfig",
    "TrainingDivergedError",
    "evaluate",
    "rng_state",
    "seed_everything",
    "set_rng_state",
    "train",
    "training_loss",
]
MetricsFn = Callable[[torch.Tensor, Features], dict[str, Any]]


class TrainingDivergedError(T2TError):
    """The training loss became NaN or infinite."""


@dataclasses.dataclass
class TrainConfig:
    """Plain arguments of `train()` (t2t-trainer fills them from flags and hparams).

    Attributes:
        output_dir: checkpoints, log.jsonl and events go here.
        train_steps: global step to train to (--train_steps).
        eval_steps: batches per evaluation (--eval_steps); None = the whole eval set.
        save_checkpoints_steps: checkpoint every N steps (and at the end).
        save_checkpoints_secs: when > 0, checkpoint every N seconds instead of every
            save_checkpoints_steps (T2T's --save_checkpoints_secs); the clock is checked
            at each logging step (log_every_steps).
        early_stopping: stop after an evaluation when its metric has plateaued
            (T2T's --eval_early_stopping_*); None: never.
        eval_every_steps: evaluate every N steps (T2T local_eval_frequency); None = at each
            checkpoint; 0 = only at the end. No evaluation without eval_batches.
        keep_checkpoint_max: checkpoints kept (0 keeps all).
        keep_checkpoint_every_n_hours: besides those, keep one checkpoint every N hours
            for good (TF's Saver option; 0: never).
        log_every_steps: log.jsonl / console every N steps (--log_step_count_steps).
        seed: seeds Python, NumPy and torch (per process: seed + rank); None = unseeded.
        clip_grad_norm: global-norm gradient clipping (hparams.clip_grad_norm; 0 = off).
        weight_decay: T2T's L2-in-the-loss decay (hparams.weight_decay).
        grad_noise_scale: Gaussian gradient noise (hparams.grad_noise_scale).
        weight_noise: T2T's weight noise on the body's weights (hparams.weight_noise).
        scheduled_sampling: replaces the training forward pass (hparams.scheduled_sampling_*);
            None: plain teacher forcing.
        autocast_dtype: "bfloat16" (or "float16") for mixed precision (autocast), or None;
            from_hparams takes hparams.activation_dtype when none is given.
        loss_scale: the first loss scale of T2T's dynamic float16 loss scaling (see
            t2t.train.loss_scale), used when autocast_dtype is "float16"; None: no scaling.
            from_hparams takes it from the mixed_precision_optimizer_* hparams.
        compile: wrap the model with torch.compile.
        device: "cpu", "cuda" or None (CUDA if available).
        progress_bar: tqdm progress bar on the console.
        tensorboard: write TensorBoard events if the extra is installed.
        start_over_if_unreadable: when output_dir holds checkpoints none of which can be
            read, train from step 0 over them instead of stopping (--start_over_if_unreadable).
    """

    output_dir: str
    train_steps: int
    eval_steps: int | None = 100
    save_checkpoints_steps: int = 1000
    save_checkpoints_secs: float = 0.0
    early_stopping: EarlyStopping | None = None
    eval_every_steps: int | None = None
    keep_checkpoint_max: int = 20
    keep_checkpoint_every_n_hours: float = 0.0
    log_every_steps: int = 100
    seed: int | None = None
    clip_grad_norm: float = 0.0
    weight_decay: float = 0.0
    grad_noise_scale: float = 0.0
    weight_noise: float = 0.0
    scheduled_sampling: ScheduledSampling | None = None
    autocast_dtype: str | None = None
    loss_scale: float | None = None
    compile: bool = False
    device: str | None = None
    progress_bar: bool = True
    tensorboard: bool = True
    start_over_if_unreadable: bool = False

    @classmethod
    def from_hparams(cls, hparams: Any, **kwargs: Any) -> "TrainConfig":
        """A config with clip_grad_norm, weight_decay, grad_noise_scale, weight_noise and
        scheduled sampling from hparams."""
        values = dict(
            clip_grad_norm=hparams.get("clip_grad_norm", 0.0) or 0.0,
            weight_decay=hparams.get("weight_decay", 0.0) or 0.0,
            grad_noise_scale=hparams.get("grad_noise_scale", 0.0) or 0.0,
            weight_noise=hparams.get("weight_noise", 0.0) or 0.0,
            scheduled_sampling=ScheduledSampling.from_hparams(hparams),
            loss_scale=initial_loss_scale(hparams),
        )
        values.update(kwargs)
        if not values.get("autocast_dtype"):
            values["autocast_dtype"] = autocast_dtype_of(hparams)
        return cls(**values)


def autocast_dtype_of(hparams: Any) -> str | None:
    """T2T's `activation_dtype` as an autocast dtype: "bfloat16" / "float16", else None.

    T2T cast activations to that type and kept float32 weights; autocast does the same for
    matmuls and convolutions. For float16 T2T also scaled the loss (TrainConfig.loss_scale).
    """
    dtype = hparams.get("activation_dtype", "float32")
    return dtype if dtype in ("bfloat16", "float16") else None


# ---- pieces of the loop ---------------------------------------------------------------------


def to_device(features: Features, device: torch.device) -> Features:
    """Moves every tensor of a feature dict to device."""
    return {
        k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
        for k, v in features.items()
    }


def _autocast(device: torch.device, dtype: str | None) -> Any:
    if not dtype:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=getattr(torch, dtype))


def training_loss(
    losses: dict[str, torch.Tensor], context: distributed.DistributedContext
) -> tuple[torch.Tensor, torch.Tensor]:
    """(loss to differentiate, loss to report) from a model's losses dict.

    With num/den and several processes, each process's loss is scaled so that DDP's
    gradient average equals the gradient of sum(num) / sum(den) over all processes: exactly
    the loss of one process seeing the whole global batch.
    """
    extra = sum(
        (v for k, v in losses.items() if k != "training" and not k.endswith(("_num", "_den"))),
        torch.zeros((), device=losses["training"].device),
    )
    if not context.enabled or "training_num" not in losses:
        loss = losses["training"] + extra
        return loss, loss.detach()
    num, den = losses["training_num"], losses["training_den"]
    global_num, global_den = distributed.all_reduce_sum(torch.stack([num, den]).float(), context)
    global_den = torch.clamp(global_den, min=1.0)
    loss = num * context.world_size / global_den + extra
    return loss, (global_num / global_den + extra).detach()


@torch.no_grad()
def evaluate(
    model: torch.nn.Module,
    batches: Iterable[Features],
    metrics_fn: MetricsFn | None = None,
    max_steps: int | None = None,
    device: torch.device | None = None,
    autocast_dtype: str | None = None,
    context: distributed.DistributedContext | None = None,
) -> dict[str, float]:
    """Loss and metrics of `model` over (up to max_steps of) `batches`.

    Args:
        model: the model (a plain module; evaluated in eval mode, then restored).
        batches: feature dicts.
        metrics_fn: `metrics_fn(logits, features) -> {name: (num, den) or value}`; (num, den)
            pairs are summed over batches (and processes) and reported as sum(num)/sum(den),
            plain values are averaged over batches.
        max_steps: at most this many batches (T2T eval_steps).
        device: where to run (default: the model's device).
        autocast_dtype: as TrainConfig.autocast_dtype.
        context: the distributed context; sums are reduced over processes.

    Returns:
        {"loss": the mean over batches of each batch's training loss (T2T's Estimator
        metric), <metric>: value, ...}.
    """
    context = context or distributed.DistributedContext()
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    sums: dict[str, list[float]] = {}

    def add(name: str, num: Any, den: Any) -> None:
        """Adds one batch's (numerator, denominator) to the running sums of `name`."""
        total = sums.setdefault(name, [0.0, 0.0])
        total[0] += float(num)
        total[1] += float(den)

    try:
        for i, features in enumerate(batches):
            if max_steps is not None and i >= max_steps:
                break
            features = to_device(features, device)
            with _autocast(device, autocast_dtype):
                logits, losses = model(features)
            if "training_num" in losses:
                # T2T's eval loss is the Estimator's mean over batches of each batch's
                # num / max(1, den), not one ratio over all the tokens.
                den = torch.clamp(losses["training_den"].float(), min=1.0)
                add("loss", losses["training_num"] / den, 1.0)
            else:
                add("loss", losses["training"], 1.0)
            for name, value in (metrics_fn(logits, features) if metrics_fn else {}).items():
                if isinstance(value, (tuple, list)):
                    add(name, value[0], value[1])
                else:
                    add(name, value, 1.0)
    finally:
        model.train(was_training)
    names = sorted(sums)
    packed = torch.tensor([sums[n] for n in names], dtype=torch.float64).reshape(-1, 2)
    packed = distributed.all_reduce_sum(packed.to(context.device), context).cpu()
    return {n: float(num / den) if den else math.nan for n, (num, den) in zip(names, packed)}


# ---- the loop -------------------------------------------------------------------------------


def _check_finite(run: RunState, bad: torch.Tensor) -> None:
    """Stops training if any loss since the last check was NaN or infinite."""
    if bool(bad.item()):
        where = run.last_good_checkpoint or "none was written"
        raise TrainingDivergedError(
            f"the training loss became NaN or infinite between steps {run.checked_step} and "
            f"{run.step}; training stopped without saving. Last good checkpoint: {where}. "
            "Try a lower learning rate, more warmup or clip_grad_norm."
        )
    run.checked_step = run.step


def _skip_overflowing_step(
    run: RunState, optimizer: torch.optim.Optimizer, bad: torch.Tensor
) -> None:
    """Drops the gradients of a step whose scaled gradients overflowed.

    Raises:
        TrainingDivergedError: the loss itself is NaN/inf, or the gradients overflow with
            the loss scale already at its minimum of 1 (T2T would skip steps forever).
    """
    optimizer.zero_grad(set_to_none=True)
    _check_finite(run, bad)
    if run.loss_scaler.last_scale <= 1.0:
        raise TrainingDivergedError(
            f"the gradients are NaN or infinite at step {run.step} with the loss scale at 1; "
            f"training stopped without saving. Last good checkpoint: "
            f"{run.last_good_checkpoint or 'none was written'}."
        )
    log.info("step %d skipped: the scaled gradients overflowed", run.step + 1)


def _set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def train(
    model: torch.nn.Module,
    optimizer_fn: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
    learning_rate_fn: Callable[[int], float],
    train_batches: Iterable[Features],
    config: TrainConfig,
    eval_batches: Iterable[Features] | None = None,
    metrics_fn: MetricsFn | None = None,
) -> dict[str, Any]:
    """Trains `model` to `config.train_steps`, resuming from output_dir if possible.

    Args:
        model: `logits, losses = model(features)` (see the module docstring).
        optimizer_fn: builds the optimizer from the trainable parameters (on the device),
            e.g. `lambda params: registry.optimizer(hp.optimizer)(params, hp)`.
        learning_rate_fn: global step -> learning rate (`learning_rate_schedule(hparams)`).
        train_batches: feature dicts of this process; ideally with state_dict().
        config: TrainConfig.
        eval_batches: re-iterable evaluation batches (iterated afresh at each evaluation).
        metrics_fn: see `evaluate`.

    Returns:
        {"step", "loss" (the last logged), "checkpoint" (the last written), "eval" (the
        last evaluation's metrics or None)}.

    Raises:
        RunLockedError: another trainer holds output_dir (see t2t.runs.run_lock).
        DataError: output_dir holds only unreadable checkpoints.
        TrainingDivergedError: when the loss becomes NaN/inf (the last good checkpoint is kept).
    """
    context = distributed.setup(config.device)
    with run_lock.hold(config.output_dir) if context.is_chief else nullcontext():
        return _train(
            model, optimizer_fn, learning_rate_fn, train_batches, config, eval_batches, metrics_fn
        )


def _train(
    model: torch.nn.Module,
    optimizer_fn: Callable[[list[torch.nn.Parameter]], torch.optim.Optimizer],
    learning_rate_fn: Callable[[int], float],
    train_batches: Iterable[Features],
    config: TrainConfig,
    eval_batches: Iterable[Features] | None,
    metrics_fn: MetricsFn | None,
) -> dict[str, Any]:
    context = distributed.setup(config.device)
    seed_everything(None if config.seed is None else config.seed + context.rank)
    model.to(context.device)
    optimizer = optimizer_fn([p for p in model.parameters() if p.requires_grad])
    stream = BatchStream(train_batches)
    run = RunState(config, context)
    resume(run, model, optimizer, stream)
    decayed = decayed_parameters(model.named_parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
    noised = body_parameters(model) if config.weight_noise else []
    train_model = model
    if context.enabled:
        device_ids = [context.device.index] if context.device.type == "cuda" else None
        train_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    if config.compile:
        train_model = torch.compile(train_model)
    logger = TrainingLogger(
        config.output_dir,
        context.is_chief,
        config.train_steps,
        run.step,
        config.progress_bar,
        config.tensorboard,
    )
    bad = torch.zeros((), dtype=torch.bool, device=context.device)
    tokens = torch.zeros((), dtype=torch.int64, device=context.device)
    result: dict[str, Any] = {"loss": None, "eval": None}
    timer = time.perf_counter()
    clock = SaveClock(config, context)
    eval_every = (
        config.save_checkpoints_steps
        if config.eval_every_steps is None
        else (config.eval_every_steps)
    )
    try:
        if eval_batches is not None and eval_missing(run, eval_every):
            # A kill during the evaluation after the checkpoint: redo it, so log.jsonl has
            # every evaluation (it uses no RNG, so the training that follows is unchanged).
            log.info("redoing the evaluation at step %d, cut short before", run.step)
            result["eval"] = evaluate(
                model, eval_batches, metrics_fn, config.eval_steps, context.device,
                config.autocast_dtype, context,
            )  # fmt: skip
            logger.evaluation(run.step, "eval", result["eval"])
        model.train()
        while run.step < config.train_steps:
            features = to_device(next(stream), context.device)
            learning_rate = learning_rate_fn(run.step)
            _set_learning_rate(optimizer, learning_rate)
            add_weight_noise(noised, config.weight_noise, learning_rate)
            with _autocast(context.device, config.autocast_dtype):
                if config.scheduled_sampling is None:
                    _, losses = train_model(features)
                else:
                    _, losses = config.scheduled_sampling.forward(
                        train_model, model, features, run.step
                    )
            loss, reported = training_loss(losses, context)
            scaler = run.loss_scaler
            (loss if scaler is None else scaler.scaled(loss)).backward()
            if scaler is not None and not scaler.unscale_and_update(trainable):
                _skip_overflowing_step(run, optimizer, bad | ~torch.isfinite(reported))
                continue  # as in T2T, a skipped update does not advance the global step
            add_weight_decay_gradient(decayed, config.weight_decay)
            add_gradient_noise(trainable, config.grad_noise_scale)
            if config.clip_grad_norm:
                torch.nn.utils.clip_grad_norm_(trainable, config.clip_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            run.step += 1
            bad |= ~torch.isfinite(reported)
            tokens += (features["targets"] != 0).sum() if "targets" in features else 0
            logger.advance()
            if is_due(run.step, config.log_every_steps, config.train_steps):
                _check_finite(run, bad)
                elapsed, timer = time.perf_counter() - timer, time.perf_counter()
                result["loss"] = float(reported)
                logger.train_step(
                    run.step,
                    {
                        "loss": result["loss"],
                        "learning_rate": learning_rate,
                        "tokens_per_sec": float(tokens) * context.world_size / max(elapsed, 1e-9),
                        **({} if scaler is None else {"loss_scale": scaler.scale}),
                    },
                )
                tokens.zero_()
            if clock.due(run.step):
                _check_finite(run, bad)
                save(run, model, optimizer, stream)
                clock.saved()
            if eval_batches is not None and is_due(run.step, eval_every, config.train_steps):
                eval_start = time.perf_counter()
                result["eval"] = evaluate(
                    model,
                    eval_batches,
                    metrics_fn,
                    config.eval_steps,
                    context.device,
                    config.autocast_dtype,
                    context,
                )
                logger.evaluation(run.step, "eval", result["eval"])
                # Evaluation time is not training time. (Restarting the timer instead would
                # divide the tokens of the steps before the evaluation by the time after it.)
                timer += time.perf_counter() - eval_start
                if config.early_stopping and config.early_stopping.should_stop(
                    run.step, result["eval"]
                ):
                    if run.last_good_checkpoint != checkpoints.checkpoint_prefix(
                        config.output_dir, run.step
                    ):
                        _check_finite(run, bad)
                        save(run, model, optimizer, stream)
                    result["early_stopped"] = True
                    break
    finally:
        logger.close()
    result.update(step=run.step, checkpoint=run.last_good_checkpoint)
    return result
