"""T2T's normalisations over the last dim ("layer", "noam", "l2", "none")."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from t2t.errors import HParamsError


class LayerNorm(nn.Module):
    """T2T's normalisations over the last dim: "layer", "noam", "l2", "none".

    "layer": (x - mean) / sqrt(var + eps) * scale + bias (biased variance, as torch's).
    "noam": x / ||x|| * sqrt(depth) (no variables). "l2": (x - mean) / sqrt(Σ(x - mean)² + eps)
    * scale + bias. "none": identity.
    """

    def __init__(self, depth: int, norm_type: str = "layer", eps: float = 1e-6) -> None:
        super().__init__()
        if norm_type not in ("layer", "noam", "l2", "none"):
            raise HParamsError(
                f"norm_type must be one of: layer, noam, l2, none; got {norm_type!r} "
                "(batch and group norm are not supported)"
            )
        self.norm_type = norm_type
        self.eps = eps
        self.depth = depth
        if norm_type in ("layer", "l2"):
            self.scale = nn.Parameter(torch.ones(depth))
            self.bias = nn.Parameter(torch.zeros(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., depth] -> [..., depth]."""
        if self.norm_type == "layer":
            return F.layer_norm(x, (self.depth,), self.scale, self.bias, self.eps)
        if self.norm_type == "noam":
            return F.normalize(x, dim=-1, eps=1e-12) * math.sqrt(self.depth)
        if self.norm_type == "l2":
            centered = x - x.mean(dim=-1, keepdim=True)
            sq = centered.square().sum(dim=-1, keepdim=True)
            return centered * torch.rsqrt(sq + self.eps) * self.scale + self.bias
        return x
