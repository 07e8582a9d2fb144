"""Identity modalities: features pass through as floats; the body output is the prediction.

- identity: T2T's generic cross-entropy loss (the body writes logits).
- generic_l2: mean squared difference between body output and targets (denominator 1).

Both weight every position (weights_all).
"""

from __future__ import annotations

import torch

from t2t import registry
from t2t.hparams import HParams
from t2t.modalities.base import Modality, WeightsFn
from t2t.modalities.names import ModalityType


@registry.register_modality(ModalityType.IDENTITY)
class IdentityModality(Modality):
    """Float identity bottoms and top; generic cross-entropy loss."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`identity_modality`."""
        return "identity_modality"


@registry.register_modality(ModalityType.GENERIC_L2_LOSS)
class GenericL2LossModality(Modality):
    """Float identity bottoms and top; mean squared error."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`generic_l2_loss_modality`."""
        return "generic_l2_loss_modality"

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean over elements of (body output - target)², 1.0); weights_fn unused (T2T)."""
        del hparams, vocab_size, weights_fn
        loss = ((logits.float() - targets.float()) ** 2).mean()
        return loss, torch.tensor(1.0, device=logits.device)
