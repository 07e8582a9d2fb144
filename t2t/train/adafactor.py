"""Adafactor (Shazeer & Stern 2018) with T2T's defaults and update rule.

T2T's `AdafactorOptimizer` differs from other implementations (e.g. Hugging Face's) in
details that change the numbers, all kept here:
- the second-moment decay is `1 - (step + 1) ** -0.8` ("pow") or Adam-like ("adam"), where
  `step` is the global step of the update (0 for the first);
- `epsilon1 = 1e-30` is added to the squared gradient, `epsilon2 = 1e-3` bounds the
  parameter scale from below;
- factored second moments for every parameter with >= 2 dims, over the LAST two dims
  (higher dims are batch dims); the row factor is normalised by its mean;
- update clipping `x /= max(1, rms(x) / clipping_threshold)` happens BEFORE scaling by the
  learning rate and before momentum;
- with `multiply_by_parameter_scale` the learning rate is a relative step size that is
  multiplied by max(rms(param), epsilon2).
Factoring is symmetric in rows and columns, so a torch `[out, in]` weight gets the same
update as T2T's `[in, out]` kernel.
"""

import math
from collections.abc import Iterable
from typing import Any

import torch


def decay_rate_pow(step: int, exponent: float = 0.8) -> float:
    """Second-moment decay whose memory grows as step ** exponent: 1 - (step + 1) ** -exponent."""
    return 1.0 - (step + 1.0) ** -exponent


def decay_rate_adam(step: int, beta2: float = 0.999) -> float:
    """Adam-like decay that subsumes Adam's bias correction (0 at the first step)."""
    t = step + 1.0
    return beta2 * (1.0 - beta2 ** (t - 1.0)) / (1.0 - beta2**t)


def _rms(x: torch.Tensor) -> torch.Tensor:
    return x.square().mean().sqrt()


class Adafactor(torch.optim.Optimizer):
    """T2T's Adafactor.

    The trainer sets each group's "lr" every step. With `lr=None` (constructing it directly)
    T2T's default is used: min(1 / sqrt(step + 1), 0.01), x0.05 without parameter scaling.

    Args:
        params: parameters or parameter groups.
        lr: learning rate (relative step size when multiply_by_parameter_scale), or None.
        decay_type: "pow" (memory_exponent) or "adam" (beta2).
        memory_exponent: exponent of the "pow" decay (T2T 0.8).
        beta2: beta2 of the "adam" decay (T2T 0.999).
        beta1: momentum; 0 keeps no first moment (T2T default).
        clipping_threshold: update clipping threshold, or None for no clipping.
        factored: factor second moments of parameters with >= 2 dims.
        multiply_by_parameter_scale: scale the step by the parameter's RMS.
        epsilon1: added to squared gradients.
        epsilon2: lower bound of the parameter scale.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | None = None,
        decay_type: str = "pow",
        memory_exponent: float = 0.8,
        beta2: float = 0.999,
        beta1: float = 0.0,
        clipping_threshold: float | None = 1.0,
        factored: bool = True,
        multiply_by_parameter_scale: bool = True,
        epsilon1: float = 1e-30,
        epsilon2: float = 1e-3,
    ) -> None:
        if decay_type not in ("pow", "adam"):
            raise ValueError(f"unknown optimizer_adafactor_decay_type {decay_type!r}")
        defaults = dict(
            lr=lr,
            decay_type=decay_type,
            memory_exponent=memory_exponent,
            beta2=beta2,
            beta1=beta1,
            clipping_threshold=clipping_threshold,
            factored=factored,
            multiply_by_parameter_scale=multiply_by_parameter_scale,
            epsilon1=epsilon1,
            epsilon2=epsilon2,
            step=0,  # T2T's global step: one per step() call, shared by all parameters
        )
        super().__init__(params, defaults)

    @staticmethod
    def _decay_and_lr(group: dict[str, Any]) -> tuple[float, float]:
        step = group["step"]
        if group["decay_type"] == "pow":
            decay = decay_rate_pow(step, group["memory_exponent"])
        else:
            decay = decay_rate_adam(step, group["beta2"])
        lr = group["lr"]
        if lr is None:
            lr = min(1.0 / math.sqrt(step + 1.0), 0.01)
            if not group["multiply_by_parameter_scale"]:
                lr *= 0.05
        return decay, lr

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One Adafactor update of every parameter with a gradient (T2T's rule, module doc).

        Args:
            closure: torch's optional closure that recomputes and returns the loss.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            decay, lr = self._decay_and_lr(group)
            for param in group["params"]:
                if param.grad is not None:
                    self._update(param, group, decay, lr)
            group["step"] += 1
        return loss

    def _update(self, param: torch.Tensor, group: dict[str, Any], decay: float, lr: float) -> None:
        if param.grad.is_sparse:
            raise RuntimeError("Adafactor does not support sparse gradients")
        grad = param.grad.float()
        value = param.float()
        state = self.state[param]
        grad_sq = grad.square() + group["epsilon1"]
        mix = 1.0 - decay
        if group["factored"] and param.dim() >= 2:
            if not state:
                state["vr"] = torch.zeros(grad.shape[:-1], device=grad.device)  # [..., R]
                state["vc"] = torch.zeros(grad.shape[:-2] + grad.shape[-1:], device=grad.device)
            vr, vc = state["vr"], state["vc"]
            vr.mul_(decay).add_(grad_sq.mean(dim=-1), alpha=mix)  # [..., R]
            vc.mul_(decay).add_(grad_sq.mean(dim=-2), alpha=mix)  # [..., C]
            row_factor = (vr / vr.mean(dim=-1, keepdim=True)).rsqrt()  # [..., R]
            col_factor = vc.rsqrt()  # [..., C]
            update = grad * row_factor.unsqueeze(-1) * col_factor.unsqueeze(-2)  # [..., R, C]
        else:
            if not state:
                state["v"] = torch.zeros_like(grad)
            v = state["v"]
            v.mul_(decay).add_(grad_sq, alpha=mix)
            update = grad * v.rsqrt()
        if group["clipping_threshold"] is not None:
            update /= torch.clamp(_rms(update) / group["clipping_threshold"], min=1.0)
        scale = lr
        if group["multiply_by_parameter_scale"]:
            scale = lr * torch.clamp(_rms(value), min=group["epsilon2"])
        update = update * scale
        if group["beta1"]:
            if "m" not in state:
                state["m"] = torch.zeros_like(grad)
            state["m"].mul_(group["beta1"]).add_(update, alpha=1.0 - group["beta1"])
            update = state["m"]
        param.copy_((value - update).to(param.dtype))


def adafactor_from_hparams(params: Iterable[Any], hparams: Any) -> Adafactor:
    """Adafactor configured like T2T's `adafactor_optimizer_from_hparams`.

    Raises:
        ValueError: for an unknown `optimizer_adafactor_decay_type` (as T2T).
    """
    return Adafactor(
        params,
        lr=None,  # the trainer sets the schedule's value every step
        decay_type=hparams.optimizer_adafactor_decay_type,
        memory_exponent=hparams.optimizer_adafactor_memory_exponent,
        beta2=hparams.optimizer_adafactor_beta2,
        beta1=hparams.optimizer_adafactor_beta1,
        clipping_threshold=hparams.optimizer_adafactor_clipping_threshold,
        factored=hparams.optimizer_adafactor_factored,
        multiply_by_parameter_scale=hparams.optimizer_adafactor_multiply_by_parameter_scale,
    )
