"""Symbol modalities: token ids embedded through (possibly shared) tables.

- symbol: embedding × sqrt(H) with PAD -> 0 in, x · Wᵀ out, label-smoothed cross-entropy
  over non-padding tokens.
- symbol_weights_all: the same, every position weighted (features without 0-padding).
- identity_symbol: symbol's loss and weights around identity bottom and top (the body
  reads the ids and writes logits itself).
- symbol_one_hot: one-hot vectors in, the body output as logits, mean softmax
  cross-entropy over every position.

All four are named `symbol_modality_<V>_<H>` (T2T's variable scope), so inputs and targets
of one vocab share tables as T2T's do (see `ModalityWeights`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.hparams import HParams
from t2t.modalities.base import (
    Identity,
    IdentityBottom,
    Modality,
    ModalitySpec,
    ModalityWeights,
    WeightsFn,
    weights_all,
    weights_nonzero,
)
from t2t.modalities.names import ModalityType


class SymbolBottom(nn.Module):
    """Embeds ids: gather rows, × sqrt(H) (multiply_embedding_mode "sqrt_depth"), PAD -> 0.

    The zero vector at PAD is how the Transformer later finds padding. symbol_dropout drops
    ids to 0 without rescaling (T2T's `dropout_no_scaling`).

    Args:
        weights: the model's shared tables (not registered here: the model owns them).
        key: the table's key in `weights`.
        multiply_embedding_mode: "sqrt_depth" scales by sqrt(hidden_size).
        symbol_dropout: probability of dropping an id to 0 in training.
    """

    def __init__(
        self,
        weights: ModalityWeights,
        key: str,
        multiply_embedding_mode: str,
        symbol_dropout: float,
    ) -> None:
        super().__init__()
        self.weights = [weights]  # a list: the owner registers the tables, not this view
        self.key = key
        self.multiplier = (
            math.sqrt(weights.hidden_size) if multiply_embedding_mode == "sqrt_depth" else 1.0
        )
        self.symbol_dropout = symbol_dropout

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] -> [B, T, H]."""
        if self.training and self.symbol_dropout > 0.0:
            keep = torch.rand(ids.shape, device=ids.device) >= self.symbol_dropout
            ids = ids * keep
        emb = F.embedding(ids, self.weights[0][self.key])  # [B, T, H]
        # One multiply by (multiplier or 0) per position: the same values as scaling, then
        # zeroing PAD, with one [B, T, H] pass (and one in the backward) fewer.
        scale = (ids != 0).unsqueeze(-1).to(emb.dtype) * self.multiplier  # [B, T, 1]
        return emb * scale


class SymbolTop(nn.Module):
    """Logits = x · Wᵀ with the (possibly shared) table W, no bias.

    Args:
        weights: the model's shared tables.
        key: the softmax table's key in `weights`.
    """

    def __init__(self, weights: ModalityWeights, key: str) -> None:
        super().__init__()
        self.weights = [weights]
        self.key = key

    @property
    def linear_weight(self) -> torch.Tensor:
        """W [V, H], the table the logits multiply by (see `t2t.layers.packed_linear`)."""
        return self.weights[0][self.key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, H] -> logits [B, T, V]."""
        return F.linear(x, self.linear_weight)


class OneHotBottom(nn.Module):
    """ids [B, T] -> one-hot float [B, T, V] (T2T's symbol_one_hot_bottom).

    Args:
        vocab_size: V.
    """

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] -> [B, T, V]."""
        return F.one_hot(ids.long(), self.vocab_size).float()


def _shared_embedding(hparams: HParams) -> bool:
    return bool(hparams.shared_embedding_and_softmax_weights or hparams.get("shared_embedding"))


def _symbol_bottom(spec: ModalitySpec, part: str) -> SymbolBottom:
    hp = spec.hparams
    key = spec.table("shared" if _shared_embedding(hp) else part)
    return SymbolBottom(spec.tables, key, hp.multiply_embedding_mode, hp.symbol_dropout)


def _symbol_scope(hparams: HParams, vocab_size: int | None) -> str:
    return f"symbol_modality_{vocab_size}_{hparams.hidden_size}"


@registry.register_modality(ModalityType.SYMBOL)
class SymbolModality(Modality):
    """Token ids: shared-table embedding in, tied or own softmax out, cross-entropy loss."""

    sequence_targets = True

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`symbol_modality_<V>_<H>`."""
        return _symbol_scope(hparams, vocab_size)

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """Table `shared` (shared_embedding_and_softmax_weights or shared_embedding) or
        `input_emb`: ids [B, T] -> [B, T, H]."""
        return _symbol_bottom(spec, "input_emb")

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """Table `shared` or `target_emb`: ids [B, T] -> [B, T, H]."""
        return _symbol_bottom(spec, "target_emb")

    def top(self, spec: ModalitySpec) -> nn.Module:
        """Table `shared` (shared_embedding_and_softmax_weights) or `softmax` [V, D]:
        [B, T, D] -> [B, T, V]."""
        shared = spec.hparams.shared_embedding_and_softmax_weights
        key = spec.table("shared" if shared else "softmax", spec.body_output_depth)
        return SymbolTop(spec.tables, key)

    def weights_fn(self, labels: torch.Tensor) -> torch.Tensor:
        """Non-padding labels."""
        return weights_nonzero(labels)


@registry.register_modality(ModalityType.SYMBOL_WEIGHTS_ALL)
class SymbolWeightsAllModality(SymbolModality):
    """symbol for features without 0-padding: every position counts in the loss."""

    sequence_targets = False  # T2T's prepend modes leave its weights alone

    def weights_fn(self, labels: torch.Tensor) -> torch.Tensor:
        """Every label."""
        return weights_all(labels)


@registry.register_modality(ModalityType.IDENTITY_SYMBOL)
class IdentitySymbolModality(SymbolModality):
    """symbol's loss and weights with float-identity bottoms and an identity top."""

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """ids -> the same values as float."""
        return IdentityBottom()

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """ids -> the same values as float."""
        return IdentityBottom()

    def top(self, spec: ModalitySpec) -> nn.Module:
        """The body output is the logits."""
        return Identity()


@registry.register_modality(ModalityType.SYMBOL_ONE_HOT)
class SymbolOneHotModality(SymbolModality):
    """One-hot ids in, body output as logits, mean softmax cross-entropy (denominator 1)."""

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """ids [B, T] -> one-hot [B, T, V]."""
        return OneHotBottom(spec.vocab_size)

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """ids [B, T] -> one-hot [B, T, V]."""
        return OneHotBottom(spec.vocab_size)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """The body output is the logits."""
        return Identity()

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean over every position (PAD included) of -log softmax(logits)[label]; den 1.

        T2T ignores weights_fn and label_smoothing here.
        """
        del hparams, vocab_size, weights_fn
        log_probs = torch.log_softmax(logits.float(), dim=-1)  # [B, T, V]
        nll = -log_probs.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)  # [B, T]
        return nll.mean(), torch.tensor(1.0, device=logits.device)
