"""Attention over parameters (T2T's `common_attention.parameter_attention`), the
Transformer's ffn_layer "parameter_attention".

Each head's queries attend to `memory_rows` learned key and value vectors (model
parameters, no projections of their own). As in T2T: the queries are not scaled by
depth^-0.5, and attention dropout drops whole value rows (the same decision for every
example and query: noise shape [heads, rows, 1]).
"""

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.initializers import own_init


class ParameterAttention(nn.Module):
    """x [B, T, D] -> [B, T, output_depth] by multi-head attention to learned memories.

    Args:
        depth: D.
        key_depth: total key depth over the heads.
        value_depth: total value depth over the heads.
        output_depth: output depth.
        memory_rows: the number of learned key/value rows per head (T2T: filter_size).
        num_heads: heads; must divide key_depth and value_depth.
        dropout: value-row dropout rate (T2T: attention_dropout).
    """

    def __init__(
        self,
        depth: int,
        key_depth: int,
        value_depth: int,
        output_depth: int,
        memory_rows: int,
        num_heads: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if key_depth % num_heads or value_depth % num_heads:
            raise HParamsError(
                f"parameter attention depths ({key_depth}, {value_depth}) must be divisible "
                f"by num_heads ({num_heads})"
            )
        self.num_heads, self.dropout = num_heads, dropout
        # T2T's initializers: keys N(0, output_depth^-0.5 * heads^0.5), values N(0, 1).
        keys = torch.randn(num_heads, memory_rows, key_depth // num_heads)
        self.keys = own_init(nn.Parameter(keys * output_depth**-0.5 * num_heads**0.5))
        self.values = own_init(
            nn.Parameter(torch.randn(num_heads, memory_rows, value_depth // num_heads))
        )
        self.q_transform = nn.Linear(depth, key_depth, bias=False)
        self.output_transform = nn.Linear(value_depth, output_depth, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> [B, T, output_depth]."""
        batch, length, _ = x.shape
        values = self.values.to(x.dtype)
        if self.training and self.dropout:
            keep = 1.0 - self.dropout
            rows = torch.bernoulli(values.new_full((*values.shape[:2], 1), keep))  # [h, R, 1]
            values = values * rows / keep
        q = self.q_transform(x).reshape(batch, length, self.num_heads, -1)  # [B, T, h, dk]
        q = q.permute(2, 0, 1, 3).reshape(self.num_heads, batch * length, -1)  # [h, B*T, dk]
        weights = torch.softmax(q @ self.keys.to(x.dtype).transpose(1, 2), dim=-1)  # [h, B*T, R]
        y = (weights @ values).reshape(self.num_heads, batch, length, -1)  # [h, B, T, dv]
        y = y.permute(1, 2, 0, 3).reshape(batch, length, -1)  # [B, T, h*dv]
        return self.output_transform(y)
