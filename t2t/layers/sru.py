"""T2T's simple recurrent unit (`common_layers.sru`, Lei et al. 2017)."""

import torch
from torch import nn


class SRU(nn.Module):
    """Stacked SRU layers over the time axis: x [B, T, D] -> [B, T, D].

    Per layer: x̃, f, r = split(dense(x), 3); f, r = sigmoid; c_t = f_t c_{t-1} +
    (1 - f_t) x̃_t from c_0 = 0; h = c r + (1 - r) x (the highway uses the layer's input).

    Args:
        depth: D.
        num_layers: SRU layers (T2T's default 2).
    """

    def __init__(self, depth: int, num_layers: int = 2) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"Number of layers must be positive: {num_layers}")
        self.kernels = nn.ModuleList(nn.Linear(depth, 3 * depth) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, D] -> [B, T, D]."""
        for kernel in self.kernels:
            candidate, forget, reset = kernel(x).chunk(3, dim=-1)  # 3 x [B, T, D]
            forget, reset = torch.sigmoid(forget), torch.sigmoid(reset)
            drive = candidate * (1.0 - forget)
            cell = x.new_zeros(x.shape[0], x.shape[2])  # [B, D]
            states = []
            for t in range(x.shape[1]):  # the scan: a linear recurrence over time
                cell = forget[:, t] * cell + drive[:, t]
                states.append(cell)
            cells = torch.stack(states, dim=1)  # [B, T, D]
            x = cells * reset + (1.0 - reset) * x
        return x
