"""T2T's convolutions and pooling (`common_layers.conv`, `separable_conv`, `subseparable_conv`,
`conv_block`, and the image models' strided convs and max pooling).

Every module here takes channels-first tensors `[B, C, H, W]`, as torch's convolutions do;
`nhwc(module, x)` runs one on T2T's channels-last layout `[B, H, W, C]`. Sequences are
`[B, C, T, 1]`: time is the height, the width is 1.

Padding follows TF and T2T: "SAME" keeps ceil(size / stride) outputs and, when the total
padding is odd, puts the extra row/column after (bottom/right); "VALID" pads nothing; "LEFT"
is the causal padding of T2T's `conv_internal`: `2 * (k // 2) * dilation` rows before the
input and none after, so position t sees only positions <= t (the width is left-padded the
same way unless the input is one column wide). torch's symmetric `padding=` equals these only
in some cases, so the others pad explicitly.

Parameters match Keras's layers one for one: `Conv2d` is `Conv2D` (kernel, optional bias),
`SeparableConv2d` is `SeparableConv2D` (a depthwise kernel with depth multiplier 1, a
pointwise kernel, optional bias). Their kernels are initialised through TF's kernel layout
(fans include the receptive field): see `t2t.layers.initializers`.
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.initializers import init_conv_kernel_, own_init
from t2t.layers.norms import LayerNorm

Pair = tuple[int, int]
PADDINGS = ("SAME", "VALID", "LEFT")


def _pair(value: int | Pair) -> Pair:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TF's "SAME" padding of one spatial dim: (before, after), the odd extra one after."""
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def conv_pads(
    x: torch.Tensor, kernel: Pair, dilation: Pair, padding: str, stride: Pair = (1, 1)
) -> list[int]:
    """F.pad's list [left, right, top, bottom] for x [B, C, H, W] under T2T's `padding`."""
    if padding == "VALID":
        return [0, 0, 0, 0]
    if padding == "LEFT":
        if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
            raise HParamsError(f"LEFT padding needs odd kernel sizes, got {kernel}")
        width = 0 if x.shape[3] == 1 else 2 * (kernel[1] // 2) * dilation[1]
        return [width, 0, 2 * (kernel[0] // 2) * dilation[0], 0]
    top, bottom = same_padding(x.shape[2], kernel[0], stride[0], dilation[0])
    left, right = same_padding(x.shape[3], kernel[1], stride[1], dilation[1])
    return [left, right, top, bottom]


def pad_same(
    x: torch.Tensor, kernel: int, stride: int, dilation: int = 1, value: float = 0.0
) -> torch.Tensor:
    """Pads [B, C, H, W] as TF's "SAME" would before a VALID convolution or pooling."""
    pads = conv_pads(x, (kernel, kernel), (dilation, dilation), "SAME", (stride, stride))
    return x if not any(pads) else F.pad(x, pads, value=value)


def max_pool_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF's max pooling with "SAME" padding (padding never wins): [B, C, H, W] -> [B, C, H', W']."""
    return F.max_pool2d(pad_same(x, kernel, stride, value=float("-inf")), kernel, stride)


class Conv2d(nn.Conv2d):
    """T2T's `conv` (a Keras Conv2D) with SAME / VALID / LEFT padding.

    [B, C_in, H, W] -> [B, C_out, H', W'] (H' = ceil(H / stride) for SAME and LEFT).

    Args:
        in_channels: C_in.
        filters: C_out.
        kernel_size: (kh, kw) or one int.
        dilation: (dh, dw) or one int.
        padding: "SAME", "VALID" or "LEFT" (LEFT only at stride 1).
        bias: whether there is a bias (T2T's `use_bias`); it starts at zero.
        groups: split C_in and C_out into this many independent convolutions, each its own
            TF kernel (T2T's positive `separability` parts, as one grouped convolution).
        stride: (sh, sw) or one int.
        kernel_init: fills a kernel in TF layout [kh, kw, in, out] (e.g. a variance-scaling
            initializer); the model initializer then leaves it alone. None: the model's
            `initializer` hparam applies (T2T's variable-scope initializer).
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int | Pair,
        dilation: int | Pair = 1,
        padding: str = "SAME",
        bias: bool = True,
        groups: int = 1,
        *,
        stride: int | Pair = 1,
        kernel_init: Callable[[torch.Tensor], object] | None = None,
    ) -> None:
        if padding not in PADDINGS:
            raise HParamsError(f"padding must be one of {PADDINGS}, got {padding!r}")
        if padding == "LEFT" and _pair(stride) != (1, 1):
            raise HParamsError(f"LEFT padding is causal and needs stride 1, got {stride}")
        super().__init__(
            in_channels,
            filters,
            _pair(kernel_size),
            stride=_pair(stride),
            dilation=_pair(dilation),
            groups=groups,
            bias=bias,
        )
        self.tf_padding = padding
        self.weight._t2t_tf_groups = groups  # each group is its own TF variable
        if kernel_init is not None:
            init_conv_kernel_(self.weight, kernel_init, parts=groups)
            own_init(self.weight)

    def reset_parameters(self) -> None:
        """torch's conv default for the kernel until a model applies T2T's initializer (so a
        layer used on its own never computes with uninitialised memory); the bias at zero."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, H, W] -> [B, C_out, H', W']."""
        left, right, top, bottom = conv_pads(
            x, self.kernel_size, self.dilation, self.tf_padding, self.stride
        )
        if self._is_sequence_conv(x, top + bottom):
            return sequence_conv(x, self.weight, self.bias, self.dilation[0], top, bottom)
        if left == right and top == bottom:  # the conv pads by itself, without a copy
            padding = (top, left)
        else:
            x, padding = F.pad(x, [left, right, top, bottom]), (0, 0)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)

    def _is_sequence_conv(self, x: torch.Tensor, padding: int = 0) -> bool:
        """Whether x is a sequence [B, C, T, 1] that `sequence_conv` can take on a CPU, with
        `padding` rows added (a sequence shorter than the kernel's span is left to
        F.conv2d, whose error names the sizes)."""
        span = (self.kernel_size[0] - 1) * self.dilation[0] + 1
        return (
            x.device.type == "cpu"
            and x.shape[3] == 1
            and self.kernel_size[1] == 1
            and self.groups == 1
            and self.stride == (1, 1)
            and x.shape[2] + padding >= span
        )


def sequence_conv(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    dilation: int = 1,
    top: int = 0,
    bottom: int = 0,
) -> torch.Tensor:
    """A convolution over a sequence [B, C, T, 1] with a (kh, 1) kernel, as one matrix
    product of the kh shifted copies of the sequence (im2col) with the kernel.

    The same sums as `F.conv2d` (rows padded by `top` / `bottom`), but on a CPU 2-4x faster
    for these shapes, forward and backward, than torch's convolution, which is tuned for
    images. The result [B, O, T', 1] is laid out as channels_last (its rows are positions),
    so the next sequence conv reads it without a copy.
    """
    batch, channels, _, _ = x.shape
    kernel = weight.shape[2]
    rows = x.permute(0, 2, 3, 1).reshape(batch, -1, channels)  # [B, T, C]
    if top or bottom:
        rows = F.pad(rows, (0, 0, top, bottom))
    length = rows.shape[1] - dilation * (kernel - 1)
    if kernel > 1:
        shifted = [rows[:, k * dilation : k * dilation + length] for k in range(kernel)]
        rows = torch.cat(shifted, dim=-1)  # [B, T', kh·C]
    matrix = weight[..., 0].permute(2, 1, 0).reshape(kernel * channels, -1)  # [kh·C, O]
    flat = rows.reshape(batch * length, kernel * channels)
    out = flat @ matrix if bias is None else torch.addmm(bias, flat, matrix)
    return out.view(batch, length, 1, -1).permute(0, 3, 1, 2)


class SeparableConv2d(nn.Module):
    """Keras's SeparableConv2D as T2T calls it: a depthwise conv (depth multiplier 1), then a
    1x1 pointwise conv, then the bias.

    Args:
        in_channels, filters, kernel_size, dilation, padding, bias, stride: as `Conv2d`
            (padding and stride are the depthwise conv's).
        groups: the pointwise conv's groups (T2T's negative `separability` parts, each a
            separable conv of its own slice of the channels).
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        kernel_size: int | Pair,
        dilation: int | Pair = 1,
        padding: str = "SAME",
        bias: bool = True,
        groups: int = 1,
        *,
        stride: int | Pair = 1,
    ) -> None:
        super().__init__()
        self.depthwise = Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            dilation,
            padding,
            bias=False,
            groups=in_channels,
            stride=stride,
        )
        self.depthwise.weight._t2t_tf_groups = groups  # TF: [kh, kw, C_in/groups, 1] per part
        self.depthwise.weight._t2t_tf_depthwise = True
        self.pointwise = Conv2d(in_channels, filters, 1, bias=bias, groups=groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C_in, H, W] -> [B, C_out, H', W']."""
        return self.pointwise(self.depthwise(x))


def subseparable_conv(
    in_channels: int,
    filters: int,
    kernel_size: int | Pair,
    dilation: int | Pair = 1,
    padding: str = "SAME",
    bias: bool = True,
    separability: int | None = None,
) -> nn.Module:
    """T2T's `subseparable_conv`: the module for a `separability`.

    None or 0: one separable conv. s > 0: s convs on s channel slices (filters // s outputs
    each), then, if s > 1, a 1x1 conv (with bias) mixing them. s < 0: |s| separable convs on
    |s| slices, concatenated.

    Returns:
        a module [B, C_in, H, W] -> [B, C_out, H', W'].
    """
    if not separability:
        return SeparableConv2d(in_channels, filters, kernel_size, dilation, padding, bias)
    parts = abs(separability)
    if in_channels % parts:
        raise HParamsError(f"separability {separability} must divide the depth {in_channels}")
    out = (filters // parts) * parts
    if separability < 0:
        return SeparableConv2d(in_channels, out, kernel_size, dilation, padding, bias, parts)
    conv = Conv2d(in_channels, out, kernel_size, dilation, padding, bias, groups=parts)
    if parts == 1:
        return conv
    return nn.Sequential(conv, Conv2d(out, filters, 1))


def nhwc(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Runs a channels-first module on x [B, H, W, C] -> [B, H', W', C']."""
    return module(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class ConvBlock(nn.Module):
    """T2T's `conv_block` / `separable_conv_block` / `subseparable_conv_block`.

    For each (dilation, kernel) layer: ReLU (skipped on the first when `first_relu` is
    False), the mask, the convolution (a bias only when there is no norm), the norm.

    Args:
        in_channels: depth of the input.
        filters: depth of every layer's output.
        dilations_and_kernels: [((dh, dw), (kh, kw)), ...].
        kind: "conv", "separable" or "subseparable".
        padding: "SAME", "VALID" or "LEFT".
        norm_type: T2T's `norm_type` after each conv ("layer", "noam", "l2", "none"), or
            None for no norm and biased convs (T2T's `normalizer_fn=None`).
        norm_epsilon: the norm's epsilon.
        first_relu: ReLU before the first conv too.
        separabilities: per-layer separability ("subseparable" only).
    """

    def __init__(
        self,
        in_channels: int,
        filters: int,
        dilations_and_kernels: list[tuple[Pair, Pair]],
        kind: str = "conv",
        padding: str = "SAME",
        norm_type: str | None = "layer",
        norm_epsilon: float = 1e-6,
        first_relu: bool = True,
        separabilities: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.first_relu = first_relu
        convs, norms = [], []
        for i, (dilation, kernel) in enumerate(dilations_and_kernels):
            depth = in_channels if i == 0 else filters
            bias = norm_type is None
            if kind == "conv":
                conv = Conv2d(depth, filters, kernel, dilation, padding, bias)
            elif kind == "separable":
                conv = SeparableConv2d(depth, filters, kernel, dilation, padding, bias)
            elif kind == "subseparable":
                sep = separabilities[i] if separabilities else None
                conv = subseparable_conv(depth, filters, kernel, dilation, padding, bias, sep)
            else:
                raise HParamsError(f"conv kind must be conv, separable or subseparable: {kind}")
            convs.append(conv)
            norms.append(
                nn.Identity() if norm_type is None else LayerNorm(filters, norm_type, norm_epsilon)
            )
        self.convs, self.norms = nn.ModuleList(convs), nn.ModuleList(norms)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, H, W, C] (channels last, as T2T), mask [B, H, W, 1] or None -> [B, H, W, F]."""
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            if self.first_relu or i > 0:
                x = torch.relu(x)
            if mask is not None:
                x = x * mask
            x = norm(nhwc(conv, x))
        return x
