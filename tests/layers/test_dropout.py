"""Dropout: the CPU fast path keeps F.dropout's distribution, scaling and gradient."""

import torch

from t2t.layers import dropout


def test_cpu_dropout_keeps_the_rate_and_scales_kept_values():
    torch.manual_seed(0)
    x = torch.full((200_000,), 2.0)
    y = dropout.dropout_with_broadcast_dims(x, 0.1, training=True)
    kept = y != 0
    # 200k Bernoulli(0.9) draws: the standard deviation of the kept fraction is ~0.0007.
    assert abs(kept.float().mean().item() - 0.9) < 0.004
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 2.0 / 0.9))


def test_cpu_dropout_gradient_is_the_mask():
    torch.manual_seed(1)
    x = torch.randn(4, 5, 6, requires_grad=True)
    y = dropout.dropout_with_broadcast_dims(x, 0.3, training=True)
    (grad,) = torch.autograd.grad(y.sum(), x)
    expected = (y != 0).float() / 0.7
    torch.testing.assert_close(grad, expected)


def test_no_dropout_outside_training_and_full_dropout_zeroes():
    x = torch.randn(3, 4)
    assert dropout.dropout_with_broadcast_dims(x, 0.5, training=False) is x
    assert torch.count_nonzero(dropout.dropout_with_broadcast_dims(x, 1.0)) == 0


def test_seeded_dropout_is_reproducible():
    x = torch.randn(8, 16)
    torch.manual_seed(3)
    a = dropout.dropout_with_broadcast_dims(x, 0.2)
    torch.manual_seed(3)
    b = dropout.dropout_with_broadcast_dims(x, 0.2)
    assert torch.equal(a, b)
