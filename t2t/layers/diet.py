"""Diet variables (T2T's `utils/diet.py`): expert weights that cost ~2 bytes each.

T2T stores the weights of `diet_experts` as 16-bit fixed point (int16 times
`quantization_scale`), keeps them out of the trainable variables, and updates them inside
the backward pass with its own "DietAdam": no first moment (beta1 = 0), a factored second
moment (a row and a column running mean of the squared gradient for each 2-D weight), a
noam learning rate of its own (`learning_rate` 1.0, warm-up 2000 steps, counted from the
global step) and stochastic rounding back to 16 bits. So the gradients of these weights
never exist all at once and no optimizer slot of full size is kept.

`DietExperts` does the same for PyTorch: its weights are int16 *buffers* (not parameters,
so the trainer's optimizer, gradient clipping and parameter counts leave them alone, as in
T2T), and a custom autograd function recomputes the hidden layer in the backward pass and
updates the weights there, when the module is in training mode. Each module counts its own
updates (the `step` buffer), which equals T2T's global step when every training step runs
one backward pass. Not like T2T: with gradient accumulation each micro-batch updates the
weights; under DistributedDataParallel each process updates its own copy and DDP's buffer
broadcast then keeps rank 0's (T2T's diet variables were not synchronised either).
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

INT16_MAX = 32767


@dataclass
class DietAdamParams:
    """T2T's `diet_adam_optimizer_params()` (the only diet optimizer T2T has)."""

    quantize: bool = True
    quantization_scale: float = 10.0 / INT16_MAX
    learning_rate: float = 1.0
    learning_rate_warmup_steps: int = 2000
    learning_rate_decay_scheme: str = "noam"  # or "none"
    epsilon: float = 1e-10
    beta2: float = 0.98  # beta1 is 0 (no momentum slot); the second moment is factored


def quantize(x: torch.Tensor, params: DietAdamParams, randomize: bool = True) -> torch.Tensor:
    """float -> int16 fixed point, rounding stochastically (T2T's `_quantize`)."""
    y = x / params.quantization_scale
    if randomize:
        y = torch.floor(y.abs() + torch.rand_like(y)).clamp(max=INT16_MAX) * y.sign()
    return y.to(torch.int16)  # truncates toward zero when not randomized, as tf.cast does


def dequantize(q: torch.Tensor, params: DietAdamParams) -> torch.Tensor:
    """int16 fixed point -> float32."""
    return q.float() * params.quantization_scale


def diet_learning_rate(step: int, params: DietAdamParams) -> float:
    """T2T's diet learning rate at 1-based `step`: noam, or linear warm-up for "none"."""
    lr, warmup = params.learning_rate, params.learning_rate_warmup_steps
    if params.learning_rate_decay_scheme == "noam":
        return lr * min(step * warmup**-1.5, step**-0.5)
    return lr * min(step / warmup, 1.0)


class _DietFeedForward(torch.autograd.Function):
    """y = relu(x w1) w2 * scale per expert; backward recomputes and updates w1, w2."""

    @staticmethod
    def forward(ctx, x, module):
        w1, w2 = module.dequantized()
        ctx.save_for_backward(x)
        ctx.module = module
        return torch.bmm(F.relu(torch.bmm(x, w1)), w2) * module.output_scale

    @staticmethod
    def backward(ctx, dy):
        (x,) = ctx.saved_tensors
        module = ctx.module
        w1, w2 = module.dequantized()
        h = F.relu(torch.bmm(x, w1))  # [E, C, H], recomputed
        dy = dy * module.output_scale
        dw2 = torch.bmm(h.transpose(1, 2), dy)  # [E, H, D]
        dh = torch.bmm(dy, w2.transpose(1, 2)) * (h > 0)  # [E, C, H]
        dw1 = torch.bmm(x.transpose(1, 2), dh)  # [E, D, H]
        dx = torch.bmm(dh, w1.transpose(1, 2))  # [E, C, D]
        if module.training:
            module.apply_update(dw1, dw2)
        return dx, None


class DietExperts(nn.Module):
    """E two-layer ReLU experts on diet variables (T2T's `diet_expert`), run together.

    Weights start unit-uniform (±√3) and the output is scaled by (D·H)^-0.5, as in T2T.

    Args:
        num_experts: E.
        depth: D, the input and output size.
        hidden_size: H.
        params: the diet optimizer settings.
    """

    def __init__(
        self, num_experts: int, depth: int, hidden_size: int, params: DietAdamParams | None = None
    ) -> None:
        super().__init__()
        self.num_experts = num_experts
        self.params = params or DietAdamParams()
        self.output_scale = (depth * hidden_size) ** -0.5
        bound = math.sqrt(3)
        shapes = {"w1": (num_experts, depth, hidden_size), "w2": (num_experts, hidden_size, depth)}
        for name, shape in shapes.items():
            dtype = torch.int16 if self.params.quantize else torch.float32
            weight = torch.empty(shape, dtype=dtype)
            for expert in weight:  # one expert at a time: no full-size float32 copy
                expert.copy_(self._store(torch.empty(shape[1:]).uniform_(-bound, bound)))
            self.register_buffer(name, weight)
            rows, cols = (*shape[:2], 1), (shape[0], 1, shape[2])  # per-expert factored slots
            self.register_buffer(f"{name}_vr", torch.zeros(rows))
            self.register_buffer(f"{name}_vc", torch.zeros(cols))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def _store(self, value: torch.Tensor) -> torch.Tensor:
        return quantize(value, self.params, randomize=False) if self.params.quantize else value

    def dequantized(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(w1 [E, D, H], w2 [E, H, D]) as float32."""
        if not self.params.quantize:
            return self.w1.float(), self.w2.float()
        return dequantize(self.w1, self.params), dequantize(self.w2, self.params)

    @torch.no_grad()
    def apply_update(self, dw1: torch.Tensor, dw2: torch.Tensor) -> None:
        """One DietAdam step on both weights from their gradients (T2T's `update_variable`)."""
        p = self.params
        self.step += 1
        step = float(self.step)
        lr = diet_learning_rate(step, p)
        correction = 1.0 - p.beta2**step
        for name, grad in (("w1", dw1), ("w2", dw2)):
            squared = grad.float().square()
            vr, vc = getattr(self, f"{name}_vr"), getattr(self, f"{name}_vc")
            vr.mul_(p.beta2).add_(squared.mean(2, keepdim=True), alpha=1 - p.beta2)
            vc.mul_(p.beta2).add_(squared.mean(1, keepdim=True), alpha=1 - p.beta2)
            row = (vr / correction).sqrt() + p.epsilon  # [E, D, 1]
            col = (vc / correction).sqrt() + p.epsilon  # [E, 1, H]
            denom = row * (col / col.mean(dim=(1, 2), keepdim=True))
            weight = getattr(self, name)
            current = dequantize(weight, p) if p.quantize else weight.float()
            weight.copy_(self._store_random(current - lr * grad / denom))

    def _store_random(self, value: torch.Tensor) -> torch.Tensor:
        return quantize(value, self.params) if self.params.quantize else value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [E, C, D] (C tokens per expert) -> [E, C, D]."""
        return _DietFeedForward.apply(x, self)
