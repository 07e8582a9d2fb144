"""Adaptive computation time (Graves 2016) as T2T's Universal Transformer computes it.

One call of `act_update` is one step of T2T's halting loop: every position (or, for
"global" ACT, every sequence) adds its halting probability `p` until the running sum
would pass `threshold` = 1 - act_epsilon; on that step it halts and spends the remainder.
`update_weights` says how much of this step's transformed state enters the output.
"""

from dataclasses import dataclass

import torch


@dataclass
class HaltingState:
    """Running ACT counters, each [B, L] (position-wise) or [B] (global).

    Attributes:
        halting_probability: sum of the halting probabilities so far (p_t^n).
        remainders: R(t), the probability mass spent on the halting step.
        n_updates: N(t), the number of steps each position took.
    """

    halting_probability: torch.Tensor
    remainders: torch.Tensor
    n_updates: torch.Tensor

    @classmethod
    def zeros(cls, shape: tuple[int, ...], like: torch.Tensor) -> "HaltingState":
        """All counters at zero, of `shape`, dtype and device of `like`."""
        return cls(*(like.new_zeros(shape) for _ in range(3)))

    def should_continue(self, threshold: float, max_steps: int) -> bool:
        """Whether any position is still below the threshold and under `max_steps`."""
        running = (self.halting_probability < threshold) & (self.n_updates < max_steps)
        return bool(running.any())


def act_update(p: torch.Tensor, state: HaltingState, threshold: float) -> torch.Tensor:
    """One halting step: updates `state` in place and returns the update weights.

    Args:
        p: this step's halting probabilities, the shape of the counters.
        state: the running counters (replaced by new tensors, autograd-safe).
        threshold: 1 - act_epsilon.

    Returns:
        Weights of the shape of the counters: p for positions still running, the
        remainder for those halting now, 0 for those halted before.
    """
    halting = state.halting_probability
    running = (halting < 1.0).to(p.dtype)
    proposed = halting + p * running
    new_halted = (proposed > threshold).to(p.dtype) * running
    still_running = (proposed <= threshold).to(p.dtype) * running
    halting = halting + p * still_running
    remainders = state.remainders + new_halted * (1.0 - halting)
    halting = halting + new_halted * remainders
    state.halting_probability = halting
    state.remainders = remainders
    state.n_updates = state.n_updates + still_running + new_halted
    return p * still_running + new_halted * remainders


def ponder_loss(state: HaltingState) -> torch.Tensor:
    """T2T's ACT loss before its weight: mean over positions of N(t) + R(t)."""
    return (state.n_updates + state.remainders).mean()
