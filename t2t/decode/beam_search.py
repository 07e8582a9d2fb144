"""Beam search, greedy decoding and sampling on a cached step function.

One implementation serves every model (DESIGN: "one beam search"). The algorithm is T2T's
(`tensor2tensor/utils/beam_search.py`, spec section 6), reproduced step for step so that the
same logits give the same beams, scores and stopping step:

* `alive` beams (still growing) and `finished` beams (ended with EOS) are kept apart;
  every step grows the alive beams into the best ``2 * beam_size`` candidates, so that even
  if ``beam_size`` of them end with EOS there are ``beam_size`` left to keep alive.
* Candidates are ranked by ``log_prob / ((5 + length) / 6) ** alpha`` (GNMT length
  penalty, ``length`` = generated tokens including EOS).
* The loop stops after ``decode_length`` steps, or earlier once no alive beam can beat the
  finished ones (``stop_early``; see `_bound_is_met`).
* An example for which no beam reached EOS returns its alive beams and their raw
  (not length-normalised) log-probabilities, as T2T does.

Like T2T, every ranking is done in float32 with the finite "infinity" 1e7 and ties go to
the lower index (``tf.nn.top_k``'s documented rule), so hand-built cases with equal
probabilities pick the same beams as the original.

Speed (same results): the ``K * V`` extensions are not all scored; each beam's best
``2K + 1`` tokens are (see `_topk_from_row_candidates`, which falls back to scoring all of
them when a tie could change the selection), and the states are reordered with one
``index_select`` per tensor. Models can keep per-example tensors that are the same for all
beams (the encoder's keys/values) out of `states`, so they are neither tiled nor reordered,
and may run step 0 once per example (``first_step_per_example``). The vocabulary-wide
reductions (normaliser, argmax, each row's best candidates) live in `t2t.decode.reductions`.

The step function contract (shared with the models)::

    symbols_to_logits_fn(ids: LongTensor[N, i + 1], i: int, states: dict)
        -> (logits: FloatTensor[N, V], new_states: dict)

where ``ids`` are the ids decoded so far, starting with the initial id, ``N = B * beam``
for beam search (``B`` for greedy/sampling), and ``states`` is a (possibly nested) dict of
tensors whose first dimension is ``N`` (e.g. a key/value cache), or of objects that answer
``index_select(0, rows)`` and ``repeat_interleave(n, dim=0)`` like such tensors. Beam search
reorders the states along dim 0 with the surviving beams after each step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from t2t.decode.reductions import argmax_rows, log_normalizer, row_candidates

EOS_ID = 1
# T2T's finite "infinity": scores of impossible candidates are pushed down by this much.
INF = 1.0e7

StepFn = Callable[[Tensor, int, dict], tuple[Tensor, dict]]

__all__ = [
    "EOS_ID",
    "INF",
    "beam_search",
    "greedy_search",
    "sample",
    "sample_update",
    "select_top_beams",
    "length_penalty",
]


def _map_states(fn: Callable[[Tensor], Tensor], states: Any) -> Any:
    """Applies `fn` to every tensor of a nested dict/list/tuple structure.

    Leaves that are not tensors but reorder like them (an object with `index_select` and
    `repeat_interleave`, such as a preallocated key/value cache) are passed to `fn` too.
    """
    if isinstance(states, Tensor) or hasattr(states, "index_select"):
        return fn(states)
    if isinstance(states, dict):
        return {key: _map_states(fn, value) for key, value in states.items()}
    if isinstance(states, (list, tuple)):
        return type(states)(_map_states(fn, value) for value in states)
    return states  # Non-tensor leaves (None, ints, ...) pass through unchanged.


def length_penalty(length: int, alpha: float) -> Tensor:
    """GNMT length penalty ``((5 + length) / 6) ** alpha`` as a float32 scalar tensor.

    Computed in float32 like T2T so that divisions by it round the same way.
    """
    return torch.pow(torch.tensor((5.0 + length) / 6.0, dtype=torch.float32), alpha)


def _sorted_topk(x: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Top-k of small rows with ``tf.nn.top_k``'s order: descending, ties lower index first.

    Args:
        x: [R, C] scores (C small, e.g. 2 or 3 times the beam size).
        k: how many to keep, k <= C.

    Returns:
        (values [R, k], indices [R, k]).
    """
    values, indices = torch.sort(x, dim=-1, descending=True, stable=True)
    return values[:, :k], indices[:, :k]


def _topk_lower_index_first(x: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """Top-k of wide rows (beam * vocab) with ``tf.nn.top_k``'s tie rule, without a full sort.

    `torch.topk` is fast but leaves the order of equal values unspecified, both inside the
    selection and at its boundary. We reorder the selection by (value desc, index asc) with
    two sorts of k elements, and only when the k-th value also occurs outside the selection
    (rare with real logits; common with hand-built or forced logits) recompute the selection
    so that the lowest indices among the tied values win.

    Args:
        x: [R, C] scores.
        k: how many to keep, k <= C.

    Returns:
        (values [R, k], indices [R, k]).
    """
    values, indices = torch.topk(x, k, dim=-1)
    kth = values[:, -1:]  # [R, 1]
    boundary_ties = (x == kth).sum(-1) > (values == kth).sum(-1)  # [R]
    if bool(boundary_ties.any()):
        # Keep every value above the k-th, then the first `need` positions equal to it.
        above = x > kth
        equal = x == kth
        need = k - above.sum(-1, keepdim=True)  # [R, 1]
        keep = above | (equal & (torch.cumsum(equal, dim=-1) <= need))  # exactly k per row
        indices = torch.nonzero(keep, as_tuple=True)[1].view(x.shape[0], k)  # [R, k] ascending
        values = x.gather(-1, indices)
    else:
        indices, order = torch.sort(indices, dim=-1)
        values = values.gather(-1, order)
    # Stable sort of index-ascending rows by value gives "ties: lower index first".
    values, order = torch.sort(values, dim=-1, descending=True, stable=True)
    return values, indices.gather(-1, order)


def _bound_is_met(
    alive_log_probs: Tensor, finished_scores: Tensor, max_length_penalty: Tensor, stop_early: bool
) -> bool:
    """T2T's termination test, evaluated before every step.

    The best alive beam can at most reach ``alive_log_probs[:, 0] / max_length_penalty``
    (log-probs only decrease, and the penalty is largest at full length). With `stop_early`
    an example is done when its best finished score beats that; without it, T2T compares the
    LOWEST finished score of the whole batch, so decoding goes on until every example has
    `beam_size` finished beams that all beat every alive bound (used with ``top_beams > 1``).

    Args:
        alive_log_probs: [B, K] raw log-probs of the alive beams, best first.
        finished_scores: [B, K] length-penalised scores of the finished beams (-INF if empty).
        max_length_penalty: scalar, the penalty at ``decode_length``.
        stop_early: see above.

    Returns:
        True if every example is done.
    """
    lower_bound_alive = alive_log_probs[:, 0] / max_length_penalty  # [B]
    if stop_early:
        best_finished = finished_scores.max(dim=1).values  # [B]
    else:
        best_finished = finished_scores.min()  # scalar over the whole batch, as T2T
    return bool((best_finished > lower_bound_alive).all())


def _gather_beams(x: Tensor, index: Tensor) -> Tensor:
    """Gathers beams along dim 1.

    Args:
        x: [B, M, ...] per-beam tensor.
        index: [B, K] beam positions in 0..M-1.

    Returns:
        [B, K, ...] tensor.
    """
    if x.dim() == 2:
        return x.gather(1, index)
    # [B, K] -> [B, K, 1, ...] -> [B, K, ...] (x's trailing dims)
    expanded = index.view(*index.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
    return x.gather(1, expanded)


def _topk_from_row_candidates(
    logits: Tensor, alive_log_probs: Tensor, penalty: Tensor, k: int
) -> tuple[Tensor, Tensor] | None:
    """The k best ``(logits - normalizer + alive) / penalty`` over all beams, ranking few.

    T2T computes the log-probs of all ``K * V`` extensions, adds the alive log-probs,
    divides by the penalty and takes the top k of each example's ``K * V`` row: several
    passes over vocabulary-sized tensors. Each of these element-wise steps is monotonic
    (never reverses an order, though rounding may merge two values), so each beam's
    ``k + 1`` largest logits contain everything that can be selected, PROVIDED each
    beam's (k+1)-th candidate scores strictly below the k-th selected score: then every
    token outside the candidates does too, and neither it nor a tie with it can enter the
    selection. We compute the same float32 ops on the candidates only, rank them with
    T2T's order (value desc, flat index asc), and check that condition; when it fails
    (ties at the boundary, e.g. forced or masked logits) we return None and the caller
    ranks all ``K * V`` scores.

    Args:
        logits: [B, K, V] the step's logits (float32).
        alive_log_probs: [B, K] raw log-probs of the alive beams.
        penalty: scalar float32 length penalty.
        k: how many to keep (2 * beam_size).

    Returns:
        (scores [B, k], flat indices [B, k] into beam * V + token), or None.
    """
    batch_size, beam_size, vocab_size = logits.shape
    per_row = min(k + 1, vocab_size)
    rows = logits.reshape(-1, vocab_size)  # [B*K, V]; a copy only of step 0's expanded view
    row_values, row_ids = row_candidates(rows, per_row)
    row_values = row_values.view(batch_size, beam_size, per_row)  # [B, K, per_row]
    # The candidates hold each row's maximum, which the normalizer starts from.
    peak = row_values.amax(dim=-1, keepdim=True)
    normalizer = log_normalizer(rows, peak=peak).view(batch_size, beam_size, 1)  # [B, K, 1]
    row_values = row_values - normalizer  # [B, K, per_row] log-probs
    row_ids = row_ids.view(batch_size, beam_size, per_row)  # [B, K, per_row]
    scores = (row_values + alive_log_probs.unsqueeze(2)) / penalty  # same rounding as T2T's
    offsets = torch.arange(beam_size, device=row_ids.device).view(1, beam_size, 1) * vocab_size
    flat = (row_ids + offsets).view(batch_size, beam_size * per_row)  # [B, K*per_row]
    scores = scores.view(batch_size, beam_size * per_row)  # [B, K*per_row]
    flat, order = torch.sort(flat, dim=-1)  # index ascending, then a stable value sort
    values, rank = torch.sort(scores.gather(-1, order), dim=-1, descending=True, stable=True)
    values, flat = values[:, :k], flat.gather(-1, rank[:, :k])
    if per_row < vocab_size:
        row_floor = scores.view(batch_size, beam_size, per_row).amin(dim=-1)  # [B, K]
        if not bool((row_floor < values[:, -1:]).all()):
            return None
    return values, flat


def _grow_topk(
    logits: Tensor, alive_seq: Tensor, alive_log_probs: Tensor, step: int, alpha: float, eos_id: int
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Extends the alive beams by every token and keeps the best 2K candidates.

    Args:
        logits: [B, K, V] next-token logits of the alive beams.
        alive_seq: [B, K, L] alive sequences.
        alive_log_probs: [B, K] their raw log-probs.
        step: loop index i (the candidates have i + 1 generated tokens).
        alpha: length penalty exponent.
        eos_id: end-of-sequence id.

    Returns:
        (topk_seq [B, 2K, L+1], topk_log_probs [B, 2K] raw, topk_scores [B, 2K] length-
        penalised, topk_finished [B, 2K] bool, topk_beam [B, 2K] parent beam index).
    """
    batch_size, beam_size, vocab_size = logits.shape
    logits = logits.float()
    penalty = length_penalty(step + 1, alpha)
    selected = _topk_from_row_candidates(logits, alive_log_probs, penalty, 2 * beam_size)
    if selected is not None:
        topk_scores, topk_flat = selected
    else:  # a tie at the boundary: rank every candidate (T2T's formulation)
        log_probs = (logits - log_normalizer(logits)) + alive_log_probs.unsqueeze(2)  # [B, K, V]
        flat_scores = (log_probs / penalty).view(batch_size, beam_size * vocab_size)  # [B, K*V]
        topk_scores, topk_flat = _topk_lower_index_first(flat_scores, 2 * beam_size)
    # T2T recovers the raw log-probs by multiplying back (not by gathering); same rounding.
    topk_log_probs = topk_scores * penalty
    topk_beam = torch.div(topk_flat, vocab_size, rounding_mode="floor")  # [B, 2K]
    topk_ids = topk_flat % vocab_size  # [B, 2K]
    # [B, 2K, L] parents' sequences + [B, 2K, 1] new ids -> [B, 2K, L+1]
    topk_seq = torch.cat([_gather_beams(alive_seq, topk_beam), topk_ids.unsqueeze(2)], dim=2)
    return topk_seq, topk_log_probs, topk_scores, topk_ids == eos_id, topk_beam


def _grow_finished(
    finished_seq: Tensor,
    finished_scores: Tensor,
    finished_flags: Tensor,
    topk_seq: Tensor,
    topk_scores: Tensor,
    topk_finished: Tensor,
) -> tuple[Tensor, Tensor, Tensor]:
    """Merges the candidates that just ended with EOS into the K best finished beams.

    Unfinished candidates get -INF added rather than being dropped (T2T keeps fixed sizes);
    an empty slot therefore holds an unfinished sequence with score about -INF and flag False.

    Args:
        finished_seq: [B, K, L] finished sequences (zero padded after EOS).
        finished_scores: [B, K] their length-penalised scores.
        finished_flags: [B, K] whether each slot holds a real finished beam.
        topk_seq: [B, 2K, L+1] candidates.
        topk_scores: [B, 2K] their length-penalised scores.
        topk_finished: [B, 2K] whether each candidate ends with EOS.

    Returns:
        (finished_seq [B, K, L+1], finished_scores [B, K], finished_flags [B, K]).
    """
    batch_size, beam_size, _ = finished_seq.shape
    padded = torch.cat([finished_seq, finished_seq.new_zeros(batch_size, beam_size, 1)], dim=2)
    candidate_scores = topk_scores + (~topk_finished).float() * -INF
    all_seq = torch.cat([padded, topk_seq], dim=1)  # [B, 3K, L+1]
    all_scores = torch.cat([finished_scores, candidate_scores], dim=1)  # [B, 3K]
    all_flags = torch.cat([finished_flags, topk_finished], dim=1)  # [B, 3K]
    scores, index = _sorted_topk(all_scores, beam_size)
    return _gather_beams(all_seq, index), scores, all_flags.gather(1, index)


def _check_beam_args(initial_ids: Tensor, beam_size: int, decode_length: int, vocab_size: int):
    if initial_ids.dim() != 1:
        raise ValueError(f"initial_ids must be 1-D [batch], got shape {tuple(initial_ids.shape)}")
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be >= 2 for 2*beam_size candidates, got {vocab_size}")
    if decode_length < 0:
        raise ValueError(f"decode_length must be >= 0, got {decode_length}")


def beam_search(
    symbols_to_logits_fn: StepFn,
    initial_ids: Tensor,
    beam_size: int,
    decode_length: int,
    vocab_size: int,
    alpha: float,
    states: dict | None = None,
    eos_id: int = EOS_ID,
    stop_early: bool = True,
    first_step_per_example: bool = False,
) -> tuple[Tensor, Tensor]:
    """T2T's beam search with GNMT length penalty.

    Args:
        symbols_to_logits_fn: step function ``(ids [B*K, i+1], i, states) -> (logits
            [B*K, V], new_states)`` (see the module docstring).
        initial_ids: [B] first id of every sequence (T2T uses 0, the GO/pad id).
        beam_size: K.
        decode_length: N, the maximum number of generated tokens.
        vocab_size: V, the size of the logits' last dimension.
        alpha: length penalty exponent (0 = no penalty; T2T's decode default is 0.6).
        states: optional nested dict of tensors with first dim B; tiled to B*K here, passed
            to and returned by the step function, and reordered with the surviving beams.
        eos_id: end-of-sequence id.
        stop_early: stop once the best beam is settled (T2T passes ``top_beams == 1``).
        first_step_per_example: at step 0 call the step function with one row per example
            (ids [B, 1], the untiled states) instead of K identical copies, and tile the
            states after it; for step functions that accept any number of rows (the
            Transformer's). T2T always passes B*K rows, so custom step functions get that
            unless they opt in.

    Returns:
        ids: LongTensor [B, K, L] with L = steps + 1 <= N + 1. Column 0 is the initial id,
            as in T2T (whose callers strip it: ``ids[:, :top_beams, 1:]``, see
            `select_top_beams`); sequences are zero padded after EOS; beams best first.
        scores: FloatTensor [B, K]: ``log_prob / ((5 + len) / 6) ** alpha`` of finished
            beams (len counts EOS); for an example with no finished beam, the raw log-probs
            of its alive beams (T2T's fallback).
    """
    _check_beam_args(initial_ids, beam_size, decode_length, vocab_size)
    batch_size, device = initial_ids.shape[0], initial_ids.device
    alive_log_probs = torch.full((batch_size, beam_size), -INF, dtype=torch.float32, device=device)
    alive_log_probs[:, 0] = 0.0  # Only beam 0 is live at the start: the others are copies.
    alive_seq = initial_ids.long().view(batch_size, 1, 1).expand(-1, beam_size, 1)  # [B, K, 1]
    finished_seq = torch.zeros_like(alive_seq)
    finished_scores = torch.full((batch_size, beam_size), -INF, dtype=torch.float32, device=device)
    finished_flags = torch.zeros((batch_size, beam_size), dtype=torch.bool, device=device)
    states = states or {}
    if not first_step_per_example:  # [B, ...] -> [B*K, ...], example-major like T2T's
        states = _map_states(lambda t: t.repeat_interleave(beam_size, dim=0), states)
    max_penalty = length_penalty(decode_length, alpha)
    batch_offsets = torch.arange(batch_size, device=device).unsqueeze(1) * beam_size  # [B, 1]

    step = 0
    while step < decode_length and not _bound_is_met(
        alive_log_probs, finished_scores, max_penalty, stop_early
    ):
        per_example = step == 0 and first_step_per_example  # the K beams are copies
        if per_example:
            logits, states = symbols_to_logits_fn(alive_seq[:, 0], step, states)  # [B, V]
            logits = logits.unsqueeze(1).expand(-1, beam_size, -1)  # [B, K, V]
        else:
            flat_ids = alive_seq.reshape(batch_size * beam_size, step + 1)  # [B*K, i+1]
            logits, states = symbols_to_logits_fn(flat_ids, step, states)
            logits = logits.view(batch_size, beam_size, vocab_size)  # [B, K, V]
        topk_seq, topk_log_probs, topk_scores, topk_finished, topk_beam = _grow_topk(
            logits, alive_seq, alive_log_probs, step, alpha, eos_id
        )
        # grow_alive: the best K candidates that did not just end with EOS.
        _, alive_index = _sorted_topk(topk_scores + topk_finished.float() * -INF, beam_size)
        alive_seq = _gather_beams(topk_seq, alive_index)
        alive_log_probs = topk_log_probs.gather(1, alive_index)
        # One gather of the states per step: parent of each new alive beam, as a flat row.
        parents = (topk_beam.gather(1, alive_index) + batch_offsets).view(-1)  # [B*K]
        if per_example:  # states have a row per example
            parents = torch.div(parents, beam_size, rounding_mode="floor")
        states = _map_states(lambda t, rows=parents: t.index_select(0, rows), states)
        finished_seq, finished_scores, finished_flags = _grow_finished(
            finished_seq, finished_scores, finished_flags, topk_seq, topk_scores, topk_finished
        )
        step += 1

    any_finished = finished_flags.any(dim=1)  # [B]
    ids = torch.where(any_finished.view(-1, 1, 1), finished_seq, alive_seq)  # [B, K, L]
    scores = torch.where(any_finished.view(-1, 1), finished_scores, alive_log_probs)  # [B, K]
    return ids, scores


def select_top_beams(ids: Tensor, scores: Tensor, top_beams: int = 1) -> tuple[Tensor, Tensor]:
    """What T2T's fast decoding returns from `beam_search`: initial id column removed.

    Args:
        ids: [B, K, L] from `beam_search`.
        scores: [B, K] from `beam_search`.
        top_beams: 1 gives ids [B, L-1] and scores [B]; more gives [B, top_beams, L-1] and
            [B, top_beams] (decode with ``stop_early=(top_beams == 1)`` as T2T does).

    Returns:
        (ids, scores) as described.
    """
    if top_beams == 1:
        return ids[:, 0, 1:], scores[:, 0]
    return ids[:, :top_beams, 1:], scores[:, :top_beams]


def _keep_top_k(logits: Tensor, top_k: int) -> Tensor:
    """T2T's ``sampling_keep_top_k``: logits at or below the (k+1)-th largest become -1e6.

    Args:
        logits: [N, V].
        top_k: -1 (off) or a positive k. k >= V keeps everything (T2T would fail there).

    Returns:
        [N, V] logits.

    Raises:
        ValueError: k is neither -1 nor positive (T2T's message).
    """
    if top_k == -1:
        return logits
    if top_k <= 0:
        raise ValueError("sampling_keep_top_k must either be -1 or positive.")
    if top_k >= logits.shape[-1]:
        return logits
    threshold = torch.topk(logits, top_k + 1, dim=-1).values[:, -1:]  # [N, 1]
    # "<=" like T2T: a value tied with the (k+1)-th is dropped too.
    return torch.where(logits <= threshold, torch.full_like(logits, -1.0e6), logits)


def _choose(
    logits: Tensor, temperature: float, top_k: int, generator: torch.Generator | None
) -> tuple[Tensor, Tensor | None]:
    """T2T's `sample_with_temperature`: argmax at temperature 0, else multinomial.

    Args:
        logits: [N, V] float32.
        temperature: 0.0 for argmax (lowest index wins ties, as tf.argmax); > 0 to sample
            from softmax(logits / temperature).
        top_k: see `_keep_top_k` (ignored by argmax, as in T2T).
        generator: optional torch.Generator for reproducible sampling.

    Returns:
        ([N] chosen ids, [N, 1] the row maxima when the argmax computed them, else None).
    """
    if temperature == 0.0:
        return argmax_rows(logits)
    if temperature < 0.0:
        raise ValueError(f"sampling temperature must be >= 0, got {temperature}")
    probs = torch.softmax(_keep_top_k(logits, top_k) / temperature, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1), None  # [N]


def sample(
    symbols_to_logits_fn: StepFn,
    initial_ids: Tensor,
    decode_length: int,
    states: dict | None = None,
    eos_id: int = EOS_ID,
    temperature: float = 1.0,
    top_k: int = -1,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """T2T's fast greedy/sampling loop (``sampling_method``, ``sampling_temp``, keep-top-k).

    Decodes until ``decode_length`` tokens or until every sequence has produced EOS.

    Args:
        symbols_to_logits_fn: step function ``(ids [B, i+1], i, states) -> (logits [B, V],
            new_states)``.
        initial_ids: [B] first id of every sequence.
        decode_length: maximum number of generated tokens.
        states: optional nested dict of tensors with first dim B.
        eos_id: end-of-sequence id.
        temperature: ``sampling_temp``; 0.0 means argmax (``sampling_method="argmax"``).
        top_k: ``sampling_keep_top_k`` (-1 = all).
        generator: optional torch.Generator for reproducible sampling.

    Returns:
        ids: LongTensor [B, L], L = steps + 1; column 0 is the initial id (like
            `beam_search`, unlike T2T's greedy output which starts at the first generated
            token). Departure from T2T: positions after a sequence's EOS are 0 (T2T keeps
            decoding them and its decoder cuts at the first EOS), so a batch decodes the
            same as each example alone and the format matches `beam_search`.
        scores: FloatTensor [B], sum of log-probs of the generated tokens up to and
            including the first EOS (temperature does not affect the score, as in T2T).
    """
    if initial_ids.dim() != 1:
        raise ValueError(f"initial_ids must be 1-D [batch], got shape {tuple(initial_ids.shape)}")
    batch_size, device = initial_ids.shape[0], initial_ids.device
    ids = initial_ids.long().view(batch_size, 1)  # [B, 1]
    hit_eos = torch.zeros(batch_size, dtype=torch.bool, device=device)
    scores = torch.zeros(batch_size, dtype=torch.float32, device=device)
    states = states or {}
    step = 0
    while step < decode_length and not bool(hit_eos.all()):
        logits, states = symbols_to_logits_fn(ids, step, states)
        next_id, scores, hit_eos = sample_update(
            logits, scores, hit_eos, eos_id, temperature, top_k, generator
        )
        ids = torch.cat([ids, next_id.unsqueeze(1)], dim=1)  # [B, i+2]
        step += 1
    return ids, scores


def sample_update(
    logits: Tensor,
    scores: Tensor,
    hit_eos: Tensor,
    eos_id: int = EOS_ID,
    temperature: float = 0.0,
    top_k: int = -1,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """One step of `sample`'s bookkeeping after the model: choose, score, mark EOS.

    Args:
        logits: [B, V] the step's logits.
        scores: [B] float32 sums of log-probs so far.
        hit_eos: [B] bool, sequences that have produced EOS.
        eos_id, temperature, top_k, generator: as `sample`.

    Returns:
        (next ids [B], 0 after EOS; scores [B]; hit_eos [B]).
    """
    logits = logits.float()  # [B, V]
    next_id, peak = _choose(logits, temperature, top_k, generator)  # [B], [B, 1]
    # T2T's log-prob of the chosen token; no [B, V] log-softmax.
    normalizer = log_normalizer(logits, peak=peak)
    token_log_prob = logits.gather(1, next_id.unsqueeze(1)) - normalizer  # [B, 1]
    scores = scores + token_log_prob.squeeze(1) * (~hit_eos).float()
    next_id = next_id.masked_fill(hit_eos, 0)
    return next_id, scores, hit_eos | (next_id == eos_id)


def greedy_search(
    symbols_to_logits_fn: StepFn,
    initial_ids: Tensor,
    decode_length: int,
    states: dict | None = None,
    eos_id: int = EOS_ID,
) -> tuple[Tensor, Tensor]:
    """Greedy (argmax) decoding: `sample` at temperature 0. Same arguments and returns.

    With ``alpha = 0`` it gives the same ids and scores as ``beam_search`` with
    ``beam_size = 1`` (ids[:, 0]).
    """
    return sample(symbols_to_logits_fn, initial_ids, decode_length, states, eos_id, 0.0)
