"""Reversible residual layers whose backward pass recomputes activations (RevNet).

One reversible layer maps (x1, x2) to

    y1 = x1 + f(x2)
    y2 = x2 + g(y1)

and its inputs can be recovered from its outputs: x2 = y2 - g(y1), x1 = y1 - f(x2). A
`ReversibleBlock` of L such layers keeps only its final outputs for the backward pass; the
backward walks the layers in reverse, rebuilding each layer's inputs and redoing f and g
with autograd on to get the gradients (TF's contrib `rev_block`, which T2T's RevNet uses).
So the activation memory of a block does not grow with L.

During the recomputation the batch norms of f and g normalise with the batch's statistics
but do not update their moving averages again (`frozen_statistics`). f and g must be
deterministic (no dropout): the recomputed values must be the forward's.
"""

import torch
from torch import nn

from t2t.layers.batch_norm import frozen_statistics


def _layer_backward(
    f: nn.Module,
    g: nn.Module,
    ys: tuple[torch.Tensor, torch.Tensor],
    grads: tuple[torch.Tensor, torch.Tensor],
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor], list]:
    """One layer backward: (inputs, their gradients, parameter gradients of f then g)."""
    y1, y2 = ys
    grad_y1, grad_y2 = grads
    f_params = [p for p in f.parameters() if p.requires_grad]
    g_params = [p for p in g.parameters() if p.requires_grad]
    with torch.enable_grad():
        y1_leaf = y1.detach().requires_grad_()
        gy1 = g(y1_leaf)
        x2 = (y2 - gy1).detach().requires_grad_()
        fx2 = f(x2)
        grads_g = torch.autograd.grad(gy1, [y1_leaf, *g_params], grad_y2, allow_unused=True)
        grad_x1 = grad_y1 + grads_g[0]
        grads_f = torch.autograd.grad(fx2, [x2, *f_params], grad_x1, allow_unused=True)
    grad_x2 = grad_y2 + grads_f[0]
    x1 = (y1 - fx2).detach()
    return (x1, x2.detach()), (grad_x1, grad_x2), [*grads_f[1:], *grads_g[1:]]


class _Reversible(torch.autograd.Function):
    """Forward without saving activations; backward by reconstruction (see module doc)."""

    @staticmethod
    def forward(ctx, block: "ReversibleBlock", x1: torch.Tensor, x2: torch.Tensor, *params):
        """x1, x2 [B, C, H, W] -> y1, y2; params are the block's (so they get gradients)."""
        ctx.block = block
        ctx.autocast = torch.is_autocast_enabled(x1.device.type)
        ctx.device_type = x1.device.type
        with torch.no_grad():
            y1, y2 = block.run(x1, x2)
        ctx.save_for_backward(y1, y2)
        return y1, y2

    @staticmethod
    def backward(ctx, grad_y1: torch.Tensor, grad_y2: torch.Tensor):
        """Rebuilds each layer's inputs from its outputs and back-propagates through it."""
        block = ctx.block
        ys = ctx.saved_tensors
        grads = (grad_y1, grad_y2)
        per_layer = []
        with torch.autocast(ctx.device_type, enabled=ctx.autocast), frozen_statistics(block):
            for f, g in zip(reversed(block.fs), reversed(block.gs)):
                ys, grads, param_grads = _layer_backward(f, g, ys, grads)
                per_layer.append(param_grads)
        # params are ordered layer by layer (f then g); per_layer is in reverse order
        flat = [grad for layer in reversed(per_layer) for grad in layer]
        return (None, *grads, *flat)


class ReversibleBlock(nn.Module):
    """L reversible layers y1 = x1 + f_i(x2), y2 = x2 + g_i(y1), with recomputing backward.

    Args:
        fs: the L f modules (each keeps the shape of its input).
        gs: the L g modules.
        recompute: False runs the same layers with ordinary autograd (activations kept):
            the reference the recomputing backward is tested against.
    """

    def __init__(self, fs: list[nn.Module], gs: list[nn.Module], recompute: bool = True) -> None:
        super().__init__()
        if len(fs) != len(gs):
            raise ValueError(f"a reversible block needs as many f as g ({len(fs)} != {len(gs)})")
        self.fs = nn.ModuleList(fs)
        self.gs = nn.ModuleList(gs)
        self.recompute = recompute

    def run(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The layers' forward pass, as ordinary autograd sees it."""
        for f, g in zip(self.fs, self.gs):
            x1 = x1 + f(x2)
            x2 = x2 + g(x1)
        return x1, x2

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x1, x2 [B, C, H, W] -> y1, y2 of the same shapes."""
        params = [p for f, g in zip(self.fs, self.gs) for m in (f, g) for p in m.parameters()]
        params = [p for p in params if p.requires_grad]
        needs_grad = torch.is_grad_enabled() and (
            x1.requires_grad or x2.requires_grad or bool(params)
        )
        if not (self.recompute and needs_grad):
            return self.run(x1, x2)
        return _Reversible.apply(self, x1, x2, *params)
