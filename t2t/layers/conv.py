"""2-D convolutions and pooling with TensorFlow's padding, on [B, C, H, W] tensors.

T2T's image models pad as TF does: "SAME" keeps ceil(size / stride) outputs and, when the
total padding is odd, puts the extra row/column at the bottom/right; "VALID" pads nothing.
torch's symmetric `padding=` equals "SAME" only at stride 1 with an odd kernel, so other
cases pad explicitly. Kernels are initialised through their TF layout
(`t2t.layers.initializers.init_conv_kernel_`), so fans and orthogonal matrices are TF's.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.initializers import init_conv_kernel_, own_init


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF's "SAME" padding of one spatial dim: (before, after)."""
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def pad_same(
    x: torch.Tensor, kernel: int, stride: int, dilation: int = 1, value: float = 0.0
) -> torch.Tensor:
    """Pads [B, C, H, W] as TF's "SAME" would before a VALID convolution or pooling."""
    top, bottom = same_padding(x.shape[2], kernel, stride, dilation)
    left, right = same_padding(x.shape[3], kernel, stride, dilation)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, [left, right, top, bottom], value=value)


class Conv2d(nn.Conv2d):
    """A square convolution with TF's "SAME" or "VALID" padding.

    [B, Cin, H, W] -> [B, Cout, H', W'].

    Args:
        in_channels, out_channels, kernel_size, stride, dilation, groups, bias: as nn.Conv2d.
        padding: "SAME" or "VALID".
        kernel_init: fills a kernel in TF layout [k, k, in, out] (e.g. a variance-scaling
            initializer); the kernel is then left alone by the model initializer. None: the
            model's `initializer` hparam applies (T2T's variable-scope initializer).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: str = "SAME",
        dilation: int = 1,
        groups: int = 1,
        bias: bool = True,
        kernel_init: Callable[[torch.Tensor], object] | None = None,
    ) -> None:
        effective = (kernel_size - 1) * dilation + 1
        symmetric = padding == "VALID" or (stride == 1 and effective % 2 == 1)
        fixed = 0 if padding == "VALID" else (effective - 1) // 2
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=fixed if symmetric else 0,
            dilation=dilation,
            groups=groups,
            bias=bias,
        )
        if padding not in ("SAME", "VALID"):
            raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
        self.pad_in_forward = not symmetric
        if bias:
            nn.init.zeros_(self.bias)
        if kernel_init is not None:
            multiplier = out_channels // groups if groups > 1 else 0  # groups > 1: depthwise
            init_conv_kernel_(self.weight, kernel_init, depthwise_multiplier=multiplier)
            own_init(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, Cin, H, W] -> [B, Cout, H', W']."""
        if self.pad_in_forward:
            x = pad_same(x, self.kernel_size[0], self.stride[0], self.dilation[0])
        return super().forward(x)


class SeparableConv2d(nn.Module):
    """Keras' SeparableConv2D: a depthwise k x k convolution, then a pointwise 1 x 1 one.

    Args:
        in_channels, out_channels, kernel_size, stride: sizes.
        padding: "SAME" or "VALID" (of the depthwise convolution).
        bias: a bias after the pointwise convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: str = "SAME",
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.depthwise = Conv2d(
            in_channels, in_channels, kernel_size, stride, padding, groups=in_channels, bias=False
        )
        self.pointwise = Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, Cin, H, W] -> [B, Cout, H', W']."""
        return self.pointwise(self.depthwise(x))


def max_pool_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF's max pooling with "SAME" padding (padding never wins): [B, C, H, W] -> [B, C, H', W']."""
    return F.max_pool2d(pad_same(x, kernel, stride, value=float("-inf")), kernel, stride)
