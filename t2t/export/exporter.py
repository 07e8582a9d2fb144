"""Exporting a trained run: what t2t-exporter does, with plain arguments.

    export_run("~/t2t_train/ende", "~/t2t_train/ende/export/1733150000",
               formats=["t2t", "ctranslate2"])

The run is loaded as t2t-decoder loads it (`t2t.decode.api.load_run`: run.json,
hparams.json, the problem's vocabulary in its data_dir, a checkpoint), then written as an
export directory (`t2t.runs.export_dir`), plus `ctranslate2/` and `onnx/` when asked. The
directory is built under a temporary name beside the target and renamed at the end.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Sequence
from typing import Any

from t2t.errors import T2TError
from t2t.runs import checkpoints, export_dir

log = logging.getLogger(__name__)

FORMATS = ("t2t", "ctranslate2", "onnx")
CTRANSLATE2_DIR = "ctranslate2"
ONNX_DIR = "onnx"


def parse_formats(text: str) -> list[str]:
    """`"t2t,onnx"` -> ["t2t", "onnx"] ("t2t" is always written: the others sit inside it).

    Raises:
        T2TError: an unknown format name.
    """
    names = [n.strip() for n in text.split(",") if n.strip()] or ["t2t"]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise T2TError(
            f"--export_format: unknown format {unknown[0]!r}; use a comma list of "
            f"{', '.join(FORMATS)}"
        )
    return ["t2t"] + [n for n in FORMATS[1:] if n in names]


def default_export_dir(base: str) -> str:
    """`base/<timestamp>` (T2T's layout: seconds since the epoch), unused so far."""
    stamp = int(time.time())
    while os.path.exists(os.path.join(base, str(stamp))):
        stamp += 1
    return os.path.join(base, str(stamp))


def export_loaded(
    loaded: Any,
    target: str,
    formats: Sequence[str] = ("t2t",),
    decode_hparams: dict[str, Any] | None = None,
    source_dir: str = "",
) -> str:
    """Writes the export of a `LoadedModel` (t2t.load / load_run) into `target`.

    Args:
        loaded: the model, hparams, problem and encoders to export.
        target: the export directory to create (must not exist).
        formats: "t2t" and any of "ctranslate2", "onnx".
        decode_hparams: decode hparams values stored as the serving defaults.
        source_dir: the run's output dir (recorded in the manifest).

    Returns:
        target.

    Raises:
        T2TError: target exists, or the model cannot be written in a requested format.
    """
    target = os.path.abspath(os.path.expanduser(target))
    if os.path.exists(target):
        raise T2TError(f"{target} already exists: give another --export_dir")
    _check_formats(loaded.model, formats)
    temporary = f"{target}.tmp{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        _write(loaded, temporary, formats, decode_hparams or {}, source_dir)
        export_dir.publish(temporary, target)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    log.info("exported %s (%s) to %s", loaded.checkpoint, ", ".join(formats), target)
    return target


def _check_formats(model: Any, formats: Sequence[str]) -> None:
    """Fails before any file is written when a format cannot express the model."""
    if "ctranslate2" in formats:
        from t2t.export import ctranslate2_export

        ctranslate2_export._ctranslate2()
        ctranslate2_export.check_convertible(model)
    if "onnx" in formats:
        from t2t.export import onnx_export

        onnx_export.check_exportable(model)


def _write(
    loaded: Any, directory: str, formats: Sequence[str], decode: dict[str, Any], source_dir: str
) -> None:
    weights = loaded.checkpoint
    if not weights.endswith(checkpoints.WEIGHTS_SUFFIX):
        weights = checkpoints.weights_path(weights)
    problem_hparams = loaded.model.problem_hparams
    names = {
        "problem": loaded.run["problem"],
        "model": loaded.run["model"],
        "hparams_set": loaded.run.get("hparams_set", ""),
        "has_inputs": bool(loaded.problem.has_inputs),
    }
    export_dir.write_files(
        directory, weights, loaded.hparams, problem_hparams, loaded.encoders, names, decode
    )
    if "ctranslate2" in formats:
        from t2t.export import ctranslate2_export

        quantization = "int8" if decode.get("quantize") == "int8" else None
        ctranslate2_export.convert(
            loaded.model, os.path.join(directory, CTRANSLATE2_DIR), quantization
        )
    if "onnx" in formats:
        from t2t.export import onnx_export

        onnx_export.export(loaded.model, os.path.join(directory, ONNX_DIR))
    source = {
        "output_dir": os.path.abspath(source_dir) if source_dir else "",
        "checkpoint": os.path.abspath(weights),
        "step": _step(weights),
        "formats": list(formats),
    }
    export_dir.write_manifest(directory, source)


def _step(weights: str) -> int | None:
    prefix = weights[: -len(checkpoints.WEIGHTS_SUFFIX)]
    try:
        return checkpoints.checkpoint_step(prefix)
    except (ValueError, T2TError):
        return None
