"""Training logs: log.jsonl, the console (with a tqdm progress bar) and TensorBoard.

`<output_dir>/log.jsonl` gets one JSON object per logged training step
(`{"step", "loss", "learning_rate", "tokens_per_sec", ...}`) and one per evaluation
(`{"step", "split", <every metric>}`); it is appended to on resume. TensorBoard event
files are written when `torch.utils.tensorboard` can be imported (the "tensorboard" extra):
training scalars in output_dir, evaluation scalars in output_dir/eval (T2T's layout).
Only the chief process (rank 0) writes.
"""

import json
import logging
import math
import os
from typing import Any

from tqdm import tqdm

log = logging.getLogger("t2t.trainer")


def _summary_writer(logdir: str) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(logdir)


class TrainingLogger:
    """Writes training and evaluation records; silent on non-chief processes.

    Args:
        output_dir: where log.jsonl and event files go.
        enabled: False on ranks other than 0.
        total_steps: train_steps, for the progress bar.
        initial_step: the step training starts (or resumes) from.
        progress_bar: show a tqdm bar on the console.
        tensorboard: write TensorBoard events when possible.
    """

    def __init__(
        self,
        output_dir: str,
        enabled: bool,
        total_steps: int,
        initial_step: int,
        progress_bar: bool = True,
        tensorboard: bool = True,
    ) -> None:
        self.enabled = enabled
        self._jsonl = None
        self._writers: dict[str, Any] = {}
        self._bar = None
        if not enabled:
            return
        os.makedirs(output_dir, exist_ok=True)
        path = os.path.join(output_dir, "log.jsonl")
        self._jsonl = open(path, "a", encoding="utf-8")  # noqa: SIM115
        if self._jsonl.tell() and not _ends_with_newline(path):  # a line cut by a kill
            self._jsonl.write("\n")
        if tensorboard:
            train_writer = _summary_writer(output_dir)
            if train_writer is None:
                log.info(
                    "TensorBoard events are not written: install the 'tensorboard' extra "
                    "(pip install 't2t[tensorboard]') to get them"
                )
            else:
                self._writers["train"] = train_writer
                self._writers["eval"] = _summary_writer(os.path.join(output_dir, "eval"))
        if progress_bar:
            self._bar = tqdm(
                total=total_steps, initial=initial_step, unit="step", dynamic_ncols=True
            )

    def _write(self, record: dict[str, Any]) -> None:
        self._jsonl.write(json.dumps(record) + "\n")
        self._jsonl.flush()

    def advance(self, steps: int = 1) -> None:
        """Moves the progress bar."""
        if self._bar is not None:
            self._bar.update(steps)

    def train_step(self, step: int, values: dict[str, float]) -> None:
        """Logs one training step's values (loss, learning_rate, tokens_per_sec, ...)."""
        if not self.enabled:
            return
        self._write({"step": step, **values})
        text = ", ".join(f"{k} {_fmt(v)}" for k, v in values.items())
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)
        log.info("step %d: %s", step, text)
        writer = self._writers.get("train")
        if writer is not None:
            for name, value in values.items():
                writer.add_scalar(name, value, step)

    def evaluation(self, step: int, split: str, metrics: dict[str, float]) -> None:
        """Logs one evaluation's metrics."""
        if not self.enabled:
            return
        self._write({"step": step, "split": split, **metrics})
        log.info(
            "eval (%s) at step %d: %s",
            split,
            step,
            ", ".join(f"{k} {_fmt(v)}" for k, v in metrics.items()),
        )
        writer = self._writers.get("eval")
        if writer is not None:
            for name, value in metrics.items():
                writer.add_scalar(name, value, step)
            writer.flush()

    def close(self) -> None:
        """Closes the progress bar, TensorBoard writers and the JSONL log."""
        if self._bar is not None:
            self._bar.close()
        for writer in self._writers.values():
            writer.close()
        if self._jsonl is not None:
            self._jsonl.close()


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def evaluated_steps(output_dir: str, split: str = "eval") -> set[int]:
    """Steps with a `split` evaluation in output_dir's log.jsonl (lines cut by a kill skipped)."""
    steps: set[int] = set()
    path = os.path.join(output_dir, "log.jsonl")
    if not os.path.exists(path):
        return steps
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("split") == split:
                steps.add(record.get("step"))
    return steps


def _fmt(value: float) -> str:
    if isinstance(value, float) and math.isfinite(value) and value != 0 and abs(value) < 1e-2:
        return f"{value:.3e}"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
