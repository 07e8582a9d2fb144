"""Edit distance and word error rate, as T2T's eval metrics compute them.

Both take teacher-forced logits [B, T, V] and labels [B, T] (T2T's [B, T, 1, 1, V] and
[B, T, 1, 1] too) and return `(value_sum, weight_sum)` like every metric in
`t2t.metrics.metrics`: the result over an eval set is Σ distance / Σ reference length.

- edit_distance (T2T's `sequence_edit_distance`): Levenshtein distance between the argmax
  ids and the labels, each with every 0 (padding) removed, wherever it is; EOS counts.
- word_error_rate (T2T's `word_error_rate` for byte targets): ids become bytes (id - 2,
  clipped to 0..255), bytes 0 (from PAD, EOS and id 2) are dropped, the text is split on
  spaces, and the word-level distance is divided by the number of reference words. As in
  T2T, argmax ids after the predicted EOS are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

WeightsFn = Callable[[Tensor], Tensor]


def levenshtein(hypothesis: Sequence, reference: Sequence) -> int:
    """The number of insertions, deletions and substitutions turning one into the other."""
    previous = list(range(len(reference) + 1))
    for i, hyp in enumerate(hypothesis, start=1):
        current = [i]
        for j, ref in enumerate(reference, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (hyp != ref)))
        previous = current
    return previous[-1]


def _rows(logits: Tensor, labels: Tensor) -> tuple[list[list[int]], list[list[int]]]:
    """Argmax ids [B, T'] and labels [B, T] as lists (T2T's singleton dims dropped)."""
    if logits.dim() == 5:
        logits = logits.squeeze(3).squeeze(2)
    if labels.dim() == 4:
        labels = labels.squeeze(3).squeeze(2)
    return logits.argmax(dim=-1).tolist(), labels.tolist()


def _check_weights(weights_fn: WeightsFn | None, metric: str) -> None:
    """T2T accepts only weights_nonzero; here any function that weighs as it does (the
    symbol modality's bound `weights_fn`, ...)."""
    if weights_fn is None:
        return
    probe = torch.tensor([[0, 1, 2, 7]])
    if not torch.equal(weights_fn(probe).float(), torch.tensor([[0.0, 1.0, 1.0, 1.0]])):
        raise ValueError(f"Only weights_nonzero can be used for {metric}.")


def _result(distance: int, reference_length: int, like: Tensor) -> tuple[Tensor, Tensor]:
    device = like.device
    return (
        torch.tensor(float(distance), device=device),
        torch.tensor(float(reference_length), device=device),
    )


def sequence_edit_distance(
    logits: Tensor, labels: Tensor, weights_fn: WeightsFn | None = None
) -> tuple[Tensor, Tensor]:
    """ "edit_distance": (Σ distances of non-zero ids, number of non-zero labels).

    Raises:
        ValueError: a weights_fn other than weights_nonzero (as T2T).
    """
    _check_weights(weights_fn, "edit_distance")
    predictions, references = _rows(logits, labels)
    distance = length = 0
    for hyp, ref in zip(predictions, references):
        ref = [i for i in ref if i != 0]
        distance += levenshtein([i for i in hyp if i != 0], ref)
        length += len(ref)
    return _result(distance, length, logits)


def byte_ids_to_words(ids: Sequence[int]) -> list[str]:
    """T2T's byte-target words: bytes id - 2 (clipped to 0..255), NULs dropped, split on
    spaces (empty words dropped). Bytes map to single characters (latin-1), so words compare
    as their bytes do."""
    chars = (chr(min(max(i - 2, 0), 255)) for i in ids)
    return "".join(c for c in chars if c != "\0").split(" ")


def word_error_rate(
    logits: Tensor, labels: Tensor, weights_fn: WeightsFn | None = None
) -> tuple[Tensor, Tensor]:
    """ "word_error_rate": (Σ word distances, number of reference words), byte targets.

    Raises:
        ValueError: a weights_fn other than weights_nonzero (as T2T).
    """
    _check_weights(weights_fn, "word_error_rate")
    predictions, references = _rows(logits, labels)
    distance = length = 0
    for hyp, ref in zip(predictions, references):
        ref_words = [w for w in byte_ids_to_words(ref) if w]
        hyp_words = [w for w in byte_ids_to_words(hyp) if w]
        distance += levenshtein(hyp_words, ref_words)
        length += len(ref_words)
    return _result(distance, length, logits)


def text_error_counts(hypotheses: Sequence[str], references: Sequence[str]) -> dict[str, int]:
    """Character and word edit counts of decoded texts against references.

    Returns:
        {"char_errors", "chars", "word_errors", "words"}: CER = char_errors / chars,
        WER = word_errors / words (words split on whitespace).
    """
    counts = {"char_errors": 0, "chars": 0, "word_errors": 0, "words": 0}
    for hyp, ref in zip(hypotheses, references, strict=True):
        counts["char_errors"] += levenshtein(hyp, ref)
        counts["chars"] += len(ref)
        counts["word_errors"] += levenshtein(hyp.split(), ref.split())
        counts["words"] += len(ref.split())
    return counts
