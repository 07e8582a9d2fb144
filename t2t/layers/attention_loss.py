"""Supervised attention: a loss pulling the encoder-decoder attention towards an expected
alignment (T2T's `common_attention.encoder_decoder_attention_loss`, used by
transformer_supervised_attention).

The actual attention is averaged over layers and heads: its logits for "kl_divergence"
(KL(softmax(expected) || softmax(mean logits)) per target position, then the mean), its
weights for "mse" (mean squared difference from softmax(expected)). The logits include the
padding bias, as T2T's do.
"""

import torch
import torch.nn.functional as F

from t2t.errors import HParamsError

LOSS_TYPES = ("kl_divergence", "mse")


def encoder_decoder_attention_loss(
    expected_logits: torch.Tensor,
    actual_logits: list[torch.Tensor],
    actual_weights: list[torch.Tensor],
    loss_type: str = "kl_divergence",
    multiplier: float = 1.0,
) -> torch.Tensor:
    """The attention loss, a scalar.

    Args:
        expected_logits: [B, T, S] logits of the expected alignment.
        actual_logits: per decoder layer, the encoder-decoder attention logits [B, h, T, S].
        actual_weights: per decoder layer, the attention weights [B, h, T, S] (for "mse").
        loss_type: "kl_divergence" or "mse".
        multiplier: the loss is multiplied by this.

    Raises:
        HParamsError: an unknown loss_type.
    """
    if loss_type not in LOSS_TYPES:
        raise HParamsError(
            f"expected_attention_loss_type {loss_type!r} is not supported; use "
            + " or ".join(LOSS_TYPES)
        )
    expected_logits = expected_logits.float()
    if loss_type == "mse":
        actual = torch.stack(actual_weights).float().mean(dim=(0, 2))  # [B, T, S]
        loss = (torch.softmax(expected_logits, -1) - actual).square().mean()
    else:
        actual = torch.stack(actual_logits).float().mean(dim=(0, 2))  # [B, T, S]
        log_p = F.log_softmax(expected_logits, dim=-1)
        log_q = F.log_softmax(actual, dim=-1)
        loss = (log_p.exp() * (log_p - log_q)).sum(-1).mean()  # KL per [B, T], then mean
    return loss * multiplier
