"""Checkpoints in an output_dir: safetensors weights + trainer state, TF-style index.

Layout (a checkpoint is named by its prefix `<output_dir>/model.ckpt-<step>`, as in T2T):
- `model.ckpt-<step>.safetensors`: the model's weights (tied weights stored once);
- `model.ckpt-<step>.state.pt`: optimizer and trainer state (step, data position, RNG
  states), `torch.save` of tensors and plain Python types only, read back with
  `torch.load(weights_only=True)`: loading never runs code from a file;
- `checkpoint`: TensorFlow's text index, so users and tools recognise it:
  `model_checkpoint_path: "model.ckpt-1000"` then one `all_model_checkpoint_paths: "..."`
  line per kept checkpoint, oldest first.
Every file is written under a temporary name and renamed, and the index last, so a crash
never leaves a "latest" that points at a half-written checkpoint. The weights carry a
SHA-256 of their tensors (t2t.runs.digest), so a flipped bit is found like a cut file: an
unreadable checkpoint is skipped with a one-line warning and the previous one is used, and an
unreadable index falls back to scanning the directory.
"""

import json
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import _remove_duplicate_names, load_model, save_file

from t2t.data import output_paths
from t2t.errors import DataError
from t2t.runs import digest

log = logging.getLogger("t2t.checkpoints")

CHECKPOINT_INDEX = "checkpoint"
WEIGHTS_SUFFIX = ".safetensors"
STATE_SUFFIX = ".state.pt"
_PREFIX_RE = re.compile(r"model\.ckpt-(\d+)$")


def checkpoint_prefix(output_dir: str, step: int) -> str:
    """`<output_dir>/model.ckpt-<step>`."""
    return os.path.join(output_dir, f"model.ckpt-{step}")


def checkpoint_step(prefix: str) -> int:
    """The step in a checkpoint prefix `.../model.ckpt-<step>`.

    Raises:
        DataError: if the name does not end with model.ckpt-<step>.
    """
    match = _PREFIX_RE.search(os.path.basename(prefix))
    if not match:
        raise DataError(f"not a checkpoint name (expected model.ckpt-<step>): {prefix}")
    return int(match.group(1))


def weights_path(prefix: str) -> str:
    """The model-weights file of checkpoint `prefix`: `<prefix>.safetensors`."""
    return prefix + WEIGHTS_SUFFIX


def state_path(prefix: str) -> str:
    """The training-state file (optimizer, step, RNG) of checkpoint `prefix`: `.state.pt`."""
    return prefix + STATE_SUFFIX


def _atomic_write(path: str, write: Any) -> None:
    """Calls write(tmp_path), fsyncs, then renames tmp_path to path.

    Raises:
        OutputError: the file cannot be written (disk full, read-only, ...), naming the
            path and the OS's reason; no temporary file is left.
    """
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with output_paths.writing(path):
            write(tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            # safetensors creates files 0600: give them the mode of the run's other files.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain module under DistributedDataParallel and torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, torch.nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


# ---- the `checkpoint` index (TensorFlow's text format) ------------------------------------


def _index_entry(output_dir: str, prefix: str) -> str:
    # TF writes paths relative to the directory when the checkpoint is inside it.
    if os.path.dirname(os.path.abspath(prefix)) == os.path.abspath(output_dir):
        return os.path.basename(prefix)
    return prefix


def write_checkpoint_index(output_dir: str, prefixes: list[str]) -> None:
    """Writes `<output_dir>/checkpoint` naming prefixes (oldest first; the last is latest)."""
    entries = [_index_entry(output_dir, p) for p in prefixes]
    lines = [f"model_checkpoint_path: {json.dumps(entries[-1])}"] if entries else []
    lines += [f"all_model_checkpoint_paths: {json.dumps(e)}" for e in entries]
    text = "".join(line + "\n" for line in lines)

    def write(tmp: str) -> None:
        """Writes the index text to the temporary file `tmp`."""
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    _atomic_write(os.path.join(output_dir, CHECKPOINT_INDEX), write)


def read_checkpoint_index(output_dir: str) -> list[str]:
    """Checkpoint prefixes named by `<output_dir>/checkpoint`, oldest first, latest last."""
    path = os.path.join(output_dir, CHECKPOINT_INDEX)
    if not os.path.exists(path):
        return []
    latest, all_paths = None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            key, _, value = line.partition(":")
            value = value.strip()
            if not value:
                continue
            value = json.loads(value) if value.startswith('"') else value
            if not isinstance(value, str) or not _PREFIX_RE.search(os.path.basename(value)):
                raise ValueError(f"not a checkpoint name: {str(value)[:60]!r}")
            if not os.path.isabs(value):
                value = os.path.join(output_dir, value)
            if key.strip() == "model_checkpoint_path":
                latest = value
            elif key.strip() == "all_model_checkpoint_paths":
                all_paths.append(value)
    if latest is not None and latest not in all_paths:
        all_paths.append(latest)
    return all_paths


def list_checkpoints(output_dir: str) -> list[str]:
    """All checkpoint prefixes in output_dir, by the index if present else by scanning; by step.

    An unreadable index (garbage, cut short) is reported with a warning and the directory
    is scanned instead.
    """
    try:
        prefixes = read_checkpoint_index(output_dir)
    except (ValueError, OSError) as err:  # UnicodeDecodeError and JSONDecodeError included
        log.warning(
            "unreadable checkpoint index %s (%s); scanning the directory instead",
            os.path.join(output_dir, CHECKPOINT_INDEX),
            err,
        )
        prefixes = []
    if not prefixes and os.path.isdir(output_dir):
        prefixes = [
            os.path.join(output_dir, name[: -len(WEIGHTS_SUFFIX)])
            for name in os.listdir(output_dir)
            if name.endswith(WEIGHTS_SUFFIX) and _PREFIX_RE.search(name[: -len(WEIGHTS_SUFFIX)])
        ]
    return sorted(set(prefixes), key=checkpoint_step)


# ---- validation ------------------------------------------------------------------------------


def _check_safetensors(path: str) -> None:
    """Raises DataError unless `path` is a complete, consistent safetensors file whose data
    matches its digest (see t2t.runs.digest)."""
    digest.verify_safetensors(path)


def _check_state(path: str) -> None:
    """Raises DataError unless `path` is a complete torch.save zip file (CRCs checked)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except Exception as err:  # a damaged zip raises many kinds (BadZipFile, UnicodeError, ...)
        raise DataError(f"{path}: corrupt trainer state ({err})") from None
    if bad is not None:
        raise DataError(f"{path}: corrupt trainer state (bad member {bad})")


def check_checkpoint(prefix: str, need_state: bool = True) -> None:
    """Raises DataError if the checkpoint's files are missing or corrupt."""
    if not os.path.exists(weights_path(prefix)):
        raise DataError(f"missing checkpoint weights {weights_path(prefix)}")
    _check_safetensors(weights_path(prefix))
    if need_state:
        if not os.path.exists(state_path(prefix)):
            raise DataError(f"missing trainer state {state_path(prefix)}")
        _check_state(state_path(prefix))


def latest_checkpoint(output_dir: str, need_state: bool = True) -> str | None:
    """The newest intact checkpoint prefix in output_dir, or None if there is none.

    A corrupt or incomplete newer checkpoint is skipped with a warning.

    Args:
        output_dir: the training directory.
        need_state: also require the trainer state (resuming); False for decoding.
    """
    for prefix in reversed(list_checkpoints(output_dir)):
        try:
            check_checkpoint(prefix, need_state=need_state)
        except (DataError, OSError) as err:
            warn_skipped(prefix, err)
            continue
        return prefix
    return None


def warn_skipped(prefix: str, err: BaseException) -> None:
    """The one-line warning for a checkpoint that cannot be used."""
    log.warning("skipping checkpoint %s: %s; trying the previous one", prefix, err)


# ---- save / load ---------------------------------------------------------------------------


def save_checkpoint(
    output_dir: str,
    step: int,
    model: torch.nn.Module,
    state: dict[str, Any],
    keep_checkpoint_max: int | None = 20,
    preserve: Callable[[str], bool] | None = None,
) -> str:
    """Writes model.ckpt-<step> (weights + state), updates the index, drops old ones.

    Args:
        output_dir: directory (created if needed).
        step: global step.
        model: the model (DDP / compiled wrappers are unwrapped).
        state: trainer state: tensors and plain Python types only.
        keep_checkpoint_max: how many checkpoints to keep; 0 or None keeps all (as TF).
        preserve: called with each checkpoint that falls out of the newest
            keep_checkpoint_max; when True its files stay (out of the index), as TF's
            keep_checkpoint_every_n_hours kept them.

    Returns:
        The checkpoint prefix.
    """
    os.makedirs(output_dir, exist_ok=True)
    prefix = checkpoint_prefix(output_dir, step)
    _atomic_write(state_path(prefix), lambda tmp: torch.save(state, tmp))
    metadata = {"format": "pt", "step": str(step)}
    tensors, metadata = _model_tensors(_unwrap(model), metadata)
    _save_tensors(tensors, weights_path(prefix), metadata)
    register_checkpoint(output_dir, prefix, keep_checkpoint_max, preserve)
    return prefix


def _model_tensors(
    module: torch.nn.Module, metadata: dict[str, str]
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors safetensors' save_model writes (tied weights once) and its metadata."""
    tensors = module.state_dict()
    metadata = dict(metadata)
    for kept, removed in _remove_duplicate_names(tensors).items():
        for name in removed:
            metadata.setdefault(name, kept)
            del tensors[name]
    return {k: v.contiguous() for k, v in tensors.items()}, metadata


def _save_tensors(tensors: dict[str, torch.Tensor], path: str, metadata: dict[str, str]) -> None:
    """Writes tensors atomically with their digest in the metadata."""
    metadata = dict(metadata, **{digest.DIGEST_KEY: digest.tensors_digest(tensors, metadata)})
    _atomic_write(path, lambda tmp: save_file(tensors, tmp, metadata=metadata))


def register_checkpoint(
    output_dir: str,
    prefix: str,
    keep_checkpoint_max: int | None,
    preserve: Callable[[str], bool] | None = None,
) -> None:
    """Makes `prefix` the latest in the index and prunes the older checkpoints.

    The index is rewritten before any deletion, so it never names a deleted file.

    Args:
        output_dir: the run's directory.
        prefix: the checkpoint just written, `<output_dir>/model.ckpt-<step>`.
        keep_checkpoint_max: how many of the newest checkpoints the index keeps; 0 or None
            keeps all.
        preserve: called with each pruned prefix; True leaves its files on disk, out of
            the index (TF's keep_checkpoint_every_n_hours).
    """
    step = checkpoint_step(prefix)
    kept = [p for p in list_checkpoints(output_dir) if checkpoint_step(p) != step] + [prefix]
    kept = sorted(kept, key=checkpoint_step)
    removed = []
    if keep_checkpoint_max and len(kept) > keep_checkpoint_max:
        removed, kept = kept[:-keep_checkpoint_max], kept[-keep_checkpoint_max:]
    if kept[-1] != prefix:  # an older step than existing ones: still make it the latest
        kept = [p for p in kept if p != prefix] + [prefix]
    write_checkpoint_index(output_dir, kept)
    for old in removed:  # after the index no longer names them
        if preserve is not None and preserve(old):
            continue
        for path in (weights_path(old), state_path(old)):
            if os.path.exists(path):
                os.remove(path)


def load_weights(model: torch.nn.Module, prefix_or_path: str, strict: bool = True) -> None:
    """Loads safetensors weights (a checkpoint prefix or a .safetensors path) into model.

    Raises:
        DataError: if the file is missing, corrupt, or does not fit the model.
    """
    path = prefix_or_path
    if not path.endswith(WEIGHTS_SUFFIX):
        path = weights_path(path)
    if not os.path.exists(path):
        raise DataError(f"no checkpoint weights at {path}")
    _check_safetensors(path)
    try:
        missing, unexpected = load_model(_unwrap(model), path, strict=strict, device="cpu")
    except OSError as err:
        raise DataError(f"{path}: cannot read checkpoint weights ({err.strerror or err})") from None
    except RuntimeError as err:
        problems = [line.strip() for line in str(err).splitlines()[1:] if line.strip()]
        first = (problems[0] if problems else str(err)).rstrip(".")
        raise DataError(
            f"checkpoint {path} does not fit the model ({len(problems)} problems; first: "
            f"{first}). Was it trained with other hparams or another model? Use a new "
            "--output_dir, or the hparams of the run that wrote it"
        ) from None
    if missing or unexpected:
        log.warning("loading %s: missing %s, unexpected %s", path, missing, unexpected)


def load_state(prefix: str) -> dict[str, Any]:
    """The trainer state of a checkpoint (tensors on CPU), loaded without unpickling code.

    Raises:
        DataError: the file is missing, damaged, or holds objects the safe loader refuses.
    """
    path = state_path(prefix)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as err:
        raise DataError(f"{path}: cannot read trainer state ({err.strerror or err})") from None
    except Exception as err:  # UnpicklingError, RuntimeError, EOFError, ...
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "weights_only" in str(err) or "Unsupported" in str(err):
            reason = "it holds objects other than tensors and plain values"
        raise DataError(f"{path}: unreadable trainer state ({reason[:200]})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise DataError(f"{path}: unreadable trainer state (not a t2t trainer state)")
    return state


def read_weights(path: str) -> dict[str, torch.Tensor]:
    """All tensors of a .safetensors file (or checkpoint prefix), on CPU."""
    if not path.endswith(WEIGHTS_SUFFIX):
        path = weights_path(path)
    _check_safetensors(path)
    tensors = {}
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            for key in f.keys():
                tensors[key] = f.get_tensor(key)
    except Exception as err:  # SafetensorError on what the structure check let through
        raise DataError(f"{path}: corrupt safetensors file ({str(err)[:200]})") from None
    return tensors


def average_checkpoints(paths: Iterable[str]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the weights of several checkpoints.

    Sums in float64 and casts back to each tensor's dtype, like T2T's avg_checkpoints
    (which averaged in float64 NumPy). Integer tensors are averaged the same way and
    rounded toward zero by the cast.

    Args:
        paths: checkpoint prefixes or .safetensors paths (at least one).

    Returns:
        {name: averaged tensor} with the names and dtypes of the first checkpoint.

    Raises:
        DataError: if no paths are given or the checkpoints hold different tensors.
    """
    paths = list(paths)
    if not paths:
        raise DataError("No checkpoints provided for averaging.")
    sums: dict[str, torch.Tensor] = {}
    dtypes: dict[str, torch.dtype] = {}
    for path in paths:
        tensors = read_weights(path)
        if sums and set(tensors) != set(sums):
            raise DataError(f"{path} holds different tensors than {paths[0]}")
        for name, tensor in tensors.items():
            if name not in sums:
                dtypes[name] = tensor.dtype
                sums[name] = torch.zeros(tensor.shape, dtype=torch.float64)
            if tensor.shape != sums[name].shape:
                raise DataError(
                    f"{path}: {name} has shape {list(tensor.shape)}, expected "
                    f"{list(sums[name].shape)}"
                )
            sums[name] += tensor.to(torch.float64)
    return {name: (total / len(paths)).to(dtypes[name]) for name, total in sums.items()}


def save_weights(tensors: dict[str, torch.Tensor], path: str, step: int | None = None) -> None:
    """Writes a weights dict as safetensors, atomically (used for averaged checkpoints)."""
    metadata = {"format": "pt"}
    if step is not None:
        metadata["step"] = str(step)
    contiguous = {k: v.contiguous() for k, v in tensors.items()}
    _save_tensors(contiguous, path, metadata)
