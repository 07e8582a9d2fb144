"""T2T's early stopping (--eval_early_stopping_*): stop when an eval metric has plateaued.

A metric has plateaued when, over the last `num_steps` steps, it never moved by `delta` in
the good direction from its value at the last evaluation at least `num_steps` ago (T2T's
`metrics_hook.has_metric_plateaued`). t2t checks after each evaluation.
"""

from __future__ import annotations

import dataclasses
import logging

from t2t.errors import T2TError

log = logging.getLogger("t2t.trainer")


def has_metric_plateaued(
    steps: list[int], values: list[float], num_steps: int, delta: float, decrease: bool = True
) -> bool:
    """True when `values` (at `steps`) did not improve by `delta` over the last `num_steps`.

    Args:
        steps: global steps of the evaluations, increasing.
        values: the metric at those steps.
        num_steps: the window, in steps (> 0).
        delta: the smallest change that counts as an improvement.
        decrease: lower is better (else higher is better).
    """
    if num_steps <= 0:
        raise T2TError(f"--eval_early_stopping_steps must be > 0, got {num_steps}")
    if len(steps) < 2:
        return False
    old_enough = [s for s in steps if s <= steps[-1] - num_steps]
    if not old_enough:
        return False
    start = len(old_enough) - 1
    sign = 1.0 if decrease else -1.0
    return all(sign * (values[start] - value) < delta for value in values[start:])


@dataclasses.dataclass
class EarlyStopping:
    """Watches one eval metric; `should_stop(step, metrics)` after each evaluation.

    `metric` is the eval key ("loss", "metrics-<problem>/targets/accuracy") or its last
    part ("accuracy"), as T2T's TensorBoard tag or a short form of it.
    """

    num_steps: int
    metric: str = "loss"
    delta: float = 0.1
    minimize: bool = True

    def __post_init__(self) -> None:
        self.steps: list[int] = []
        self.values: list[float] = []

    def _value(self, metrics: dict[str, float]) -> float:
        if self.metric in metrics:
            return metrics[self.metric]
        matches = [k for k in metrics if k.rsplit("/", 1)[-1] == self.metric]
        if len(matches) != 1:
            raise T2TError(
                f"--eval_early_stopping_metric={self.metric} is not an eval metric; "
                f"known: {', '.join(sorted(metrics))}"
            )
        return metrics[matches[0]]

    def should_stop(self, step: int, metrics: dict[str, float]) -> bool:
        """Records the evaluation at `step`; True when the metric has plateaued."""
        self.steps.append(step)
        self.values.append(float(self._value(metrics)))
        stop = has_metric_plateaued(
            self.steps, self.values, self.num_steps, self.delta, self.minimize
        )
        if stop:
            log.info(
                "early stopping at step %d: %s moved less than %g in %d steps",
                step, self.metric, self.delta, self.num_steps,
            )  # fmt: skip
        return stop
