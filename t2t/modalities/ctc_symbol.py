"""ctc_symbol: the symbol modality with a CTC loss over the top's logits.

Departure from T2T: T2T calls TF's `ctc_loss` with `ctc_merge_repeated=False` (a
non-standard CTC in which repeated labels are never merged) and uses each target's length
as the number of logit frames, so only the alignment "label t at frame t" exists there.
Here the loss is the standard CTC of `torch.nn.functional.ctc_loss` over all T logit
frames. As in TF, the blank is the last id (V - 1); target lengths are the counts of
non-zero ids.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from t2t import registry
from t2t.hparams import HParams
from t2t.modalities.base import WeightsFn
from t2t.modalities.names import ModalityType
from t2t.modalities.symbol import SymbolModality


def ctc_symbol_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    hparams: HParams,
    vocab_size: int | None,
    weights_fn: WeightsFn,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Σ over examples of the CTC loss, as (numerator, Σ weights_fn(targets)).

    Args:
        logits: [B, T, V] unnormalised; every frame counts.
        targets: [B, L] ids, 0-padded at the end; id V - 1 is the blank.
        hparams: unused (T2T's signature).
        vocab_size: unused (the blank is the logits' last id).
        weights_fn: labels -> weights (the denominator).
    """
    del hparams, vocab_size
    batch, frames, vocab = logits.shape
    log_probs = torch.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # [T, B, V]
    target_lengths = (targets != 0).sum(dim=1)  # [B]
    input_lengths = torch.full((batch,), frames, dtype=torch.long, device=logits.device)
    xent = F.ctc_loss(
        log_probs,
        targets.long(),
        input_lengths,
        target_lengths,
        blank=vocab - 1,
        reduction="none",
    )  # [B]
    return xent.sum(), weights_fn(targets).sum()


@registry.register_modality(ModalityType.CTC_SYMBOL)
class CTCSymbolModality(SymbolModality):
    """symbol's bottoms, top, weights and tables; CTC loss."""

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See `ctc_symbol_loss`."""
        return ctc_symbol_loss(logits, targets, hparams, vocab_size, weights_fn)
