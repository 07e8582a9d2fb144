"""Files named `<prefix>-<steps>` in a directory, visited oldest step first (T2T semantics).

Checkpoints (`model.ckpt-1000.safetensors`) and per-checkpoint translations
(`t2t-translate-all`'s `<name>-1000`) are both step files: t2t-avg-all, t2t-translate-all
and `t2t-bleu --translations_dir` walk them with `stepfiles_iterator`, optionally waiting
for new ones as a training run writes them.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from collections.abc import Iterator
from typing import NamedTuple

log = logging.getLogger(__name__)

__all__ = ["StepFile", "read_stepfiles_list", "stepfiles_iterator"]


class StepFile(NamedTuple):
    """A file whose name ends with "-<steps>"."""

    filename: str
    mtime: float
    ctime: float
    steps: int


def read_stepfiles_list(
    path_prefix: str, path_suffix: str = ".index", min_steps: int = 0
) -> list[StepFile]:
    """Files matching `<path_prefix>*-[0-9]*<path_suffix>` with steps >= min_steps.

    Returns:
        StepFiles (filename without the suffix) sorted by steps, NEWEST first (T2T's order;
        `stepfiles_iterator` pops from the end).
    """
    stepfiles = []
    for filename in glob.glob(glob.escape(path_prefix) + "*-[0-9]*" + path_suffix):
        basename = filename[: -len(path_suffix)] if path_suffix else filename
        try:
            steps = int(basename.rsplit("-")[-1])
        except ValueError:  # "-[0-9]*" matched something like "-1a".
            continue
        if steps < min_steps:
            continue
        try:
            stat = os.stat(filename)
        except FileNotFoundError:  # Deleted meanwhile (e.g. an old checkpoint).
            continue
        stepfiles.append(StepFile(basename, stat.st_mtime, stat.st_ctime, steps))
    return sorted(stepfiles, key=lambda x: -x.steps)


def stepfiles_iterator(
    path_prefix: str,
    wait_minutes: float = 0,
    min_steps: int = 0,
    path_suffix: str = ".index",
    sleep_sec: float = 10,
) -> Iterator[StepFile]:
    """Yields step files from the oldest step on, waiting for new ones (T2T semantics).

    After each file, the next one must have more steps; when none is there, waits until
    `wait_minutes` after the last file's ctime (or from now, before the first file).

    Args:
        path_prefix: directory (a "/" is appended) or common path prefix.
        wait_minutes: how long to wait for a new file; 0 returns at once.
        min_steps: skip files with fewer steps.
        path_suffix: common suffix after the steps (".index" for checkpoints, "" for
            translations).
        sleep_sec: polling interval.

    Yields:
        StepFile tuples.
    """
    if not path_prefix.endswith(os.sep) and os.path.isdir(path_prefix):
        path_prefix += os.sep
    stepfiles = read_stepfiles_list(path_prefix, path_suffix, min_steps)
    log.info("Found %d files with steps: %s", len(stepfiles), [x.steps for x in stepfiles[::-1]])
    exit_time = time.time() + wait_minutes * 60
    while True:
        if not stepfiles and wait_minutes:
            log.info("Waiting till %s for a file %s*-[0-9]*%s", time.ctime(exit_time),
                     path_prefix, path_suffix)  # fmt: skip
            while True:
                stepfiles = read_stepfiles_list(path_prefix, path_suffix, min_steps)
                if stepfiles or time.time() > exit_time:
                    break
                time.sleep(sleep_sec)
        if not stepfiles:
            return
        stepfile = stepfiles.pop()
        exit_time, min_steps = stepfile.ctime + wait_minutes * 60, stepfile.steps + 1
        yield stepfile
