"""One writer per output dir: an exclusive lock held by the trainer while it runs.

Two trainers on one output dir interleave their logs and replace each other's checkpoints.
The trainer holds `<output_dir>/.t2t-trainer.lock` (an OS file lock through `filelock`,
released by the OS on any exit, so a crash or `kill -9` leaves no stale lock) and writes
who holds it (pid, host, start time) to `.t2t-trainer.lock.json`. A second trainer stops
with a one-line error naming the holder. Decoding, evaluation and averaging only read, and
never take the lock.

Holding the lock also makes it safe to remove `*.tmp-<pid>` files that a killed run left.
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import json
import logging
import os
import socket
from collections.abc import Iterator

import filelock

from t2t.errors import T2TError

log = logging.getLogger("t2t.trainer")

LOCK_FILE = ".t2t-trainer.lock"
HOLDER_FILE = LOCK_FILE + ".json"

# Locks this process holds: {realpath of output dir: [FileLock, count]}. An OS lock is per
# open file, so a second FileLock of this process on the same file would wait on itself.
_held: dict[str, list] = {}


class RunLockedError(T2TError):
    """Another trainer holds the output dir."""


def _holder(output_dir: str) -> str:
    try:
        with open(os.path.join(output_dir, HOLDER_FILE), encoding="utf-8") as f:
            info = json.load(f)
        return f"pid {info['pid']} on {info['host']}, started {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has not written its name yet"


def _write_holder(output_dir: str) -> None:
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }
    path = os.path.join(output_dir, HOLDER_FILE)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
    os.replace(tmp, path)


def remove_stale_temporaries(output_dir: str) -> list[str]:
    """Removes `*.tmp-<pid>` / `*.tmp<pid>` files a killed writer left (call with the lock)."""
    removed = []
    for path in glob.glob(os.path.join(glob.escape(output_dir), "*.tmp*")):
        name = os.path.basename(path)
        if name.rsplit(".tmp", 1)[-1].lstrip("-").isdigit() and os.path.isfile(path):
            os.remove(path)
            removed.append(path)
    if removed:
        log.info("removed %d temporary files left by an interrupted run", len(removed))
    return removed


@contextlib.contextmanager
def hold(output_dir: str) -> Iterator[None]:
    """Holds the output dir's trainer lock for the duration (re-entrant in one process).

    Raises:
        RunLockedError: another process holds it; the message names pid, host, start time.
    """
    os.makedirs(output_dir, exist_ok=True)
    key = os.path.realpath(output_dir)
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    lock = filelock.FileLock(os.path.join(output_dir, LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RunLockedError(
            f"{output_dir} is in use by another trainer ({_holder(output_dir)}); "
            "use another --output_dir, or stop that run first"
        ) from None
    _held[key] = [lock, 1]
    try:
        _write_holder(output_dir)
        remove_stale_temporaries(output_dir)
        yield
    finally:
        _held[key][1] -= 1
        if _held[key][1] == 0:
            del _held[key]
            with contextlib.suppress(OSError):
                os.remove(os.path.join(output_dir, HOLDER_FILE))
            lock.release()
