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
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch

from t2t.errors import DataError, T2TError
from t2t.train import checkpoints, distributed
from t2t.train.logger import TrainingLogger
from t2t.train.optimizers import add_gradient_noise, add_weight_decay_gradient, decayed_parameters

log = logging.getLogger("t2t.trainer")

Features = dict[str, torch.Tensor]
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
        eval_every_steps: evaluate every N steps (T2T local_eval_frequency); None = at each
            checkpoint; 0 = only at the end. No evaluation without eval_batches.
        keep_checkpoint_max: checkpoints kept (0 keeps all).
        log_every_steps: log.jsonl / console every N steps (--log_step_count_steps).
        seed: seeds Python, NumPy and torch (per process: seed + rank); None = unseeded.
        clip_grad_norm: global-norm gradient clipping (hparams.clip_grad_norm; 0 = off).
        weight_decay: T2T's L2-in-the-loss decay (hparams.weight_decay).
        grad_noise_scale: Gaussian gradient noise (hparams.grad_noise_scale).
        autocast_dtype: "bfloat16" for mixed precision (autocast), or None.
        compile: wrap the model with torch.compile.
        device: "cpu", "cuda" or None (CUDA if available).
        progress_bar: tqdm progress bar on the console.
        tensorboard: write TensorBoard events if the extra is installed.
    """

    output_dir: str
    train_steps: int
    eval_steps: int | None = 100
    save_checkpoints_steps: int = 1000
    eval_every_steps: int | None = None
    keep_checkpoint_max: int = 20
    log_every_steps: int = 100
    seed: int | None = None
    clip_grad_norm: float = 0.0
    weight_decay: float = 0.0
    grad_noise_scale: float = 0.0
    autocast_dtype: str | None = None
    compile: bool = False
    device: str | None = None
    progress_bar: bool = True
    tensorboard: bool = True

    @classmethod
    def from_hparams(cls, hparams: Any, **kwargs: Any) -> "TrainConfig":
        """A config with clip_grad_norm, weight_decay, grad_noise_scale from hparams."""
        values = dict(
            clip_grad_norm=hparams.get("clip_grad_norm", 0.0) or 0.0,
            weight_decay=hparams.get("weight_decay", 0.0) or 0.0,
            grad_noise_scale=hparams.get("grad_noise_scale", 0.0) or 0.0,
        )
        values.update(kwargs)
        return cls(**values)


# ---- pieces of the loop ---------------------------------------------------------------------


def seed_everything(seed: int | None) -> None:
    """Seeds Python's, NumPy's and torch's generators (T2T's set_random_seed)."""
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Python, NumPy, torch (and CUDA) RNG states as tensors and plain types."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, gauss],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restores what `rng_state()` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, position, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class BatchStream:
    """Endless batches from an iterable, with a resumable position.

    Starts a new pass when the iterable is exhausted (T2T's training input repeats). Uses
    the iterable's `state_dict()` / `load_state_dict()` when it has them; otherwise resumes
    by skipping the number of batches already consumed.
    """

    def __init__(self, batches: Iterable[Features]) -> None:
        self._batches = batches
        self._iterator: Iterator[Features] | None = None
        self.consumed = 0

    def __next__(self) -> Features:
        if self._iterator is None:
            self._iterator = iter(self._batches)
        try:
            batch = next(self._iterator)
        except StopIteration:
            self._iterator = iter(self._batches)
            try:
                batch = next(self._iterator)
            except StopIteration:
                raise DataError("the training data yielded no batches") from None
        self.consumed += 1
        return batch

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {"consumed": self.consumed}
        if hasattr(self._batches, "state_dict"):
            state["pipeline"] = self._batches.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if "pipeline" in state and hasattr(self._batches, "load_state_dict"):
            self._batches.load_state_dict(state["pipeline"])
            self.consumed = state["consumed"]
            return
        log.warning(
            "the training data has no state_dict(): skipping %d batches to resume",
            state["consumed"],
        )
        for _ in range(state["consumed"]):
            next(self)


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


class _Run:
    """Everything the loop carries between steps."""

    def __init__(self, config: TrainConfig, context: distributed.DistributedContext) -> None:
        self.config = config
        self.context = context
        self.step = 0
        self.last_good_checkpoint: str | None = None
        self.checked_step = 0  # the last step whose loss was checked finite


def _resume(
    run: _Run,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    stream: BatchStream,
) -> None:
    """Restores the latest intact checkpoint of output_dir, if any."""
    prefix = checkpoints.latest_checkpoint(run.config.output_dir)
    if prefix is None:
        return
    state = checkpoints.load_state(prefix)
    checkpoints.load_weights(model, prefix)
    optimizer.load_state_dict(state["optimizer"])
    run.step = run.checked_step = state["step"]
    run.last_good_checkpoint = prefix
    ranks = state["ranks"]
    if len(ranks) != run.context.world_size:
        log.warning(
            "checkpoint written by %d processes, resuming with %d: data positions and "
            "RNG states are not restored exactly",
            len(ranks),
            run.context.world_size,
        )
    mine = ranks[min(run.context.rank, len(ranks) - 1)]
    stream.load_state_dict(mine["data"])
    set_rng_state(mine["rng"])
    log.info("resumed from %s (step %d)", prefix, run.step)


def _save(
    run: _Run, model: torch.nn.Module, optimizer: torch.optim.Optimizer, stream: BatchStream
) -> None:
    """Writes a checkpoint (rank 0), with every process's data position and RNG state."""
    ranks = distributed.all_gather_objects(
        {"data": stream.state_dict(), "rng": rng_state()}, run.context
    )
    if run.context.is_chief:
        state = {"step": run.step, "optimizer": optimizer.state_dict(), "ranks": ranks}
        run.last_good_checkpoint = checkpoints.save_checkpoint(
            run.config.output_dir, run.step, model, state, run.config.keep_checkpoint_max
        )


def _check_finite(run: _Run, bad: torch.Tensor) -> None:
    """Stops training if any loss since the last check was NaN or infinite."""
    if bool(bad.item()):
        where = run.last_good_checkpoint or "none was written"
        raise TrainingDivergedError(
            f"the training loss became NaN or infinite between steps {run.checked_step} and "
            f"{run.step}; training stopped without saving. Last good checkpoint: {where}. "
            "Try a lower learning rate, more warmup or clip_grad_norm."
        )
    run.checked_step = run.step


def _set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def _is_due(step: int, every: int | None, last: int) -> bool:
    return step == last or bool(every and step % every == 0)


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
        TrainingDivergedError: when the loss becomes NaN/inf (the last good checkpoint is kept).
    """
    context = distributed.setup(config.device)
    seed_everything(None if config.seed is None else config.seed + context.rank)
    model.to(context.device)
    optimizer = optimizer_fn([p for p in model.parameters() if p.requires_grad])
    stream = BatchStream(train_batches)
    run = _Run(config, context)
    _resume(run, model, optimizer, stream)
    decayed = decayed_parameters(model.named_parameters())
    trainable = [p for p in model.parameters() if p.requires_grad]
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
    eval_every = (
        config.save_checkpoints_steps
        if config.eval_every_steps is None
        else (config.eval_every_steps)
    )
    try:
        model.train()
        while run.step < config.train_steps:
            features = to_device(next(stream), context.device)
            learning_rate = learning_rate_fn(run.step)
            _set_learning_rate(optimizer, learning_rate)
            with _autocast(context.device, config.autocast_dtype):
                _, losses = train_model(features)
            loss, reported = training_loss(losses, context)
            loss.backward()
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
            if _is_due(run.step, config.log_every_steps, config.train_steps):
                _check_finite(run, bad)
                elapsed, timer = time.perf_counter() - timer, time.perf_counter()
                result["loss"] = float(reported)
                logger.train_step(
                    run.step,
                    {
                        "loss": result["loss"],
                        "learning_rate": learning_rate,
                        "tokens_per_sec": float(tokens) * context.world_size / max(elapsed, 1e-9),
                    },
                )
                tokens.zero_()
            if _is_due(run.step, config.save_checkpoints_steps, config.train_steps):
                _check_finite(run, bad)
                _save(run, model, optimizer, stream)
            if eval_batches is not None and _is_due(run.step, eval_every, config.train_steps):
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
                timer = time.perf_counter()  # do not count evaluation time as training time
    finally:
        logger.close()
    result.update(step=run.step, checkpoint=run.last_good_checkpoint)
    return result
