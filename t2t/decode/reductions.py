"""Reductions over a decoding step's logits: the normaliser, the argmax, the best few.

A step's logits are [rows, V] with V the vocabulary (32,000 for transformer_base, 16 MB for
128 rows), larger than the CPU's cache. Searches need only a few numbers per row: the log
normaliser, the argmax (greedy), or the best handful of tokens (beam search). These
functions give exactly what the plain torch reductions give, with fewer passes over memory:
`torch.topk` and `torch.argmax` over a whole row are slow on CPU (scalar loops), while
`amax` over blocks of `CHUNK` entries is one vectorised pass, after which only the block
holding the answer needs a closer look.
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK = 64  # vocabulary block width of the block-wise reductions


def row_candidates(x: Tensor, m: int) -> tuple[Tensor, Tensor]:
    """m largest entries of every row, in no particular order and ties broken arbitrarily.

    Guarantee (all beam search needs): no entry left out of a row is larger than the
    smallest one kept. For wide rows, `torch.topk` over the whole vocabulary is slow on
    CPU, so we take the maximum of each block of `CHUNK` entries (one vectorised
    pass), keep the m blocks with the largest maxima plus the ragged tail, and run
    `torch.topk` on those ``m * CHUNK`` entries. Every block left out has a maximum no
    larger than each kept block's, hence no larger than the m-th kept entry.

    Args:
        x: [R, V] scores.
        m: entries per row, m <= V.

    Returns:
        (values [R, m], indices [R, m] into V).
    """
    rows, width = x.shape
    blocks = width // CHUNK
    if blocks < 4 * m:  # narrow rows: the plain top-k is as fast
        return torch.topk(x, m, dim=-1)
    x = x.contiguous()
    body = x[:, : blocks * CHUNK].view(rows, blocks, CHUNK)  # [R, blocks, C]
    best_blocks = torch.topk(body.amax(dim=-1), m, dim=-1).indices  # [R, m]
    # Copy the chosen blocks with one row-wise index_select (a gather reads an index per
    # element and was 7x slower): over a view whose row j is x's C entries from flat
    # position j, block b of row r is row r * width + b * C.
    flat = x.view(-1)  # [R*width]
    windows = flat.as_strided((flat.shape[0] - CHUNK + 1, CHUNK), (1, 1))
    row_starts = torch.arange(rows, device=x.device).unsqueeze(1) * width  # [R, 1]
    chosen = windows.index_select(0, (row_starts + best_blocks * CHUNK).view(-1))  # [R*m, C]
    candidates = chosen.view(rows, m * CHUNK)  # [R, m*C]
    if blocks * CHUNK < width:  # the tail that does not fill a block is always a candidate
        candidates = torch.cat([candidates, x[:, blocks * CHUNK :]], dim=1)
    values, picked = torch.topk(candidates, m, dim=-1)  # [R, m] positions in candidates
    block = torch.div(picked, CHUNK, rounding_mode="floor")  # m for the tail
    in_blocks = best_blocks.gather(1, block.clamp(max=m - 1)) * CHUNK + (picked - block * CHUNK)
    in_tail = picked + (blocks - m) * CHUNK  # candidates past m * C are the tail's entries
    return values, torch.where(block < m, in_blocks, in_tail)


_SCRATCH_ELEMENTS = 1 << 18  # 1 MB of float32: rows of logits processed at a time


def log_normalizer(logits: Tensor, peak: Tensor | None = None) -> Tensor:
    """T2T's ``reduce_logsumexp`` over the last dimension; log-probs are ``logits - it``.

    T2T (and TF) compute ``log(sum(exp(x - max))) + max`` with a non-finite max replaced
    by 0, then subtract the result from the logits; we use the same formula, so log-probs
    round as T2T's do (``log_softmax`` computes ``(x - max) - log(sum)``, which can differ
    in the last bit). It never materialises [..., V] log-probs (beam search needs only a
    few per row), and works through the rows a cache-sized block at a time: the logits of
    a large vocabulary do not fit in the CPU cache, and passes over all of them (subtract,
    exp, sum) were bound by memory traffic on CPU.

    Args:
        logits: [..., V] float32.
        peak: [..., 1] the row maxima, if already known.

    Returns:
        [..., 1] float32.
    """
    shape = logits.shape
    x = logits.reshape(-1, shape[-1])  # [R, V]
    peak = x.amax(dim=-1, keepdim=True) if peak is None else peak.reshape(-1, 1)  # [R, 1]
    peak = torch.where(torch.isfinite(peak), peak, torch.zeros_like(peak))
    step = max(1, _SCRATCH_ELEMENTS // max(shape[-1], 1))
    if x.device.type != "cpu" or x.shape[0] <= step:
        # One block (a GPU reads all rows at full bandwidth; few rows fit the cache): the
        # same sub, exp and sum without the block loop's scratch bookkeeping, a dozen
        # small ops a step fewer at batch 1.
        total = (x - peak).exp_().sum(dim=-1, keepdim=True)  # [R, 1]
        return (total.log_() + peak).view(*shape[:-1], 1)  # [..., 1]
    total = torch.empty_like(peak)
    scratch = x.new_empty(min(step, x.shape[0]), shape[-1])
    for start in range(0, x.shape[0], step):
        rows = slice(start, start + step)
        part = scratch[: x[rows].shape[0]]
        torch.sub(x[rows], peak[rows], out=part)
        torch.sum(part.exp_(), dim=-1, keepdim=True, out=total[rows])
    return (total.log_() + peak).view(*shape[:-1], 1)  # [..., 1]


def argmax_rows(x: Tensor) -> tuple[Tensor, Tensor]:
    """``torch.argmax(x, -1)`` and the row maxima, from block maxima.

    Same index as `torch.argmax` in every case: the first position of the maximum (ties go
    to the lower index, as ``tf.argmax``), NaN counted as the maximum. The first block
    whose maximum equals the row's maximum holds that position, and `torch.argmax` finds
    the first one among the block maxima and then inside the block.

    Args:
        x: [R, V] scores.

    Returns:
        (indices [R] int64, maxima [R, 1], each row's largest value, NaN if it has one).
    """
    rows, width = x.shape
    blocks = width // CHUNK
    if x.device.type != "cpu" or blocks < 4:  # GPUs reduce whole rows at full speed
        return x.argmax(dim=-1), x.amax(dim=-1, keepdim=True)
    x = x.contiguous()
    maxima = x[:, : blocks * CHUNK].view(rows, blocks, CHUNK).amax(dim=-1)  # [R, blocks]
    if blocks * CHUNK < width:  # the ragged tail is one more (shorter) block
        maxima = torch.cat([maxima, x[:, blocks * CHUNK :].amax(dim=-1, keepdim=True)], dim=1)
    block = maxima.argmax(dim=-1)  # [R], the first block holding the maximum
    # Positions of that block; in the short tail block they repeat the last position, which
    # comes first among the copies, so `argmax` still returns a real, first position.
    positions = (block.unsqueeze(1) * CHUNK + torch.arange(CHUNK, device=x.device)).clamp_(
        max=width - 1
    )
    inner = x.gather(1, positions).argmax(dim=-1)  # [R]
    index = positions.gather(1, inner.unsqueeze(1)).squeeze(1)  # [R]
    return index, maxima.amax(dim=-1, keepdim=True)
