"""Attention experts (T2T's `common_attention.local_expert_attention`).

A mixture of experts whose experts are self-attention layers: T2T's noisy top-k gating
(`LocalMoE`'s) sends each token to k of E experts; inside an expert, a token attends to the
tokens that the same expert received from the same sequence (and, with `mask_right`, only
to those at or before its position); the outputs are summed weighted by the gates. Each
expert has its own query/key/value/output projections (no biases; key and query size
`kq_size`, value size `v_size`, `num_heads` heads, no dropout), as in T2T.

The experts run together: tokens are grouped by expert into an [E, C, D] buffer (C = the
most tokens one expert received) and attention runs once over [E, heads, C, C] with a mask
that also hides the buffer's empty slots. No Python loop runs over the experts. T2T's
`split_batch` (one attention call per sequence instead of a mask between sequences) gives
the same values; t2t always masks.
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.mixture_of_experts import NoisyTopKGating, cv_squared, group_by_expert

NEG_INF = -1e9


def _expert_weight(num_experts: int, d_in: int, d_out: int) -> nn.Parameter:
    weight = nn.Parameter(torch.empty(num_experts, d_in, d_out))
    nn.init.normal_(weight, std=d_in**-0.5)  # replaced by the model's initializer
    weight._t2t_per_expert = True
    return weight


class ExpertSelfAttention(nn.Module):
    """E self-attention experts over tokens grouped by expert.

    Args:
        num_experts: E.
        depth: D, the token size (input and output).
        num_heads: heads of each expert (`attention_num_head`).
        kq_size: total key/query size (`attention_kq_size`; 0: D).
        v_size: total value size (`attention_v_size`; 0: D).
        mask_right: hide later positions (a language model) or not.
    """

    def __init__(
        self,
        num_experts: int,
        depth: int,
        num_heads: int,
        kq_size: int,
        v_size: int,
        mask_right: bool,
    ) -> None:
        super().__init__()
        kq_size, v_size = kq_size or depth, v_size or depth
        self.num_experts, self.num_heads, self.mask_right = num_experts, num_heads, mask_right
        self.wq = _expert_weight(num_experts, depth, kq_size)  # [E, D, Kq]
        self.wk = _expert_weight(num_experts, depth, kq_size)  # [E, D, Kq]
        self.wv = _expert_weight(num_experts, depth, v_size)  # [E, D, Kv]
        self.wo = _expert_weight(num_experts, v_size, depth)  # [E, Kv, D]

    def _heads(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        y = torch.bmm(x, weight)  # [E, C, K]
        e, c, k = y.shape
        return y.view(e, c, self.num_heads, k // self.num_heads).transpose(1, 2)  # [E, h, C, K/h]

    def forward(
        self, buffer: torch.Tensor, sequence: torch.Tensor, valid: torch.Tensor
    ) -> torch.Tensor:
        """Attention inside each expert.

        Args:
            buffer: [E, C, D] the tokens of each expert, in their original order.
            sequence: [E, C] the sequence (batch row) each token comes from.
            valid: [E, C] False at the empty slots.

        Returns:
            [E, C, D].
        """
        allowed = (sequence[:, :, None] == sequence[:, None, :]) & valid[:, None, :]  # [E, C, C]
        if self.mask_right:
            allowed = allowed & torch.ones_like(allowed[0]).tril()
        # an empty slot sees itself, so that no softmax row is all -inf
        allowed = allowed | torch.eye(allowed.shape[-1], dtype=torch.bool, device=buffer.device)
        bias = torch.zeros(allowed.shape, dtype=buffer.dtype, device=buffer.device)
        bias = bias.masked_fill(~allowed, NEG_INF)[:, None]  # [E, 1, C, C]
        q, k, v = (self._heads(buffer, w) for w in (self.wq, self.wk, self.wv))
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # [E, h, C, Kv/h]
        o = o.transpose(1, 2).reshape(*buffer.shape[:2], -1)  # [E, C, Kv]
        return torch.bmm(o, self.wo)  # [E, C, D]


class LocalExpertAttention(nn.Module):
    """T2T's `local_expert_attention`: tokens [N, D] of several sequences -> (y [N, D], loss).

    Args:
        depth: D.
        num_experts: E (`attention_num_experts`).
        k: experts per token (`attention_moe_k`).
        loss_coef: multiplier of the balancing loss (`attention_load_balance`).
        num_heads, kq_size, v_size, mask_right: see `ExpertSelfAttention`.
    """

    def __init__(
        self,
        depth: int,
        num_experts: int,
        k: int,
        loss_coef: float,
        num_heads: int = 1,
        kq_size: int = 0,
        v_size: int = 0,
        mask_right: bool = True,
    ) -> None:
        super().__init__()
        self.num_experts, self.loss_coef = num_experts, loss_coef
        self.gating = NoisyTopKGating(depth, num_experts, k)
        self.experts = ExpertSelfAttention(
            num_experts, depth, num_heads, kq_size, v_size, mask_right
        )

    def forward(self, x: torch.Tensor, sequence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [N, D] (the tokens of all sequences, each sequence's in order), sequence [N] (the
        batch row of each token) -> (y [N, D], balancing loss [])."""
        gates, load, indices, top_gates = self.gating(x)
        loss = self.loss_coef * (cv_squared(gates.sum(0)) + cv_squared(load))
        token, expert, slot, gate, capacity = group_by_expert(indices, top_gates, self.num_experts)
        buffer = x.new_zeros(self.num_experts, capacity, x.shape[1])  # [E, C, D]
        buffer[expert, slot] = x[token]
        rows = torch.full((self.num_experts, capacity), -1, device=x.device, dtype=torch.long)
        rows[expert, slot] = sequence[token]
        valid = torch.zeros_like(rows, dtype=torch.bool)
        valid[expert, slot] = True
        out = self.experts(buffer, rows, valid)  # [E, C, D]
        y = x.new_zeros(x.shape)
        return y.index_add(0, token, out[expert, slot] * gate[:, None].to(out.dtype)), loss
