"""The Transformer's registered hparams sets (T2T's values; see the spec, section 3.5).

Every `transformer_*` set lives here, beside the model in `t2t.models.transformer`, which
re-exports them so `from tensor2tensor.models import transformer;
transformer.transformer_base()` keeps working.
"""

from t2t import registry
from t2t.hparams import HParams, basic_params1


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
    """transformer_tall with 18 layers."""
    return _update(transformer_tall(), num_hidden_layers=18)


@registry.register_hparams
def transformer_big_single_gpu() -> HParams:
    """transformer_big for one GPU: dropout 0.1, 16k warmup steps."""
    return _update(
        transformer_big(), layer_prepostprocess_dropout=0.1, learning_rate_warmup_steps=16000
    )


@registry.register_hparams
def transformer_base_single_gpu() -> HParams:
    """transformer_base for one GPU: batch 1024, constant*linear_warmup*rsqrt_decay, 16k warmup."""
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
    """transformer_base for parsing: hidden 1024, dropout 0.2, max_length 512, no shared softmax."""
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
    """transformer_big for parsing: max_length 512, batch 2048, learning rate 0.05."""
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
    """transformer_base_single_gpu for Icelandic parsing: batch 4096, no shared softmax."""
    return _update(
        transformer_base_single_gpu(), batch_size=4096, shared_embedding_and_softmax_weights=False
    )


def _sized(base, layers: int, hidden: int, filter_size: int, heads: int) -> HParams:
    return _update(
        base, num_hidden_layers=layers, hidden_size=hidden, filter_size=filter_size, num_heads=heads
    )


@registry.register_hparams
def transformer_tiny() -> HParams:
    """transformer_base with 2 layers, hidden 128, filter 512, 4 heads."""
    return _sized(transformer_base(), 2, 128, 512, 4)


@registry.register_hparams
def transformer_test() -> HParams:
    """A minimal set for tests: 2 layers, hidden 16, filter 8, 2 heads."""
    return _sized(transformer_base(), 2, 16, 8, 2)


@registry.register_hparams
def transformer_small() -> HParams:
    """transformer_base with 2 layers, hidden 256, filter 1024, 4 heads."""
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
    """transformer_base at the big size (hidden 1024, filter 4096, 16 heads), dropout 0.1."""
    return _update(
        transformer_base(),
        hidden_size=1024,
        filter_size=4096,
        num_heads=16,
        layer_prepostprocess_dropout=0.1,
    )


@registry.register_hparams
def transformer_big_enfr() -> HParams:
    """transformer_big_dr1 for WMT En-Fr: filter 8192, no shared softmax."""
    return _update(
        transformer_big_dr1(),
        shared_embedding_and_softmax_weights=False,
        filter_size=8192,
        layer_prepostprocess_dropout=0.1,
    )


@registry.register_hparams
def transformer_big_dr2() -> HParams:
    """transformer_big_dr1 with dropout 0.2."""
    return _update(transformer_big_dr1(), layer_prepostprocess_dropout=0.2)


@registry.register_hparams
def transformer_prepend_v2() -> HParams:
    """Targets are [inputs 0 targets]; the decoder sees inputs through masked attention."""
    return _update(
        transformer_base_v2(), prepend_mode="prepend_inputs_masked_attention", max_length=0
    )


@registry.register_hparams
def transformer_prepend_v1() -> HParams:
    """transformer_base_v1 with inputs prepended to the targets (masked attention)."""
    return _update(
        transformer_base_v1(), prepend_mode="prepend_inputs_masked_attention", max_length=0
    )


@registry.register_hparams
def transformer_prepend() -> HParams:
    """transformer_prepend_v2 (T2T's default prepend set)."""
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
    """transformer_relative with 2 layers, hidden 128, filter 512, 4 heads."""
    return _sized(transformer_relative(), 2, 128, 512, 4)


@registry.register_hparams
def transformer_relative_big() -> HParams:
    """transformer_big with relative position self-attention."""
    return _relative(transformer_big())


@registry.register_hparams
def transformer_timeseries() -> HParams:
    """transformer_small for time series: batch 256, 2k warmup steps."""
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
    """transformer_clean at hidden 1024, filter 4096."""
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
    """transformer_base with T2T's TPU settings."""
    return update_hparams_for_tpu(transformer_base())


@registry.register_hparams
def transformer_big_tpu() -> HParams:
    """transformer_big with T2T's TPU settings."""
    return update_hparams_for_tpu(transformer_big())


@registry.register_hparams
def transformer_tiny_tpu() -> HParams:
    """transformer_tiny with T2T's TPU settings."""
    return update_hparams_for_tpu(transformer_tiny())


@registry.register_hparams
def transformer_small_tpu() -> HParams:
    """transformer_small with T2T's TPU settings."""
    return update_hparams_for_tpu(transformer_small())


@registry.register_hparams
def transformer_timeseries_tpu() -> HParams:
    """transformer_timeseries with T2T's TPU settings and batch 256."""
    return _update(update_hparams_for_tpu(transformer_timeseries()), batch_size=256)


@registry.register_hparams
def transformer_clean_big_tpu() -> HParams:
    """transformer_clean_big with T2T's TPU settings."""
    return update_hparams_for_tpu(transformer_clean_big())


@registry.register_hparams
def transformer_big_enfr_tpu() -> HParams:
    """transformer_big_enfr with 8 heads and T2T's TPU settings."""
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
