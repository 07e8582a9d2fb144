"""Small sequence helpers: shifting targets right, padding from all-zero embeddings."""

import torch
import torch.nn.functional as F


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Shifts [B, T, ...] one step right along T: position 0 becomes zeros, the last drops."""
    return F.pad(x, [0, 0] * (x.dim() - 2) + [1, 0])[:, :-1]


def embedding_to_padding(emb: torch.Tensor) -> torch.Tensor:
    """1.0 where an embedding vector is all zeros (T2T's padding test). [B, T, D] -> [B, T]."""
    return (emb.abs().sum(dim=-1) == 0).to(emb.dtype)


def fit_length(x: torch.Tensor, length: int) -> torch.Tensor:
    """x [B, S, ...] cut or zero-padded along S to [B, length, ...]."""
    if x.shape[1] >= length:
        return x[:, :length]
    return F.pad(x, [0, 0] * (x.dim() - 2) + [0, length - x.shape[1]])


def pad_to_multiple(x: torch.Tensor, length: int, multiple: int = 1) -> torch.Tensor:
    """x [B, S, ...] zero-padded along S to `length` rounded up to a multiple of `multiple`
    (T2T's `pad_to_same_length` with `final_length_divisible_by`)."""
    target = -(-length // multiple) * multiple
    return fit_length(x, max(target, x.shape[1]))
