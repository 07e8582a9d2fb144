"""Batch normalisation as T2T's image models use it, over the channel dim of [B, C, H, W].

Two things differ from `torch.nn.BatchNorm2d` on purpose:

- The scale and offset are named `gamma` and `beta`, as TensorFlow names them, so T2T's
  weight decay (every trainable variable except 1-D ones named "...bias") decays them
  as it did in T2T. torch names the offset "bias", which the rule would skip.
- `frozen_statistics(module)` lets a recomputation (the reversible blocks' backward pass)
  normalise with the batch's statistics without updating the moving averages a second time.

T2T passes a moving-average *decay* (0.9 in resnet, TF's default 0.99 elsewhere); torch's
`momentum` is 1 - decay. Moving variances use the unbiased batch variance, as both do.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn


class BatchNorm(nn.Module):
    """Batch norm over dim 1: [B, C, ...] -> [B, C, ...].

    Args:
        channels: C.
        decay: TF's moving-average decay (running = decay * running + (1 - decay) * batch).
        epsilon: added to the variance.
        zero_init: start gamma at 0 instead of 1 (T2T's `init_zero`, last block of a layer).
    """

    def __init__(
        self, channels: int, decay: float = 0.99, epsilon: float = 1e-3, zero_init: bool = False
    ) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(channels) if zero_init else torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))
        self.register_buffer("moving_mean", torch.zeros(channels))
        self.register_buffer("moving_variance", torch.ones(channels))
        self.momentum = 1.0 - decay
        self.epsilon = epsilon
        self.frozen = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, C, ...] -> normalised [B, C, ...] (batch statistics in training mode)."""
        update = self.training and not self.frozen
        return F.batch_norm(
            x,
            self.moving_mean if update or not self.training else None,
            self.moving_variance if update or not self.training else None,
            self.gamma,
            self.beta,
            training=self.training,
            momentum=self.momentum,
            eps=self.epsilon,
        )


@contextmanager
def frozen_statistics(module: nn.Module) -> Iterator[None]:
    """Within the block, the `BatchNorm`s of `module` leave their moving averages alone."""
    norms = [m for m in module.modules() if isinstance(m, BatchNorm)]
    previous = [m.frozen for m in norms]
    for m in norms:
        m.frozen = True
    try:
        yield
    finally:
        for m, was in zip(norms, previous):
            m.frozen = was
