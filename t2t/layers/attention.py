"""Multi-head attention with T2T's numerics, attention biases and a key/value cache.

Attention biases are additive float tensors broadcastable to [B, heads, Lq, Lk]: 0 where a
query may attend, -1e9 where it may not (T2T's convention; never -inf, so a fully masked
row stays finite). Dot-product attention runs through
`torch.nn.functional.scaled_dot_product_attention`; relative-position attention
(Shaw et al., T2T's "dot_product_relative") needs the weights and runs explicitly.

`SelfAttentionCache` holds the keys/values of the positions decoded so far in preallocated
buffers, so that a decoding step neither grows them with `torch.cat` nor reallocates them
when beam search reorders the beams.

`recording_attention()` lets a caller see the attention weights (what T2T kept in
`model.attention_weights` for its visualization): inside the `with` block every
`MultiheadAttention` call computes its weights explicitly and hands them to the recorder.
"""

import contextlib
import contextvars
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.common import dropout_with_broadcast_dims

NEG_INF = -1e9  # T2T's large negative bias
_FEW_QUERIES = 8  # query positions up to which CPU inference attends with plain matmuls
_VECTOR_WIDTH = 16  # float32 lanes of torch's CPU softmax kernel (AVX-512)


def softmax_last(x: torch.Tensor) -> torch.Tensor:
    """`torch.softmax` over the last dimension, fast for short rows on CPU.

    torch's CPU kernel vectorises along the row and computes a row shorter than its vector
    width one scalar at a time: a decoding step's attention over 15 positions took 5x as
    long as over 16. For such rows (float32, no gradient, enough of them) the same softmax
    is computed as ``exp(x - max) / sum`` with whole-tensor ops. Other cases call
    `torch.softmax`.
    """
    if (
        1 < x.shape[-1] < _VECTOR_WIDTH
        and x.numel() >= 512  # below that, four ops cost more than the scalar loop
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not x.requires_grad
    ):
        weights = (x - x.amax(dim=-1, keepdim=True)).exp_()
        return weights.div_(weights.sum(dim=-1, keepdim=True))
    return torch.softmax(x, dim=-1)


class SelfAttentionCache:
    """Keys and values of the decoded positions: [N, heads, length, depth] views of buffers.

    Incremental decoding appends one position per step; beam search reorders the rows
    (beams) after each step. Done naively (`torch.cat`, then `index_select`), every step
    copies the whole cache twice into freshly allocated memory, which at transformer_base
    size costs more than the attention itself. Here appending writes in place, and
    reordering gathers the filled part once into a second buffer pair (ping-pong), so each
    step copies the cache at most once and allocates nothing; on CPU, when fewer than half
    the rows change parent, only those rows are copied, in place.

    The object answers `index_select(0, rows)` and `repeat_interleave(n, dim=0)` like a
    tensor, which is all beam search does to decoding states (both return this object,
    changed in place).

    Args:
        rows: N, the batch (times beams) dimension.
        heads: attention heads.
        key_depth, value_depth: per-head depths.
        capacity: positions to reserve; the buffers double when more are appended.
        device, dtype: of the buffers.
    """

    def __init__(
        self,
        rows: int,
        heads: int,
        key_depth: int,
        value_depth: int,
        capacity: int = 16,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.length = 0
        capacity = max(capacity, 1)
        self._k = torch.empty(rows, heads, capacity, key_depth, device=device, dtype=dtype)
        self._v = torch.empty(rows, heads, capacity, value_depth, device=device, dtype=dtype)
        self._spare: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def k(self) -> torch.Tensor:
        """[N, heads, length, key_depth] keys of the decoded positions."""
        return self._k[:, :, : self.length]

    @property
    def v(self) -> torch.Tensor:
        """[N, heads, length, value_depth] values of the decoded positions."""
        return self._v[:, :, : self.length]

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Adds positions k [N, h, L, dk], v [N, h, L, dv]; returns all keys and values."""
        end = self.length + k.shape[2]
        if end > self._k.shape[2]:
            self._resize(self._k.shape[0], max(end, 2 * self._k.shape[2]))
        self._k[:, :, self.length : end] = k
        self._v[:, :, self.length : end] = v
        self.length = end
        return self.k, self.v

    def index_select(self, dim: int, rows: torch.Tensor) -> "SelfAttentionCache":
        """Keeps rows `rows` (beam reordering): the changed rows copied in place when few
        change (CPU), else one gather into the spare buffers."""
        if dim != 0:
            raise ValueError("SelfAttentionCache reorders rows (dim 0) only")
        if rows.shape[0] != self._k.shape[0]:
            self._resize(rows.shape[0], self._k.shape[2], rows)
            return self
        if self._k.device.type == "cpu" and self._move_few_rows(rows):
            return self
        if self._spare is None:
            self._spare = (torch.empty_like(self._k), torch.empty_like(self._v))
        spare_k, spare_v = self._spare
        if self._k.device.type == "cpu":  # gathers straight into the strided spare views
            torch.index_select(self.k, 0, rows, out=spare_k[:, :, : self.length])
            torch.index_select(self.v, 0, rows, out=spare_v[:, :, : self.length])
        else:  # other backends may not write `out=` views: gather, then copy
            spare_k[:, :, : self.length] = self.k.index_select(0, rows)
            spare_v[:, :, : self.length] = self.v.index_select(0, rows)
        self._spare = (self._k, self._v)
        self._k, self._v = spare_k, spare_v
        return self

    def _move_few_rows(self, rows: torch.Tensor) -> bool:
        """Reorders in place when fewer than half the rows change; False if it did not.

        Often most beams continue from themselves (row i's parent is row i). Copying only
        the rows that change (their sources first, so that a row both read and overwritten
        is read before it is written) moves less memory than gathering every row, until
        about half of them change. Costs a device sync, hence CPU only.
        """
        moved = (rows != torch.arange(rows.shape[0], device=rows.device)).nonzero().view(-1)  # [M]
        if 2 * moved.shape[0] >= rows.shape[0]:
            return False
        if moved.shape[0]:
            sources = rows.index_select(0, moved)
            keys, values = self.k, self.v
            keys.index_copy_(0, moved, keys.index_select(0, sources))
            values.index_copy_(0, moved, values.index_select(0, sources))
        return True

    def repeat_interleave(self, repeats: int, dim: int = 0) -> "SelfAttentionCache":
        """Repeats every row `repeats` times (tiling examples to beams)."""
        if dim != 0:
            raise ValueError("SelfAttentionCache repeats rows (dim 0) only")
        rows = torch.arange(self._k.shape[0], device=self._k.device)
        return self.index_select(0, rows.repeat_interleave(repeats))

    def _resize(self, rows: int, capacity: int, index: torch.Tensor | None = None) -> None:
        """New buffers of `rows` x `capacity`, holding the old rows `index` (or all)."""
        k, v = self.k, self.v
        if index is not None:
            k, v = k.index_select(0, index), v.index_select(0, index)
        shape_k = (rows, k.shape[1], capacity, k.shape[3])
        shape_v = (rows, v.shape[1], capacity, v.shape[3])
        self._k, self._v = k.new_empty(shape_k), v.new_empty(shape_v)
        self._k[:, :, : self.length] = k
        self._v[:, :, : self.length] = v
        self._spare = None


class StaticKVCache:
    """A decoding step's view of fixed-size key/value buffers (static-shape decoding).

    The buffers hold room for every position of the decode; a step writes its key/value at
    `position` and attends over the whole buffer, the positions after `position` hidden
    by the attention bias (`attention_bias_after`). Every step then has the same shapes,
    so one compiled graph (`torch.compile`) serves all of them, where a cache that grows
    by a position per step would need a graph per length. The buffers start as zeros, so
    the hidden positions add exact zeros to the attention output.

    Args:
        k: [N, heads, capacity, key_depth] key buffer, written in place.
        v: [N, heads, capacity, value_depth] value buffer, written in place.
        position: 0-dim int64 tensor, the step's position (a tensor, not an int, so that a
            compiled step does not specialise on it).
    """

    def __init__(self, k: torch.Tensor, v: torch.Tensor, position: torch.Tensor) -> None:
        self.k, self.v, self.position = k, v, position

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Writes k [N, h, 1, dk], v [N, h, 1, dv] at `position`; returns the whole buffers."""
        where = self.position.view(1)
        self.k.index_copy_(2, where, k)
        self.v.index_copy_(2, where, v)
        return self.k, self.v


class AttentionRecorder:
    """The attention weights computed inside a `recording_attention()` block, in call order.

    Attributes:
        records: (module, weights) pairs; weights are detached [B, heads, Lq, Lk] tensors
            after the softmax and before dropout (each row sums to 1 over the keys).
    """

    def __init__(self) -> None:
        self.records: list[tuple[nn.Module, torch.Tensor]] = []

    def record(self, module: nn.Module, weights: torch.Tensor) -> None:
        """Keeps `weights` [B, heads, Lq, Lk] of one call of `module`."""
        self.records.append((module, weights.detach()))


_RECORDER: contextvars.ContextVar[AttentionRecorder | None] = contextvars.ContextVar(
    "t2t_attention_recorder", default=None
)


def _recorder() -> AttentionRecorder | None:
    """The active recorder; None inside a `torch.compile`d function, which cannot read a
    ContextVar without splitting its graph (a compiled decoding step records nothing)."""
    if torch.compiler.is_compiling():
        return None
    return _RECORDER.get()


@contextlib.contextmanager
def recording_attention() -> Iterator[AttentionRecorder]:
    """Records the weights of every `MultiheadAttention` call made inside the block.

    Recording forces the explicit (matmul + softmax) attention path, which computes the
    same outputs as the fused kernel up to float rounding. The recorder is per context
    (thread or task), so concurrent requests of a server do not mix their weights.

    Yields:
        The `AttentionRecorder` that collects the weights.
    """
    recorder = AttentionRecorder()
    token = _RECORDER.set(recorder)
    try:
        yield recorder
    finally:
        _RECORDER.reset(token)


def attention_bias_ignore_padding(padding: torch.Tensor) -> torch.Tensor:
    """Bias that hides padded memory positions. padding [B, L] (1.0 = pad) -> [B, 1, 1, L]."""
    return (padding * NEG_INF)[:, None, None, :]  # [B, 1, 1, L]


def attention_bias_after(position: torch.Tensor, length: int) -> torch.Tensor:
    """Bias hiding the key positions after `position` (a 0-dim tensor): [1, 1, 1, length]."""
    keys = torch.arange(length, device=position.device)
    return ((keys > position).float() * NEG_INF).view(1, 1, 1, length)


def attention_bias_lower_triangle(length: int, device=None) -> torch.Tensor:
    """Causal bias: position i sees positions <= i. Returns [1, 1, length, length]."""
    ones = torch.ones(length, length, device=device)
    return (NEG_INF * (1.0 - torch.tril(ones)))[None, None]  # [1, 1, L, L]


def attention_bias_same_segment(
    query_segment: torch.Tensor, memory_segment: torch.Tensor
) -> torch.Tensor:
    """Bias that lets a position attend only within its own segment (packed rows).

    Args:
        query_segment: [B, Lq] segment ids of the queries (0 = padding).
        memory_segment: [B, Lk] segment ids of the keys.
    Returns:
        [B, 1, Lq, Lk] float bias: 0 where the ids are equal, -1e9 elsewhere.
    """
    different = query_segment[:, :, None] != memory_segment[:, None, :]  # [B, Lq, Lk]
    return (different.float() * NEG_INF)[:, None]


def attention_bias_prepend_inputs_full_attention(padding: torch.Tensor) -> torch.Tensor:
    """Decoder bias for prepend_inputs_full_attention ([inputs 0 targets] concatenations).

    Position p may attend to q unless target_pos(q) > target_pos(p), where target_pos counts
    positions after the first 0 (the separator); so the inputs part is fully visible.

    Args:
        padding: [B, T] float, 1.0 where the concatenated target id is 0.
    Returns:
        [B, 1, T, T] bias.
    """
    # Exclusive cumsum, as T2T: 0 on the source part and the separator, > 0 after it.
    in_target = torch.cumsum(padding, dim=1) - padding  # [B, T]
    target_pos = torch.cumsum(in_target, dim=1)  # [B, T]
    illegal = target_pos[:, None, :] > target_pos[:, :, None]  # [B, Tq, Tk]
    return (illegal.to(padding.dtype) * NEG_INF)[:, None]  # [B, 1, Tq, Tk]


def relative_positions(length_q: int, length_k: int, max_relative_position: int, device=None):
    """Clipped relative distances k - q, shifted to be >= 0: [length_q, length_k] ints.

    Queries are the LAST length_q positions of the keys (so a one-query decoding step at
    position i gets row i of the full matrix, as T2T's cache mode does).
    """
    keys = torch.arange(length_k, device=device)
    queries = keys[length_k - length_q :]
    distance = keys[None, :] - queries[:, None]  # [Lq, Lk]
    clipped = distance.clamp(-max_relative_position, max_relative_position)
    return clipped + max_relative_position


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """[B, L, D] -> [B, heads, L, D / heads]."""
    batch, length, depth = x.shape
    # [B, L, D] -> [B, L, h, D/h] -> [B, h, L, D/h]
    return x.view(batch, length, num_heads, depth // num_heads).transpose(1, 2)


def combine_heads(x: torch.Tensor) -> torch.Tensor:
    """[B, heads, L, D / heads] -> [B, L, D]."""
    batch, heads, length, depth = x.shape
    # [B, h, L, D/h] -> [B, L, h, D/h] -> [B, L, D]
    return x.transpose(1, 2).reshape(batch, length, heads * depth)


class MultiheadAttention(nn.Module):
    """T2T's `multihead_attention`: q/k/v projections without bias, heads, output transform.

    Args:
        query_depth: depth of the query input.
        memory_depth: depth of the memory (keys/values source); = query_depth for self-attention.
        key_depth: total key depth over all heads (T2T's attention_key_channels or hidden).
        value_depth: total value depth over all heads.
        output_depth: depth of the output.
        num_heads: number of heads; must divide key_depth and value_depth.
        dropout: attention-weights dropout rate (T2T's attention_dropout).
        dropout_broadcast_dims: dims of the [B, heads, Lq, Lk] weights sharing a dropout mask.
        max_relative_position: > 0 for relative-position self-attention ("dot_product_relative").

    Raises:
        HParamsError: depths not divisible by heads.
    """

    def __init__(
        self,
        query_depth: int,
        memory_depth: int,
        key_depth: int,
        value_depth: int,
        output_depth: int,
        num_heads: int,
        dropout: float = 0.0,
        dropout_broadcast_dims: Sequence[int] = (),
        max_relative_position: int = 0,
    ) -> None:
        super().__init__()
        if key_depth % num_heads:
            raise HParamsError(
                f"Key depth ({key_depth}) must be divisible by the number of attention heads "
                f"({num_heads})."
            )
        if value_depth % num_heads:
            raise HParamsError(
                f"Value depth ({value_depth}) must be divisible by the number of attention "
                f"heads ({num_heads})."
            )
        self.num_heads = num_heads
        self.dropout = dropout
        # keep_logits: the next calls leave (logits, weights) [B, h, Lq, Lk], with their
        # gradients, in `kept` (supervised attention's loss reads them).
        self.keep_logits = False
        self.kept: tuple[torch.Tensor, torch.Tensor] | None = None
        self.dropout_broadcast_dims = list(dropout_broadcast_dims)
        self.max_relative_position = max_relative_position
        self.q = nn.Linear(query_depth, key_depth, bias=False)
        self.k = nn.Linear(memory_depth, key_depth, bias=False)
        self.v = nn.Linear(memory_depth, value_depth, bias=False)
        self.output_transform = nn.Linear(value_depth, output_depth, bias=False)
        if max_relative_position:
            vocab = 2 * max_relative_position + 1
            self.relative_keys = nn.Parameter(torch.empty(vocab, key_depth // num_heads))
            self.relative_values = nn.Parameter(torch.empty(vocab, value_depth // num_heads))
            for param in (self.relative_keys, self.relative_values):
                nn.init.normal_(param, std=param.shape[-1] ** -0.5)

    def memory_kv(self, memory: torch.Tensor) -> dict[str, torch.Tensor]:
        """Keys and values of a memory, for caching: [B, L, D] -> {"k", "v": [B, h, L, d]}."""
        return {
            "k": split_heads(self.k(memory), self.num_heads),
            "v": split_heads(self.v(memory), self.num_heads),
        }

    def memory_cache(self, memory: torch.Tensor) -> dict[str, torch.Tensor]:
        """`memory_kv` laid out for many decoding steps against the same memory.

        `split_heads` returns transposed views; a step's matmuls would copy them into
        contiguous memory every time (at transformer_base, 3 % of a beam search). Here the
        copies are made once: values [B, h, L, d] contiguous, and keys stored as a
        contiguous [B, h, d, L] seen through a transposed view, so that the attention
        logits' `k.transpose(-1, -2)` is contiguous.
        """
        kv = self.memory_kv(memory)
        keys = kv["k"].transpose(-1, -2).contiguous().transpose(-1, -2)  # [B, h, L, d] view
        return {"k": keys, "v": kv["v"].contiguous()}

    def forward(
        self,
        query: torch.Tensor,
        memory: torch.Tensor | None = None,
        bias: torch.Tensor | None = None,
        cache: dict[str, torch.Tensor] | None = None,
        static_kv: bool = False,
    ) -> torch.Tensor:
        """Attends from `query` to `memory` (or to itself).

        Args:
            query: [B, Lq, Dq].
            memory: [B, Lk, Dm]; None for self-attention.
            bias: additive bias broadcastable to [B, heads, Lq, Lk], or None.
            cache: for incremental decoding. Self-attention (static_kv False): the keys and
                values of earlier positions, a `SelfAttentionCache` or {"k", "v": [B, h, t,
                d]}, extended in place with this call's. Encoder-decoder attention (static_kv
                True): precomputed `memory_kv(memory)` or `memory_cache(memory)`, used instead of
                `memory`.
            static_kv: the cache holds fixed memory keys/values.

        Returns:
            [B, Lq, output_depth].
        """
        q = split_heads(self.q(query), self.num_heads)  # [B, h, Lq, dk]
        if cache is not None and static_kv:
            k, v = cache["k"], cache["v"]
            if k.shape[0] != q.shape[0]:
                out = self._attend_beams_to_shared_memory(q, k, v, bias)
                return self.output_transform(combine_heads(out))
        else:
            kv = self.memory_kv(query if memory is None else memory)
            k, v = kv["k"], kv["v"]  # [B, h, Lk, d]
            if isinstance(cache, (SelfAttentionCache, StaticKVCache)):
                k, v = cache.append(k, v)
            elif cache is not None:
                if "k" in cache:
                    k = torch.cat([cache["k"], k], dim=2)  # [B, h, t+Lk, dk]
                    v = torch.cat([cache["v"], v], dim=2)  # [B, h, t+Lk, dv]
                cache["k"], cache["v"] = k, v
        return self.output_transform(combine_heads(self._attend(q, k, v, bias)))

    def _attend(self, q, k, v, bias):
        """q [B, h, Lq, dk], k [B, h, Lk, dk], v [B, h, Lk, dv] -> [B, h, Lq, dv]."""
        if self.max_relative_position or self.dropout_broadcast_dims or self.keep_logits:
            return self._explicit_attention(q, k, v, bias)
        if _recorder() is not None:  # the weights are wanted: compute them in hand
            return self._explicit_attention(q, k, v, bias)
        if not self.training and q.shape[2] <= _FEW_QUERIES and q.device.type == "cpu":
            # A decoding step: two small matmuls beat the fused CPU kernel's set-up cost
            # (transformer_tiny beam search ~10 % faster; no change at transformer_base).
            return self._explicit_attention(q, k, v, bias)
        if bias is not None:
            bias = bias.to(q.dtype)
        return F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0
        )  # [B, h, Lq, dv]

    def _attend_beams_to_shared_memory(self, q, k, v, bias):
        """Queries of N = B * beams rows against a cached memory of B rows.

        In beam search every beam of an example attends to the same encoder output, so the
        memory keys/values are kept once per example (not tiled to the beams and not
        reordered after each step, which T2T does at a cost of beams times the memory
        traffic). The beams' queries become extra query positions of their example; each
        query row's attention is unchanged. Rows are example-major (beams of an example
        are consecutive), as the search lays them out.

        Args:
            q: [N, h, Lq, dk]; k: [B, h, Lk, dk]; v: [B, h, Lk, dv]; bias: broadcastable to
                [B, 1, 1, Lk] (a memory padding bias) or None.

        Returns:
            [N, h, Lq, dv].
        """
        rows, heads, length_q, depth = q.shape
        batch = k.shape[0]
        if rows % batch:
            raise ValueError(f"{rows} query rows do not split into beams of {batch} examples")
        beams = rows // batch
        q = q.view(batch, beams, heads, length_q, depth).transpose(1, 2)  # [B, h, K, Lq, dk]
        q = q.reshape(batch, heads, beams * length_q, depth)  # [B, h, K*Lq, dk]
        out = self._attend(q, k, v, bias)  # [B, h, K*Lq, dv]
        out = out.view(batch, heads, beams, length_q, -1).transpose(1, 2)  # [B, K, h, Lq, dv]
        return out.reshape(rows, heads, length_q, -1)  # [N, h, Lq, dv]

    def _explicit_attention(self, q, k, v, bias):
        """Dot-product attention with weights in hand (relative positions, broadcast dropout)."""
        q = q * q.shape[-1] ** -0.5
        logits = torch.matmul(q, k.transpose(-1, -2))  # [B, h, Lq, Lk]
        rel_k = rel_v = None
        if self.max_relative_position:
            idx = relative_positions(q.shape[2], k.shape[2], self.max_relative_position, q.device)
            rel_k = self.relative_keys[idx]  # [Lq, Lk, dk]
            rel_v = self.relative_values[idx]  # [Lq, Lk, dv]
            logits = logits + torch.einsum("bhqd,qkd->bhqk", q, rel_k)  # [B, h, Lq, Lk]
        if bias is not None:
            logits = logits + bias.to(logits.dtype)
        weights = softmax_last(logits)
        if self.keep_logits:
            self.kept = (logits, weights)
        recorder = _recorder()
        if recorder is not None:
            recorder.record(self, weights)
        weights = dropout_with_broadcast_dims(
            weights, self.dropout, self.dropout_broadcast_dims, self.training
        )
        out = torch.matmul(weights, v)  # [B, h, Lq, dv]
        if rel_v is not None:
            out = out + torch.einsum("bhqk,qkd->bhqd", weights, rel_v)  # [B, h, Lq, dv]
        return out
