"""Convolutional GRU cells (T2T's `common_layers.conv_gru` and `diagonal_conv_gru`).

Both take and return channels-first states `[B, C, H, W]`; for the Neural GPU the height
is the sequence and the width 1. Their gates are convolutions of the state with itself
(there is no separate input), as in the Neural GPU papers.
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.convolutions import Conv2d, Pair
from t2t.layers.dropout import dropout_with_broadcast_dims
from t2t.layers.initializers import own_init


def saturating_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1.2 * sigmoid(x) - 0.1, clipped to [0, 1] (T2T's)."""
    return torch.clamp(1.2 * torch.sigmoid(x) - 0.1, 0.0, 1.0)


def hard_sigmoid(x: torch.Tensor, saturation_limit: float = 0.9):
    """(min(1, relu(0.5 x + 0.5)), mean(relu(|x| - limit))): T2T's gate and its cost."""
    cost = torch.relu(x.abs() - saturation_limit).mean()
    return torch.clamp(0.5 * x + 0.5, 0.0, 1.0), cost


def _constant_bias(conv: Conv2d, values: list[float]) -> None:
    """Fills the bias of `conv` with one constant per stacked TF variable; own init."""
    with torch.no_grad():
        for part, value in zip(conv.bias.chunk(len(values)), values):
            part.fill_(value)
    own_init(conv.bias)


class ConvGRU(nn.Module):
    """T2T's `conv_gru`: reset r and gate g from convs of the state, then
    g * x + (1 - g) * tanh(conv(r * x)), with saturating sigmoids.

    The reset and gate convs run as one conv of 2·filters outputs; they stay two TF
    variables for initialization (`_t2t_tf_groups`), with T2T's bias starts 1.0 and 1.0
    (the candidate's is 0).

    Args:
        filters: the state's depth C.
        kernel_size: (kh, kw).
        dilation: (dh, dw).
        padding: "SAME" or "LEFT".
    """

    def __init__(
        self, filters: int, kernel_size: Pair, dilation: Pair = (1, 1), padding: str = "SAME"
    ) -> None:
        super().__init__()
        self.gates = Conv2d(filters, 2 * filters, kernel_size, dilation, padding)
        self.gates.weight._t2t_tf_groups = 2  # "reset" and "gate", each [kh, kw, C, C]
        _constant_bias(self.gates, [1.0, 1.0])
        self.candidate = Conv2d(filters, filters, kernel_size, dilation, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, H, W] -> [B, C, H, W]."""
        reset, gate = saturating_sigmoid(self.gates(x)).chunk(2, dim=1)
        candidate = torch.tanh(self.candidate(reset * x))
        return gate * x + (1 - gate) * candidate


def diagonal_shift_filter(filters: int) -> torch.Tensor:
    """T2T's fixed depthwise filter [C, 1, 1, 3] of `diagonal_conv_gru`: the first
    C - 2·(C // 3) channels keep their column, the next C // 3 take the column to the left,
    the last C // 3 the column to the right."""
    third = filters // 3
    taps = [[0.0, 1.0, 0.0]] * (filters - 2 * third) + [[1.0, 0.0, 0.0]] * third
    taps += [[0.0, 0.0, 1.0]] * third
    return torch.tensor(taps).view(filters, 1, 1, 3)


class DiagonalConvGRU(nn.Module):
    """T2T's `diagonal_conv_gru` (the improved Neural GPU, arXiv:1702.08727).

    Hard-sigmoid reset and gate (bias starts 0.5 and 0.7) with their saturation costs;
    dropout on the candidate; the kept state is the diagonally shifted state. On a width-1
    state the shifted channels read the zero padding, as in T2T.

    Args:
        filters: the state's depth C.
        kernel_size: (kh, kw).
        dropout: dropout rate of the candidate (training only).
    """

    def __init__(self, filters: int, kernel_size: Pair, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = dropout
        self.gates = Conv2d(filters, 2 * filters, kernel_size)
        self.gates.weight._t2t_tf_groups = 2  # "reset" and "gate"
        _constant_bias(self.gates, [0.5, 0.7])
        self.candidate = Conv2d(filters, filters, kernel_size)
        self.register_buffer("shift", diagonal_shift_filter(filters), persistent=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, C, H, W] -> (new state [B, C, H, W], the mean gate saturation cost [])."""
        reset_logits, gate_logits = self.gates(x).chunk(2, dim=1)
        reset, reset_cost = hard_sigmoid(reset_logits)
        gate, gate_cost = hard_sigmoid(gate_logits)
        candidate = torch.tanh(self.candidate(reset * x))
        candidate = dropout_with_broadcast_dims(candidate, self.dropout, (), self.training)
        shifted = F.conv2d(x, self.shift.to(x.dtype), padding=(0, 1), groups=x.shape[1])
        return gate * shifted + (1 - gate) * candidate, 0.5 * (reset_cost + gate_cost)
