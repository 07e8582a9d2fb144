"""Class-label modalities: one label (or a few) per example, predicted from the pooled body.

- class_label: label id [B] embedded × sqrt(H) in; targets enter as zeros; mean over
  positions, dense(V) out; cross-entropy, every example weighted.
- multi_label: several label ids [B, L] (0-padded) per example; each example's loss is the
  mean cross-entropy over its labels; examples without labels do not count.
- one_hot_class_label: one-hot targets [B, V]; mean softmax cross-entropy.
- sigmoid_class_label: multi-hot targets [B, V]; mean sigmoid cross-entropy.

T2T's denominators are kept as they are: one_hot_class_label and sigmoid_class_label
return a mean as the numerator and Σ weights_fn(targets) (B·V with weights_all) as the
denominator, so the training loss is that mean divided by B·V.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.modalities.base import Modality, ModalitySpec, WeightsFn, weights_nonzero
from t2t.modalities.losses import generic_loss, smoothed_cross_entropy
from t2t.modalities.names import ModalityType


class ClassLabelBottom(nn.Module):
    """Class-label embedding [V, H] × sqrt(H) (scope initializer, as T2T): [B] -> [B, 1, H].

    Args:
        vocab_size: number of classes V.
        hidden_size: H.
        multiply_embedding_mode: "sqrt_depth" scales by sqrt(H).
    """

    def __init__(self, vocab_size: int, hidden_size: int, multiply_embedding_mode: str) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(vocab_size, hidden_size))
        nn.init.normal_(self.kernel, std=hidden_size**-0.5)  # replaced by the model initializer
        self.multiplier = hidden_size**0.5 if multiply_embedding_mode == "sqrt_depth" else 1.0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B] or [B, L] -> [B, 1 or L, H]."""
        ids = ids.reshape(ids.shape[0], -1)  # [B, L]
        return F.embedding(ids, self.kernel) * self.multiplier


class ClassLabelTargetsBottom(nn.Module):
    """Class-label targets enter the body as zeros: [B, ...] -> [B, 1, H].

    Args:
        hidden_size: H.
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, ...] -> zeros [B, 1, H]."""
        return torch.zeros(ids.shape[0], 1, self.hidden_size, device=ids.device)


class ClassLabelTop(nn.Module):
    """Pool over positions, then dense(V) with bias: [B, T, D] -> [B, 1, V].

    An image body's output [B, H, W, D] is mean-pooled over H and W, as T2T's class_label
    top averages over dims 1 and 2.

    Args:
        depth: D, the body output depth.
        vocab_size: number of classes V.
        pooling: "mean" (class_label), "max" (*_max_pooling_*) or "last" (the last
            position, softmax_last_timestep_class_label).
    """

    def __init__(self, depth: int, vocab_size: int, pooling: str = "mean") -> None:
        super().__init__()
        self.dense = nn.Linear(depth, vocab_size)
        self.pooling = pooling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] (or [B, H, W, D] with mean pooling) -> logits [B, 1, V]."""
        if x.dim() > 3 and self.pooling == "mean":
            x = x.flatten(1, -2)  # [B, H, W, D] -> [B, H·W, D]
        if self.pooling == "max":
            pooled = x.max(dim=1, keepdim=True).values  # [B, 1, D]
        elif self.pooling == "last":
            pooled = x[:, -1:]  # [B, 1, D]
        else:
            pooled = x.mean(dim=1, keepdim=True)  # [B, 1, D]
        return self.dense(pooled)


def _like_logits(targets: torch.Tensor, logits: torch.Tensor, modality: str) -> torch.Tensor:
    """One-hot / multi-hot targets [B, V] (or [B, 1, V]) reshaped as logits [B, 1, V]."""
    if targets.numel() != logits.numel():
        raise HParamsError(
            f"{modality} targets must be one value per class, shaped like the logits "
            f"{tuple(logits.shape)}; got {tuple(targets.shape)}"
        )
    return targets.reshape(logits.shape).float()  # [B, 1, V]


def softmax_cross_entropy_mean(
    logits: torch.Tensor, targets: torch.Tensor, weights_fn: WeightsFn, modality: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's one_hot_class_label_loss: (mean over rows of -Σ target · log softmax, Σ weights).

    Args:
        logits: [B, 1, V].
        targets: one-hot [B, V] or [B, 1, V].
        weights_fn: labels -> weights (the denominator).
        modality: the type name, for the error message.
    """
    labels = _like_logits(targets, logits, modality)
    xent = -(labels * torch.log_softmax(logits.float(), dim=-1)).sum(dim=-1)  # [B, 1]
    return xent.mean(), weights_fn(targets).sum()


def sigmoid_cross_entropy_mean(
    logits: torch.Tensor, targets: torch.Tensor, weights_fn: WeightsFn, modality: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's sigmoid_class_label_loss: (mean elementwise sigmoid cross-entropy, Σ weights).

    Args:
        logits: [B, 1, V].
        targets: multi-hot [B, V] or [B, 1, V] (0/1 per class).
        weights_fn: labels -> weights (the denominator).
        modality: the type name, for the error message.
    """
    labels = _like_logits(targets, logits, modality)
    xent = F.binary_cross_entropy_with_logits(logits.float(), labels)  # mean over B·V
    return xent, weights_fn(targets).sum()


class _ClassLabelBase(Modality):
    """Class-label bottoms shared by every class-label type; the top pools with `pooling`."""

    pooling = "mean"

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`class_label_modality_<V>_<H>`."""
        return f"class_label_modality_{vocab_size}_{hparams.hidden_size}"

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """Label ids [B] -> [B, 1, H]."""
        hp = spec.hparams
        return ClassLabelBottom(spec.vocab_size, hp.hidden_size, hp.multiply_embedding_mode)

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """Zeros [B, 1, H]."""
        return ClassLabelTargetsBottom(spec.hparams.hidden_size)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """Pool, then dense(V): [B, T, D] -> [B, 1, V]."""
        return ClassLabelTop(spec.body_output_depth, spec.vocab_size, self.pooling)


@registry.register_modality(ModalityType.CLASS_LABEL)
class ClassLabelModality(_ClassLabelBase):
    """One class id per example; cross-entropy with label smoothing, weight 1 per example."""

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """logits [B, 1, V], targets [B] or [B, 1] -> T2T's generic loss."""
        targets = targets.reshape(targets.shape[0], -1)  # [B, 1]
        return generic_loss(logits, targets, hparams, vocab_size, weights_fn)


@registry.register_modality(ModalityType.MULTI_LABEL)
class MultiLabelModality(_ClassLabelBase):
    """Several class ids per example (0-padded); each example weighs its labels equally."""

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(Σ over examples with labels of their mean label xent, number of such examples).

        Args:
            logits: [B, 1, V], one prediction per example, compared with every label.
            targets: [B, L] label ids, 0 = no label.
        """
        del vocab_size
        labels = targets.reshape(targets.shape[0], -1).long()  # [B, L]
        tiled = logits.reshape(logits.shape[0], 1, -1).expand(-1, labels.shape[1], -1)  # [B, L, V]
        xent = smoothed_cross_entropy(tiled, labels, hparams.label_smoothing)  # [B, L]
        weights = weights_fn(labels)  # [B, L]
        per_example = (xent * weights).sum(dim=1) / (weights.sum(dim=1) + 1e-8)  # [B]
        has_labels = (weights.sum(dim=1) > 0).float()  # [B]
        return (per_example * has_labels).sum(), has_labels.sum()

    def weights_fn(self, labels: torch.Tensor) -> torch.Tensor:
        """Non-padding labels."""
        return weights_nonzero(labels)


@registry.register_modality(ModalityType.ONE_HOT_CLASS_LABEL)
class OneHotClassLabelModality(_ClassLabelBase):
    """One-hot targets [B, V]; mean softmax cross-entropy."""

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See `softmax_cross_entropy_mean` (label_smoothing unused, as T2T)."""
        del hparams, vocab_size
        return softmax_cross_entropy_mean(logits, targets, weights_fn, self.REGISTERED_NAME)


@registry.register_modality(ModalityType.SIGMOID_CLASS_LABEL)
class SigmoidClassLabelModality(_ClassLabelBase):
    """Multi-hot targets [B, V]; mean sigmoid cross-entropy."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`sigmoid_class_symbol_modality_<V>_<H>`."""
        return f"sigmoid_class_symbol_modality_{vocab_size}_{hparams.hidden_size}"

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See `sigmoid_cross_entropy_mean`."""
        del hparams, vocab_size
        return sigmoid_cross_entropy_mean(logits, targets, weights_fn, self.REGISTERED_NAME)
