"""Scheduled sampling: T2T's `scheduled_sampling_*` hparams.

Scheduled sampling trains the decoder on some of its own samples instead of the gold prefix.
T2T's two methods, as its `T2TModel.maybe_scheduled_sampling` defines them:

- "parallel": sample every position from the logits of a teacher-forced pass; each target
  token is replaced by the sampled one with probability `mixin_prob`; run the model again
  on the mixed targets. With `scheduled_sampling_num_passes` = n, pass i keeps the tokens
  of pass i-1 before position i and resamples the rest. (T2T warns that this is not
  faithful scheduled sampling: position t is sampled given gold tokens before t.)
- "sequential": build the conditioning tokens left to right, one model pass per position
  (position t sampled given the mixed tokens before it), then one last pass on them.

The loss is always taken against the gold targets; only the last pass carries gradients
(samples are constants, as T2T's stop_gradient made them). `mixin_prob` grows from
0.001 x `scheduled_sampling_gold_mixin_prob` to `scheduled_sampling_gold_mixin_prob` over
`scheduled_sampling_warmup_steps` by `scheduled_sampling_warmup_schedule` (exp, linear,
sigmoid). As in T2T, `scheduled_sampling_prob` must be 0 (off) or 1 (on), and it applies to
training only and to symbol targets only.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from t2t.errors import HParamsError

Features = dict[str, torch.Tensor]

_MIN_MIX = 0.001  # T2T's min_value for the warmup of the mixing probability


def inverse_exp_decay(max_step: float, step: float, min_value: float = 0.01) -> float:
    """Grows exponentially from min_value at step 0 to 1.0 at max_step (T2T's)."""
    inv_base = math.exp(math.log(min_value) / float(max_step))
    return inv_base ** max(float(max_step) - step, 0.0)


def inverse_lin_decay(max_step: float, step: float, min_value: float = 0.01) -> float:
    """Grows linearly from min_value at step 0 to 1.0 at max_step (T2T's)."""
    progress = min(step / float(max_step), 1.0)
    return progress * (1.0 - min_value) + min_value


def inverse_sigmoid_decay(max_step: float, step: float, min_value: float = 0.01) -> float:
    """Grows along a sigmoid from min_value at step 0 to 1.0 at max_step (T2T's)."""
    if not 0.0 < min_value < 0.5:
        raise HParamsError(f"inverse_sigmoid_decay needs 0 < min_value < 0.5, got {min_value}")
    y_min, y_max = min_value, 1.0 - min_value
    x_min, x_max = math.log(y_min / (1 - y_min)), math.log(y_max / (1 - y_max))
    x = x_min + (x_max - x_min) * min(step / float(max_step), 1.0)
    y = (1.0 / (1.0 + math.exp(-x)) - y_min) / (y_max - y_min)
    return y * (1.0 - y_min) + y_min


_WARMUPS = {"exp": inverse_exp_decay, "linear": inverse_lin_decay, "sigmoid": inverse_sigmoid_decay}
_METHODS = ("parallel", "sequential")
_SYMBOL_MODALITIES = ("symbol", "symbol_weights_all")


@dataclasses.dataclass
class ScheduledSampling:
    """The scheduled-sampling hparams, checked; `forward` replaces the model call in training."""

    method: str = "parallel"
    warmup_steps: int = 50000
    gold_mixin_prob: float = 0.5
    num_passes: int = 1
    warmup_schedule: str = "exp"

    @classmethod
    def from_hparams(cls, hparams: Any) -> ScheduledSampling | None:
        """None when `scheduled_sampling_prob` is 0 (the default).

        Raises:
            HParamsError: a probability other than 0 or 1, an unknown method or warmup
                schedule, num_passes < 1, or sequential with num_passes != 1 (as in T2T).
        """
        prob = hparams.get("scheduled_sampling_prob", 0.0) or 0.0
        if prob == 0.0:
            return None
        if prob != 1.0:
            raise HParamsError(f"scheduled_sampling_prob must be 0 or 1 (as in T2T), got {prob}")
        config = cls(
            method=hparams.scheduled_sampling_method,
            warmup_steps=hparams.scheduled_sampling_warmup_steps,
            gold_mixin_prob=hparams.scheduled_sampling_gold_mixin_prob,
            num_passes=hparams.scheduled_sampling_num_passes,
            warmup_schedule=hparams.scheduled_sampling_warmup_schedule,
        )
        if config.method not in _METHODS:
            raise HParamsError(f"unknown scheduled_sampling_method {config.method!r}: {_METHODS}")
        if config.warmup_schedule not in _WARMUPS:
            raise HParamsError(
                f"unknown scheduled_sampling_warmup_schedule {config.warmup_schedule!r}: "
                f"{', '.join(_WARMUPS)}"
            )
        if config.num_passes < 1:
            raise HParamsError("scheduled_sampling_num_passes must be > 0")
        if config.method == "sequential" and config.num_passes != 1:
            raise HParamsError("sequential scheduled sampling needs num_passes=1 (as in T2T)")
        if hparams.get("vocab_divisor", 1) != 1:
            raise HParamsError("scheduled sampling needs vocab_divisor=1 (as in T2T)")
        return config

    def mixin_prob(self, step: int) -> float:
        """Probability that a target token is replaced by a sampled one at global `step`."""
        warmup = _WARMUPS[self.warmup_schedule]
        return self.gold_mixin_prob * warmup(self.warmup_steps, float(step), _MIN_MIX)

    def forward(
        self, train_model: Any, model: Any, features: Features, step: int
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """`train_model(features)` with scheduled sampling: (logits [B, T, V], losses).

        Args:
            train_model: the module to call (the model, or its DDP / compiled wrapper).
            model: the plain model: its `loss(logits, features)` scores against gold, and
                its `target_modality` must be a symbol modality.
            features: the batch; "targets" [B, T] are the gold tokens.
            step: the global step (for the warmup of the mixing probability).
        """
        modality = getattr(model, "target_modality", None)
        if modality not in _SYMBOL_MODALITIES or not hasattr(model, "loss"):
            raise HParamsError(
                f"scheduled sampling applies to symbol targets only (found {modality!r}); "
                "set scheduled_sampling_prob=0"
            )
        gold = features["targets"]
        mix = self.mixin_prob(step)
        if self.method == "parallel":
            mixed = self._parallel_targets(train_model, features, gold, mix)
        else:
            mixed = self._sequential_targets(train_model, features, gold, mix)
        logits, losses = train_model({**features, "targets": mixed})
        losses = dict(losses)
        losses.update(model.loss(logits, features))  # scored against the gold targets
        return logits, losses

    def _parallel_targets(
        self, train_model: Any, features: Features, gold: torch.Tensor, mix: float
    ) -> torch.Tensor:
        positions = torch.arange(gold.shape[1], device=gold.device)[None, :]  # [1, T]
        targets = gold
        with torch.no_grad():
            logits, _ = train_model(features)  # the teacher-forced pass
            for i in range(self.num_passes):
                if i > 0:
                    logits, _ = train_model({**features, "targets": targets})
                mixed = _mix(gold, _sample(logits), mix)
                targets = torch.where(positions >= i, mixed, targets)  # [B, T]
        return targets

    def _sequential_targets(
        self, train_model: Any, features: Features, gold: torch.Tensor, mix: float
    ) -> torch.Tensor:
        tokens = torch.zeros_like(gold)  # [B, T]
        with torch.no_grad():
            for t in range(gold.shape[1]):
                logits, _ = train_model({**features, "targets": tokens})
                sampled = _sample(logits[:, t : t + 1])  # [B, 1]
                tokens = tokens.clone()
                tokens[:, t : t + 1] = _mix(gold[:, t : t + 1], sampled, mix)
        return tokens


def _sample(logits: torch.Tensor) -> torch.Tensor:
    """One token per position from softmax(logits): [B, T, V] -> [B, T]."""
    batch, length, vocab = logits.shape
    probs = torch.softmax(logits.float().reshape(-1, vocab), dim=-1)  # [B*T, V]
    return torch.multinomial(probs, 1).reshape(batch, length)  # [B, T]


def _mix(gold: torch.Tensor, sampled: torch.Tensor, mix: float) -> torch.Tensor:
    """Each position independently: the sampled token with probability `mix`, else gold."""
    use_sampled = torch.rand(gold.shape, device=gold.device) < mix
    return torch.where(use_sampled, sampled.to(gold.dtype), gold)
