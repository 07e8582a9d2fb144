"""Eval metrics on class labels: one label per example, whatever shape the top and the
batch give them (logits [B, 1, V], [B, 1, 1, V] or [B, V]; labels [B], [B, 1], [B, 1, 1])."""

import pytest
import torch

from t2t.metrics.metrics import (
    METRICS_FNS,
    eval_metric_key,
    padded_accuracy,
    padded_accuracy_top5,
    weights_all,
)

# 4 examples, 7 classes. Predictions (argmax): 3, 0, 6, 2. Labels: 3, 0, 1, 5.
LOGITS = torch.tensor(
    [
        [0.0, 1.0, 2.0, 9.0, 3.0, 4.0, 5.0],
        [8.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],  # label 1 ranks 6th: not in the top 5
        [0.0, 1.0, 9.0, 3.0, 4.0, 5.0, 6.0],  # label 5 ranks 3rd
    ]
)
LABELS = torch.tensor([3, 0, 1, 5])

LOGIT_SHAPES = {"[B,1,V]": (4, 1, 7), "[B,1,1,V]": (4, 1, 1, 7), "[B,V]": (4, 7)}
LABEL_SHAPES = {"[B]": (4,), "[B,1]": (4, 1), "[B,1,1]": (4, 1, 1), "[B,1,1,1]": (4, 1, 1, 1)}


@pytest.mark.parametrize("logits_shape", list(LOGIT_SHAPES))
@pytest.mark.parametrize("labels_shape", list(LABEL_SHAPES))
def test_top1_and_top5_on_class_label_shapes(logits_shape, labels_shape):
    logits = LOGITS.reshape(LOGIT_SHAPES[logits_shape])
    labels = LABELS.reshape(LABEL_SHAPES[labels_shape])
    # Class 0 is a real class: the class-label modality weighs every example (weights_all).
    value, weight = padded_accuracy(logits, labels, weights_fn=weights_all)
    assert (float(value), float(weight)) == (2.0, 4.0)
    value, weight = padded_accuracy_top5(logits, labels, weights_fn=weights_all)
    assert (float(value), float(weight)) == (3.0, 4.0)
    for name in ("accuracy_per_sequence", "neg_log_perplexity"):
        value, weight = METRICS_FNS[name](logits, labels, weights_fn=weights_all)
        assert float(weight) == 4.0


def test_class_label_metric_keys():
    assert eval_metric_key("image_mnist", "accuracy") == "metrics-image_mnist/targets/accuracy"
    assert (
        eval_metric_key("image_cifar10", "accuracy_top5")
        == "metrics-image_cifar10/targets/accuracy_top5"
    )


def test_sequence_shapes_unchanged_and_bad_shapes_refused():
    logits = torch.randn(2, 5, 1, 1, 9)
    labels = torch.randint(1, 9, (2, 5, 1, 1))
    value, weight = padded_accuracy(logits, labels)
    assert float(weight) == 10.0
    with pytest.raises(ValueError, match="expected logits"):
        padded_accuracy(torch.randn(2, 4, 4, 9), torch.randint(0, 9, (2, 4)))
