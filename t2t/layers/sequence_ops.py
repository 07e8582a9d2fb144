"""Small sequence helpers: shifting targets right, padding from all-zero embeddings."""

import torch
import torch.nn.functional as F


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Shifts [B, T, ...] one step right along T: position 0 becomes zeros, the last drops."""
    return F.pad(x, [0, 0] * (x.dim() - 2) + [1, 0])[:, :-1]


def embedding_to_padding(emb: torch.Tensor) -> torch.Tensor:
    """1.0 where an embedding vector is all zeros (T2T's padding test). [B, T, D] -> [B, T]."""
    return (emb.abs().sum(dim=-1) == 0).to(emb.dtype)
