"""Recurrent memories for decoder self-attention across the chunks of a long sequence.

T2T's memory Transformer reads a long target sequence chunk by chunk; a memory attached to
each decoder layer's self-attention carries information from the chunks already read to
the next one. Two kinds, as in T2T 1.15.7 (`memory_type`):

- `RecentTokensMemory` ("transformer_xl"): keeps the last `num_items` self-attention inputs
  (after the layer preprocess) of the chunks read so far; the next chunk's queries attend to
  them as extra keys/values placed before the chunk's own (Transformer-XL when it keeps one
  chunk). No parameters.
- `NeuralMemory` ("neural_memory"): a content-addressed memory of `memory_size` slots (Neural
  Turing Machine read, least-used write) whose read-out is mixed into the attention output.

Both follow one protocol around a self-attention call: `pre_attention(segment, query,
bias)` returns a token and what the attention should see (its memory antecedent and
bias); `post_attention(token, output)` returns the (possibly changed) attention output and
commits the memory's new state. `segment` [B] is each row's chunk number: 0 starts a new
sequence, so the memory from before is not attended to (RecentTokensMemory) or is cleared
(NeuralMemory, whenever the number goes down). The state is held between calls, detached
from the graph (T2T keeps it in non-trainable variables, so no gradient crosses chunks);
`reset()` drops it. Its rows follow the batch: T2T sizes them once from the hparams and
pads smaller batches; here a batch of another size starts from a fresh state for the rows
it adds, and rows beyond it are dropped.
"""

from dataclasses import dataclass

import torch
from torch import nn

from t2t.layers.attention import NEG_INF


def _fit_rows(state: torch.Tensor | None, rows: int, fresh: torch.Tensor) -> torch.Tensor:
    """`state` cut or extended to `rows` rows; added rows copy `fresh` ([1, ...])."""
    if state is None:
        return fresh.expand(rows, *fresh.shape[1:]).clone()
    if state.shape[0] >= rows:
        return state[:rows]
    extra = fresh.expand(rows - state.shape[0], *fresh.shape[1:])
    return torch.cat([state, extra.to(state)], dim=0)


@dataclass
class _RecentTokensToken:
    segment: torch.Tensor  # [B]
    vals: torch.Tensor  # [B, M, H]
    bias: torch.Tensor  # [B, 1, 1, M]


class RecentTokensMemory:
    """Caches the self-attention inputs of the most recent tokens (T2T's "transformer_xl").

    Args:
        chunk_length: tokens per chunk (T2T's split_targets_chunk_length); must be > 0.
        num_items: tokens kept (T2T's num_memory_items); 0 keeps one chunk.

    Raises:
        ValueError: chunk_length is not positive.
    """

    def __init__(self, chunk_length: int, num_items: int = 0) -> None:
        if chunk_length <= 0:
            raise ValueError("recurrent memory needs chunking: split_targets_chunk_length > 0")
        self.chunk_length = chunk_length
        self.num_items = num_items if num_items > 0 else chunk_length
        self.vals: torch.Tensor | None = None  # [B, M, H], inputs of the remembered tokens
        self.bias: torch.Tensor | None = None  # [B, 1, 1, M], 0 remembered, -1e9 empty
        self.segment: torch.Tensor | None = None  # [B], chunk number of the last write

    def reset(self) -> None:
        """Forgets everything (the next chunk starts with an empty memory)."""
        self.vals = self.bias = self.segment = None

    def pre_attention(
        self, segment: torch.Tensor, query: torch.Tensor, bias: torch.Tensor
    ) -> tuple[_RecentTokensToken, torch.Tensor, torch.Tensor]:
        """The keys/values source and bias of a chunk's self-attention with the memory.

        Args:
            segment: [B] chunk numbers (0: a new sequence; its rows ignore the memory).
            query: [B, L, H] the chunk's self-attention input (after the layer preprocess).
            bias: the chunk's own self-attention bias, broadcastable to [B, 1, L, L].

        Returns:
            (token for `post_attention`, memory antecedent [B, M+L, H] = remembered tokens
            then the chunk, bias [B, 1, L, M+L]).
        """
        batch, length, depth = query.shape
        fresh_vals = query.new_zeros(1, self.num_items, depth)
        fresh_bias = query.new_full((1, 1, 1, self.num_items), NEG_INF)
        vals = _fit_rows(self.vals, batch, fresh_vals)
        old_bias = _fit_rows(self.bias, batch, fresh_bias)
        new_sequence = (segment.reshape(batch) == 0).to(query.dtype)[:, None, None, None]
        visible = old_bias + NEG_INF * new_sequence  # [B, 1, 1, M]
        own_bias = bias.to(query.dtype).expand(batch, 1, length, length)  # [B, 1, L, L]
        full_bias = torch.cat([visible.expand(batch, 1, length, self.num_items), own_bias], -1)
        memory_antecedent = torch.cat([vals, query], dim=1)  # [B, M+L, H]

        # A token is remembered if some query of its chunk may attend to it (not padding).
        written_bias = own_bias.amax(dim=2, keepdim=True)  # [B, 1, 1, L]
        written_vals = query.detach()
        if length < self.num_items:  # keep older tokens too
            written_vals = torch.cat([vals, written_vals], dim=1)
            written_bias = torch.cat([visible, written_bias], dim=-1)
        token = _RecentTokensToken(
            segment=segment.reshape(batch).detach(),
            vals=written_vals[:, -self.num_items :],
            bias=written_bias[..., -self.num_items :],
        )
        return token, memory_antecedent, full_bias

    def post_attention(self, token: _RecentTokensToken, output: torch.Tensor) -> torch.Tensor:
        """Commits the chunk to the memory; the attention output [B, L, H] is unchanged."""
        self.segment, self.vals, self.bias = token.segment, token.vals, token.bias
        return output


class NeuralMemory(nn.Module):
    """T2T's "neural_memory": a slot memory read by content and written where least used.

    Reading (NTM, arXiv:1410.5401): cosine similarity of projected queries and projected
    slot values, times `sharpen_factor`, softmaxed over slots, weights the slot values.
    The attention output becomes `dense(output) + dense(read-out)`. Writing (arXiv:1607.00036):
    write weights softmax(access logits - gamma * mean past logits), an erase gate per slot
    and a ReLU candidate value per token; the new slots are the mean over the chunk's tokens
    of `erased old slots + weighted candidate`.

    Args:
        hidden_size: depth of the attention input and output.
        key_depth: depth of the addressing projections.
        val_depth: depth of a slot.
        memory_size: number of slots.
        sharpen_factor: multiplies the cosine similarities.
    """

    def __init__(
        self,
        hidden_size: int,
        key_depth: int,
        val_depth: int,
        memory_size: int,
        sharpen_factor: float = 1.0,
    ) -> None:
        super().__init__()
        self.memory_size = memory_size
        self.val_depth = val_depth
        self.sharpen_factor = sharpen_factor
        self.mem_key = nn.Linear(val_depth, key_depth)
        self.mem_query = nn.Linear(hidden_size, key_depth)
        self.gamma = nn.Linear(hidden_size, 1)
        self.candidate_value = nn.Linear(hidden_size, val_depth)
        self.erase = nn.Linear(hidden_size, memory_size)
        self.output_transform = nn.Linear(hidden_size, hidden_size, bias=False)
        self.memory_transform = nn.Linear(val_depth, hidden_size)
        self.reset_parameter_biases()
        self.vals: torch.Tensor | None = None  # [B, M, V] slot values
        self.mean_logits: torch.Tensor | None = None  # [B, M] running mean write logits
        self.segment: torch.Tensor | None = None  # [B] chunk number of the last call

    def reset_parameter_biases(self) -> None:
        """T2T starts the addressing projections' biases at 1 (the others at 0)."""
        for layer in (self.mem_key, self.mem_query):
            nn.init.ones_(layer.bias)
            layer.bias._t2t_own_init = True

    def reset(self) -> None:
        """Clears every slot."""
        self.vals = self.mean_logits = self.segment = None

    def _address(self, x: torch.Tensor, vals: torch.Tensor) -> torch.Tensor:
        """x [B, L, H], slots [B, M, V] -> access logits [B, L, M] (sharpened cosines)."""
        keys = self.mem_key(vals)  # [B, M, K]
        queries = self.mem_query(x)  # [B, L, K]

        def norm(t):
            return torch.sqrt(t.square().sum(-1, keepdim=True) + 1e-7)  # [.., 1]

        norms = torch.matmul(norm(queries), norm(keys).transpose(-1, -2))  # [B, L, M]
        cosine = torch.matmul(queries, keys.transpose(-1, -2)) / (norms + 1e-7)
        return self.sharpen_factor * cosine

    def pre_attention(
        self, segment: torch.Tensor, query: torch.Tensor, bias: torch.Tensor
    ) -> tuple[dict, None, torch.Tensor]:
        """Clears the rows whose chunk number went down, then reads the memory.

        Args:
            segment: [B] chunk numbers.
            query: [B, L, H] the self-attention input.
            bias: the self-attention bias, passed through.

        Returns:
            (token for `post_attention`, None: the attention attends to the chunk alone, bias).
        """
        batch = query.shape[0]
        segment = segment.reshape(batch).detach()
        vals = _fit_rows(self.vals, batch, query.new_zeros(1, self.memory_size, self.val_depth))
        logits = _fit_rows(self.mean_logits, batch, query.new_zeros(1, self.memory_size))
        # T2T's segment numbers start high, so the first call clears every row.
        before = _fit_rows(self.segment, batch, segment.new_full((1,), 100000))
        keep = (segment >= before).to(query.dtype)  # [B]
        vals = vals * keep[:, None, None]
        logits = logits * keep[:, None]
        self.segment = segment
        access = self._address(query, vals)  # [B, L, M]
        weights = torch.softmax(access, dim=-1)
        read = torch.matmul(weights, vals)  # [B, L, V]
        token = {"x": query, "access": access, "read": read, "vals": vals, "logits": logits}
        return token, None, bias

    def post_attention(self, token: dict, output: torch.Tensor) -> torch.Tensor:
        """Mixes the read-out into the attention output [B, L, H] and writes the chunk."""
        mixed = self.output_transform(output) + self.memory_transform(token["read"])
        x, access, vals, logits = token["x"], token["access"], token["vals"], token["logits"]
        gamma = torch.sigmoid(self.gamma(x))  # [B, L, 1]
        write_logits = access - gamma * logits[:, None, :]  # [B, L, M]
        candidate = torch.relu(self.candidate_value(x))  # [B, L, V]
        erase_gates = torch.sigmoid(self.erase(x))  # [B, L, M]
        write_weights = torch.softmax(write_logits, dim=-1)  # [B, L, M]
        kept = (1 - erase_gates * write_weights)[..., None] * vals[:, None]  # [B, L, M, V]
        added = write_weights[..., None] * candidate[:, :, None, :]  # [B, L, M, V]
        self.vals = (kept + added).mean(dim=1).detach()  # [B, M, V]
        self.mean_logits = (logits * 0.1 + (write_logits * 0.9).mean(dim=1)).detach()
        return mixed
