"""T2T's memory-efficient self-attention and feed-forward (`common_attention.
multihead_self_attention_memory_efficient`, `common_layers.conv_hidden_relu_memory_efficient`).

Both include their own layer norm (so a model skips its preprocess before them) and keep
no activations for the backward pass: they are recomputed there (T2T's `forget=True`
custom gradients; here `torch.utils.checkpoint`). T2T also runs one head (and a quarter of
the batch in the feed-forward) at a time to bound peak memory; t2t computes all heads in
one `scaled_dot_product_attention` call, whose fused kernels do not materialise the
[T, T] weights on GPU. Neither applies dropout inside, as in T2T.
"""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from t2t.layers.initializers import own_init
from t2t.layers.norms import LayerNorm


def _maybe_recompute(fn, *args):
    if torch.is_grad_enabled() and any(a.requires_grad for a in args if a is not None):
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


class MemoryEfficientSelfAttention(nn.Module):
    """y = multihead-self-attention(layer_norm(x)) with per-head weights, recomputed in backward.

    Weights as T2T's: wqkv [heads, D, 3·head_size] ~ N(0, D^-0.5), wo [heads, head_size, D]
    ~ N(0, (heads·head_size)^-0.5), no biases; queries scaled by head_size^-0.5.

    Args:
        depth: D.
        num_heads: heads (D must divide evenly).
        epsilon: the layer norm epsilon.
    """

    def __init__(self, depth: int, num_heads: int, epsilon: float = 1e-6) -> None:
        super().__init__()
        if depth % num_heads:
            raise ValueError(f"hidden size {depth} is not divisible by num_heads {num_heads}")
        self.num_heads, self.head_size = num_heads, depth // num_heads
        self.norm = LayerNorm(depth, "layer", epsilon)
        self.wqkv = own_init(nn.Parameter(torch.randn(num_heads, depth, 3 * self.head_size)))
        self.wo = own_init(nn.Parameter(torch.randn(num_heads, self.head_size, depth)))
        with torch.no_grad():
            self.wqkv.mul_(depth**-0.5)
            self.wo.mul_((self.head_size * num_heads) ** -0.5)

    def _attend(self, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        n = self.norm(x)  # [B, T, D]
        qkv = torch.einsum("btd,hde->bhte", n, self.wqkv)  # [B, heads, T, 3·hs]
        q, k, v = qkv.split(self.head_size, dim=-1)  # each [B, heads, T, hs]
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # [B, heads, T, hs]
        return torch.einsum("bhte,hed->btd", o, self.wo)  # [B, T, D]

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, T, D], bias broadcastable to [B, heads, T, T] (additive) -> [B, T, D]."""
        if bias is not None:
            bias = bias.to(x.dtype)
        return _maybe_recompute(self._attend, x, bias)


class MemoryEfficientFeedForward(nn.Module):
    """y = relu(layer_norm(x) f1) f2 (no biases), recomputed in backward.

    f1 [D, F] and f2 [F, D] take the model's initializer, as T2T's `get_variable` without one.

    Args:
        depth: D.
        filter_size: F.
        epsilon: the layer norm epsilon.
    """

    def __init__(self, depth: int, filter_size: int, epsilon: float = 1e-6) -> None:
        super().__init__()
        self.norm = LayerNorm(depth, "layer", epsilon)
        self.f1 = nn.Parameter(torch.empty(depth, filter_size))
        self.f2 = nn.Parameter(torch.empty(filter_size, depth))
        nn.init.normal_(self.f1, std=depth**-0.5)  # replaced by the model's initializer
        nn.init.normal_(self.f2, std=filter_size**-0.5)

    def _ffn(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(x) @ self.f1) @ self.f2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> [B, T, D]."""
        return _maybe_recompute(self._ffn, x)
