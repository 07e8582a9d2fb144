"""Loss weights and the per-task loss of a MultiProblem (T2T's `weights_multi_problem*` and
`multi_problem.aggregate_task_losses`).

A MultiProblem row of targets reads `inputs... task_id targets...` (or `task_id targets...`);
the task id tells which task a row belongs to. The weights functions take labels [B, T]
(int) and return float weights [B, T]:

* `weights_multi_problem(labels, task_id)`: the tokens after the task id (its "targets");
* `weights_multi_problem_all(labels, task_id)`: every non-padding token of the rows of
  that task;
* `weights_multi_problem_input(labels, task_id)`: the row's part up to the task id.

`aggregate_task_losses` combines them into the training loss; T2T 1.15.7's version passed
the weights as an extra positional argument to the modality loss and failed with a
TypeError, so we implement what it meant: each task's loss is the modality loss with that
task's weights.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

LossFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]
Task = tuple[str, int, bool]  # (name, task id, is a classification task)


def weights_multi_problem(labels: torch.Tensor, task_id: int) -> torch.Tensor:
    """1.0 on the non-padding tokens after `task_id` in each row (the task's targets).

    Raises:
        ValueError: a negative task id (the task ids were never set).
    """
    if task_id < 0:
        raise ValueError(f"task id {task_id} is negative: the MultiProblem did not set it")
    is_id = labels == task_id
    past_id = torch.cumsum(is_id.float(), dim=1) * (~is_id).float()  # [B, T]
    return ((past_id * labels.float()) != 0).float()


def weights_multi_problem_all(labels: torch.Tensor, task_id: int) -> torch.Tensor:
    """1.0 on every non-padding token of the rows that have targets after `task_id`."""
    rows = weights_multi_problem(labels, task_id).sum(dim=1, keepdim=True) > 0  # [B, 1]
    return (labels != 0).float() * rows.float()


def weights_multi_problem_input(labels: torch.Tensor, task_id: int) -> torch.Tensor:
    """1.0 on the part of the task's rows up to and including the task id."""
    return weights_multi_problem_all(labels, task_id) - weights_multi_problem(labels, task_id)


def _task_loss(loss_fn: LossFn, logits, labels, hparams, vocab_size, weights) -> tuple:
    return loss_fn(logits, labels, hparams, vocab_size, weights)


def aggregate_task_losses(
    loss_fn: LossFn,
    logits: torch.Tensor,
    labels: torch.Tensor,
    hparams: Any,
    vocab_size: int | None,
    tasks: Sequence[Task],
    loss_multiplier: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """The MultiProblem training loss as (numerator, denominator, per-task summaries).

    Without `hparams.multiproblem_reweight_label_loss`: Σ over tasks of the loss on the
    task's rows (the plain language-model loss). With it: the primary task's mean loss,
    plus for every other task (1 - w) times its mean loss up to the task id and w times
    its mean loss after it (w = `multiproblem_label_weight`), each task counting once in
    the denominator (T2T averages the tasks' losses).

    Args:
        loss_fn: the modality loss (logits, labels, hparams, vocab_size, weights_fn) ->
            (num, den).
        logits: [B, T, V]; labels: [B, T].
        tasks: [(name, task id, is classification)], the primary task first.
        loss_multiplier: the problem's loss_multiplier (secondary tasks).
    """
    summaries: dict[str, torch.Tensor] = {}
    if not getattr(hparams, "multiproblem_reweight_label_loss", False):
        num = den = 0.0
        for name, task_id, _ in tasks:
            task_num, task_den = _task_loss(
                loss_fn, logits, labels, hparams, vocab_size,
                lambda x, t=task_id: weights_multi_problem_all(x, t),
            )  # fmt: skip
            num, den = num + task_num, den + task_den
            summaries[f"{name}_loss"] = (task_num / torch.clamp(task_den, min=1.0)).detach()
        return num, den, summaries

    label_weight = float(getattr(hparams, "multiproblem_label_weight", 0.5))
    name, main_id, _ = tasks[0]
    main_num, main_den = _task_loss(
        loss_fn, logits, labels, hparams, vocab_size,
        lambda x: weights_multi_problem_all(x, main_id),
    )  # fmt: skip
    num = main_num / torch.clamp(main_den, min=1.0)
    summaries[f"{name}_loss"] = num.detach()
    # The losses are rescaled, so each one enters as a mean with denominator min(1, den).
    den = torch.clamp(main_den, max=1.0)
    for name, task_id, is_class in tasks[1:]:
        seq_num, seq_den = _task_loss(
            loss_fn, logits, labels, hparams, vocab_size,
            lambda x, t=task_id: weights_multi_problem_input(x, t),
        )  # fmt: skip
        seq_loss = seq_num * loss_multiplier / torch.clamp(seq_den, min=1.0)
        summaries[f"{name}_seq_loss"] = seq_loss.detach()
        tgt_num, tgt_den = _task_loss(
            loss_fn, logits, labels, hparams, vocab_size,
            lambda x, t=task_id: weights_multi_problem(x, t),
        )  # fmt: skip
        tgt_loss = tgt_num * loss_multiplier / torch.clamp(tgt_den, min=1.0)
        summaries[f"{name}_{'label' if is_class else 'target'}_loss"] = tgt_loss.detach()
        task_loss = label_weight * tgt_loss + (1.0 - label_weight) * seq_loss
        summaries[f"{name}_loss"] = task_loss.detach()
        num = num + task_loss
        den = den + torch.clamp(tgt_den, max=1.0)
    return num, den, summaries
