"""Registered optimizers, built from hparams as T2T builds them.

A registered optimizer is `fn(params, hparams) -> torch.optim.Optimizer`. The trainer sets
every parameter group's "lr" from the learning-rate schedule before each step, so the
optimizers are built with lr=0.0 (T2T passed the schedule tensor instead).

T2T's Adam is TensorFlow's: epsilon is added to the *uncorrected* sqrt(v) and the bias
correction is folded into the step size (`lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)`). That is
not torch.optim.Adam's formula, so `Adam` below implements TF's. T2T's "adam" is LazyAdam,
which differs only for sparse gradients; our embeddings produce dense gradients, where it is
plain Adam. Momentum and SGD are torch's (same formulas as TF's).

Regularisation that T2T applied outside the optimizer (L2 weight decay in the loss,
gradient noise) lives here as functions the trainer calls between backward and step.
"""

from collections.abc import Iterable
from typing import Any

import torch

from t2t import registry
from t2t.train.adafactor import adafactor_from_hparams


class Adam(torch.optim.Optimizer):
    """Adam with TensorFlow's update (epsilon-hat), as T2T trains with.

    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    param -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
    The step count t is shared by all parameters (TF's beta-power accumulators).

    Args:
        params: parameters or parameter groups.
        lr: learning rate (the trainer overwrites it every step).
        betas: (beta1, beta2).
        eps: TF's epsilon.
        decoupled_weight_decay: contrib AdamW's decay, `param -= wd * param` before the Adam
            update (NOT multiplied by lr, as in TF contrib).
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        decoupled_weight_decay: float = 0.0,
    ) -> None:
        defaults = dict(
            lr=lr, betas=betas, eps=eps, decoupled_weight_decay=decoupled_weight_decay, step=0
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """One Adam update of every parameter with a gradient, with TF's formula (class doc).

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
            params = [p for p in group["params"] if p.grad is not None]
            self._apply(group, params, [p.grad for p in params])
        return loss

    def _apply(
        self, group: dict[str, Any], params: list[torch.Tensor], grads: list[torch.Tensor]
    ) -> None:
        """One Adam update of `params` with `grads`; advances the group's step count."""
        group["step"] += 1
        if not params:
            return
        if any(g.is_sparse for g in grads):
            raise RuntimeError("t2t's Adam needs dense gradients (use sparse=False embeddings)")
        beta1, beta2 = group["betas"]
        t = group["step"]
        for p in params:
            if "exp_avg" not in self.state[p]:
                self.state[p]["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                self.state[p]["exp_avg_sq"] = torch.zeros_like(
                    p, memory_format=torch.preserve_format
                )
        exp_avgs = [self.state[p]["exp_avg"] for p in params]
        exp_avg_sqs = [self.state[p]["exp_avg_sq"] for p in params]
        if group["decoupled_weight_decay"]:
            torch._foreach_mul_(params, 1.0 - group["decoupled_weight_decay"])
        torch._foreach_lerp_(exp_avgs, grads, 1.0 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
        denominators = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_add_(denominators, group["eps"])
        step_size = group["lr"] * (1.0 - beta2**t) ** 0.5 / (1.0 - beta1**t)
        torch._foreach_addcdiv_(params, exp_avgs, denominators, value=-step_size)


class MultistepAdam(Adam):
    """T2T's MultistepAdamOptimizer: Adam on gradients accumulated over n steps.

    Each `step()` call is one T2T global step (one micro-batch): the gradient is added to
    an accumulator, and every n-th call Adam is applied to the mean of the n accumulated
    gradients, the accumulator is zeroed and the beta powers advance. As in T2T, the first
    update happens at the n-th call, and gradient clipping (done by the trainer before
    `step()`) applies to each micro-batch's gradient.

    Args:
        params, lr, betas, eps: as `Adam`.
        accumulate_steps: n (optimizer_multistep_accumulate_steps); 0 or 1 = plain Adam.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        accumulate_steps: int = 1,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps)
        n = max(1, int(accumulate_steps))
        for group in self.param_groups:
            group["accumulate_steps"] = n
            group["iteration"] = 1 if n > 1 else 0  # T2T's "iter" counter

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        """Accumulates this micro-batch's gradients; every n-th call applies Adam to their mean.

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
            n = group["accumulate_steps"]
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if "grad_acc" not in self.state[p]:
                    self.state[p]["grad_acc"] = torch.zeros_like(p)
            accumulators = [self.state[p]["grad_acc"] for p in params]
            if params:
                torch._foreach_add_(accumulators, [p.grad for p in params])
            if group["iteration"] == 0:
                if params:
                    torch._foreach_div_(accumulators, float(n))
                self._apply(group, params, accumulators)
                if params:
                    torch._foreach_zero_(accumulators)
            group["iteration"] = (group["iteration"] + 1) % n
        return loss


def _adam_args(hparams: Any) -> dict[str, Any]:
    return dict(
        lr=0.0,
        betas=(hparams.optimizer_adam_beta1, hparams.optimizer_adam_beta2),
        eps=hparams.optimizer_adam_epsilon,
    )


@registry.register_optimizer("adam")
def adam(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """T2T "adam" (LazyAdam; identical to Adam for dense gradients)."""
    return Adam(params, **_adam_args(hparams))


@registry.register_optimizer("true_adam")
def true_adam(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """T2T "true_adam" (tf.train.AdamOptimizer)."""
    return Adam(params, **_adam_args(hparams))


@registry.register_optimizer("adam_w")
def adam_w(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """T2T "adam_w": contrib AdamW, decoupled decay `weight_decay` (not scaled by lr).

    T2T's L2-in-the-loss weight decay also applies (the trainer adds it), as in T2T.
    """
    return Adam(params, decoupled_weight_decay=hparams.weight_decay, **_adam_args(hparams))


@registry.register_optimizer("multistep_adam")
def multistep_adam(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """T2T "multistep_adam": Adam every optimizer_multistep_accumulate_steps micro-batches."""
    return MultistepAdam(
        params,
        accumulate_steps=hparams.optimizer_multistep_accumulate_steps,
        **_adam_args(hparams),
    )


@registry.register_optimizer("adafactor")
def adafactor(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """T2T "adafactor" (see t2t.train.adafactor)."""
    return adafactor_from_hparams(params, hparams)


@registry.register_optimizer("momentum")
def momentum(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """tf.train.MomentumOptimizer: accum = mu accum + g; param -= lr accum (or Nesterov)."""
    return torch.optim.SGD(
        params,
        lr=0.0,
        momentum=hparams.optimizer_momentum_momentum,
        nesterov=hparams.optimizer_momentum_nesterov,
    )


@registry.register_optimizer("sgd")
def sgd(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """Plain gradient descent (tf.train.GradientDescentOptimizer)."""
    return torch.optim.SGD(params, lr=0.0)


@registry.register_optimizer("adagrad")
def adagrad(params: Iterable[Any], hparams: Any) -> torch.optim.Optimizer:
    """tf.train.AdagradOptimizer defaults: accumulators start at 0.1, no epsilon."""
    return torch.optim.Adagrad(params, lr=0.0, initial_accumulator_value=0.1, eps=0.0)


def decayed_parameters(named_parameters: Iterable[tuple[str, torch.nn.Parameter]]) -> list:
    """The parameters T2T's `weight_decay` applies to: all trainable ones except biases.

    T2T skips 1-D variables whose name ends with "bias" (dense biases and layer-norm
    biases); layer-norm scales, embeddings and kernels are decayed. Torch names them
    `...bias` too, so the same rule applies.
    """
    return [
        p
        for name, p in named_parameters
        if p.requires_grad and not (p.dim() == 1 and name.endswith("bias"))
    ]


def add_weight_decay_gradient(parameters: list[torch.Tensor], weight_decay: float) -> None:
    """Adds the gradient of T2T's weight-decay loss `wd * sum(||p||^2 / 2)`: grad += wd * p.

    Same gradient as T2T's loss term (L2 in the loss, coupled: it goes through Adam and
    gradient clipping), without building the loss.
    """
    if not weight_decay:
        return
    with_grad = [p for p in parameters if p.grad is not None]
    if with_grad:
        torch._foreach_add_([p.grad for p in with_grad], with_grad, alpha=weight_decay)


def weight_decay_loss(parameters: list[torch.Tensor], weight_decay: float) -> float:
    """T2T's "losses/weight_decay" summary value: wd * sum(||p||^2 / 2)."""
    if not weight_decay:
        return 0.0
    with torch.no_grad():
        total = sum(p.detach().float().square().sum() for p in parameters)
    return float(total) * weight_decay / 2.0


def add_gradient_noise(parameters: list[torch.Tensor], scale: float) -> None:
    """T2T's grad_noise_scale: g += N(0, 1) * scale, elementwise, no annealing."""
    if not scale:
        return
    with torch.no_grad():
        for p in parameters:
            if p.grad is not None:
                p.grad.add_(torch.randn_like(p.grad), alpha=scale)


def body_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The trainable parameters outside the modalities (T2T's variables under "/body/")."""
    modality_params = set()
    for attr in ("modality_weights", "bottoms", "target_bottom", "target_top"):
        part = getattr(model, attr, None)
        if isinstance(part, torch.nn.Module):
            modality_params.update(id(p) for p in part.parameters())
    return [p for p in model.parameters() if p.requires_grad and id(p) not in modality_params]


def add_weight_noise(
    parameters: list[torch.nn.Parameter], noise_rate: float, learning_rate: float
) -> None:
    """T2T's weight_noise: p += truncated_normal(0, 1, ±2) * noise_rate * learning_rate / 1000."""
    if not noise_rate:
        return
    scale = noise_rate * learning_rate * 0.001
    with torch.no_grad():
        for p in parameters:
            noise = torch.nn.init.trunc_normal_(torch.empty_like(p), 0.0, 1.0, -2.0, 2.0)
            p.add_(noise, alpha=scale)


def build_optimizer(model: torch.nn.Module, hparams: Any) -> torch.optim.Optimizer:
    """The registered optimizer `hparams.optimizer` over the model's trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return registry.optimizer(hparams.optimizer)(params, hparams)
