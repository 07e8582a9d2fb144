"""T2T's layer pre/post-processing sequences ("n", "da", "dan", ...) around each sublayer."""

from collections.abc import Sequence

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.dropout import dropout_with_broadcast_dims
from t2t.layers.norms import LayerNorm


class PrePostProcess(nn.Module):
    """T2T's `layer_prepostprocess`: apply a sequence like "n", "da", "dan" or "none".

    "a": add the residual (`previous`); "n": normalise; "d": dropout. A sequence of "none"
    or "" is the identity. Args: `depth`, `sequence`, `dropout` (rate), `norm_type`,
    `norm_epsilon`, `broadcast_dims` (dropout mask shared along these dims).
    """

    def __init__(
        self,
        depth: int,
        sequence: str,
        dropout: float,
        norm_type: str = "layer",
        norm_epsilon: float = 1e-6,
        broadcast_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.sequence = "" if sequence == "none" else sequence
        for step in self.sequence:
            if step not in "adn":
                raise HParamsError(f"unknown layer pre/post-process step {step!r} in {sequence!r}")
        self.dropout = dropout
        self.broadcast_dims = list(broadcast_dims)
        self.norm = LayerNorm(depth, norm_type, norm_epsilon) if "n" in self.sequence else None

    def forward(self, previous: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        """previous: residual input [B, T, D] or None (pre-processing); x: [B, T, D]."""
        for step in self.sequence:
            if step == "a":
                x = x + previous
            elif step == "n":
                x = self.norm(x)
            else:
                x = dropout_with_broadcast_dims(x, self.dropout, self.broadcast_dims, self.training)
        return x
