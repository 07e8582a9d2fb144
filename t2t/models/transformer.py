"""The Transformer (Vaswani et al.) as T2T computes it, its fast decoding and hparams sets.

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
from t2t.hparams import HParams, basic_params1
from t2t.layers import attention as attn
from t2t.layers import common
from t2t.layers import transformer_layers as tl
from t2t.layers.timing_signal import get_timing_signal_1d, timing_signal_at
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
        max_relative_position=hp.max_relative_position if relative else 0,
        use_pad_remover=hp.use_pad_remover,
    )


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
            self.target_space_embedding = nn.Parameter(torch.empty(32, hp.hidden_size))
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
            ids = torch.as_tensor(target_space_id, device=x.device).reshape(-1).long()
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
            shifted = shifted * (position != 0).unsqueeze(-1).to(shifted.dtype)
        x = _dropout(self.positions(shifted, positions=position), self.hparams, self.training)
        return self.decoder(x, self_bias, memory, memory_bias)

    # ---- fast (cached) decoding -----------------------------------------------------

    def init_decode_states(self, features: Features, max_length: int | None = None) -> dict:
        """The decoding protocol's initial state (see `t2t.decode.protocol`).

        Runs the encoder and builds the per-layer key/value cache.

        Args:
            features: {"inputs": [B, S], ...}, or a prefix for a model without inputs.
            max_length: decoding steps to reserve cache room for (the cache grows beyond).

        Returns:
            Per decoder layer an empty `SelfAttentionCache` of B rows; under "shared" (the
            same for every beam) the memory bias and each layer's encoder-decoder
            keys/values [B, ...].
        """
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
        for i, layer in enumerate(self.decoder.layers):
            attention = layer.self_attention.sublayer
            heads = attention.num_heads
            states[f"layer_{i}"] = {
                "self": attn.SelfAttentionCache(
                    batch,
                    heads,
                    attention.q.out_features // heads,
                    attention.v.out_features // heads,
                    capacity=max_length or 16,
                    device=parameter.device,
                    dtype=parameter.dtype,
                )
            }
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
        if i == 0:
            x = torch.zeros_like(x)  # the GO symbol is a zero vector, as shift_right makes it
        x = self.positions(x, start=i)
        cache = _with_shared_states(states)
        out = self.decoder(x, None, None, cache.get("memory_bias"), cache=cache)
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


# ---- hparams sets (T2T's values; see the spec, section 3.5) ---------------------------


def _update(hparams: HParams, **values) -> HParams:
    """Plain assignments, as T2T's sets write them (`hparams.x = v`)."""
    for name, value in values.items():
        setattr(hparams, name, value)
    return hparams


@registry.register_hparams
def transformer_base_v1() -> HParams:
    """The original (post-norm) Transformer base: layer sequences "none" / "dan"."""
    hparams = _update(
        basic_params1(),
        norm_type="layer",
        hidden_size=512,
        batch_size=4096,
        max_length=256,
        clip_grad_norm=0.0,
        optimizer_adam_epsilon=1e-9,
        learning_rate_schedule="legacy",
        learning_rate_decay_scheme="noam",
        learning_rate=0.1,
        learning_rate_warmup_steps=4000,
        initializer_gain=1.0,
        num_hidden_layers=6,
        initializer="uniform_unit_scaling",
        weight_decay=0.0,
        optimizer_adam_beta1=0.9,
        optimizer_adam_beta2=0.98,
        num_sampled_classes=0,  # a plain attribute in T2T, not an hparam
        label_smoothing=0.1,
        shared_embedding_and_softmax_weights=True,
        symbol_modality_num_shards=16,
    )
    for name, value in (
        ("filter_size", 2048),
        ("num_encoder_layers", 0),  # 0: num_hidden_layers
        ("num_decoder_layers", 0),
        ("num_heads", 8),
        ("attention_key_channels", 0),  # 0: hidden_size
        ("attention_value_channels", 0),
        ("ffn_layer", "dense_relu_dense"),
        ("parameter_attention_key_channels", 0),
        ("parameter_attention_value_channels", 0),
        ("attention_dropout", 0.0),
        ("attention_dropout_broadcast_dims", ""),
        ("relu_dropout", 0.0),
        ("relu_dropout_broadcast_dims", ""),
        ("pos", "timing"),
        ("position_features", ""),
        ("nbr_decoder_problems", 1),
        ("proximity_bias", False),
        ("causal_decoder_self_attention", True),
        ("use_pad_remover", True),
        ("self_attention_type", "dot_product"),
        ("conv_first_kernel", 3),
        ("attention_variables_3d", False),
        ("use_target_space_embedding", True),
        ("moe_overhead_train", 1.0),
        ("moe_overhead_eval", 2.0),
    ):
        hparams.add_hparam(name, value)
    hparams.moe_num_experts = 16
    hparams.moe_loss_coef = 1e-3
    hparams.add_hparam("overload_eval_metric_name", "")
    hparams.add_hparam("unidirectional_encoder", False)
    hparams.add_hparam("hard_attention_k", 0)
    hparams.add_hparam("gumbel_noise_weight", 0.0)
    return hparams


@registry.register_hparams
def transformer_base_v2() -> HParams:
    """Pre-norm ("n" / "da") with dropouts 0.1."""
    return _update(
        transformer_base_v1(),
        layer_preprocess_sequence="n",
        layer_postprocess_sequence="da",
        layer_prepostprocess_dropout=0.1,
        attention_dropout=0.1,
        relu_dropout=0.1,
        learning_rate_warmup_steps=8000,
        learning_rate=0.2,
    )


@registry.register_hparams
def transformer_base_v3() -> HParams:
    """v2 with the factored learning-rate schedule (same values) and beta2 0.997."""
    return _update(
        transformer_base_v2(),
        optimizer_adam_beta2=0.997,
        learning_rate_schedule="constant*linear_warmup*rsqrt_decay*rsqrt_hidden_size",
        learning_rate_constant=2.0,
    )


@registry.register_hparams
def transformer_base() -> HParams:
    """The Transformer base (= transformer_base_v3)."""
    return transformer_base_v3()


@registry.register_hparams
def transformer_big() -> HParams:
    """Transformer big for WMT."""
    return _update(
        transformer_base(),
        hidden_size=1024,
        filter_size=4096,
        batch_size=2048,
        num_heads=16,
        layer_prepostprocess_dropout=0.3,
    )


@registry.register_hparams
def transformer_tall() -> HParams:
    """LM pretraining / fine-tuning sizes (12 layers, 768 hidden)."""
    return _update(
        transformer_base(),
        batch_size=2048,
        hidden_size=768,
        filter_size=3072,
        num_hidden_layers=12,
        num_heads=12,
        label_smoothing=0.0,
        max_length=1024,
        eval_drop_long_sequences=True,
        multiproblem_mixing_schedule="pretrain",
        multiproblem_vocab_size=65536,
        clip_grad_norm=1.0,
    )


@registry.register_hparams
def transformer_tall_big() -> HParams:
    return _update(transformer_tall(), num_hidden_layers=18)


@registry.register_hparams
def transformer_big_single_gpu() -> HParams:
    return _update(
        transformer_big(), layer_prepostprocess_dropout=0.1, learning_rate_warmup_steps=16000
    )


@registry.register_hparams
def transformer_base_single_gpu() -> HParams:
    return _update(
        transformer_base(),
        batch_size=1024,
        learning_rate_schedule="constant*linear_warmup*rsqrt_decay",
        learning_rate_constant=0.1,
        learning_rate_warmup_steps=16000,
    )


@registry.register_hparams
def transformer_base_multistep8() -> HParams:
    """Simulates 8 GPUs by accumulating 8 steps (multistep_adam)."""
    return _update(
        transformer_base(), optimizer="multistep_adam", optimizer_multistep_accumulate_steps=8
    )


@registry.register_hparams
def transformer_parsing_base() -> HParams:
    return _update(
        transformer_base(),
        attention_dropout=0.2,
        layer_prepostprocess_dropout=0.2,
        max_length=512,
        learning_rate_warmup_steps=16000,
        hidden_size=1024,
        learning_rate=0.05,
        shared_embedding_and_softmax_weights=False,
    )


@registry.register_hparams
def transformer_parsing_big() -> HParams:
    hparams = _update(
        transformer_big(),
        max_length=512,
        learning_rate_warmup_steps=4000,
        layer_prepostprocess_dropout=0.1,
        batch_size=2048,
        learning_rate=0.05,
    )
    hparams.shared_source_target_embedding = False  # a plain attribute in T2T, unused
    return hparams


@registry.register_hparams
def transformer_parsing_ice() -> HParams:
    return _update(
        transformer_base_single_gpu(), batch_size=4096, shared_embedding_and_softmax_weights=False
    )


def _sized(base, layers: int, hidden: int, filter_size: int, heads: int) -> HParams:
    return _update(
        base, num_hidden_layers=layers, hidden_size=hidden, filter_size=filter_size, num_heads=heads
    )


@registry.register_hparams
def transformer_tiny() -> HParams:
    return _sized(transformer_base(), 2, 128, 512, 4)


@registry.register_hparams
def transformer_test() -> HParams:
    return _sized(transformer_base(), 2, 16, 8, 2)


@registry.register_hparams
def transformer_small() -> HParams:
    return _sized(transformer_base(), 2, 256, 1024, 4)


def _register_base_variants() -> None:
    """transformer_l2 .. transformer_hs1024: transformer_base with one hparam changed."""
    variants = {
        "l2": ("num_hidden_layers", 2),
        "l4": ("num_hidden_layers", 4),
        "l8": ("num_hidden_layers", 8),
        "l10": ("num_hidden_layers", 10),
        "h1": ("num_heads", 1),
        "h4": ("num_heads", 4),
        "h16": ("num_heads", 16),
        "h32": ("num_heads", 32),
        "k128": ("attention_key_channels", 128),
        "k256": ("attention_key_channels", 256),
        "ff1024": ("filter_size", 1024),
        "ff4096": ("filter_size", 4096),
        "dr0": ("layer_prepostprocess_dropout", 0.0),
        "dr2": ("layer_prepostprocess_dropout", 0.2),
        "ls0": ("label_smoothing", 0.0),
        "ls2": ("label_smoothing", 0.2),
        "hs256": ("hidden_size", 256),
        "hs1024": ("hidden_size", 1024),
    }
    for suffix, (name, value) in variants.items():

        def make(name=name, value=value) -> HParams:
            return _update(transformer_base(), **{name: value})

        make.__name__ = f"transformer_{suffix}"
        make.__doc__ = f"transformer_base with {name}={value}."
        registry.register_hparams(make.__name__)(make)


_register_base_variants()


@registry.register_hparams
def transformer_big_dr1() -> HParams:
    return _update(
        transformer_base(),
        hidden_size=1024,
        filter_size=4096,
        num_heads=16,
        layer_prepostprocess_dropout=0.1,
    )


@registry.register_hparams
def transformer_big_enfr() -> HParams:
    return _update(
        transformer_big_dr1(),
        shared_embedding_and_softmax_weights=False,
        filter_size=8192,
        layer_prepostprocess_dropout=0.1,
    )


@registry.register_hparams
def transformer_big_dr2() -> HParams:
    return _update(transformer_big_dr1(), layer_prepostprocess_dropout=0.2)


@registry.register_hparams
def transformer_prepend_v2() -> HParams:
    """Targets are [inputs 0 targets]; the decoder sees inputs through masked attention."""
    return _update(
        transformer_base_v2(), prepend_mode="prepend_inputs_masked_attention", max_length=0
    )


@registry.register_hparams
def transformer_prepend_v1() -> HParams:
    return _update(
        transformer_base_v1(), prepend_mode="prepend_inputs_masked_attention", max_length=0
    )


@registry.register_hparams
def transformer_prepend() -> HParams:
    return transformer_prepend_v2()


def _relative(hparams: HParams) -> HParams:
    # T2T assigns pos = None (no timing signal): relative positions replace it.
    return _update(
        hparams, pos=None, self_attention_type="dot_product_relative", max_relative_position=20
    )


@registry.register_hparams
def transformer_relative() -> HParams:
    """Self-attention with relative position representations (Shaw et al., 2018)."""
    return _relative(transformer_base())


@registry.register_hparams
def transformer_relative_tiny() -> HParams:
    return _sized(transformer_relative(), 2, 128, 512, 4)


@registry.register_hparams
def transformer_relative_big() -> HParams:
    return _relative(transformer_big())


@registry.register_hparams
def transformer_timeseries() -> HParams:
    return _update(transformer_small(), batch_size=256, learning_rate_warmup_steps=2000)


@registry.register_hparams
def transformer_clean() -> HParams:
    """No label smoothing, no dropout."""
    return _update(
        transformer_base_v2(),
        label_smoothing=0.0,
        layer_prepostprocess_dropout=0.0,
        attention_dropout=0.0,
        relu_dropout=0.0,
        max_length=0,
    )


@registry.register_hparams
def transformer_clean_big() -> HParams:
    return _update(transformer_clean(), hidden_size=1024, filter_size=4096)


def update_hparams_for_tpu(hparams: HParams) -> HParams:
    """T2T's TPU settings: Adafactor, rsqrt_decay, short sequences, broadcast dropout."""
    return _update(
        hparams,
        optimizer="Adafactor",
        learning_rate_schedule="rsqrt_decay",
        learning_rate_warmup_steps=10000,
        symbol_modality_num_shards=1,
        max_length=64,
        batch_size=min(hparams.batch_size, 2048),
        attention_dropout_broadcast_dims="0,1",  # batch, heads
        relu_dropout_broadcast_dims="1",  # length
        layer_prepostprocess_dropout_broadcast_dims="1",  # length
    )


@registry.register_hparams
def transformer_tpu() -> HParams:
    return update_hparams_for_tpu(transformer_base())


@registry.register_hparams
def transformer_big_tpu() -> HParams:
    return update_hparams_for_tpu(transformer_big())


@registry.register_hparams
def transformer_tiny_tpu() -> HParams:
    return update_hparams_for_tpu(transformer_tiny())


@registry.register_hparams
def transformer_small_tpu() -> HParams:
    return update_hparams_for_tpu(transformer_small())


@registry.register_hparams
def transformer_timeseries_tpu() -> HParams:
    return _update(update_hparams_for_tpu(transformer_timeseries()), batch_size=256)


@registry.register_hparams
def transformer_clean_big_tpu() -> HParams:
    return update_hparams_for_tpu(transformer_clean_big())


@registry.register_hparams
def transformer_big_enfr_tpu() -> HParams:
    return update_hparams_for_tpu(_update(transformer_big_enfr(), num_heads=8))


@registry.register_ranged_hparams
def transformer_base_range(rhp) -> None:
    """T2T's search space around transformer_base."""
    rhp.set_float("learning_rate", 0.3, 3.0, scale=rhp.LOG_SCALE)
    rhp.set_discrete("learning_rate_warmup_steps", [1000, 2000, 4000, 8000, 16000])
    rhp.set_float("initializer_gain", 0.5, 2.0)
    rhp.set_float("optimizer_adam_beta1", 0.85, 0.95)
    rhp.set_float("optimizer_adam_beta2", 0.97, 0.99)
    rhp.set_float("weight_decay", 0.0, 1e-4)
