"""Fault injection: a small training job killed at random points, its checkpoints damaged.

    PYTHONPATH=. python benchmarks/fault_injection.py --rounds 10 --seed 0

Trains the toy model of tests/train/toy_training.py (one checkpoint per step) in a
subprocess, `kill -9`s it after a random time, then flips a random byte of a random
checkpoint file (weights or trainer state). Before the next start it works out, on its own,
which checkpoints are still intact: any flip in a weights file damages it (data, header and
metadata are all covered by the digest); a flip in the trainer state's zip that changes
nothing torch.load reads and that zip tools accept (alignment padding, a timestamp) leaves
it intact. It checks
that `latest_checkpoint` picks the newest intact one, restarts the job (which must resume
from it), and after the last round lets the job finish and compares its final weights,
bit for bit, with those of an uninterrupted run. It also checks that no `*.tmp-<pid>` file
is left. Exit status 0 when every round passed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

import torch
from safetensors.torch import load_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY = os.path.join(ROOT, "tests", "train", "toy_training.py")
sys.path.insert(0, ROOT)

from t2t.runs import checkpoints  # noqa: E402


def _newest_step(output_dir: str) -> int:
    found = checkpoints.list_checkpoints(output_dir) if os.path.isdir(output_dir) else []
    return checkpoints.checkpoint_step(found[-1]) if found else -1


def _start(output_dir: str, steps: int, sleep: float) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=ROOT)
    args = [sys.executable, TOY, "--output_dir", output_dir, "--train_steps", str(steps)]
    return subprocess.Popen(
        args + ["--sleep", str(sleep)], env=env, stderr=subprocess.PIPE, text=True
    )


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and torch.equal(a, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _content(path: str):
    """What a loader reads from the file, without t2t's checks (None: unreadable)."""
    try:
        if path.endswith(checkpoints.WEIGHTS_SUFFIX):
            return load_file(path)
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None


def _flip_random_byte(rng: random.Random, output_dir: str) -> tuple[str, bool] | None:
    """Flips one bit of a random checkpoint file; returns (file, still intact)."""
    files = [
        os.path.join(output_dir, n)
        for n in os.listdir(output_dir)
        if n.startswith("model.ckpt-")
        and n.endswith((checkpoints.WEIGHTS_SUFFIX, checkpoints.STATE_SUFFIX))
    ]
    if not files:
        return None
    path = rng.choice(sorted(files))
    before = _content(path)
    size = os.path.getsize(path)
    offset = rng.randrange(size)
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)[0]
        f.seek(offset)
        f.write(bytes([byte ^ (1 << rng.randrange(8))]))
    after = _content(path)
    intact = before is not None and after is not None and _same(before, after)
    if path.endswith(checkpoints.WEIGHTS_SUFFIX):
        intact = False  # every byte of a weights file is data, header or covered metadata
    else:  # the state is a zip: also intact for zip tools (CRCs, names consistent)?
        try:
            with zipfile.ZipFile(path) as archive:
                intact = intact and archive.testzip() is None
        except Exception:
            intact = False
    return path, intact


def _expected_latest(output_dir: str, damaged: set[str]) -> str | None:
    best = None
    for name in os.listdir(output_dir):
        if not (name.startswith("model.ckpt-") and name.endswith(checkpoints.WEIGHTS_SUFFIX)):
            continue
        prefix = os.path.join(output_dir, name[: -len(checkpoints.WEIGHTS_SUFFIX)])
        files = [checkpoints.weights_path(prefix), checkpoints.state_path(prefix)]
        if all(os.path.exists(f) and f not in damaged for f in files):
            if best is None or checkpoints.checkpoint_step(prefix) > checkpoints.checkpoint_step(
                best
            ):
                best = prefix
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="kills (N)")
    parser.add_argument("--steps", type=int, default=40, help="training steps of the job")
    parser.add_argument("--sleep", type=float, default=0.05, help="seconds per batch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--flip_probability", type=float, default=0.8)
    parser.add_argument("--work_dir", default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = args.work_dir or tempfile.mkdtemp(prefix="t2t-fault-injection-")
    reference, faulty = os.path.join(work, "reference"), os.path.join(work, "faulty")
    for d in (reference, faulty):
        shutil.rmtree(d, ignore_errors=True)

    proc = _start(reference, args.steps, 0.0)
    _, err = proc.communicate()
    if proc.returncode != 0:
        print(f"reference run failed:\n{err}")
        return 1

    failures, kills, flips, detected, harmless = [], 0, 0, 0, 0
    damaged: dict[str, tuple[int, int]] = {}  # path -> (inode, mtime) when damaged
    for round_ in range(args.rounds):
        before = _newest_step(faulty)
        proc = _start(faulty, args.steps, args.sleep)
        # Wait for the job to be training (its imports take seconds), then a random time.
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            if _newest_step(faulty) > before:  # (not a count: old checkpoints are deleted)
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        _, err = proc.communicate()
        if proc.returncode not in (0, -signal.SIGKILL):
            failures.append(f"round {round_}: exit {proc.returncode}: {err.strip()[-300:]}")
            break
        if os.path.isdir(faulty) and rng.random() < args.flip_probability:
            # Keep at least one intact checkpoint: with none the trainer rightly refuses.
            candidates = checkpoints.list_checkpoints(faulty)
            if len(candidates) >= 2:
                flipped = _flip_random_byte(rng, faulty)
                if flipped is not None:
                    flips += 1
                    path, intact = flipped
                    if intact:
                        harmless += 1
                    else:
                        stat = os.stat(path)
                        damaged[path] = (stat.st_ino, stat.st_mtime_ns)
        if not os.path.isdir(faulty):
            continue
        # A damaged file that the run has rewritten since (a new file renamed over it) is whole.
        damaged = {
            p: key
            for p, key in damaged.items()
            if os.path.exists(p) and (os.stat(p).st_ino, os.stat(p).st_mtime_ns) == key
        }
        expected = _expected_latest(faulty, set(damaged))
        if expected is None and checkpoints.list_checkpoints(faulty):
            continue  # everything damaged (cannot happen with the rule above)
        got = checkpoints.latest_checkpoint(faulty)
        if got != expected:
            failures.append(f"round {round_}: latest_checkpoint {got}, expected {expected}")
        elif damaged:
            detected += 1

    proc = _start(faulty, args.steps, 0.0)
    _, err = proc.communicate()
    if proc.returncode != 0:
        failures.append(f"final run: exit {proc.returncode}: {err.strip()[-300:]}")
    else:
        final = checkpoints.read_weights(checkpoints.latest_checkpoint(faulty))
        wanted = checkpoints.read_weights(checkpoints.latest_checkpoint(reference))
        different = [k for k in wanted if not torch.equal(final[k], wanted[k])]
        if different:
            failures.append(f"final weights differ from the uninterrupted run: {different}")
        leftovers = [n for n in os.listdir(faulty) if ".tmp" in n]
        if leftovers:
            failures.append(f"temporary files left: {leftovers}")
    print(
        f"rounds {args.rounds}, kills {kills}, byte flips {flips} ({harmless} harmless), "
        f"rounds with damaged checkpoints skipped correctly {detected}, failures {len(failures)}"
    )
    for failure in failures:
        print("  FAIL", failure)
    print("final weights equal the uninterrupted run" if not failures else "FAILED")
    if not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
