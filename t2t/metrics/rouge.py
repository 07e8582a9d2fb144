"""ROUGE-2 and ROUGE-L F-scores on id (or token) sequences, as T2T (`utils/rouge.py`).

T2T uses these as approximate evaluation metrics on teacher-forced argmax ids, padding
included (spec section 7.4). Same formulas and epsilons; faster: ROUGE-L's longest common
subsequence uses the bit-parallel algorithm (Allison-Dix / Hyyro) on Python integers instead
of an O(n*m) dictionary.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["lcs_length", "rouge_l_sentence_level", "rouge_n"]


def _as_list(sequence: Sequence) -> list:
    return sequence.tolist() if isinstance(sequence, np.ndarray) else list(sequence)


def lcs_length(x: Sequence, y: Sequence) -> int:
    """Length of the longest common subsequence of two sequences.

    Bit-parallel: bit j of `row` tracks the DP row over `y`; one big-integer add per
    element of `x`, so O(len(x) * len(y) / 64) machine operations.
    """
    x, y = _as_list(x), _as_list(y)
    if not x or not y:
        return 0
    match_masks: dict = {}
    for j, item in enumerate(y):
        match_masks[item] = match_masks.get(item, 0) | (1 << j)
    full = (1 << len(y)) - 1
    row = full
    for item in x:
        matched = row & match_masks.get(item, 0)
        row = ((row + matched) | (row - matched)) & full
    return len(y) - bin(row).count("1")


def _f_lcs(lcs: int, ref_length: int, eval_length: int) -> float:
    """T2T's LCS F-measure with beta = P / R (and its 1e-12 guards)."""
    if ref_length == 0 or eval_length == 0:
        return 0.0  # T2T divides by zero here (never happens on padded id rows).
    recall = lcs / ref_length
    precision = lcs / eval_length
    beta = precision / (recall + 1e-12)
    numerator = (1 + beta**2) * recall * precision
    denominator = recall + (beta**2) * precision
    return numerator / (denominator + 1e-12)


def rouge_l_sentence_level(
    eval_sentences: Sequence[Sequence], ref_sentences: Sequence[Sequence]
) -> float:
    """Mean sentence-level ROUGE-L F over pairs (T2T's `rouge_l_sentence_level`).

    Args:
        eval_sentences: candidate sequences (e.g. argmax ids [B, T]).
        ref_sentences: reference sequences, paired by position (extra ones ignored).

    Returns:
        The mean as a float32 value (NaN for no pairs, like numpy's mean of nothing).
    """
    scores = [
        _f_lcs(lcs_length(candidate, reference), len(reference), len(candidate))
        for candidate, reference in zip(eval_sentences, ref_sentences)
    ]
    return _float32_mean(scores)


def _ngram_set(sequence: list, n: int) -> set:
    return set(zip(*(sequence[i:] for i in range(n))))


def rouge_n(
    eval_sentences: Sequence[Sequence], ref_sentences: Sequence[Sequence], n: int = 2
) -> float:
    """Mean ROUGE-N F1 over pairs, on SETS of n-grams (T2T's `rouge_n`).

    Args:
        eval_sentences: candidate sequences.
        ref_sentences: reference sequences, paired by position.
        n: n-gram order.

    Returns:
        The mean F1 (2PR / (P + R + 1e-8)) as a float32 value.
    """
    scores = []
    for candidate, reference in zip(eval_sentences, ref_sentences):
        eval_ngrams = _ngram_set(_as_list(candidate), n)
        ref_ngrams = _ngram_set(_as_list(reference), n)
        overlap = len(eval_ngrams & ref_ngrams)
        precision = overlap / len(eval_ngrams) if eval_ngrams else 0.0
        recall = overlap / len(ref_ngrams) if ref_ngrams else 0.0
        scores.append(2.0 * ((precision * recall) / (precision + recall + 1e-8)))
    return _float32_mean(scores)


def _float32_mean(scores: list[float]) -> float:
    if not scores:
        return float("nan")
    return float(np.mean(scores, dtype=np.float32))
