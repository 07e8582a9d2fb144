"""The files that describe a run in its output dir: `hparams.json` and `run.json`.

t2t-trainer writes both when training starts (rank 0 only, atomically; not when it fails
before, e.g. for missing data), and t2t-avg-all copies them beside its averages:

* `hparams.json`: the model hparams the run trains with, resolved (set + saved + overrides),
  as T2T wrote it. A restarted t2t-trainer merges it back before the command line's
  `--hparams`, so a resumed run keeps its hparams.
* `run.json`: what is needed to rebuild the run without flags: problem, model,
  hparams_set, the overrides string, data_dir, seed, train_steps, the command line, and
  versions (t2t, torch, Python) and the git commit of the working directory, if any.

t2t-decoder and `t2t.load()` read them back with `read_run()` and `model_hparams()`.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from typing import Any

from t2t.errors import T2TError
from t2t.hparams import join_overrides

HPARAMS_FILE = "hparams.json"
RUN_FILE = "run.json"

# Attributes a model or problem attaches to hparams at run time: objects, not values.
_RUNTIME_ATTRIBUTES = ("problem", "problem_hparams")


def _atomic_write_json(path: str, value: Any) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _git_commit() -> str | None:
    """The commit of the git checkout the command runs in (None outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def hparams_values(hparams: Any) -> dict[str, Any]:
    """The JSON-serialisable values of model hparams (callables and run-time objects dropped)."""
    values = json.loads(hparams.to_json())
    for name in _RUNTIME_ATTRIBUTES:
        values.pop(name, None)
    return values


def write_run_files(output_dir: str, hparams: Any, run: dict[str, Any]) -> None:
    """Writes `hparams.json` and `run.json` (with versions and git commit added) to output_dir.

    Args:
        output_dir: the run's directory (created if missing).
        hparams: the resolved model hparams.
        run: problem, model, hparams_set, hparams (overrides), data_dir, seed, train_steps.
    """
    import torch

    from t2t import __version__

    os.makedirs(output_dir, exist_ok=True)
    _atomic_write_json(os.path.join(output_dir, HPARAMS_FILE), hparams_values(hparams))
    record = dict(run)
    record.update(
        argv=list(sys.argv),
        t2t_version=__version__,
        torch_version=torch.__version__,
        python_version=platform.python_version(),
        git_commit=_git_commit(),
    )
    _atomic_write_json(os.path.join(output_dir, RUN_FILE), record)


def read_run(output_dir: str) -> dict[str, Any]:
    """The `run.json` of output_dir.

    Raises:
        T2TError: the directory has no run.json (not a t2t-trainer output dir) or it is
            not valid JSON.
    """
    path = os.path.join(os.path.expanduser(output_dir), RUN_FILE)
    if not os.path.exists(path):
        raise T2TError(
            f"{path} does not exist: {output_dir} is not an output dir of t2t-trainer "
            "(give --problem, --model and --hparams_set explicitly)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise T2TError(f"{path} is not valid JSON ({error}); was the file edited?") from None


def resolve_run(
    output_dir: str, given: dict[str, str | None], extra_hparams: str = ""
) -> dict[str, Any]:
    """run.json of output_dir with the non-empty values of `given` winning over it.

    Args:
        output_dir: the run's directory.
        given: problem, model, hparams_set, data_dir from the command line (None: not given).
        extra_hparams: overrides appended after the run's own `hparams` string.

    Raises:
        T2TError: output_dir has no run.json and `given` does not name all four.
    """
    if os.path.exists(os.path.join(output_dir, RUN_FILE)):
        run = read_run(output_dir)
    elif all(given.values()):
        run = {"hparams": ""}
    else:
        missing = ", ".join(f"--{k}" for k, v in given.items() if not v)
        raise T2TError(f"{output_dir} has no run.json: give {missing}")
    run.update({k: v for k, v in given.items() if v})
    if extra_hparams:
        run["hparams"] = join_overrides(run.get("hparams", ""), extra_hparams)
    return run


def check_resume(output_dir: str, names: dict[str, str]) -> None:
    """Stops a run that would resume another run's output dir under different names.

    A restarted t2t-trainer merges output_dir's hparams.json; under another model, hparams
    set or problem that silently mixes two runs' hparams.

    Args:
        output_dir: the run's directory.
        names: {"problem": ..., "model": ..., "hparams_set": ...} of the new run.

    Raises:
        T2TError: output_dir's run.json names a different problem, model or hparams set.
    """
    if not os.path.exists(os.path.join(output_dir, RUN_FILE)):
        return
    run = read_run(output_dir)
    for key, value in names.items():
        if run.get(key) is not None and run[key] != value:
            raise T2TError(
                f"--{key}={value} differs from {run[key]!r} in {os.path.join(output_dir, RUN_FILE)}"
                ": use another --output_dir, or pass --allow_run_mismatch to resume that run "
                "with its saved hparams anyway"
            )


def copy_run_files(source_dir: str, target_dir: str, **changes: Any) -> bool:
    """Copies hparams.json and run.json (updated with `changes`) into target_dir.

    Returns:
        Whether source_dir had run files to copy.
    """
    hparams_path = os.path.join(source_dir, HPARAMS_FILE)
    if not os.path.exists(os.path.join(source_dir, RUN_FILE)) or not os.path.exists(hparams_path):
        return False
    with open(hparams_path, encoding="utf-8") as f:
        hparams = json.load(f)
    run = read_run(source_dir)
    run.update(changes)
    os.makedirs(target_dir, exist_ok=True)
    _atomic_write_json(os.path.join(target_dir, HPARAMS_FILE), hparams)
    _atomic_write_json(os.path.join(target_dir, RUN_FILE), run)
    return True


def model_hparams(output_dir: str, hparams_set: str, overrides: str = "", data_dir: str = ""):
    """The model hparams of a run: the set, then its hparams.json, then `overrides`.

    Args:
        output_dir: the run's directory.
        hparams_set: the registered set the run used (run.json's `hparams_set`).
        overrides: extra "name=value" overrides (decode-time changes).
        data_dir: stored as hparams.data_dir (where the vocabulary is).
    """
    from t2t.hparams import create_hparams

    path = os.path.join(os.path.expanduser(output_dir), HPARAMS_FILE)
    return create_hparams(hparams_set, overrides, hparams_path=path, data_dir=data_dir or None)
