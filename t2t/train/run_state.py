"""What a training run carries across steps and restarts: RNG states, the data position,
the step and last good checkpoint, when to save, and resuming from the newest readable
checkpoint of output_dir (the trainer's loop is in `t2t.train.trainer`).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from t2t.errors import DataError
from t2t.runs import checkpoints
from t2t.train import distributed
from t2t.train.logger import evaluated_steps
from t2t.train.loss_scale import LossScaler

if TYPE_CHECKING:
    from t2t.train.trainer import TrainConfig

log = logging.getLogger("t2t.trainer")

Features = dict[str, torch.Tensor]


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
        """The position to resume from: batches consumed, and the pipeline's state if any."""
        state: dict[str, Any] = {"consumed": self.consumed}
        if hasattr(self._batches, "state_dict"):
            state["pipeline"] = self._batches.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Resumes at the position `state_dict()` returned.

        Through the pipeline's own `load_state_dict` when it has one; otherwise by skipping
        `state["consumed"]` batches (slow; logged as a warning).
        """
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


class RunState:
    """Everything the loop carries between steps."""

    def __init__(self, config: TrainConfig, context: distributed.DistributedContext) -> None:
        self.config = config
        self.context = context
        self.step = 0
        self.last_good_checkpoint: str | None = None
        self.checked_step = 0  # the last step whose loss was checked finite
        self.loss_scaler = None  # float16's dynamic loss scale, saved with each checkpoint
        if config.loss_scale and config.autocast_dtype == "float16":
            self.loss_scaler = LossScaler(config.loss_scale)
        # TF's keep_checkpoint_every_n_hours: the first checkpoint kept for good is the first
        # one pruned that was written n hours after this process started, the next one
        # n hours after that, ...
        self.next_keep_time = time.time() + 3600.0 * config.keep_checkpoint_every_n_hours

    def preserve(self, prefix: str) -> bool:
        """Whether the pruned checkpoint `prefix` stays on disk (out of the index)."""
        if not self.config.keep_checkpoint_every_n_hours:
            return False
        written = os.path.getmtime(checkpoints.weights_path(prefix))
        if written < self.next_keep_time:
            return False
        self.next_keep_time = written + 3600.0 * self.config.keep_checkpoint_every_n_hours
        log.info("keeping %s (keep_checkpoint_every_n_hours)", prefix)
        return True


def resume(
    run: RunState,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    stream: BatchStream,
) -> None:
    """Restores the newest readable checkpoint of output_dir, if any.

    Each unreadable checkpoint (corrupt, digest mismatch, refused state, weights that do not
    fit) is skipped with a one-line warning and the previous one is tried.

    Raises:
        DataError: output_dir holds checkpoints and none can be read (unless
            config.start_over_if_unreadable).
    """
    found = checkpoints.list_checkpoints(run.config.output_dir)
    reasons = []
    for prefix in reversed(found):
        try:
            checkpoints.check_checkpoint(prefix)
            state = checkpoints.load_state(prefix)
            checkpoints.load_weights(model, prefix)
            optimizer.load_state_dict(state["optimizer"])
            ranks = state["ranks"]
            mine = ranks[min(run.context.rank, len(ranks) - 1)]
            set_rng_state(mine["rng"])
            if run.loss_scaler is not None and "loss_scale" in state:
                run.loss_scaler.load_state_dict(state["loss_scale"])
        except (DataError, OSError, KeyError, ValueError, TypeError, IndexError) as err:
            checkpoints.warn_skipped(prefix, err)
            reasons.append(f"{prefix}: {str(err)[:300]}")
            continue
        break
    else:
        if found and not run.config.start_over_if_unreadable:
            raise DataError(
                f"{run.config.output_dir} holds {len(found)} checkpoints and none can be read "
                f"(newest: {reasons[0]}); refusing to train over them from step 0. Use another "
                "--output_dir, or pass --start_over_if_unreadable"
            )
        if found:
            log.warning("no readable checkpoint in %s: starting over", run.config.output_dir)
        return
    run.step = run.checked_step = state["step"]
    run.last_good_checkpoint = prefix
    if len(ranks) != run.context.world_size:
        log.warning(
            "checkpoint written by %d processes, resuming with %d: data positions and "
            "RNG states are not restored exactly",
            len(ranks),
            run.context.world_size,
        )
    stream.load_state_dict(mine["data"])
    log.info("resumed from %s (step %d)", prefix, run.step)


def save(
    run: RunState, model: torch.nn.Module, optimizer: torch.optim.Optimizer, stream: BatchStream
) -> None:
    """Writes a checkpoint (rank 0), with every process's data position and RNG state."""
    ranks = distributed.all_gather_objects(
        {"data": stream.state_dict(), "rng": rng_state()}, run.context
    )
    if run.context.is_chief:
        state = {"step": run.step, "optimizer": optimizer.state_dict(), "ranks": ranks}
        if run.loss_scaler is not None:
            state["loss_scale"] = run.loss_scaler.state_dict()
        run.last_good_checkpoint = checkpoints.save_checkpoint(
            run.config.output_dir,
            run.step,
            model,
            state,
            run.config.keep_checkpoint_max,
            preserve=run.preserve,
        )


def is_due(step: int, every: int | None, last: int) -> bool:
    """Whether `step` is the last one or a multiple of `every` (None or 0: never)."""
    return step == last or bool(every and step % every == 0)


class SaveClock:
    """When a checkpoint is due: every save_checkpoints_steps, or every save_checkpoints_secs
    (measured by the chief at logging steps, so that every process agrees)."""

    def __init__(self, config: TrainConfig, context: distributed.DistributedContext) -> None:
        self.config, self.context = config, context
        self.last_save = time.monotonic()

    def due(self, step: int) -> bool:
        """Whether a checkpoint is due after `step` (the same answer in every process)."""
        config = self.config
        if not config.save_checkpoints_secs:
            return is_due(step, config.save_checkpoints_steps, config.train_steps)
        if step == config.train_steps:
            return True
        if not is_due(step, config.log_every_steps or 1, -1):
            return False
        late = time.monotonic() - self.last_save >= config.save_checkpoints_secs
        if self.context.enabled:
            flag = torch.tensor([float(late and self.context.is_chief)], device=self.context.device)
            late = bool(distributed.all_reduce_sum(flag, self.context).item() > 0)
        return late

    def saved(self) -> None:
        """Restarts the clock after a checkpoint was written."""
        self.last_save = time.monotonic()


def eval_missing(run: RunState, eval_every: int | None) -> bool:
    """Whether the resumed step was due an evaluation that log.jsonl does not have."""
    if run.step == 0 or not is_due(run.step, eval_every, run.config.train_steps):
        return False
    missing = run.context.is_chief and run.step not in evaluated_steps(run.config.output_dir)
    return bool(distributed.broadcast_object(missing, run.context))
