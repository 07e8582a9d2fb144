"""Preprocessing all problems share: truncation, prepend modes, split_to_length, `_rev`/`_copy`.

`default_model_hparams` holds what this preprocessing reads when no model hparams are given.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from t2t.errors import DataError
from t2t.hparams import HParams
from t2t.problems.constants import Example, Modes

logger = logging.getLogger(__name__)


def default_model_hparams() -> HParams:
    """What the data side reads from model hparams when none are given."""
    return HParams(
        max_input_seq_length=0,
        max_target_seq_length=0,
        prepend_mode="none",
        split_to_length=0,
        data_dir=None,
    )


def _hparam(hparams: Any, name: str, default: Any = None) -> Any:
    value = getattr(hparams, name, default)
    return default if value is None else value


def preprocess_example_common(example: Example, mode: str, hparams: Any) -> Example | list[Example]:
    """T2T's common preprocessing: truncation, prepend modes, split_to_length (in this order).

    Args:
        example: feature name -> 1-D array.
        mode: "train", "eval" or "infer".
        hparams: model hparams (max_input_seq_length, max_target_seq_length, prepend_mode,
            split_to_length).

    Returns:
        The example, or a list of examples when `split_to_length` chops it into pieces.
    """
    max_input = _hparam(hparams, "max_input_seq_length", 0)
    max_target = _hparam(hparams, "max_target_seq_length", 0)
    prepend_mode = _hparam(hparams, "prepend_mode", "none")
    if "inputs" in example and max_input > 0:
        example["inputs"] = example["inputs"][:max_input]
    if prepend_mode != "none":
        inputs = np.concatenate([example["inputs"], np.zeros(1, dtype=example["inputs"].dtype)])
        if mode == Modes.PREDICT:
            example["partial_targets"] = inputs
        else:
            example["targets"] = np.concatenate([inputs, example["targets"]])
    if "targets" in example and max_target > 0:
        example["targets"] = example["targets"][:max_target]
    split = _hparam(hparams, "split_to_length", 0)
    if split:
        return _split_to_length(example, split)
    return example


def _split_to_length(example: Example, length: int) -> list[Example]:
    dropped = [k for k in example if k not in ("inputs", "targets")]
    if dropped:
        logger.warning("split_to_length drops features %s", dropped)
    kept = {k: v for k, v in example.items() if k in ("inputs", "targets")}
    for name, value in kept.items():
        if len(value) % length:
            raise DataError(
                f"split_to_length={length}: feature {name!r} has length {len(value)}, "
                "which is not a multiple"
            )
    num_pieces = min(len(v) // length for v in kept.values()) if kept else 0
    return [
        {k: v[i * length : (i + 1) * length] for k, v in kept.items()} for i in range(num_pieces)
    ]


def maybe_reverse_and_copy(example: Example, was_reversed: bool, was_copy: bool) -> Example:
    """Applies the `_rev` (swap inputs/targets) then `_copy` (targets := inputs) transforms."""
    if was_reversed:
        for a, b in (
            ("inputs", "targets"),
            ("inputs_segmentation", "targets_segmentation"),
            ("inputs_position", "targets_position"),
        ):
            if a in example or b in example:
                va, vb = example.pop(a, None), example.pop(b, None)
                if va is not None:
                    example[b] = va
                if vb is not None:
                    example[a] = vb
    if was_copy:
        if "inputs" in example:
            example["targets"] = example["inputs"]
        for suffix in ("_segmentation", "_position"):
            if "inputs" + suffix in example and "targets" + suffix not in example:
                example["targets" + suffix] = example["inputs" + suffix]
    return example
