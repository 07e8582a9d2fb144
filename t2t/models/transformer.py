"""The Transformer (Vaswani et al.) as T2T computes it, and its fast decoding.

Its hparams sets are in `t2t.models.transformer_hparams` (re-exported here).

Models: `transformer` (encoder-decoder; decoder-only when the problem has no "inputs")
and `transformer_encoder` (encoder only, e.g. for classification with a class_label top).

T2T details kept on purpose: PAD embeds to zero and padding is found from all-zero input
embeddings; a [32, H] target-space embedding is added to every encoder position; the
timing signal is [sin | cos] halves; targets are shifted right with a zero vector (the
GO symbol); every sublayer is wrapped in the layer pre/post-process sequences.
"""

import torch
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import attention as attn
from t2t.layers import common
from t2t.layers import transformer_layers as tl
from t2t.layers.attention_loss import encoder_decoder_attention_loss
from t2t.layers.timing_signal import get_timing_signal_1d, timing_signal_at
from t2t.layers.vq_gating import vq_arguments
from t2t.models.t2t_model import Features, T2TModel

_SELF_ATTENTION_TYPES = ("dot_product", "dot_product_relative")


def layer_config(hparams: HParams) -> tl.LayerConfig:
    """The plain layer settings of a Transformer hparams set.

    Raises:
        HParamsError: an attention or FFN type this port does not implement.
    """
    hp = hparams
    if hp.self_attention_type not in _SELF_ATTENTION_TYPES:
        raise HParamsError(
            f"self_attention_type {hp.self_attention_type!r} is not supported; "
            f"use one of {', '.join(_SELF_ATTENTION_TYPES)}"
        )
    relative = hp.self_attention_type == "dot_product_relative"
    if relative and not hp.max_relative_position:
        raise HParamsError(
            "Max relative position (0) should be > 0 when using relative self attention."
        )
    dims = common.parse_broadcast_dims
    return tl.LayerConfig(
        hidden_size=hp.hidden_size,
        filter_size=hp.filter_size,
        num_heads=hp.num_heads,
        key_depth=hp.attention_key_channels,
        value_depth=hp.attention_value_channels,
        layer_preprocess_sequence=hp.layer_preprocess_sequence,
        layer_postprocess_sequence=hp.layer_postprocess_sequence,
        layer_prepostprocess_dropout=hp.layer_prepostprocess_dropout,
        layer_prepostprocess_dropout_broadcast_dims=dims(
            hp.layer_prepostprocess_dropout_broadcast_dims
        ),
        attention_dropout=hp.attention_dropout,
        attention_dropout_broadcast_dims=dims(hp.attention_dropout_broadcast_dims),
        relu_dropout=hp.relu_dropout,
        relu_dropout_broadcast_dims=dims(hp.relu_dropout_broadcast_dims),
        norm_type=hp.norm_type,
        norm_epsilon=hp.norm_epsilon,
        ffn_layer=hp.ffn_layer,
        conv_first_kernel=hp.conv_first_kernel,
        max_relative_position=hp.max_relative_position if relative else 0,
        use_pad_remover=hp.use_pad_remover,
        moe=moe_config(hp) if hp.ffn_layer.startswith("local_moe") else {},
        parameter_attention_key_depth=hp.get("parameter_attention_key_channels", 0),
        parameter_attention_value_depth=hp.get("parameter_attention_value_channels", 0),
    )


def moe_config(hparams: HParams) -> dict:
    """`MoEFeedForward` arguments from T2T's moe_* hparams (ffn_layer local_moe / _tpu)."""
    hp = hparams
    gating = hp.get("gating_type", "topk")
    if gating not in ("topk", "vq") or (gating == "vq" and hp.ffn_layer != "local_moe"):
        raise HParamsError(
            f"gating_type {gating!r} is not supported with ffn_layer {hp.ffn_layer!r}; use "
            "topk (or vq with local_moe)"
        )
    config = dict(
        num_experts=hp.moe_num_experts,
        k=hp.moe_k,
        # T2T's transformer_ffn_layer calls local_moe without a coefficient: its default
        # 1e-2 applies whatever moe_loss_coef says (local_moe_tpu does read moe_loss_coef).
        loss_coef=1e-2 if hp.ffn_layer == "local_moe" else hp.moe_loss_coef,
        overhead_train=hp.get("moe_overhead_train", 1.0),
        overhead_eval=hp.get("moe_overhead_eval", 2.0),
    )
    if gating == "vq":
        config["vq"] = vq_arguments(hp)
    return config


class _Positions(nn.Module):
    """T2T's `pos`: "timing" (sinusoids), "emb" (learned [max_length, H]) or None (nothing)."""

    def __init__(self, pos: str | None, hidden_size: int, max_length: int) -> None:
        super().__init__()
        if pos not in ("timing", "emb", None, "none"):
            raise HParamsError(f"pos {pos!r} is not supported; use timing, emb or None")
        self.pos = pos
        self.max_length = max_length
        self._signal: torch.Tensor | None = None  # timing signal of positions 0.., [1, P, H]
        if pos == "emb":
            weight = torch.randn(max_length, hidden_size) * hidden_size**-0.5
            self.embedding = common.own_init(nn.Parameter(weight))

    def forward(
        self, x: torch.Tensor, start: int = 0, positions: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: [B, T, H] at positions start .. start+T-1, or at `positions` [B, T] (packed
        rows, where they restart in every example) -> x + positions."""
        if positions is not None and self.pos in ("timing", "emb"):
            return x + self._at(positions, x)
        if self.pos == "timing":
            return x + self._timing_signal(start, x.shape[1], x.shape[2], x.device).to(x.dtype)
        if self.pos == "emb":
            if start + x.shape[1] > self.max_length:
                raise ValueError(
                    f"length {start + x.shape[1]} exceeds max_length {self.max_length} "
                    "of the learned positional embedding"
                )
            return x + self.embedding[start : start + x.shape[1]]
        return x

    def at_step(self, x: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """x [N, 1, H] at the position held by a 0-dim tensor -> x + its signal (the
        static-shape decoding step; `reserve` must have covered the position)."""
        if self.pos == "timing":
            return x + self._signal.index_select(1, position.view(1)).to(x.dtype)  # [1, 1, H]
        if self.pos == "emb":
            return x + self.embedding.index_select(0, position.view(1))  # [1, H]
        return x

    def reserve(self, length: int, channels: int, device) -> None:
        """Makes the kept timing signal cover positions 0 .. length - 1 (for `at_step`)."""
        if self.pos == "timing":
            self._timing_signal(0, length, channels, device)
        elif self.pos == "emb" and length > self.max_length:
            raise ValueError(
                f"length {length} exceeds max_length {self.max_length} "
                "of the learned positional embedding"
            )

    def _at(self, positions: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """[B, T, H] signal or embedding of the given per-token positions [B, T]."""
        if self.pos == "timing":
            return timing_signal_at(positions, x.shape[2]).to(x.dtype)
        positions = positions.long()
        if positions.numel() and int(positions.max()) >= self.max_length:
            raise ValueError(
                f"position {int(positions.max())} exceeds max_length {self.max_length} "
                "of the learned positional embedding"
            )
        return self.embedding[positions]  # [B, T, H]

    def _timing_signal(self, start: int, length: int, channels: int, device) -> torch.Tensor:
        """[1, length, channels] sinusoids of positions start.., sliced from a kept table.

        Decoding adds one position a step; building its sinusoids each time took a dozen
        small ops. The table holds the same values (positions are whole numbers, exact in
        float32) and grows by doubling.
        """
        end = start + length
        table = self._signal
        if table is None or table.shape[1] < end or table.shape[2] != channels:
            size = max(end, 2 * table.shape[1] if table is not None else 0, 64)
            table = get_timing_signal_1d(size, channels, device=device)
        elif table.device != device:
            table = table.to(device)
        self._signal = table
        return table[:, start:end]


def _dropout(x: torch.Tensor, hparams: HParams, training: bool) -> torch.Tensor:
    """layer_prepostprocess_dropout on an embedded sequence (encoder / decoder input)."""
    dims = common.parse_broadcast_dims(hparams.layer_prepostprocess_dropout_broadcast_dims)
    return common.dropout_with_broadcast_dims(
        x, hparams.layer_prepostprocess_dropout, dims, training
    )


class InputEncoder(nn.Module):
    """T2T's `transformer_prepare_encoder` + `transformer_encoder`.

    Padding comes from all-zero input embeddings; the target-space embedding ([32, H],
    T2T's body/target_space_embedding, scope initializer, not scaled) is added to every
    position, then positions and dropout, then the encoder stack.

    Args:
        hparams: the Transformer hparams.
        default_target_space: the problem's target_space_id, used when features have none.
    """

    def __init__(self, hparams: HParams, default_target_space: int = 0) -> None:
        super().__init__()
        hp = hparams
        self.hparams = hp
        self.default_target_space = default_target_space
        self.stack = tl.TransformerEncoder(
            layer_config(hp), hp.num_encoder_layers or hp.num_hidden_layers
        )
        self.target_space_embedding = None
        if hp.use_target_space_embedding:
            self.target_space_embedding = nn.Parameter(torch.zeros(32, hp.hidden_size))
        self.positions = _Positions(getattr(hp, "pos", None), hp.hidden_size, hp.max_length)

    def forward(self, inputs: torch.Tensor, target_space_id=None, packing=None):
        """Embedded inputs [B, S, H] -> (output [B, S, H], memory bias [B, 1, 1 or T, S]).

        target_space_id: int, [] or [B] tensor; None uses the problem's.
        packing: for packed rows, `_Packing` of the inputs (and targets): attention stays
            within an example's segment, positions restart in every example.
        """
        if packing is None or packing.inputs_segmentation is None:
            packing = None
            padding = common.embedding_to_padding(inputs)  # [B, S]
            memory_bias = attn.attention_bias_ignore_padding(padding)
            self_bias = memory_bias
            position = None
        else:
            padding = (packing.inputs_segmentation == 0).to(inputs.dtype)  # [B, S]
            self_bias = packing.encoder_self_bias()
            memory_bias = packing.encoder_decoder_bias(padding)
            position = packing.inputs_position
        if self.hparams.unidirectional_encoder:
            causal = attn.attention_bias_lower_triangle(inputs.shape[1], inputs.device)
            # T2T drops the segment bias here; kept so packed examples stay apart.
            self_bias = causal if packing is None else causal + self_bias
        x = inputs
        if self.target_space_embedding is not None:
            if target_space_id is None:
                target_space_id = self.default_target_space
            ids = torch.as_tensor(target_space_id, device=x.device).reshape(-1).long()  # [1 or B]
            x = x + self.target_space_embedding[ids][:, None, :]  # [1 or B, 1, H]
        x = _dropout(self.positions(x, positions=position), self.hparams, self.training)
        return self.stack(x, self_bias, padding), memory_bias


@registry.register_model
class Transformer(T2TModel):
    """Encoder-decoder Transformer; decoder-only when the problem has no "inputs".

    Args:
        hparams: a transformer hparams set (e.g. `transformer_base`).
        problem_hparams: the problem's hparams (modalities, vocab sizes, space ids).
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        self.encoder = None
        if self.has_input:
            target_space = getattr(problem_hparams, "target_space_id", 0)
            self.encoder = InputEncoder(hp, target_space)
        self.decoder = tl.TransformerDecoder(
            layer_config(hp), hp.num_decoder_layers or hp.num_hidden_layers, self.has_input
        )
        self.positions = _Positions(getattr(hp, "pos", None), hp.hidden_size, hp.max_length)
        self.initialize_parameters()

    def decoder_self_bias(self, targets: torch.Tensor) -> torch.Tensor:
        """Decoder self-attention bias from embedded targets [B, T, H]."""
        hp = self.hparams
        if hp.prepend_mode == "prepend_inputs_full_attention":
            padding = common.embedding_to_padding(targets)
            return attn.attention_bias_prepend_inputs_full_attention(padding)
        if hp.causal_decoder_self_attention:
            return attn.attention_bias_lower_triangle(targets.shape[1], targets.device)
        return attn.attention_bias_ignore_padding(common.embedding_to_padding(targets))

    def body(self, features: Features) -> torch.Tensor:
        """Transformed features {"inputs": [B, S, H], "targets": [B, T, H]} -> [B, T, H].

        Packed rows (features "targets_segmentation" / "targets_position", and the inputs'
        when there are inputs: ids 1, 2, ... per example, 0 = padding) are attended
        segment by segment, as in T2T.
        """
        packing = _Packing.of(features)
        memory = memory_bias = None
        if self.has_input:
            memory, memory_bias = self.encoder(
                features["inputs"], features.get("target_space_id"), packing
            )
        targets = features["targets"]
        self_bias = self.decoder_self_bias(targets)
        shifted = common.shift_right(targets)  # [B, T, H]
        position = None
        if packing is not None and packing.targets_segmentation is not None:
            self_bias = self_bias + packing.decoder_self_bias()
            # Each example starts from the GO vector (zeros), as it does alone. T2T shifts
            # the whole row, so its later examples start from the previous one's last
            # token; zeroing them makes a packed example compute what it computes alone.
            position = packing.targets_position
            shifted = shifted * (position != 0).unsqueeze(-1).to(shifted.dtype)  # [B, T, 1]
        x = _dropout(self.positions(shifted, positions=position), self.hparams, self.training)
        supervised = self._supervised_attentions(features)
        if not supervised:
            return self.decoder(x, self_bias, memory, memory_bias)
        try:
            output = self.decoder(x, self_bias, memory, memory_bias)
            kept = [attention.kept for attention in supervised]
        finally:
            for attention in supervised:
                attention.keep_logits, attention.kept = False, None
        hp = self.hparams
        loss = encoder_decoder_attention_loss(
            features["expected_attentions"],
            [logits for logits, _ in kept],
            [weights for _, weights in kept],
            hp.expected_attention_loss_type,
            hp.expected_attention_loss_multiplier,
        )
        return output, {"attention_loss": loss}

    def _supervised_attentions(self, features: Features) -> list[nn.Module]:
        """The decoder's encoder-decoder attentions, set to keep their logits, when the
        hparams ask for supervised attention (transformer_supervised_attention) and the
        features carry "expected_attentions" [B, T, S]; else []."""
        if "expected_attentions" not in features or not self.has_input:
            return []
        if not self.hparams.get("expected_attention_loss_type"):
            return []
        attentions = [layer.encdec_attention.sublayer for layer in self.decoder.layers]
        for attention in attentions:
            attention.keep_logits = True
        return attentions

    # ---- fast (cached) decoding -----------------------------------------------------

    def init_decode_states(
        self, features: Features, max_length: int | None = None, static: bool = False
    ) -> dict:
        """The decoding protocol's initial state (see `t2t.decode.protocol`).

        Runs the encoder and builds the per-layer key/value cache.

        Args:
            features: {"inputs": [B, S], ...}, or a prefix for a model without inputs.
            max_length: decoding steps to reserve cache room for (the cache grows beyond,
                unless `static`).
            static: for the static-shape step (`supports_static_decoding`): each layer's
                cache is {"k", "v"}: zero buffers [B, h, max_length, d] of fixed size.

        Returns:
            Per decoder layer an empty `SelfAttentionCache` of B rows (and for conv_relu_conv
            {"f": [B, 0, H]}, the FFN's last inputs); under "shared" (the
            same for every beam) the memory bias and each layer's encoder-decoder
            keys/values [B, ...].
        """
        if static and not (max_length and self.supports_static_decoding()):
            raise ValueError(
                "static decode states need a max_length and a decoder with a static-shape "
                "step (supports_static_decoding)"
            )
        if _Packing.of(features) is not None:
            raise ValueError(
                "decoding packed examples is not supported (nor in T2T): decode the unpacked "
                "problem, with pack_dataset=false"
            )
        states: dict = {}
        shared: dict = {}
        memory = None
        if self.has_input:
            inputs = self.bottoms["inputs"](features["inputs"])  # [B, S, H]
            memory, shared["memory_bias"] = self.encoder(inputs, features.get("target_space_id"))
            batch = inputs.shape[0]
        else:
            batch = _prefix(features).shape[0]
        parameter = next(self.parameters())
        if static:
            self.positions.reserve(max_length, self.hparams.hidden_size, parameter.device)
        for i, layer in enumerate(self.decoder.layers):
            attention = layer.self_attention.sublayer
            cache = _self_attention_cache(attention, batch, max_length, static, parameter)
            states[f"layer_{i}"] = {"self": cache}
            if self.hparams.ffn_layer == "conv_relu_conv":  # the conv's last inputs [B, 0, H]
                empty = parameter.new_zeros(batch, 0, self.hparams.hidden_size)
                states[f"layer_{i}"]["ffn"] = {"f": empty}
            if memory is not None:
                shared[f"layer_{i}"] = {
                    "encdec": layer.encdec_attention.sublayer.memory_cache(memory)
                }
        if shared:
            states["shared"] = shared
        return states

    def decode_step(self, ids: torch.Tensor, i: int, states: dict) -> tuple[torch.Tensor, dict]:
        """The decoding protocol's cached step: ids [N, i+1] (start id 0 first) -> logits [N, V].

        Equals position i of the full forward pass on the same targets. The self-attention
        caches in `states` are extended in place; the encoder-side "shared" states may have
        B rows while N = B·beams (attention groups the beams' queries per example).
        """
        x = self.target_bottom(ids[:, -1:])  # [N, 1, H]
        if isinstance(i, torch.Tensor):
            return self._static_decode_step(x, i, states)
        if i == 0:
            x = torch.zeros_like(x)  # the GO symbol is a zero vector, as shift_right makes it
        x = self.positions(x, start=i)
        cache = _with_shared_states(states)
        out = self.decoder(x, None, None, cache.get("memory_bias"), cache=cache)
        return self.top(out, {})[:, -1], states

    def supports_static_decoding(self) -> bool:
        """Whether `decode_step` has a static-shape form (states from
        `init_decode_states(..., static=True)`, the step a 0-dim tensor): not with relative
        self-attention (its distances need the true length) or a conv_relu_conv FFN (its
        state grows)."""
        hp = self.hparams
        return hp.self_attention_type == "dot_product" and hp.ffn_layer != "conv_relu_conv"

    def _static_decode_step(
        self, x: torch.Tensor, i: torch.Tensor, states: dict
    ) -> tuple[torch.Tensor, dict]:
        """`decode_step` on fixed-size caches: the same layers, every step the same shapes.

        x: [N, 1, H] embedded last ids; i: 0-dim int64 tensor. Each layer writes its key and
        value at position i of its buffers (`attn.StaticKVCache`) and attends over all of
        them, the positions after i hidden by the bias. Returns (logits [N, V], states).
        """
        x = torch.where(i == 0, torch.zeros_like(x), x)  # the GO symbol at step 0
        x = self.positions.at_step(x, i)
        cache = dict(_with_shared_states(states))  # a copy: the layers get other cache objects
        capacity = 0
        for name, layer_states in cache.items():
            if name.startswith("layer_"):
                buffers = layer_states["self"]
                capacity = buffers["k"].shape[2]
                static = attn.StaticKVCache(buffers["k"], buffers["v"], i)
                cache[name] = {**layer_states, "self": static}
        self_bias = attn.attention_bias_after(i, capacity)  # [1, 1, 1, capacity]
        out = self.decoder(x, self_bias, None, cache.get("memory_bias"), cache=cache)
        return self.top(out, {})[:, -1], states

    def decode_step_modules(self) -> list[nn.Module]:
        """The modules `decode_step` runs (their weights are packed for a CPU decoding loop)."""
        return [m for m in (self.decoder, self.target_top) if m is not None]


class _Packing:
    """The segment ids and positions [B, L] of a batch of packed rows (T2T's features
    `<stream>_segmentation` / `<stream>_position`), and the attention biases they give."""

    def __init__(self, features: Features) -> None:
        def raw(name: str) -> torch.Tensor | None:
            # A packed problem's identity bottoms turn them to floats; the ids are kept raw.
            return features.get(f"{name}_raw", features.get(name))

        self.targets_segmentation = raw("targets_segmentation")
        self.targets_position = raw("targets_position")
        self.inputs_segmentation = raw("inputs_segmentation")
        self.inputs_position = raw("inputs_position")

    @classmethod
    def of(cls, features: Features) -> "_Packing | None":
        """The packing of `features`, or None when they are not packed."""
        if "targets_segmentation" not in features and "inputs_segmentation" not in features:
            return None
        return cls(features)

    def encoder_self_bias(self) -> torch.Tensor:
        """[B, 1, S, S]: an input token attends to its own example's tokens."""
        segments = self.inputs_segmentation
        return attn.attention_bias_same_segment(segments, segments)

    def encoder_decoder_bias(self, input_padding: torch.Tensor) -> torch.Tensor:
        """[B, 1, T, S] when targets are packed (a target token attends to its example's
        inputs), else the inputs' padding bias [B, 1, 1, S]."""
        if self.targets_segmentation is None:
            return attn.attention_bias_ignore_padding(input_padding)
        return attn.attention_bias_same_segment(self.targets_segmentation, self.inputs_segmentation)

    def decoder_self_bias(self) -> torch.Tensor:
        """[B, 1, T, T], added to the causal bias: a target token sees its own example."""
        segments = self.targets_segmentation
        return attn.attention_bias_same_segment(segments, segments)


def _self_attention_cache(
    attention: nn.Module,
    batch: int,
    max_length: int | None,
    static: bool,
    parameter: torch.Tensor,
):
    """An empty decoding cache for one self-attention of B = `batch` rows: a growing
    `SelfAttentionCache`, or (`static`) fixed zero buffers {"k", "v": [B, h, max_length,
    d]} for the static-shape step."""
    heads = attention.num_heads
    key_depth = attention.q.out_features // heads
    value_depth = attention.v.out_features // heads
    if static:
        return {
            "k": parameter.new_zeros(batch, heads, max_length, key_depth),
            "v": parameter.new_zeros(batch, heads, max_length, value_depth),
        }
    return attn.SelfAttentionCache(
        batch,
        heads,
        key_depth,
        value_depth,
        capacity=max_length or 16,
        device=parameter.device,
        dtype=parameter.dtype,
    )


def _with_shared_states(states: dict) -> dict:
    """A view of the decode states with the "shared" encoder-side states merged into each
    layer's entry (no tensor copies)."""
    shared = states.get("shared")
    if not shared:
        return states
    merged = {k: v for k, v in states.items() if k != "shared"}
    for name, value in shared.items():
        merged[name] = {**merged[name], **value} if isinstance(value, dict) else value
    return merged


def _prefix(features: Features) -> torch.Tensor:
    """The prefix a language model continues: "inputs", else "targets" (T2T's choice)."""
    prefix = features.get("inputs", features.get("targets"))
    if prefix is None:
        raise ValueError("decoding a model without inputs needs an 'inputs' or 'targets' prefix")
    return prefix


@registry.register_model
class TransformerEncoder(T2TModel):
    """Encoder-only Transformer (T2T's `transformer_encoder`), e.g. for classification.

    The target modality's top reads the encoder output (class_label mean-pools it, padding
    positions included, as T2T does).
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        target_space = getattr(problem_hparams, "target_space_id", 0)
        self.encoder = InputEncoder(self.hparams, target_space)
        self.initialize_parameters()

    def body(self, features: Features) -> torch.Tensor:
        """{"inputs": [B, S, H]} -> encoder output [B, S, H]."""
        output, _ = self.encoder(features["inputs"], features.get("target_space_id"))
        return output

    def predict(self, features: Features) -> dict[str, torch.Tensor]:
        """Class-label style prediction (not a search): argmax of the logits, log-prob scores.

        Args:
            features: {"inputs": [B, S]}.

        Returns:
            {"outputs": [B, 1], "scores": [B]}.
        """
        body = self.body(self.bottom({"inputs": features["inputs"]}))
        logits = self.top(body, features)[:, -1]  # [B, V]
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        scores, outputs = log_probs.max(dim=-1)
        return {"outputs": outputs[:, None], "scores": scores}


# The hparams sets live in transformer_hparams.py; re-exported for T2T's
# `models.transformer.<set>()`.
from t2t.models.transformer_hparams import (  # noqa: E402, F401
    transformer_base,
    transformer_base_multistep8,
    transformer_base_range,
    transformer_base_single_gpu,
    transformer_base_v1,
    transformer_base_v2,
    transformer_base_v3,
    transformer_big,
    transformer_big_dr1,
    transformer_big_dr2,
    transformer_big_enfr,
    transformer_big_enfr_tpu,
    transformer_big_single_gpu,
    transformer_big_tpu,
    transformer_clean,
    transformer_clean_big,
    transformer_clean_big_tpu,
    transformer_parsing_base,
    transformer_parsing_big,
    transformer_parsing_ice,
    transformer_prepend,
    transformer_prepend_v1,
    transformer_prepend_v2,
    transformer_relative,
    transformer_relative_big,
    transformer_relative_tiny,
    transformer_small,
    transformer_small_tpu,
    transformer_tall,
    transformer_tall_big,
    transformer_test,
    transformer_timeseries,
    transformer_timeseries_tpu,
    transformer_tiny,
    transformer_tiny_tpu,
    transformer_tpu,
    update_hparams_for_tpu,
)
