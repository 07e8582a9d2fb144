"""The label-smoothed cross-entropy's hand-written gradient equals autograd's of the formula."""

import math

import pytest
import torch

from t2t.compat import modalities


def reference(logits, labels, label_smoothing):
    """The loss written out with autograd ops only (the formula padded_cross_entropy uses)."""
    vocab = logits.shape[-1]
    confidence = 1.0 - label_smoothing
    low = label_smoothing / (vocab - 1)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    nll = -log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    xent = confidence * nll
    if low > 0:
        xent = xent + low * (-log_probs.sum(dim=-1) - nll)
        xent = xent + confidence * math.log(confidence) + (vocab - 1) * low * math.log(low)
    weights = (labels != 0).float()
    return (xent * weights).sum(), weights.sum()


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.3])
def test_value_and_gradient_equal_autograd(label_smoothing):
    torch.manual_seed(0)
    logits = (torch.randn(3, 5, 11) * 3).requires_grad_()
    labels = torch.randint(0, 11, (3, 5))
    labels[0, 3:] = 0  # padding: weight 0
    num, den = modalities.padded_cross_entropy(logits, labels, label_smoothing)
    (grad,) = torch.autograd.grad(num * 0.7, logits)
    ref_logits = logits.detach().clone().requires_grad_()
    ref_num, ref_den = reference(ref_logits, labels, label_smoothing)
    (ref_grad,) = torch.autograd.grad(ref_num * 0.7, ref_logits)
    torch.testing.assert_close(num, ref_num, atol=1e-5, rtol=1e-6)
    assert den == ref_den
    torch.testing.assert_close(grad, ref_grad, atol=1e-6, rtol=1e-5)
    assert grad[0, 3:].abs().max() == 0  # padded positions get no gradient


def test_gradient_passes_gradcheck_in_double():
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 6, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(1, 6, (2, 3))

    def xent(x):
        return modalities._SmoothedCrossEntropy.apply(x, labels, 0.9, 0.1 / 5)

    assert torch.autograd.gradcheck(xent, (logits,))
