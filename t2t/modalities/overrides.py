"""T2T's per-feature overrides: `hparams.bottom`, `top`, `loss`, `weights_fn`, `name`.

Each is a dict feature -> value, as in T2T. A value is either

- a registered modality type name (or a `Modality` class / instance): that type's part
  (for the targets feature, its targets bottom); it survives `hparams.json`;
- a function with T2T's signature, called as T2T calls it:
  bottom `fn(x, model_hparams, vocab_size)`, top `fn(body_output, targets, model_hparams,
  vocab_size)`, loss `fn(top_out, targets, model_hparams, vocab_size, weights_fn)`,
  weights_fn `fn(labels)`, name `fn(model_hparams, vocab_size)`. Functions carry no
  parameters: a part with variables comes from a registered modality.

`weights_fn` also takes the names "weights_nonzero", "weights_all" and
"weights_prepend_inputs_to_targets"; `name` also takes the scope itself as a string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.modalities.base import (
    WEIGHTS_FNS,
    Modality,
    ModalitySpec,
    WeightsFn,
    get_modality,
    is_modality,
)

OVERRIDE_KINDS = ("bottom", "top", "loss", "weights_fn", "name")


class FunctionBottom(nn.Module):
    """A T2T-style bottom function `fn(x, model_hparams, vocab_size)` as a module.

    Args:
        fn: the function.
        hparams: the model hparams it is called with.
        vocab_size: the feature's padded vocab size.
    """

    def __init__(self, fn: Callable, hparams: HParams, vocab_size: int | None) -> None:
        super().__init__()
        self.fn, self.hparams, self.vocab_size = fn, hparams, vocab_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """feature -> fn's output."""
        return self.fn(x, self.hparams, self.vocab_size)


class FunctionTop(nn.Module):
    """A T2T-style top function `fn(body_output, targets, model_hparams, vocab_size)`.

    `takes_targets` tells the model to pass the raw targets feature (None in decoding).
    """

    takes_targets = True

    def __init__(self, fn: Callable, hparams: HParams, vocab_size: int | None) -> None:
        super().__init__()
        self.fn, self.hparams, self.vocab_size = fn, hparams, vocab_size

    def forward(
        self, body_output: torch.Tensor, targets: torch.Tensor | None = None
    ) -> torch.Tensor:
        """body output [B, T, D] (and raw targets) -> fn's output."""
        return self.fn(body_output, targets, self.hparams, self.vocab_size)


def override(hparams: HParams, kind: str, feature: str) -> Any:
    """`hparams.<kind>[feature]`, or None when the hparams have no such entry."""
    table = hparams.get(kind) or {}
    if not isinstance(table, dict):
        raise HParamsError(f"hparams.{kind} must be a dict feature -> value, got {table!r}")
    return table.get(feature)


def _as_modality(value: Any, kind: str, feature: str) -> Modality | None:
    if isinstance(value, str) or is_modality(value):
        return get_modality(value, feature)
    if not callable(value):
        raise HParamsError(
            f"hparams.{kind}[{feature!r}] must be a registered modality name or a "
            f"function, got {value!r}"
        )
    return None


def resolve_bottom(
    value: Any, modality: Modality, spec: ModalitySpec, is_targets: bool
) -> nn.Module:
    """The bottom module of a feature: its modality's, or the `hparams.bottom` override's."""
    source = modality if value is None else _as_modality(value, "bottom", spec.feature)
    if source is None:
        return FunctionBottom(value, spec.hparams, spec.vocab_size)
    return source.targets_bottom(spec) if is_targets else source.bottom(spec)


def resolve_top(value: Any, modality: Modality, spec: ModalitySpec) -> nn.Module:
    """The top module of the targets: its modality's, or the `hparams.top` override's."""
    source = modality if value is None else _as_modality(value, "top", spec.feature)
    if source is None:
        return FunctionTop(value, spec.hparams, spec.vocab_size)
    return source.top(spec)


def resolve_loss(value: Any, modality: Modality, feature: str) -> Callable:
    """`loss(top_out, targets, model_hparams, vocab_size, weights_fn) -> (num, den)`."""
    source = modality if value is None else _as_modality(value, "loss", feature)
    return value if source is None else source.loss


def resolve_weights_fn(value: Any, modality: Modality, feature: str) -> WeightsFn:
    """`weights_fn(labels) -> weights`: the modality's, a named one or the override."""
    if isinstance(value, str) and value in WEIGHTS_FNS:
        return WEIGHTS_FNS[value]
    source = modality if value is None else _as_modality(value, "weights_fn", feature)
    return value if source is None else source.weights_fn


def resolve_scope(value: Any, modality: Modality, hparams: HParams, vocab_size: int | None) -> str:
    """The variable scope: the modality's `scope_name`, or `hparams.name`'s (a function
    `fn(model_hparams, vocab_size)` or the scope string itself)."""
    if value is None:
        return modality.scope_name(hparams, vocab_size)
    if isinstance(value, str):
        return value
    if not callable(value):
        raise HParamsError(f"hparams.name entries must be strings or functions, got {value!r}")
    return value(hparams, vocab_size)
