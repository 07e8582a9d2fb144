"""Separable convolutions over the time axis, and T2T's `sepconv_relu_sepconv` FFN."""

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.dropout import dropout_with_broadcast_dims


class SeparableConv1d(nn.Module):
    """Keras' SeparableConv2D on [B, T, 1, C] as T2T calls it, written for [B, T, C].

    A depthwise convolution (one [kernel] filter per channel, no bias) then a pointwise
    dense layer with bias. Padding "SAME" centres the window; "LEFT" pads kernel-1 zeros
    before the first position, so position t sees only positions <= t (causal).
    """

    def __init__(self, in_depth: int, out_depth: int, kernel_size: int, padding: str) -> None:
        super().__init__()
        if padding not in ("SAME", "LEFT"):
            raise ValueError(f"padding must be SAME or LEFT, got {padding!r}")
        self.kernel_size = kernel_size
        self.padding = padding
        self.depthwise = nn.Conv1d(
            in_depth, in_depth, kernel_size, groups=in_depth, bias=False
        )  # weight [C, 1, k]
        self.pointwise = nn.Linear(in_depth, out_depth)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, C_in] -> [B, T, C_out]."""
        k = self.kernel_size
        left = k - 1 if self.padding == "LEFT" else (k - 1) // 2
        h = F.pad(x.transpose(1, 2), (left, k - 1 - left))  # [B, C, T + k - 1]
        h = self.depthwise(h).transpose(1, 2)  # [B, T, C]
        return self.pointwise(h)


class SepconvReluSepconv(nn.Module):
    """T2T's `sepconv_relu_sepconv`: sepconv(filter, ReLU) -> dropout -> sepconv(output).

    Positions where `nonpadding` is 0 are zeroed before each convolution wider than 1, so
    padding never leaks into real positions.

    Args:
        depth: input depth.
        filter_size: hidden depth.
        output_size: output depth.
        first_kernel_size, second_kernel_size: kernel widths over time.
        padding: "SAME" (encoder) or "LEFT" (decoder, causal).
        dropout: dropout on the hidden layer.
    """

    def __init__(
        self,
        depth: int,
        filter_size: int,
        output_size: int,
        first_kernel_size: int = 3,
        second_kernel_size: int = 5,
        padding: str = "SAME",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.conv1 = SeparableConv1d(depth, filter_size, first_kernel_size, padding)
        self.conv2 = SeparableConv1d(filter_size, output_size, second_kernel_size, padding)
        self.dropout = dropout

    def forward(self, x: torch.Tensor, nonpadding: torch.Tensor | None = None) -> torch.Tensor:
        """x: [B, T, D]; nonpadding: optional [B, T, 1] (1.0 at real positions) -> [B, T, O]."""
        if nonpadding is not None and self.conv1.kernel_size > 1:
            x = x * nonpadding
        h = F.relu(self.conv1(x))  # [B, T, filter]
        h = dropout_with_broadcast_dims(h, self.dropout, [], self.training)
        if nonpadding is not None and self.conv2.kernel_size > 1:
            h = h * nonpadding
        return self.conv2(h)
