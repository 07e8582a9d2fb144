"""Sliding-window checkpoint averaging (what t2t-avg-all does, with plain arguments).

T2T's t2t-avg-all walks the checkpoints of a model dir from the oldest on (optionally
waiting for new ones) and, once n are queued, writes their average as
`<output_dir>/model.ckpt-<steps of the newest>`, then slides the window by one. T2T kept a
running float64 sum of value / n; we keep a running float64 SUM (divided by n only when
writing), so every written average equals `average_checkpoints(window)` whenever the float64
sums are exact (always, unless one weight's values in a window span > 2^29 in magnitude).
Weights only: our checkpoints hold no global_step / train_stats variables to skip; the step
goes to the safetensors metadata. Like T2T's tf.train.Saver (default max_to_keep=5), only
the 5 newest averaged checkpoints are kept in output_dir. The run files (hparams.json,
run.json) are copied along, so output_dir is a run t2t-decoder can decode on its own.
"""

import collections
import logging
import os
import shutil
from collections.abc import Iterator

import torch

from t2t.errors import DataError
from t2t.runs import checkpoints, run_files
from t2t.runs.step_files import stepfiles_iterator

log = logging.getLogger("t2t.avg_all")

AVERAGED_KEEP_MAX = 5  # tf.train.Saver's default max_to_keep, which t2t-avg-all used


def _copy_flags_txt(model_dir: str, output_dir: str) -> None:
    # With its mtime, so t2t-bleu can report times relative to the start of training.
    source, target = os.path.join(model_dir, "flags.txt"), os.path.join(output_dir, "flags.txt")
    if os.path.exists(source) and not os.path.exists(target):
        shutil.copy2(source, target)


def sliding_window_averages(
    model_dir: str,
    output_dir: str,
    n: int = 8,
    min_steps: int = 0,
    wait_minutes: float = 0,
    sleep_sec: float = 10,
) -> Iterator[str]:
    """Writes the average of every window of n consecutive checkpoints of model_dir.

    Args:
        model_dir: training directory with model.ckpt-<step>.safetensors files.
        output_dir: where model.ckpt-<newest step>.safetensors averages go.
        n: window size.
        min_steps: ignore checkpoints with fewer steps.
        wait_minutes: wait up to this long for each new checkpoint (0: don't wait).
        sleep_sec: polling interval while waiting.

    Yields:
        The prefix of each averaged checkpoint written.

    Raises:
        DataError: n < 1, or checkpoints with different tensors.
    """
    if n < 1:
        raise DataError(f"--n must be at least 1, got {n}")
    os.makedirs(output_dir, exist_ok=True)
    _copy_flags_txt(model_dir, output_dir)
    # The averages decode alone (t2t-decoder --output_dir=<output_dir>): the run files too.
    run_files.copy_run_files(model_dir, output_dir, averaged_from=os.path.abspath(model_dir),
                             averaged_n=n)  # fmt: skip
    window: collections.deque = collections.deque()
    sums: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    stepfiles = stepfiles_iterator(
        model_dir, wait_minutes, min_steps, path_suffix=checkpoints.WEIGHTS_SUFFIX,
        sleep_sec=sleep_sec,
    )  # fmt: skip
    for stepfile in stepfiles:
        log.info("Loading [%d]: %s", len(window) + 1, stepfile.filename)
        try:
            tensors = checkpoints.read_weights(stepfile.filename)
        except (DataError, OSError) as err:  # corrupt (digest mismatch, truncated): left out
            log.warning("skipping checkpoint %s: %s", stepfile.filename, err)
            continue
        if not sums:
            dtypes = {k: v.dtype for k, v in tensors.items()}
            sums = {k: torch.zeros(v.shape, dtype=torch.float64) for k, v in tensors.items()}
        if set(tensors) != set(sums):
            raise DataError(f"{stepfile.filename} holds different tensors than the first one")
        for name, value in tensors.items():
            sums[name] += value.to(torch.float64)
        window.append(stepfile)
        if len(window) < n:
            continue
        yield _write_average(output_dir, stepfile, sums, dtypes, n)
        oldest = checkpoints.read_weights(window.popleft().filename)
        for name, value in oldest.items():
            sums[name] -= value.to(torch.float64)


def _write_average(output_dir, newest, sums, dtypes, n) -> str:
    prefix = checkpoints.checkpoint_prefix(output_dir, newest.steps)
    log.info("Averaging %s", prefix)
    averaged = {name: (total / n).to(dtypes[name]) for name, total in sums.items()}
    path = checkpoints.weights_path(prefix)
    checkpoints.save_weights(averaged, path, step=newest.steps)
    os.utime(path, (newest.mtime, newest.mtime))
    checkpoints.register_checkpoint(output_dir, prefix, AVERAGED_KEEP_MAX)
    return prefix
