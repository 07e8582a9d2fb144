"""T2T's evaluation metrics on logits and labels (`utils/metrics.py`, spec section 7.2).

Every metric function takes ``logits`` FloatTensor [B, T, V] (T2T's [B, T, 1, 1, V] is
accepted too) and ``labels`` LongTensor [B, T] (or [B, T, 1, 1]); class labels may come as
logits [B, 1, V] / [B, 1, 1, V] and labels [B] / [B, 1]. Each returns
``(value_sum, weight_sum)``, two 0-dim float tensors, such that the evaluation result is
``sum of value_sum / sum of weight_sum`` over all eval batches. That is exactly what T2T's
``tf.metrics.mean(scores, weights)`` accumulates from each metric's (scores, weights) pair:
``value_sum = sum(scores * weights)``, ``weight_sum = sum(weights broadcast to scores)``.
`StreamingMean` does the accumulation. Logits and labels of different lengths are padded
with zeros to the longer one first (T2T's `pad_with_zeros`); weights are
``weights_fn(labels)``, by default 1.0 where the label is not padding (id 0).

The approximate metrics (approx_bleu_score, rouge_2_fscore, rouge_L_fscore) run on the
argmax ids of teacher-forced logits, padding and EOS included, and give one value per batch
(weight 1): their eval result is a mean over batches, not comparable with t2t-bleu.

`METRICS_FNS` maps T2T's metric names to the functions; `eval_metric_key` builds the
TensorBoard/eval key ``metrics-<problem>/<target>/<metric>``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from t2t.metrics import rouge
from t2t.metrics.bleu import compute_bleu
from t2t.metrics.edit_distance import sequence_edit_distance, word_error_rate

MetricFn = Callable[..., tuple[Tensor, Tensor]]
WeightsFn = Callable[[Tensor], Tensor]

__all__ = [
    "METRICS_FNS",
    "StreamingMean",
    "approx_bleu_score",
    "eval_metric_key",
    "padded_accuracy",
    "padded_accuracy_top5",
    "padded_accuracy_topk",
    "padded_neg_log_perplexity",
    "padded_sequence_accuracy",
    "rouge_2_fscore",
    "rouge_l_fscore",
    "sequence_edit_distance",
    "weights_all",
    "weights_nonzero",
    "word_error_rate",
]


def weights_nonzero(labels: Tensor) -> Tensor:
    """1.0 for every label except padding (id 0); T2T's default for symbol targets."""
    return (labels != 0).float()


def weights_all(labels: Tensor) -> Tensor:
    """1.0 everywhere (T2T's weights_all)."""
    return torch.ones_like(labels, dtype=torch.float32)


def _squeeze(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Logits -> [B, T, V] and labels -> [B, T].

    Sequence shapes: [B, T, 1, 1, V] and [B, T, 1, 1]. Class labels (one per example) come
    as logits [B, 1, V] or [B, 1, 1, V] (or [B, V]) and labels [B] or [B, 1] (or [B, 1, 1]).
    """
    if logits.dim() == 5:
        logits = logits.squeeze(3).squeeze(2)
    elif logits.dim() == 4 and logits.shape[2] == 1:
        logits = logits.squeeze(2)  # [B, T, 1, V] -> [B, T, V]
    elif logits.dim() == 2:
        logits = logits.unsqueeze(1)  # [B, V] -> [B, 1, V]
    if labels.dim() == 4:
        labels = labels.squeeze(3).squeeze(2)
    elif labels.dim() == 3 and labels.shape[2] == 1:
        labels = labels.squeeze(2)  # [B, T, 1] -> [B, T]
    elif labels.dim() == 1:
        labels = labels.unsqueeze(1)  # [B] -> [B, 1]
    if logits.dim() != 3 or labels.dim() != 2:
        raise ValueError(
            f"expected logits [B, T, V] and labels [B, T], got {tuple(logits.shape)} "
            f"and {tuple(labels.shape)}"
        )
    return logits, labels


def pad_with_zeros(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Pads logits [B, T1, V] and labels [B, T2] with zeros to the same length T."""
    logits, labels = _squeeze(logits, labels)
    length = max(logits.shape[1], labels.shape[1])
    logits = F.pad(logits, (0, 0, 0, length - logits.shape[1]))  # [B, T, V]
    labels = F.pad(labels, (0, length - labels.shape[1]))  # [B, T]
    return logits, labels


def _mean_parts(scores: Tensor, weights: Tensor | float) -> tuple[Tensor, Tensor]:
    """What tf.metrics.mean(scores, weights) adds to its total and count."""
    scores = scores.float()
    weights = torch.as_tensor(weights, dtype=torch.float32, device=scores.device)
    weights = weights.expand_as(scores)
    return (scores * weights).sum(), weights.sum()


def padded_accuracy(
    logits: Tensor, labels: Tensor, weights_fn: WeightsFn = weights_nonzero
) -> tuple[Tensor, Tensor]:
    """ "accuracy": argmax == label per non-padding position.

    A last dimension of 1 means regression outputs: T2T then truncates the prediction to an
    int and compares (its rounding_accuracy).
    """
    logits, labels = pad_with_zeros(logits, labels)
    if logits.shape[-1] == 1:
        # [B, T, 1] -> [B, T], truncated toward zero as tf.to_int32 does
        outputs = logits.squeeze(-1).to(torch.int32)
    else:
        outputs = logits.argmax(dim=-1)  # lowest index on ties, as tf.argmax
    correct = (outputs == labels.to(outputs.dtype)).float()
    return _mean_parts(correct, weights_fn(labels))


def padded_accuracy_topk(
    logits: Tensor, labels: Tensor, k: int, weights_fn: WeightsFn = weights_nonzero
) -> tuple[Tensor, Tensor]:
    """Whether the label is among the top min(k, V) logits, per non-padding position.

    Ties are resolved like tf.nn.top_k (lower index first), computed without sorting: the
    label is in the top k iff fewer than k logits rank before it.
    """
    logits, labels = pad_with_zeros(logits, labels)
    k = min(k, logits.shape[-1])
    label_logit = logits.gather(-1, labels.unsqueeze(-1))  # [B, T, 1]
    index = torch.arange(logits.shape[-1], device=logits.device)
    ahead = (logits > label_logit) | ((logits == label_logit) & (index < labels.unsqueeze(-1)))
    in_top_k = (ahead.sum(dim=-1) < k).float()  # [B, T]
    return _mean_parts(in_top_k, weights_fn(labels))


def padded_accuracy_top5(
    logits: Tensor, labels: Tensor, weights_fn: WeightsFn = weights_nonzero
) -> tuple[Tensor, Tensor]:
    """ "accuracy_top5": `padded_accuracy_topk` with k = 5."""
    return padded_accuracy_topk(logits, labels, 5, weights_fn)


def padded_sequence_accuracy(
    logits: Tensor, labels: Tensor, weights_fn: WeightsFn = weights_nonzero
) -> tuple[Tensor, Tensor]:
    """ "accuracy_per_sequence": 1 for an example whose every weighted position is right.

    Weight 1 per example, so the result is the fraction of fully correct sequences.
    """
    logits, labels = pad_with_zeros(logits, labels)
    if logits.shape[-1] == 1:
        outputs = logits.squeeze(-1).to(torch.int32)  # [B, T]
    else:
        outputs = logits.argmax(dim=-1)  # [B, T]
    not_correct = (outputs != labels.to(outputs.dtype)).float() * weights_fn(labels)
    correct_seq = 1.0 - torch.clamp(not_correct.sum(dim=1), max=1.0)  # [B]
    return _mean_parts(correct_seq, 1.0)


def padded_neg_log_perplexity(
    logits: Tensor, labels: Tensor, weights_fn: WeightsFn = weights_nonzero
) -> tuple[Tensor, Tensor]:
    """ "neg_log_perplexity": minus the mean cross-entropy (nats) over weighted positions.

    T2T returns scores -xent * w with weights w, which the streaming mean multiplies by w
    again: identical for 0/1 weights, kept as is for other weights.
    """
    logits, labels = pad_with_zeros(logits, labels)
    weights = weights_fn(labels)
    # [B*T, V] logits and [B*T] labels -> [B*T] -> [B, T]
    xent = F.cross_entropy(
        logits.float().flatten(0, 1), labels.flatten(), reduction="none"
    ).view_as(weights)  # [B, T]
    return _mean_parts(-xent * weights, weights)


def _argmax_rows(logits: Tensor, labels: Tensor) -> tuple[list, list]:
    logits, labels = _squeeze(logits, labels)
    return logits.argmax(dim=-1).tolist(), labels.tolist()


def approx_bleu_score(logits: Tensor, labels: Tensor, **unused) -> tuple[Tensor, Tensor]:
    """ "approx_bleu_score": corpus BLEU (0..1) of argmax ids against the labels, per batch."""
    outputs, references = _argmax_rows(logits, labels)
    return _scalar(compute_bleu(references, outputs), logits)


def rouge_2_fscore(logits: Tensor, labels: Tensor, **unused) -> tuple[Tensor, Tensor]:
    """ "rouge_2_fscore": mean ROUGE-2 F1 of argmax ids against the labels, per batch."""
    outputs, references = _argmax_rows(logits, labels)
    return _scalar(rouge.rouge_n(outputs, references, 2), logits)


def rouge_l_fscore(logits: Tensor, labels: Tensor, **unused) -> tuple[Tensor, Tensor]:
    """ "rouge_L_fscore": mean sentence ROUGE-L F of argmax ids against the labels, per batch."""
    outputs, references = _argmax_rows(logits, labels)
    return _scalar(rouge.rouge_l_sentence_level(outputs, references), logits)


def _scalar(value: float, like: Tensor) -> tuple[Tensor, Tensor]:
    """A per-batch value with T2T's weight 1.0."""
    return (
        torch.tensor(value, dtype=torch.float32, device=like.device),
        torch.tensor(1.0, device=like.device),
    )


# T2T's names (Metrics.*) -> functions; Text2TextProblem.eval_metrics() lists all seven.
METRICS_FNS: dict[str, MetricFn] = {
    "accuracy": padded_accuracy,
    "accuracy_top5": padded_accuracy_top5,
    "accuracy_per_sequence": padded_sequence_accuracy,
    "neg_log_perplexity": padded_neg_log_perplexity,
    "approx_bleu_score": approx_bleu_score,
    "rouge_2_fscore": rouge_2_fscore,
    "rouge_L_fscore": rouge_l_fscore,
    "edit_distance": sequence_edit_distance,
    "word_error_rate": word_error_rate,
}


def eval_metric_key(problem_name: str, metric: str, target: str = "targets") -> str:
    """T2T's eval/TensorBoard key, e.g. "metrics-translate_ende_wmt32k/targets/accuracy"."""
    return f"metrics-{problem_name}/{target}/{metric}"


class StreamingMean:
    """Accumulates (value_sum, weight_sum) pairs over batches like tf.metrics.mean.

    `result()` is total / count, or 0.0 before any weight (TF's div_no_nan).
    """

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0.0

    def update(self, value_sum: Tensor | float, weight_sum: Tensor | float) -> None:
        """Adds a batch: `value_sum` (weighted sum of the metric) and `weight_sum` (its weight)."""
        self.total += float(value_sum)
        self.count += float(weight_sum)

    def result(self) -> float:
        """The weighted mean so far; 0.0 while no weight was added (TF's div_no_nan)."""
        return self.total / self.count if self.count else 0.0
