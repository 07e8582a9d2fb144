"""Dynamic loss scaling for float16 training, as T2T 1.15.7 configured it.

T2T wraps its optimizer in TF's `LossScaleOptimizer` with an
`ExponentialUpdateLossScaleManager` when `activation_dtype` is "float16" and `weight_dtype`
"float32" (`mixed_precision_optimizer_loss_scaler="exponential"`, the default). The loss
is multiplied by the scale before the backward pass and the gradients divided by it after,
so that small float16 gradients do not underflow. Then:

- a step whose gradients hold an inf or NaN is skipped: no update, and the global step does
  not advance (TF increments it inside the skipped `apply_gradients`);
- every 2nd such step (counted since the scale last changed, not necessarily in a row) the
  scale halves, but never below 1;
- after 2000 finite steps in a row the scale doubles (if that stays finite in float32).

torch's `GradScaler` does the same with other constants (it backs off at every overflow and
still advances the step), so t2t keeps its own small scaler with T2T's.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import torch

from t2t.errors import HParamsError

log = logging.getLogger("t2t")

INCREASE_EVERY_N_STEPS = 2000
DECREASE_EVERY_N_NAN_OR_INF = 2
INCREASE_RATIO = 2.0
DECREASE_RATIO = 0.5
_NO_SCALER = ("", "none", "None", "0", "false", "False")


class LossScaler:
    """T2T's exponential-update loss scale: scale the loss, unscale and check the gradients.

    Args:
        init_scale: the first scale (T2T's mixed_precision_optimizer_init_loss_scale).
        increase_every_n_steps: finite steps in a row after which the scale grows.
        decrease_every_n_nan_or_inf: overflowing steps after which the scale shrinks.
    """

    def __init__(
        self,
        init_scale: float = 2.0**15,
        increase_every_n_steps: int = INCREASE_EVERY_N_STEPS,
        decrease_every_n_nan_or_inf: int = DECREASE_EVERY_N_NAN_OR_INF,
    ) -> None:
        self.scale = float(init_scale)
        self.increase_every_n_steps = increase_every_n_steps
        self.decrease_every_n_nan_or_inf = decrease_every_n_nan_or_inf
        self.good_steps = 0
        self.bad_steps = 0
        self.last_scale = self.scale  # the scale of the last unscaled step

    def scaled(self, loss: torch.Tensor) -> torch.Tensor:
        """The loss [] times the scale, to differentiate."""
        return loss * self.scale

    @torch.no_grad()
    def unscale_and_update(self, parameters: list[torch.nn.Parameter]) -> bool:
        """Divides the gradients by the scale, then updates the scale.

        Args:
            parameters: the trained parameters (those without a gradient are left alone).

        Returns:
            Whether every gradient is finite, i.e. whether the optimizer should step.
        """
        grads = [p.grad for p in parameters if p.grad is not None]
        self.last_scale = self.scale
        finite = True
        if grads:
            found_inf = torch.zeros(1, device=grads[0].device)
            inverse = torch.full((1,), 1.0 / self.scale, device=grads[0].device)
            for group in _by_device_and_dtype(grads):
                torch._amp_foreach_non_finite_check_and_unscale_(group, found_inf, inverse)
            finite = not bool(found_inf.item())
        self.update(finite)
        return finite

    def update(self, finite: bool) -> None:
        """TF's ExponentialUpdateLossScaleManager.update_loss_scale for one step."""
        if finite:
            if self.good_steps + 1 >= self.increase_every_n_steps:
                if math.isfinite(float(torch.tensor(self.scale * INCREASE_RATIO))):
                    self.scale *= INCREASE_RATIO
                self.good_steps = self.bad_steps = 0
            else:
                self.good_steps += 1
        elif self.bad_steps + 1 >= self.decrease_every_n_nan_or_inf:
            self.scale = max(1.0, self.scale * DECREASE_RATIO)
            self.good_steps = self.bad_steps = 0
            log.info("gradients overflowed: loss scale lowered to %g", self.scale)
        else:
            self.bad_steps += 1
            self.good_steps = 0

    def state_dict(self) -> dict[str, Any]:
        """The scale and the step counters (saved with each checkpoint)."""
        return {"scale": self.scale, "good_steps": self.good_steps, "bad_steps": self.bad_steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores what `state_dict` returned."""
        self.scale = float(state["scale"])
        self.good_steps, self.bad_steps = int(state["good_steps"]), int(state["bad_steps"])


def _by_device_and_dtype(grads: list[torch.Tensor]) -> list[list[torch.Tensor]]:
    groups: dict[tuple, list[torch.Tensor]] = {}
    for grad in grads:
        groups.setdefault((grad.device, grad.dtype), []).append(grad)
    return list(groups.values())


def initial_loss_scale(hparams: Any) -> float | None:
    """T2T's first loss scale for hparams, or None for no loss scaling.

    T2T scales the loss when activation_dtype is "float16", weight_dtype "float32" and
    mixed_precision_optimizer_loss_scaler "exponential"; it then starts from
    mixed_precision_optimizer_init_loss_scale. An empty scaler name turns scaling off with
    T2T's warning; so does "none" (which T2T refused).

    Raises:
        HParamsError: another scaler name (T2T supports only "exponential").
    """
    if hparams.get("activation_dtype", "float32") != "float16":
        return None
    if hparams.get("weight_dtype", "float32") != "float32":
        return None
    kind = hparams.get("mixed_precision_optimizer_loss_scaler", "exponential")
    if not kind or str(kind) in _NO_SCALER:
        log.warning("float16 training without a loss scaler will likely cause numerical errors")
        return None
    if kind != "exponential":
        raise HParamsError(
            f"mixed_precision_optimizer_loss_scaler={kind!r}: only 'exponential' (or '' / "
            "'none' for no scaling) is supported, as in T2T"
        )
    return float(hparams.get("mixed_precision_optimizer_init_loss_scale", 2**15))
