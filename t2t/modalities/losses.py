"""The losses several modalities share: T2T's label-smoothed padded cross-entropy.

Every loss returns (numerator, denominator); the model's training loss is
Σnum / max(1, Σden), as T2T's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from t2t.hparams import HParams
from t2t.modalities.base import WeightsFn, weights_nonzero


class _SmoothedCrossEntropy(torch.autograd.Function):
    """Per-position Σ_v soft_v · (-log p_v) against the smoothed target, with its gradient.

    The forward is the plain formula; the backward writes the gradient of that same
    function, softmax - soft target, in one exp pass and two in-place updates. Autograd
    through log_softmax, gather and sum builds it from a zero fill, a scatter, an add and
    the log-softmax backward over [N, V]: about 10 % of a tiny Transformer's training step.
    """

    @staticmethod
    def forward(ctx, logits, labels, confidence: float, low: float):
        """logits [..., V] float, labels [...] long -> xent [...]."""
        log_probs = torch.log_softmax(logits, dim=-1)  # [..., V]
        nll = -log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)  # [...]
        xent = confidence * nll
        if low > 0.0:
            # Σ_v soft_v · (-log p_v) = confidence·nll + low·(Σ_v -log p_v - nll)
            xent = xent + low * (-log_probs.sum(dim=-1) - nll)
        ctx.save_for_backward(log_probs, labels)
        ctx.confidence, ctx.low = confidence, low
        return xent

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_xent):
        """d xent / d logits = softmax - soft target (soft sums to 1), times grad_xent."""
        log_probs, labels = ctx.saved_tensors
        grad = torch.exp(log_probs)  # softmax [..., V]
        if ctx.low > 0.0:
            grad.sub_(ctx.low)
        index = labels.unsqueeze(-1)  # [..., 1]
        on_label = torch.full(
            index.shape, ctx.low - ctx.confidence, dtype=grad.dtype, device=grad.device
        )
        grad.scatter_add_(-1, index, on_label)
        grad.mul_(grad_xent.unsqueeze(-1))  # [..., V] * [..., 1]
        return grad, None, None, None


def smoothed_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float
) -> torch.Tensor:
    """T2T's per-position label-smoothed cross-entropy, minus the smoothed target's entropy.

    The smoothed target puts 1 - label_smoothing on the label and label_smoothing / (V - 1)
    on every other id; subtracting its constant entropy makes the value a KL divergence
    (0 for a perfect prediction; plain cross-entropy when label_smoothing is 0).

    Args:
        logits: [..., V], computed in float32.
        labels: [...] ids.
        label_smoothing: T2T's label_smoothing.

    Returns:
        xent [...] float32.
    """
    logits = logits.float()
    vocab_size = logits.shape[-1]
    confidence = 1.0 - label_smoothing
    low = (1.0 - confidence) / max(vocab_size - 1, 1)
    xent = _SmoothedCrossEntropy.apply(logits, labels.long(), confidence, low)
    if low > 0.0:
        normalizing = -(
            confidence * math.log(confidence) + (vocab_size - 1) * low * math.log(low + 1e-20)
        )
        xent = xent - normalizing
    return xent


def pad_to_same_length(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pads logits [B, T1, V] and labels [B, T2] to a common length (T2T's pad_with_zeros).

    Only when the lengths differ: F.pad always copies, and on [B, T, V] logits that copy
    (and its backward) cost ~5 % of a training step.
    """
    if (
        logits.dim() == labels.dim() + 1
        and logits.dim() >= 3
        and logits.shape[1] != labels.shape[1]
    ):
        length = max(logits.shape[1], labels.shape[1])
        logits = F.pad(logits, [0, 0, 0, length - logits.shape[1]])  # [B, T, V]
        labels = F.pad(labels, [0, length - labels.shape[1]])  # [B, T]
    return logits, labels


def padded_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    label_smoothing: float,
    weights_fn: WeightsFn = weights_nonzero,
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's label-smoothed cross-entropy, as (numerator, denominator).

    Args:
        logits: [B, T, V] (or [B, V] with labels [B]); computed in float32.
        labels: [B, T] ids; logits and labels are zero-padded to the same length T.
        label_smoothing: T2T's label_smoothing (see `smoothed_cross_entropy`).
        weights_fn: labels -> weights [B, T].

    Returns:
        (Σ xent · weights, Σ weights), both float32 scalars.
    """
    logits, labels = pad_to_same_length(logits, labels)
    xent = smoothed_cross_entropy(logits, labels, label_smoothing)
    weights = weights_fn(labels)
    return (xent * weights).sum(), weights.sum()


def generic_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    hparams: HParams,
    vocab_size: int | None,
    weights_fn: WeightsFn,
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's generic_loss: `padded_cross_entropy` with the hparams' label_smoothing.

    Args:
        logits: [B, T, V].
        targets: [B, T] ids (real or float targets are truncated to ids, as T2T casts).
        hparams: reads `label_smoothing`.
        vocab_size: unused (T2T's signature).
        weights_fn: labels -> weights.
    """
    del vocab_size
    return padded_cross_entropy(logits, targets.long(), hparams.label_smoothing, weights_fn)
