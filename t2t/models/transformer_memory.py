"""T2T's `transformer_memory`: a Transformer language model with memory across chunks.

Its hparams sets are in `t2t.models.transformer_memory_hparams`.

The targets are read in chunks of `split_targets_chunk_length` tokens; each decoder
layer's self-attention has a recurrent memory (`t2t.layers.transformer_memory`, chosen by
`memory_type`) that carries what earlier chunks held into the next one. A chunk is
processed as T2T processes it: as a sequence of its own (shifted right within the chunk,
positions restarting at 0, causal attention within it), attending to the memory besides.

Where the chunking happens differs from T2T on purpose. T2T cut each batch of sequences
into chunks in its input pipeline and trained on one chunk per step, the memory living in
variables between steps (so consecutive steps had to hold consecutive chunks of the same
sequences). Here a forward pass cuts the targets into chunks itself and reads them in order
with the memory carried, so a batch of whole sequences is one training step, the loss
averages over all its tokens, and no gradient crosses chunks (T2T stops it there too). The
pipeline's knobs therefore act here: `split_targets_chunk_length` (chunk size),
`split_targets_max_chunks` (a longer sequence is an error; T2T's pipeline broke on it);
`split_targets_strided_training` (which chunks T2T put in one step) has nothing to do.

T2T's one-chunk-per-call mode is kept for callers that feed chunks themselves: features
with "chunk_number" ([B] or [B, L], T2T's feature) make a forward pass read "targets" as
that chunk, the memory held between calls (`reset_memory()` drops it; chunk number 0 starts
a sequence afresh).

Decoding runs the slow path (the whole prefix each step, chunked as above): T2T's cached
decoding refused the memory too.
"""

import math

import torch
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import common
from t2t.layers import transformer_layers as tl
from t2t.layers.initializers import initialize_module
from t2t.layers.transformer_memory import NeuralMemory, RecentTokensMemory
from t2t.models.t2t_model import Features
from t2t.models.transformer import Transformer, _dropout

_MEMORY_TYPES = ("transformer_xl", "neural_memory")


@registry.register_model
class TransformerMemory(Transformer):
    """Transformer language model whose decoder self-attention has a memory across chunks.

    Args:
        hparams: a set with `split_targets_chunk_length` > 0 and `memory_type`
            ("transformer_xl" or "neural_memory"), e.g. transformer_wikitext103_l4k_memory_v0.
        problem_hparams: the problem's hparams.

    Raises:
        HParamsError: no chunking, or an unknown memory_type.
    """

    # The cached decoding protocol would bypass the memory: decode through the slow path.
    init_decode_states = None
    decode_step = None

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        if hp.split_targets_chunk_length <= 0:
            raise HParamsError(
                "transformer_memory needs chunking: set split_targets_chunk_length > 0"
            )
        memory_type = hp.get("memory_type", "transformer_xl")
        if memory_type not in _MEMORY_TYPES:
            raise HParamsError(
                f"memory_type {memory_type!r} is not supported; use one of "
                f"{', '.join(_MEMORY_TYPES)}"
            )
        num_layers = len(self.decoder.layers)
        self.neural_memories = None
        if memory_type == "neural_memory":
            self.neural_memories = nn.ModuleList(
                NeuralMemory(
                    hp.hidden_size,
                    hp.hidden_size,
                    hp.hidden_size,
                    memory_size=hp.split_targets_chunk_length,
                )
                for _ in range(num_layers)
            )
            initialize_module(self.neural_memories, hp.initializer, hp.initializer_gain)
            self.memories = list(self.neural_memories)
        else:
            num_items = hp.get("num_memory_items", 0)
            self.memories = [
                RecentTokensMemory(hp.split_targets_chunk_length, num_items)
                for _ in range(num_layers)
            ]

    @property
    def has_input(self) -> bool:
        """False when `unconditional` is set (inputs, if any, are ignored), as in T2T."""
        if self.hparams.get("unconditional", False):
            return False
        return super().has_input

    def reset_memory(self) -> None:
        """Drops the memory every layer holds from earlier calls."""
        for memory in self.memories:
            memory.reset()

    def body(self, features: Features) -> torch.Tensor:
        """Embedded {"targets": [B, T, H]} (and "chunk_number") -> decoder output [B, T, H].

        With inputs (a set without `unconditional`), every chunk also attends to the
        encoder output, without memory there, as in T2T.

        Raises:
            ValueError: more than split_targets_max_chunks chunks.
        """
        encoded = None
        if self.has_input:
            encoded = self.encoder(features["inputs"], features.get("target_space_id"))
        targets = features["targets"]
        if "chunk_number" in features:
            chunk_number = features.get("chunk_number_raw", features["chunk_number"])
            chunk_number = chunk_number.reshape(targets.shape[0], -1)[:, 0].long()  # [B]
            return self._chunk(targets, chunk_number, encoded)
        return self._chunks(targets, encoded)

    def _chunks(self, targets: torch.Tensor, encoded: tuple | None = None) -> torch.Tensor:
        """Targets [B, T, H] read chunk by chunk from an empty memory -> [B, T, H]."""
        hp = self.hparams
        batch, length, _ = targets.shape
        size = hp.split_targets_chunk_length
        count = max(1, math.ceil(length / size))
        if count > hp.split_targets_max_chunks:
            raise ValueError(
                f"targets of length {length} make {count} chunks of {size}, more than "
                f"split_targets_max_chunks={hp.split_targets_max_chunks}"
            )
        # The last chunk is padded to full size, as T2T's pipeline pads it (zero embeddings).
        padded = nn.functional.pad(targets, (0, 0, 0, count * size - length))  # [B, C*size, H]
        self.reset_memory()
        outputs = []
        for i in range(count):
            number = torch.full((batch,), i, dtype=torch.long, device=targets.device)
            outputs.append(self._chunk(padded[:, i * size : (i + 1) * size], number, encoded))
        self.reset_memory()  # nothing of this batch leaks into the next call
        return torch.cat(outputs, dim=1)[:, :length]

    def _chunk(
        self, targets: torch.Tensor, chunk_number: torch.Tensor, encoded: tuple | None = None
    ) -> torch.Tensor:
        """One chunk [B, L, H] with chunk numbers [B] through the decoder and the memories.

        encoded: (encoder output [B, S, H], its bias [B, 1, 1, S]) or None.
        """
        self_bias = self.decoder_self_bias(targets)  # [1, 1, L, L]
        x = _dropout(self.positions(common.shift_right(targets)), self.hparams, self.training)
        for layer, memory in zip(self.decoder.layers, self.memories):
            x = _layer_with_memory(layer, memory, x, self_bias, chunk_number, encoded)
        return self.decoder.final(None, x)


def _layer_with_memory(
    layer: tl.DecoderLayer,
    memory: RecentTokensMemory | NeuralMemory,
    x: torch.Tensor,
    self_bias: torch.Tensor,
    chunk_number: torch.Tensor,
    encoded: tuple | None = None,
) -> torch.Tensor:
    """A decoder layer whose self-attention goes through `memory`.

    x: [B, L, H]; self_bias: [1 or B, 1, L, L]; chunk_number: [B]; encoded: (encoder
    output [B, S, H], bias [B, 1, 1, S]) or None. Returns [B, L, H].
    """
    wrapped = layer.self_attention
    query = wrapped.pre(None, x)  # [B, L, H]
    token, antecedent, bias = memory.pre_attention(chunk_number, query, self_bias)
    # With remembered tokens the keys are [memory, chunk]; relative positions count the
    # queries as the last L keys, as T2T's attention does with memory.
    y = wrapped.sublayer(query, antecedent, bias=bias)  # [B, L, H]
    y = memory.post_attention(token, y)
    x = wrapped.post(x, y)
    if encoded is not None:
        x = layer.encdec_attention(x, encoded[0], bias=encoded[1])
    return layer.ffn(x)


# The hparams sets live in transformer_memory_hparams.py; re-exported for T2T's
# `models.transformer.<set>()`.
from t2t.models.transformer_memory_hparams import (  # noqa: E402, F401
    transformer_cifar10_memory_v0,
    transformer_imagenet64_memory_v0,
    transformer_wikitext103_l4k_memory_v0,
    transformer_wikitext103_l4k_v0,
    transformer_wikitext103_l16k_memory_v0,
)
