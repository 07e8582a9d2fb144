"""What a T2T user directory's `from tensor2tensor.layers import modalities` gets.

The modalities live in `t2t.modalities` (one registered module per type); this module
gathers the names such code uses (`modalities.ModalityType`, the weights functions, the
symbol parts) in one place, as the original's `layers/modalities.py` offered them.
"""

from __future__ import annotations

import torch

from t2t.hparams import HParams
from t2t.modalities.base import (
    Identity,
    IdentityBottom,
    ModalityWeights,
    WeightsFn,
    get_modality,
    weights_all,
    weights_nonzero,
    weights_prepend_inputs_to_targets,
)
from t2t.modalities.class_label import ClassLabelBottom, ClassLabelTargetsBottom, ClassLabelTop
from t2t.modalities.losses import _SmoothedCrossEntropy, padded_cross_entropy
from t2t.modalities.names import ModalityType
from t2t.modalities.real import RealBottom
from t2t.modalities.symbol import OneHotBottom, SymbolBottom, SymbolTop

__all__ = [
    "CLASS_LABEL",
    "IDENTITY",
    "REAL",
    "REAL_L2_LOSS",
    "SYMBOL",
    "SYMBOL_ONE_HOT",
    "SYMBOL_WEIGHTS_ALL",
    "ClassLabelBottom",
    "ClassLabelTargetsBottom",
    "ClassLabelTop",
    "Identity",
    "IdentityBottom",
    "ModalityType",
    "ModalityWeights",
    "OneHotBottom",
    "RealBottom",
    "SymbolBottom",
    "SymbolTop",
    "_SmoothedCrossEntropy",
    "check_modality_type",
    "modality_loss",
    "modality_name",
    "padded_cross_entropy",
    "weights_all",
    "weights_fn_for",
    "weights_nonzero",
    "weights_prepend_inputs_to_targets",
]

SYMBOL = ModalityType.SYMBOL
SYMBOL_WEIGHTS_ALL = ModalityType.SYMBOL_WEIGHTS_ALL
SYMBOL_ONE_HOT = ModalityType.SYMBOL_ONE_HOT
CLASS_LABEL = ModalityType.CLASS_LABEL
IDENTITY = ModalityType.IDENTITY
REAL = ModalityType.REAL
REAL_L2_LOSS = ModalityType.REAL_L2_LOSS


def check_modality_type(modality: str, feature: str) -> None:
    """Raises HParamsError naming the registered types if `modality` is not one."""
    get_modality(modality, feature)


def modality_name(modality: str, vocab_size: int | None, hidden_size: int) -> str:
    """T2T's `get_name`: the variable scope of a modality."""
    return get_modality(modality).scope_name(HParams(hidden_size=hidden_size), vocab_size)


def weights_fn_for(modality: str) -> WeightsFn:
    """The modality's default weights_fn (non-padding for symbol-like targets, else all)."""
    return get_modality(modality).weights_fn


def modality_loss(
    modality: str,
    logits: torch.Tensor,
    targets: torch.Tensor,
    label_smoothing: float,
    weights_fn: WeightsFn | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's loss of a target modality type, as (numerator, denominator).

    Args:
        modality: a registered ModalityType name, e.g. "symbol".
        logits: the top's output, e.g. [B, T, V]; V is taken as the vocab size.
        targets: the targets, e.g. ids [B, T].
        label_smoothing: T2T's label_smoothing (0.0 for none).
        weights_fn: labels -> weights; None: the modality's default.

    Returns:
        (numerator, denominator) 0-dim tensors; the loss is numerator / max(1, denominator).

    Raises:
        HParamsError: `modality` is not a registered type.
    """
    registered = get_modality(modality)
    hparams = HParams(label_smoothing=label_smoothing)
    return registered.loss(
        logits, targets, hparams, logits.shape[-1], weights_fn or registered.weights_fn
    )
