"""Class-label modalities whose top pools the body output over time in other ways.

- sigmoid_max_pooling_class_label: max over positions, dense(V); sigmoid cross-entropy.
- softmax_average_pooling_class_label: mean over positions, dense(V); softmax xent.
- softmax_last_timestep_class_label: the last position, dense(V); softmax xent.
- softmax_max_pooling_class_label: max over positions, dense(V); softmax xent.

Targets are one-hot (softmax) or multi-hot (sigmoid) [B, V]; bottoms as class_label. The
losses and their denominators are T2T's (see `t2t.modalities.class_label`).
"""

from __future__ import annotations

import torch

from t2t import registry
from t2t.hparams import HParams
from t2t.modalities.base import WeightsFn
from t2t.modalities.class_label import (
    _ClassLabelBase,
    sigmoid_cross_entropy_mean,
    softmax_cross_entropy_mean,
)
from t2t.modalities.names import ModalityType


class _SoftmaxPooling(_ClassLabelBase):
    """Pooling top, one-hot targets, mean softmax cross-entropy."""

    scope_prefix = ""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`softmax_<pooling>_onehot_class_label_modality_<V>_<H>`."""
        return f"{self.scope_prefix}_onehot_class_label_modality_{vocab_size}_{hparams.hidden_size}"

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """See `softmax_cross_entropy_mean`."""
        del hparams, vocab_size
        return softmax_cross_entropy_mean(logits, targets, weights_fn, self.REGISTERED_NAME)


@registry.register_modality(ModalityType.SOFTMAX_AVERAGE_POOLING_CLASS_LABEL)
class SoftmaxAveragePoolingClassLabelModality(_SoftmaxPooling):
    """Mean over positions, dense(V), softmax cross-entropy."""

    pooling = "mean"
    scope_prefix = "softmax_average_pooling"


@registry.register_modality(ModalityType.SOFTMAX_LAST_TIMESTEP_CLASS_LABEL)
class SoftmaxLastTimestepClassLabelModality(_SoftmaxPooling):
    """The last position, dense(V), softmax cross-entropy."""

    pooling = "last"
    scope_prefix = "softmax_last_timestep"


@registry.register_modality(ModalityType.SOFTMAX_MAX_POOLING_CLASS_LABEL)
class SoftmaxMaxPoolingClassLabelModality(_SoftmaxPooling):
    """Max over positions, dense(V), softmax cross-entropy."""

    pooling = "max"
    scope_prefix = "softmax_max_pooling"


@registry.register_modality(ModalityType.SIGMOID_MAX_POOLING_CLASS_LABEL)
class SigmoidMaxPoolingClassLabelModality(_ClassLabelBase):
    """Max over positions, dense(V), sigmoid cross-entropy."""

    pooling = "max"

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`sigmoid_max_pooling_class_symbol_modality_<V>_<H>`."""
        return f"sigmoid_max_pooling_class_symbol_modality_{vocab_size}_{hparams.hidden_size}"

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
