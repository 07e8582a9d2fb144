"""Real-valued modalities: vectors in through dense(H), predictions out through dense(V).

- real: loss is T2T's generic cross-entropy (targets truncated to ids, as T2T casts).
- real_l2: Σ (prediction - target)² · w / Σ w.
- real_log_poisson: Σ (exp(prediction) - target · prediction) · w / Σ w (TF's
  `log_poisson_loss` without the Stirling term); the prediction is a log rate.

Every position is weighted (weights_all).
"""

from __future__ import annotations

import torch
from torch import nn

from t2t import registry
from t2t.hparams import HParams
from t2t.modalities.base import Modality, ModalitySpec, WeightsFn
from t2t.modalities.names import ModalityType


class RealBottom(nn.Module):
    """Dense(H) on real-valued inputs: [B, T, C] (or [B, T]) -> [B, T, H].

    Args:
        in_depth: C, the number of channels (the problem's `num_channels`, default 1).
        hidden_size: H.
    """

    def __init__(self, in_depth: int, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_depth, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, C] or [B, T] -> [B, T, H]."""
        x = x.float()
        return self.dense(x.unsqueeze(-1) if x.dim() == 2 else x)  # [B, T, C] -> [B, T, H]


def _predictions(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Drops the last dim of [B, T, 1] predictions when targets are [B, T] (as T2T)."""
    return logits.squeeze(-1) if logits.dim() != targets.dim() else logits  # like targets


@registry.register_modality(ModalityType.REAL)
class RealModality(Modality):
    """Dense(H) bottoms, dense(V) top; T2T's generic loss."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`real_modality`."""
        return "real_modality"

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """[B, T, C] -> [B, T, H]."""
        channels = getattr(spec.problem_hparams, "num_channels", 1)
        return RealBottom(channels, spec.hparams.hidden_size)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """Dense(V) with bias: [B, T, D] -> [B, T, V]."""
        return nn.Linear(spec.body_output_depth, spec.vocab_size)


@registry.register_modality(ModalityType.REAL_L2_LOSS)
class RealL2LossModality(RealModality):
    """real with a weighted squared-error loss."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`real_l2_loss_modality`."""
        return "real_l2_loss_modality"

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(Σ (prediction - target)² · w, Σ w); predictions [B, T, C] or [B, T, 1]."""
        del hparams, vocab_size
        predictions = _predictions(logits, targets)
        weights = weights_fn(targets)
        return ((predictions - targets.float()) ** 2 * weights).sum(), weights.sum()


@registry.register_modality(ModalityType.REAL_LOG_POISSON_LOSS)
class RealLogPoissonLossModality(RealModality):
    """real with a Poisson loss on log-rate predictions."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`real_log_poisson_loss_modality`."""
        return "real_log_poisson_loss_modality"

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(Σ (exp(p) - t · p) · w, Σ w) with p the predicted log rate, t the target."""
        del hparams, vocab_size
        predictions = _predictions(logits, targets).float()
        targets_f = targets.float()
        weights = weights_fn(targets)
        poisson = torch.exp(predictions) - targets_f * predictions
        return (poisson * weights).sum(), weights.sum()
