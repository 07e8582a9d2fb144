"""Learning-rate schedules: T2T's factor string and its legacy decay schemes.

`hparams.learning_rate_schedule` is a product of named factors, e.g.
"constant*linear_warmup*rsqrt_decay*rsqrt_hidden_size" (transformer_base). Every factor is a
registered function `factor(step, hparams) -> float`, so user code can add factors with
`@registry.register_learning_rate_schedule("name")`, as T2T users could not.

Step convention (as in T2T): the learning rate of the update made at global step `s` (the
number of updates already made, 0 for the first update) is `schedule(s)`. With
`optimizer_multistep_accumulate_steps = n > 0` the schedule sees `s / n` (float division),
because the global step then counts micro-batches. So transformer_base's first update has
learning rate 0, exactly as in T2T.
"""

import math
from collections.abc import Callable
from typing import Any

from t2t import registry
from t2t.errors import HParamsError

register = registry.register_learning_rate_schedule


def _train_steps(hparams: Any) -> float:
    train_steps = hparams.get("train_steps")
    if train_steps is None:
        raise HParamsError(
            "this learning_rate_schedule needs hparams.train_steps; the trainer sets it from "
            "--train_steps"
        )
    return float(train_steps)


@register("constant")
def constant(step: float, hparams: Any) -> float:
    """`learning_rate_constant`."""
    return float(hparams.learning_rate_constant)


@register("linear_warmup")
def linear_warmup(step: float, hparams: Any) -> float:
    """min(1, step / warmup): 0 at step 0."""
    return min(1.0, step / hparams.learning_rate_warmup_steps)


@register("linear_decay")
def linear_decay(step: float, hparams: Any) -> float:
    """Linear decay to 0 over the last `learning_rate_decay_steps` of `train_steps`."""
    remaining = (_train_steps(hparams) - step) / hparams.learning_rate_decay_steps
    return min(1.0, max(0.0, remaining))


@register("cosdecay")
def cosdecay(step: float, hparams: Any) -> float:
    """1 during warmup (step <= warmup), then 0.5 (1 + cos(pi step / decay_steps))."""
    if step <= hparams.learning_rate_warmup_steps:
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * step / hparams.learning_rate_decay_steps))


@register("single_cycle_cos_decay")
def single_cycle_cos_decay(step: float, hparams: Any) -> float:
    """One cosine from 1 (end of warmup) to 0 (train_steps).

    Raises:
        HParamsError: if train_steps <= learning_rate_warmup_steps (T2T raises ValueError).
    """
    warmup = hparams.learning_rate_warmup_steps
    train_steps = _train_steps(hparams)
    if train_steps <= warmup:
        raise HParamsError(
            "single_cycle_cos_decay cannot be used unless hparams.train_steps > "
            "hparams.learning_rate_warmup_steps"
        )
    since_warmup = max(step, warmup) - warmup
    return 0.5 * math.cos(math.pi * since_warmup / (train_steps - warmup)) + 0.5


@register("multi_cycle_cos_decay")
def multi_cycle_cos_decay(step: float, hparams: Any) -> float:
    """Cosine cycles of `learning_rate_decay_steps`, starting at 1 when warmup ends."""
    warmup = hparams.learning_rate_warmup_steps
    since_warmup = max(step, warmup) - warmup
    return 0.5 * math.cos(math.pi * since_warmup / hparams.learning_rate_decay_steps) + 0.5


@register("rsqrt_decay")
def rsqrt_decay(step: float, hparams: Any) -> float:
    """1 / sqrt(max(step, warmup))."""
    return 1.0 / math.sqrt(max(step, hparams.learning_rate_warmup_steps))


@register("rsqrt_normalized_decay")
def rsqrt_normalized_decay(step: float, hparams: Any) -> float:
    """sqrt(warmup) / sqrt(max(step, warmup)): 1 during warmup."""
    warmup = hparams.learning_rate_warmup_steps
    return math.sqrt(warmup) / math.sqrt(max(step, warmup))


@register("exp_decay")
def exp_decay(step: float, hparams: Any) -> float:
    """decay_rate ** max(0, (step - warmup) / decay_steps), floored when staircase."""
    progress = (step - hparams.learning_rate_warmup_steps) / hparams.learning_rate_decay_steps
    progress = max(progress, 0.0)
    if hparams.learning_rate_decay_staircase:
        progress = math.floor(progress)
    return float(hparams.learning_rate_decay_rate) ** progress


@register("rsqrt_hidden_size")
def rsqrt_hidden_size(step: float, hparams: Any) -> float:
    """hidden_size ** -0.5."""
    return hparams.hidden_size**-0.5


@register("legacy")
def legacy(step: float, hparams: Any) -> float:
    """The legacy schedule (`learning_rate_decay_scheme`), including x learning_rate."""
    return legacy_learning_rate(step, hparams)


def legacy_learning_rate(step: float, hparams: Any) -> float:
    """T2T's legacy schedule: warmup/decay by `learning_rate_decay_scheme`.

    The result includes `hparams.learning_rate` and T2T's optimizer correction: x0.002 when
    the substring "adam" occurs in `hparams.optimizer` (case-sensitive, as in T2T, so
    "multistep_adam" and "adam_w" count but "Adam" does not). `learning_rate_minimum` is
    ignored, as in T2T.
    """
    warmup = hparams.learning_rate_warmup_steps
    if hparams.learning_rate_decay_scheme == "noam":
        ret = (
            5000.0
            * hparams.hidden_size**-0.5
            * min((step + 1) * float(warmup) ** -1.5, (step + 1) ** -0.5)
        )
    elif step < warmup:
        # Exponential warmup from 0.01 to 1 (T2T's "exp" warmup); step < warmup implies warmup > 0.
        ret = 0.01 ** ((warmup - step) / warmup)
    else:
        ret = _legacy_decay(step, hparams)
    correction = 0.002 if "adam" in hparams.optimizer else 1.0
    return ret * correction * hparams.learning_rate


_LEGACY_SCHEMES = ("", "none", "noam", "exp", "piecewise", "cosine", "cyclelinear10x", "sqrt")


def _legacy_decay(step: float, hparams: Any) -> float:
    scheme = hparams.learning_rate_decay_scheme
    warmup = float(hparams.learning_rate_warmup_steps)
    if not scheme or scheme == "none":
        return 1.0
    if scheme == "exp":
        # No max(0, .) here, unlike the "exp_decay" factor; it only runs after warmup anyway.
        progress = (step - warmup) / hparams.learning_rate_decay_steps
        if hparams.learning_rate_decay_staircase:
            progress = math.floor(progress)
        return float(hparams.learning_rate_decay_rate) ** progress
    if scheme == "piecewise":
        return _piecewise(step, hparams.learning_rate_boundaries, hparams.learning_rate_multiples)
    if scheme == "cosine":
        cycle = hparams.learning_rate_cosine_cycle_steps
        position = math.fmod(step, 2 * cycle)  # step >= 0, so fmod == TF's floormod
        position = cycle - abs(cycle - position)
        return 0.5 * (1.0 + math.cos(math.pi * position / cycle))
    if scheme == "cyclelinear10x":
        # Up and down linearly between 0.3 and 3.3 with period 2 * warmup.
        position = (math.fmod(step, 2 * warmup) - warmup) / warmup
        return (1.0 - abs(position) + 0.1) * 3.0
    if scheme == "sqrt":
        return 500.0 / math.sqrt(max(step - warmup, 1.0))
    raise HParamsError(f"Unrecognized learning rate decay scheme: {scheme}")


def _piecewise(step: float, boundaries: list[float], multiples: list[float]) -> float:
    """tf.train.piecewise_constant with values [1.0] + multiples (not cumulative)."""
    values = [1.0] + list(multiples)
    if len(values) != len(boundaries) + 1:
        raise HParamsError(
            "learning_rate_multiples must have as many entries as learning_rate_boundaries "
            f"(got {len(multiples)} and {len(boundaries)})"
        )
    for boundary, value in zip(boundaries, values):
        if step <= float(boundary):
            return float(value)
    return float(values[-1])


def factor_names(schedule: str) -> list[str]:
    """The factor names of a schedule string: split on "*", stripped, empties dropped."""
    return [name.strip() for name in schedule.split("*") if name.strip()]


def _factor(name: str) -> Callable[[float, Any], float]:
    try:
        return registry.learning_rate_schedule(name)
    except KeyError as err:
        # T2T raised ValueError; HParamsError is a ValueError and names close matches.
        raise HParamsError(f"unknown learning rate factor {name}: {err}") from None


def learning_rate_schedule(hparams: Any) -> Callable[[int], float]:
    """The learning rate as a function of the global step, from hparams.

    Args:
        hparams: HParams with `learning_rate_schedule` and the fields its factors read
            (`train_steps` for linear_decay / single_cycle_cos_decay).

    Returns:
        `lr(global_step) -> float`: the rate for the update made at `global_step` (0-based).

    Raises:
        HParamsError: for an unknown factor name (checked here, before training starts).
    """
    names = factor_names(hparams.learning_rate_schedule)
    factors = [_factor(name) for name in names]
    if "legacy" in names and hparams.learning_rate_decay_scheme not in _LEGACY_SCHEMES:
        # T2T failed when building the graph; we fail before training, not at warmup's end.
        raise HParamsError(
            f"Unrecognized learning rate decay scheme: {hparams.learning_rate_decay_scheme} "
            f"(known: {', '.join(s for s in _LEGACY_SCHEMES if s)})"
        )
    accumulate_steps = hparams.get("optimizer_multistep_accumulate_steps") or 0

    def lr(global_step: int) -> float:
        """The learning rate at `global_step`: the product of the schedule's factors."""
        step = float(global_step)
        if accumulate_steps:
            step = step / accumulate_steps
        value = 1.0
        for factor in factors:
            value *= factor(step, hparams)
        return value

    lr(0)  # surface configuration errors (e.g. single_cycle_cos_decay) before training
    return lr
