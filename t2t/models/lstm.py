"""LSTM sequence-to-sequence models (T2T's `models/lstm.py`).

Their hparams sets are in `t2t.models.lstm_hparams` (re-exported here).

As in T2T: the encoder reads each input reversed within its length; the decoder starts from
the encoder's final state and reads the targets shifted right; outputs past a sequence's
length are zeros (TF's dynamic_rnn); dropout (`hparams.dropout`) is applied to the input of
every LSTM layer in training. TF's LSTMCell has one bias and adds forget_bias=1.0 at run
time; our LSTM keeps one trainable bias (torch's second bias is frozen at zero) that starts
at 1.0 on the forget gate, so trainable parameter counts equal T2T's.

Attention decoders follow tf.contrib.seq2seq's AttentionWrapper as T2T configures it: the
previous attention vector is concatenated to the decoder input; after the LSTM step, a
Luong (dot) or Bahdanau (additive) mechanism over the encoder outputs gives a context;
attention = dense([cell output, context]) per head; the output is the attention
(output_attention). The `num_heads` heads share one mechanism
(T2T passes the same object num_heads times) but have their own attention layers.

With `max_area_width` > 1 (lstm_area_attention_*) the mechanism attends to areas of up to
that many consecutive encoder outputs (`t2t.layers.area_attention`): area keys from the
mechanism's keys (`area_key_mode`), area values from the encoder outputs (`area_value_mode`).

Departure from T2T: T2T builds its attention mechanisms without `memory_sequence_length`,
so padded encoder positions (zero outputs) take part in the softmax and an example's
output depends on how much padding its batch has. We mask padded positions.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import area_attention, initializers, sequence_ops
from t2t.layers.initializers import own_init
from t2t.models.t2t_model import Features, T2TModel

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each [layers, B, H]


def reverse_sequence(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverses x[b, :lengths[b]] along dim 1, leaving the padding in place. x: [B, T, ...]."""
    positions = torch.arange(x.shape[1], device=x.device)[None, :]  # [1, T]
    lengths = lengths[:, None]
    index = torch.where(positions < lengths, lengths - 1 - positions, positions)  # [B, T]
    # [B, T] -> [B, T, 1, ...] -> [B, T, ...] (x's shape)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 1, index)


def length_from_embedding(emb: torch.Tensor) -> torch.Tensor:
    """Number of non-zero embedding vectors per sequence: [B, T, H] -> [B] (T2T's)."""
    return (emb.abs().sum(dim=-1) != 0).sum(dim=1)


class LSTMStack(nn.Module):
    """A stack of TF-style LSTM layers with input dropout on every layer.

    Args:
        input_size: depth of the input.
        hidden_size: LSTM units.
        num_layers: layers.
        dropout: input dropout rate of each layer (training only).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, dropout: float) -> None:
        super().__init__()
        self.dropout = dropout
        # nn.LSTM's dropout acts between layers; with the input dropout in forward() every
        # layer's input is dropped, as TF's DropoutWrapper(input_keep_prob) does.
        between = dropout if num_layers > 1 else 0.0
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True, dropout=between)
        self.reset_parameters()

    def reset_parameters(self, gain: float = 1.0, initializer: str = "uniform_unit_scaling"):
        """TF's scope initializer on each layer's kernel [in + H, 4H]; forget bias 1.0."""
        hidden = self.lstm.hidden_size
        for layer in range(self.lstm.num_layers):
            w_ih = getattr(self.lstm, f"weight_ih_l{layer}")
            w_hh = getattr(self.lstm, f"weight_hh_l{layer}")
            kernel = torch.empty(w_ih.shape[1] + hidden, 4 * hidden)  # TF layout
            initializers.init_tf_variable_(kernel, initializer, gain)
            with torch.no_grad():
                w_ih.copy_(kernel[: w_ih.shape[1]].t())
                w_hh.copy_(kernel[w_ih.shape[1] :].t())
                bias = getattr(self.lstm, f"bias_ih_l{layer}")
                bias.zero_()
                bias[hidden : 2 * hidden] = 1.0  # torch gate order i, f, g, o
            frozen = getattr(self.lstm, f"bias_hh_l{layer}")
            nn.init.zeros_(frozen)
            frozen.requires_grad_(False)
            for param in (w_ih, w_hh, bias, frozen):
                own_init(param)

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor | None = None, state: State | None = None
    ) -> tuple[torch.Tensor, State]:
        """x: [B, T, D]; lengths [B] -> (outputs [B, T, H], zero past each length; (h, c))."""
        x = F.dropout(x, self.dropout, self.training)
        if lengths is None:
            return self.lstm(x, state)
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, final = self.lstm(packed, state)
        outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
        return outputs, final


class Attention(nn.Module):
    """Luong (dot) or Bahdanau (additive) scores over a memory, as tf.contrib.seq2seq.

    Args:
        mechanism: "luong" or "bahdanau".
        num_units: the mechanism's depth (T2T: hidden_size).
        memory_depth: depth of the encoder outputs.
        query_depth: depth of the decoder cell output.
    """

    def __init__(self, mechanism: str, num_units: int, memory_depth: int, query_depth: int):
        super().__init__()
        if mechanism not in ("luong", "bahdanau"):
            raise HParamsError(
                f"Unknown hparams.attention_mechanism = {mechanism}, must be luong or bahdanau."
            )
        self.mechanism = mechanism
        self.memory_layer = nn.Linear(memory_depth, num_units, bias=False)
        if mechanism == "bahdanau":
            self.query_layer = nn.Linear(query_depth, num_units, bias=False)
            self.attention_v = nn.Parameter(torch.empty(num_units))
            bound = math.sqrt(3.0 / num_units)
            nn.init.uniform_(self.attention_v, -bound, bound)

    def forward(
        self, query: torch.Tensor, keys: torch.Tensor, memory_bias: torch.Tensor
    ) -> torch.Tensor:
        """query [B, Q], keys = memory_layer(memory) [B, S, U], bias [B, S] -> weights [B, S]."""
        if self.mechanism == "luong":
            scores = torch.einsum("bu,bsu->bs", query, keys)
        else:
            processed = self.query_layer(query)[:, None, :]  # [B, 1, U]
            scores = (self.attention_v * torch.tanh(keys + processed)).sum(-1)
        return torch.softmax(scores + memory_bias, dim=-1)


class AttentionDecoder(nn.Module):
    """T2T's `lstm_attention_decoder` (AttentionWrapper around an LSTM stack)."""

    def __init__(self, hparams: HParams, hidden_size: int, memory_depth: int) -> None:
        super().__init__()
        hp = hparams
        self.num_heads = hp.num_heads
        self.output_attention = hp.output_attention == 1
        attention_size = hp.attention_layer_size
        self.cell = LSTMStack(
            hp.hidden_size + hp.num_heads * attention_size,
            hidden_size,
            hp.num_hidden_layers,
            hp.dropout,
        )
        self.attention = Attention(hp.attention_mechanism, hidden_size, memory_depth, hidden_size)
        self.attention_layers = nn.ModuleList(
            nn.Linear(hidden_size + memory_depth, attention_size, bias=False)
            for _ in range(hp.num_heads)
        )
        self.output_layer = None
        if self.output_attention and hp.num_heads > 1:
            self.output_layer = nn.Linear(hp.num_heads * attention_size, hidden_size)
        # Area attention (lstm_area_attention_*): attend to runs of 1..max_area_width
        # encoder positions (t2t.layers.area_attention).
        self.max_area_width = hp.get("max_area_width", 1)
        self.area_key_mode = hp.get("area_key_mode", "none")
        self.area_value_mode = hp.get("area_value_mode", "none")

    def initial_attention(self, batch: int, like: torch.Tensor) -> torch.Tensor:
        """The attention vector fed to the first step: zeros [B, heads * attention size]."""
        return like.new_zeros(batch, self.num_heads * self.attention_layers[0].out_features)

    def memory_keys_and_bias(self, memory: torch.Tensor, memory_lengths: torch.Tensor):
        """(values [B, S, M], keys [B, S, U], bias [B, S]: -1e9 past each memory length).

        With area attention S counts areas: the values and keys are the areas' (T2T's
        custom_key_value_fn), and an area holding padding gets the -1e9 bias (T2T's
        area mask)."""
        keys = self.attention.memory_layer(memory)  # [B, S, U]
        positions = torch.arange(memory.shape[1], device=memory.device)[None, :]
        padding = positions >= memory_lengths[:, None]  # [B, S]
        if self.max_area_width > 1:
            width = self.max_area_width
            keys = area_attention.area_keys(keys, width, self.area_key_mode, self.training)
            memory = area_attention.area_values(memory, width, self.area_value_mode)
            padding = area_attention.area_padding(padding, width)  # [B, A]
        return memory, keys, padding.to(memory.dtype) * -1e9

    def step(self, x_t, state, attention, memory, keys, memory_bias):
        """One decoder step: x_t [N, D], attention [N, A], state (h, c) [layers, N, H], memory
        [N, S, M] -> (output [N, out] before `output_layer`, new state, new attention)."""
        step_input = torch.cat([x_t, attention], dim=-1)[:, None]  # [N, 1, D + A]
        cell_output, state = self.cell(step_input, None, state)
        cell_output = cell_output[:, 0]  # [N, H]
        alignments = self.attention(cell_output, keys, memory_bias)  # [N, S]
        context = torch.einsum("bs,bsm->bm", alignments, memory)
        heads = [layer(torch.cat([cell_output, context], -1)) for layer in self.attention_layers]
        attention = torch.cat(heads, dim=-1)
        return (attention if self.output_attention else cell_output), state, attention

    def forward(self, x, lengths, state, memory, memory_lengths):
        """x [B, T, D] shifted targets; memory [B, S, M] -> outputs [B, T, out]."""
        memory, keys, memory_bias = self.memory_keys_and_bias(memory, memory_lengths)
        attention = self.initial_attention(x.shape[0], x)
        outputs = []
        for t in range(x.shape[1]):
            output, state, attention = self.step(
                x[:, t], state, attention, memory, keys, memory_bias
            )
            outputs.append(output)
        output = torch.stack(outputs, dim=1)  # [B, T, out]
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths[:, None]
        output = output * mask[..., None].to(output.dtype)  # dynamic_rnn: zeros past length
        if self.output_layer is not None:
            output = self.output_layer(output)
        return output


class Seq2seqBody(nn.Module):
    """The LSTM seq2seq body shared by the four seq2seq models (composition, not a base).

    Args:
        hparams: the model hparams.
        has_input: whether the problem has inputs (no encoder otherwise).
        bidirectional: forward and backward encoder stacks; decoder of 2 * hidden units.
        attention: an attention decoder (needs inputs).

    Raises:
        HParamsError: orthogonal initializer (T2T refuses it too), attention without inputs.
    """

    def __init__(
        self, hparams: HParams, has_input: bool, bidirectional: bool, attention: bool
    ) -> None:
        super().__init__()
        hp = hparams
        if hp.initializer == "orthogonal":
            raise HParamsError("LSTM models fail with orthogonal initializer.")
        if attention and not has_input:
            raise HParamsError("LSTM attention models need a problem with inputs")
        hidden, layers = hp.hidden_size, hp.num_hidden_layers
        self.bidirectional, self.attention = bidirectional, attention
        self.encoder = self.encoder_bw = None
        if has_input:
            self.encoder = LSTMStack(hidden, hidden, layers, hp.dropout)
            if bidirectional:
                self.encoder_bw = LSTMStack(hidden, hidden, layers, hp.dropout)
        decoder_hidden = 2 * hidden if bidirectional else hidden
        if attention:
            self.decoder = AttentionDecoder(hp, decoder_hidden, decoder_hidden)
        else:
            self.decoder = LSTMStack(hidden, decoder_hidden, layers, hp.dropout)

    def encode(self, inputs: torch.Tensor):
        """Embedded inputs [B, S, H] -> (outputs [B, S, H or 2H], final (h, c))."""
        lengths = length_from_embedding(inputs)
        if not self.bidirectional:
            return self.encoder(reverse_sequence(inputs, lengths), lengths)
        fw_out, (fw_h, fw_c) = self.encoder(inputs, lengths)
        bw_out, (bw_h, bw_c) = self.encoder_bw(reverse_sequence(inputs, lengths), lengths)
        outputs = torch.cat([fw_out, reverse_sequence(bw_out, lengths)], dim=-1)
        return outputs, (torch.cat([fw_h, bw_h], -1), torch.cat([fw_c, bw_c], -1))

    def forward(self, features: Features) -> torch.Tensor:
        """{"inputs": [B, S, H], "targets": [B, T, H]} -> [B, T, H (2H if bidirectional)]."""
        memory, state = None, None
        if self.encoder is not None:
            memory, state = self.encode(features["inputs"])
        shifted = sequence_ops.shift_right(features["targets"])
        if self.attention:
            # T2T counts non-PAD target ids (+1 for the GO position).
            lengths = (features["targets_raw"] != 0).sum(dim=1) + 1
            memory_lengths = _memory_lengths(features["inputs_raw"], features["inputs"])
            return self.decoder(shifted, lengths, state, memory, memory_lengths)
        lengths = length_from_embedding(shifted) + 1
        outputs, _ = self.decoder(shifted, lengths, state)
        return outputs

    # ---- the decoding protocol (see t2t.decode.protocol), for the models below ----

    def init_decode_states(self, inputs: torch.Tensor | None, raw_inputs: torch.Tensor | None,
                           batch: int, like: torch.Tensor) -> dict:  # fmt: skip
        """Runs the encoder; the decoder's (h, c) as [B, layers, H] (batch first, so the
        search can reorder them), the attention vector, and the "shared" memory."""
        states: dict = {}
        state = None
        if self.encoder is not None:
            memory, state = self.encode(inputs)  # [B, S, M]; (h, c) [layers, B, H]
            if self.attention:
                memory_lengths = _memory_lengths(raw_inputs, inputs)
                memory, keys, memory_bias = self.decoder.memory_keys_and_bias(
                    memory, memory_lengths
                )
                states["shared"] = {"memory": memory, "keys": keys, "memory_bias": memory_bias}
                states["attention"] = self.decoder.initial_attention(batch, like)
        if state is None:
            stack = self.decoder.lstm
            zeros = like.new_zeros(batch, stack.num_layers, stack.hidden_size)
            states["h"], states["c"] = zeros, zeros.clone()
        else:
            # nn.LSTM's [layers, B, H] -> [B, layers, H]: the search reorders rows (dim 0)
            states["h"], states["c"] = (t.transpose(0, 1).contiguous() for t in state)
        return states

    def decode_step(self, x_t: torch.Tensor, states: dict) -> tuple[torch.Tensor, dict]:
        """x_t [N, D] (the embedded last token) -> (decoder output [N, out], new states)."""
        # [N, layers, H] -> nn.LSTM's [layers, N, H]
        state = (states["h"].transpose(0, 1).contiguous(), states["c"].transpose(0, 1).contiguous())
        new_states = dict(states)
        if self.attention:
            shared = states["shared"]
            beams = x_t.shape[0] // shared["memory"].shape[0]
            memory, keys, bias = (
                shared[k].repeat_interleave(beams, dim=0) for k in ("memory", "keys", "memory_bias")
            )  # [N, ...]: the beams of an example share its memory
            output, state, attention = self.decoder.step(
                x_t, state, states["attention"], memory, keys, bias
            )
            if self.decoder.output_layer is not None:
                output = self.decoder.output_layer(output)
            new_states["attention"] = attention
        else:
            output, state = self.decoder(x_t[:, None], None, state)  # [N, 1, H]
            output = output[:, 0]
        new_states["h"], new_states["c"] = (t.transpose(0, 1) for t in state)  # [N, layers, H]
        return output, new_states


class CachedLSTMDecoding:
    """The decoding protocol's pair for the LSTM seq2seq models (mixed into each).

    The cached step equals the slow path's position i as long as no PAD (id 0) was decoded
    before it (T2T's slow path counts non-zero target embeddings for the LSTM lengths).
    """

    def init_decode_states(self, features: Features, max_length: int | None = None) -> dict:
        """Encoder once; per example the decoder state [B, ...] (see `t2t.decode.protocol`)."""
        del max_length  # an LSTM's state does not grow
        raw = features.get("inputs") if self.has_input else None
        if raw is None:
            prefix = features.get("inputs", features.get("targets"))
            batch = prefix.shape[0]
        else:
            batch = raw.shape[0]
        inputs = self.bottoms["inputs"](raw) if raw is not None else None
        like = next(self.parameters())
        return self.seq2seq.init_decode_states(inputs, raw, batch, like)

    def decode_step(self, ids: torch.Tensor, i: int, states: dict) -> tuple[torch.Tensor, dict]:
        """ids [N, i+1] (start id 0 first) -> logits [N, V] for position i, new states."""
        x = self.target_bottom(ids[:, -1:])[:, 0]  # [N, H]
        if i == 0:
            x = torch.zeros_like(x)  # the shifted-in GO position is a zero vector
        output, states = self.seq2seq.decode_step(x, states)
        return self.top(output[:, None], {})[:, -1], states


def _memory_lengths(raw_inputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """[B] lengths of the attention memory: non-PAD input ids (T2T), or for inputs that are
    not ids (speech frames [B, T, M, C], which the bottom shortens) the non-zero positions
    of the embedded inputs [B, S, H]."""
    if raw_inputs.dim() == 2:
        return (raw_inputs != 0).sum(dim=1)
    return length_from_embedding(inputs)


def _attention_output_depth(hparams: HParams, decoder_hidden: int) -> int:
    """Depth of an attention decoder's output (what the softmax reads)."""
    if hparams.output_attention == 1:
        return hparams.attention_layer_size if hparams.num_heads == 1 else decoder_hidden
    return decoder_hidden


def _init_lstm_model(model: T2TModel, bidirectional: bool, attention: bool) -> None:
    hp = model.hparams
    model.seq2seq = Seq2seqBody(hp, model.has_input, bidirectional, attention)
    model.initialize_parameters()
    for module in model.modules():
        if isinstance(module, LSTMStack):
            module.reset_parameters(hp.initializer_gain, hp.initializer)


@registry.register_model("lstm_seq2seq")
class LSTMSeq2seq(CachedLSTMDecoding, T2TModel):
    """Encoder LSTM (reversed inputs) whose final state starts the decoder LSTM."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        _init_lstm_model(self, bidirectional=False, attention=False)

    def body(self, features: Features) -> torch.Tensor:
        """Embedded {"inputs": [B, S, H], "targets": [B, T, H]} -> decoder outputs [B, T, H]."""
        return self.seq2seq(features)


@registry.register_model("lstm_seq2seq_attention")
class LSTMSeq2seqAttention(CachedLSTMDecoding, T2TModel):
    """LSTM seq2seq with Luong or Bahdanau attention (`attention_mechanism`)."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        _init_lstm_model(self, bidirectional=False, attention=True)

    def body_output_depth(self) -> int:
        """attention_layer_size with output_attention and one head, else hidden_size."""
        return _attention_output_depth(self.hparams, self.hparams.hidden_size)

    def body(self, features: Features) -> torch.Tensor:
        """Embedded {"inputs": [B, S, H], "targets": [B, T, H]} -> [B, T, body_output_depth]."""
        return self.seq2seq(features)


@registry.register_model("lstm_seq2seq_bidirectional_encoder")
class LSTMSeq2seqBidirectionalEncoder(CachedLSTMDecoding, T2TModel):
    """Forward and backward encoder stacks; the decoder has 2 * hidden_size units."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        _init_lstm_model(self, bidirectional=True, attention=False)

    def body_output_depth(self) -> int:
        """2 * hidden_size: the decoder starts from the concatenated encoder states."""
        return 2 * self.hparams.hidden_size

    def body(self, features: Features) -> torch.Tensor:
        """Embedded {"inputs": [B, S, H], "targets": [B, T, H]} -> [B, T, 2H]."""
        return self.seq2seq(features)


@registry.register_model("lstm_seq2seq_attention_bidirectional_encoder")
class LSTMSeq2seqAttentionBidirectionalEncoder(CachedLSTMDecoding, T2TModel):
    """Bidirectional encoder and an attention decoder with 2 * hidden_size units."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        _init_lstm_model(self, bidirectional=True, attention=True)

    def body_output_depth(self) -> int:
        """attention_layer_size with output_attention and one head, else 2 * hidden_size."""
        return _attention_output_depth(self.hparams, 2 * self.hparams.hidden_size)

    def body(self, features: Features) -> torch.Tensor:
        """Embedded {"inputs": [B, S, H], "targets": [B, T, H]} -> [B, T, body_output_depth]."""
        return self.seq2seq(features)


@registry.register_model("lstm_encoder")
class LSTMEncoder(T2TModel):
    """An LSTM over the reversed inputs; the target modality's top reads its outputs."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        if hp.initializer == "orthogonal":
            raise HParamsError("LSTM models fail with orthogonal initializer.")
        self.encoder = LSTMStack(hp.hidden_size, hp.hidden_size, hp.num_hidden_layers, hp.dropout)
        self.initialize_parameters()
        self.encoder.reset_parameters(hp.initializer_gain, hp.initializer)

    def body(self, features: Features) -> torch.Tensor:
        """Embedded inputs [B, S, H] -> encoder outputs [B, S, H] (zeros past each length)."""
        inputs = features["inputs"]
        lengths = length_from_embedding(inputs)
        outputs, _ = self.encoder(reverse_sequence(inputs, lengths), lengths)
        return outputs


# The hparams sets live in lstm_hparams.py; re-exported for T2T's `models.lstm.<set>()`.
from t2t.models.lstm_hparams import (  # noqa: E402, F401
    lstm_asr_v1,
    lstm_attention,
    lstm_attention_base,
    lstm_bahdanau_attention,
    lstm_bahdanau_attention_multi,
    lstm_luong_attention,
    lstm_luong_attention_multi,
    lstm_seq2seq,
)
