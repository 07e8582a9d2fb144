"""softmax_last: torch.softmax's values, with short CPU rows computed by whole-tensor ops."""

import pytest
import torch

from t2t.layers.attention import softmax_last


@pytest.mark.parametrize("length", [1, 2, 7, 15, 16, 17, 40])
def test_equals_torch_softmax(length):
    gen = torch.Generator().manual_seed(length)
    x = torch.randn(3, 4, 50, length, generator=gen) * 6.0  # enough rows for the fast path
    x[0, 0, 0, -1] = -1e9  # a masked position, as attention biases make them
    got, expected = softmax_last(x), torch.softmax(x, dim=-1)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(got.sum(-1), torch.ones(3, 4, 50), rtol=0, atol=1e-6)


def test_gradients_and_other_dtypes_use_torch_softmax():
    x = torch.randn(2, 5, requires_grad=True)
    weights = softmax_last(x)
    weights[:, 0].sum().backward()  # the in-place fast path would break autograd
    assert x.grad is not None
    half = torch.randn(2, 5).bfloat16()
    assert torch.equal(softmax_last(half), torch.softmax(half, dim=-1))
