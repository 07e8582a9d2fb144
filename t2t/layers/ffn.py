"""Feed-forward blocks: T2T's "dense_relu_dense"."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.dropout import dropout_with_broadcast_dims


class DenseReluDense(nn.Module):
    """T2T's "dense_relu_dense" FFN: dense(filter, ReLU) -> dropout -> dense(depth).

    The two layers carry biases (T2T's `conv1`, `conv2`).
    """

    def __init__(
        self,
        depth: int,
        filter_size: int,
        relu_dropout: float = 0.0,
        broadcast_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.conv1 = nn.Linear(depth, filter_size)
        self.conv2 = nn.Linear(filter_size, depth)
        self.relu_dropout = relu_dropout
        self.broadcast_dims = list(broadcast_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, depth] -> [B, T, depth]."""
        h = F.relu(self.conv1(x))  # [B, T, F]
        h = dropout_with_broadcast_dims(h, self.relu_dropout, self.broadcast_dims, self.training)
        return self.conv2(h)
