"""Sequence convolutions as one matrix product (`Conv2d`'s CPU fast path) equal torch's
convolution: values, gradients, T2T's paddings, dilation, bias, layouts."""

import pytest
import torch

from t2t.layers.convolutions import Conv2d, sequence_conv


def _reference(conv: Conv2d, x: torch.Tensor) -> torch.Tensor:
    """The same module through F.conv2d (the fast path switched off)."""
    conv._is_sequence_conv = lambda x, padding=0: False
    try:
        return conv(x)
    finally:
        del conv._is_sequence_conv


@pytest.mark.parametrize("padding", ["SAME", "LEFT", "VALID"])
@pytest.mark.parametrize("kernel,dilation", [(1, 1), (3, 1), (3, 2), (5, 4), (4, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_values_and_gradients_equal_the_convolution(padding, kernel, dilation, bias):
    if padding == "LEFT" and kernel % 2 == 0:
        pytest.skip("LEFT padding needs an odd kernel")
    torch.manual_seed(0)
    conv = Conv2d(6, 5, (kernel, 1), (dilation, 1), padding, bias=bias)
    x = torch.randn(3, 6, 17, 1, requires_grad=True)
    assert conv._is_sequence_conv(x)
    fast = conv(x)
    grad_out = torch.randn_like(fast)
    fast_grads = torch.autograd.grad(fast, [x, *conv.parameters()], grad_out)
    slow = _reference(conv, x)
    slow_grads = torch.autograd.grad(slow, [x, *conv.parameters()], grad_out)
    assert fast.shape == slow.shape
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    for a, b in zip(fast_grads, slow_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_output_rows_are_positions_so_a_chain_needs_no_copy():
    torch.manual_seed(0)
    first, second = Conv2d(4, 4, (3, 1)), Conv2d(4, 4, (3, 1))
    x = torch.randn(2, 4, 9, 1)
    y = first(x)
    assert y.permute(0, 2, 3, 1).is_contiguous()  # [B, T, 1, C] rows: channels_last
    torch.testing.assert_close(second(y), _reference(second, _reference(first, x)))


def test_images_and_grouped_or_strided_convs_keep_torchs_convolution():
    assert not Conv2d(4, 4, (3, 3))._is_sequence_conv(torch.randn(1, 4, 8, 8))
    assert not Conv2d(4, 4, (3, 1), groups=2)._is_sequence_conv(torch.randn(1, 4, 8, 1))
    assert not Conv2d(4, 4, (3, 1), stride=2)._is_sequence_conv(torch.randn(1, 4, 8, 1))


def test_too_short_input_raises_torchs_error():
    conv = Conv2d(2, 2, (5, 1), (4, 1), "VALID")
    with pytest.raises(RuntimeError, match="Kernel size"):
        conv(torch.randn(1, 2, 13, 1))


def test_function_matches_conv2d_on_a_padded_sequence():
    torch.manual_seed(1)
    x, weight, bias = torch.randn(2, 3, 7, 1), torch.randn(4, 3, 3, 1), torch.randn(4)
    expected = torch.nn.functional.conv2d(x, weight, bias, padding=(2, 0), dilation=(2, 1))
    torch.testing.assert_close(sequence_conv(x, weight, bias, 2, 2, 2), expected)
