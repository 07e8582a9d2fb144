"""More of T2T's registered Transformer hparams sets: mixtures of experts with VQ or top-k
gating on packed LM data, parameter attention, the `transformer_tall_*` fine-tuning and
pre-training sets, TPU variants, reduced-precision activations and supervised attention.

The model is `t2t.models.transformer`; the features these sets switch on live in
`t2t.layers.vq_gating` (ffn_layer "local_moe" with gating_type "vq"),
`t2t.layers.parameter_attention` (ffn_layer "parameter_attention") and
`t2t.layers.attention_loss` (expected_attention_loss_*). `activation_dtype` "bfloat16" /
"float16" runs the forward pass under torch autocast (see `t2t.train.trainer.TrainConfig`).
"""

from t2t import registry
from t2t.hparams import HParams
from t2t.models.transformer_hparams import (
    _update,
    transformer_base,
    transformer_base_v2,
    transformer_base_v3,
    transformer_big,
    transformer_clean_big,
    transformer_tall,
    transformer_tpu,
    update_hparams_for_tpu,
)


def update_hparams_for_vq_gating(hparams: HParams) -> HParams:
    """T2T's `expert_utils.update_hparams_for_vq_gating`: the discrete bottleneck's hparams.

    The codebook has 2**log2(moe_num_experts) entries (T2T sizes it from `z_size` at
    first, then from the number of experts; see `t2t.layers.vq_gating`).
    """
    for name, value in (
        ("z_size", 4),
        ("noise_dev", 0.5),
        ("bottleneck_kind", "dvq"),
        ("num_blocks", 1),
        ("num_residuals", 1),
        ("beta", 0.25),
        ("epsilon", 1e-5),
        ("decay", 0.999),
        ("ema", False),
        ("random_top_k", 1),
        ("soft_em", False),
        ("num_samples", 10),
        ("gating_type", "vq"),
        ("use_scales", 1),
        ("residual_centroids", 0),
    ):
        hparams.add_hparam(name, value)
    return hparams


@registry.register_hparams
def transformer_base_vq_ada_32ex_packed() -> HParams:
    """lm1b packed: 32 experts with VQ gating, Adafactor, post-norm ("none" / "dan").

    T2T 1.15.7 fails to build this set (a ValueError; its first codebook has 16 entries,
    from z_size 4, against 32 per-expert scales); here the codebook has one entry per
    expert, as meant.
    """
    return _update(
        update_hparams_for_vq_gating(transformer_base_v2()),
        moe_num_experts=32,
        gating_type="vq",
        batch_size=5072,
        ffn_layer="local_moe",
        shared_embedding_and_softmax_weights=False,
        learning_rate_warmup_steps=10000,
        learning_rate_decay_steps=27200,
        num_heads=4,
        num_blocks=1,
        moe_k=1,
        num_decoder_layers=6,
        label_smoothing=0.0,
        layer_prepostprocess_dropout=0.1,
        layer_postprocess_sequence="dan",
        layer_preprocess_sequence="none",
        weight_decay=1e-06,
        attention_dropout=0.1,
        optimizer="Adafactor",
        learning_rate_schedule="linear_warmup*rsqrt_decay*linear_decay",
        activation_dtype="float32",
        learning_rate=0.1,
        learning_rate_constant=1.0,
    )


@registry.register_hparams
def transformer_topk_16_packed() -> HParams:
    """transformer_base_vq_ada_32ex_packed with noisy top-2 gating over 16 experts."""
    return _update(
        transformer_base_vq_ada_32ex_packed(), gating_type="topk", moe_num_experts=16, moe_k=2
    )


@registry.register_hparams
def transformer_base_vq1_16_nb1_packed_nda_b01_scales() -> HParams:
    """16 experts, VQ gating with scales, beta 0.1, pre-norm ("n" / "da")."""
    return _update(
        transformer_base_vq_ada_32ex_packed(),
        use_scales=1,
        moe_num_experts=16,
        moe_k=1,
        beta=0.1,
        layer_preprocess_sequence="n",
        layer_postprocess_sequence="da",
        ema=False,
    )


@registry.register_hparams
def transformer_base_vq1_16_nb1_packed_dan_b01_scales() -> HParams:
    """16 experts, VQ gating with scales, beta 0.1, post-norm ("none" / "dan")."""
    return _update(
        transformer_base_vq_ada_32ex_packed(),
        use_scales=1,
        moe_num_experts=16,
        moe_k=1,
        beta=0.1,
        ema=False,
    )


@registry.register_hparams
def transformer_base_vq1_16_nb1_packed_nda_b01_scales_dialog() -> HParams:
    """The nda_b01_scales set for dialog: batch 2048, length 1024, filter 3072."""
    return _update(
        transformer_base_vq1_16_nb1_packed_nda_b01_scales(),
        batch_size=2048,
        max_length=1024,
        filter_size=3072,
    )


@registry.register_hparams
def transformer_ada_lmpackedbase() -> HParams:
    """transformer_base_vq_ada_32ex_packed with a plain feed-forward layer."""
    return _update(transformer_base_vq_ada_32ex_packed(), ffn_layer="dense_relu_dense")


@registry.register_hparams
def transformer_ada_lmpackedbase_dialog() -> HParams:
    """transformer_ada_lmpackedbase for dialog: length 1024, batch 4096."""
    return _update(
        transformer_base_vq_ada_32ex_packed(),
        max_length=1024,
        ffn_layer="dense_relu_dense",
        batch_size=4096,
    )


@registry.register_hparams
def transformer_ada_lmpackedbase_relative() -> HParams:
    """As transformer_ada_lmpackedbase (T2T's set does not switch on relative attention)."""
    return _update(transformer_base_vq_ada_32ex_packed(), ffn_layer="dense_relu_dense")


def _tall_tied(decay_steps: int, constant: float, warmup: int) -> HParams:
    """transformer_tall for CNN/DM summarization trained as a language model."""
    return _update(
        transformer_tall(),
        multiproblem_max_input_length=750,
        multiproblem_max_target_length=100,
        multiproblem_schedule_max_examples=0,
        learning_rate_schedule="linear_warmup*constant*cosdecay",
        learning_rate_constant=constant,
        learning_rate_warmup_steps=warmup,
        learning_rate_decay_steps=decay_steps,
        multiproblem_target_eval_only=True,
        multiproblem_reweight_label_loss=True,
        multiproblem_label_weight=1.0,
        optimizer="true_adam",
    )


@registry.register_hparams
def transformer_tall_finetune_tied() -> HParams:
    """Fine-tune CNN/DM summarization as a language model."""
    return _tall_tied(80000, 5e-5, 100)


@registry.register_hparams
def transformer_tall_train_tied() -> HParams:
    """Train CNN/DM summarization as a language model."""
    return _tall_tied(150000, 2e-4, 8000)


def _tall_uniencdec(decay_steps: int, constant: float) -> HParams:
    """transformer_tall with a unidirectional (causal) encoder, for CNN/DM."""
    return _update(
        transformer_tall(),
        max_input_seq_length=750,
        max_target_seq_length=100,
        optimizer="true_adam",
        learning_rate_schedule="linear_warmup*constant*cosdecay",
        learning_rate_decay_steps=decay_steps,
        learning_rate_constant=constant,
        unidirectional_encoder=True,
    )


@registry.register_hparams
def transformer_tall_finetune_uniencdec() -> HParams:
    """Fine-tune CNN/DM with a unidirectional encoder and decoder."""
    return _update(_tall_uniencdec(80000, 5e-5), learning_rate_warmup_steps=100)


@registry.register_hparams
def transformer_tall_train_uniencdec() -> HParams:
    """Train CNN/DM with a unidirectional encoder and decoder."""
    return _tall_uniencdec(150000, 2e-4)


@registry.register_hparams
def transformer_tall_finetune_textclass() -> HParams:
    """Fine-tune a transformer_tall language model on text classification."""
    return _update(
        transformer_tall(),
        learning_rate_constant=6.25e-5,
        learning_rate_schedule="linear_warmup*constant*linear_decay",
        multiproblem_schedule_max_examples=0,
        multiproblem_target_eval_only=True,
        learning_rate_warmup_steps=50,
        learning_rate_decay_steps=25000,
        multiproblem_reweight_label_loss=True,
        multiproblem_label_weight=0.95,
    )


@registry.register_hparams
def transformer_tall_pretrain_lm() -> HParams:
    """transformer_tall language-model pre-training with AdamW (64k vocabulary)."""
    hparams = _update(
        transformer_tall(),
        learning_rate_constant=2e-4,
        learning_rate_schedule="linear_warmup*constant*cosdecay",
        optimizer="adam_w",
        optimizer_adam_beta1=0.9,
        optimizer_adam_beta2=0.999,
        optimizer_adam_epsilon=1e-8,
        multiproblem_schedule_max_examples=5e8,
        learning_rate_decay_steps=5000000,
    )
    hparams.weight_decay = 0.01 * hparams.learning_rate_constant
    return hparams


@registry.register_hparams
def transformer_tall_pretrain_lm_tpu_adafactor() -> HParams:
    """transformer_tall_pretrain_lm with T2T's TPU settings (Adafactor), length 1024."""
    return _update(
        update_hparams_for_tpu(transformer_tall_pretrain_lm()),
        max_length=1024,
        batch_size=8,  # T2T's multi-problem TPU batches count examples
        multiproblem_vocab_size=2**16,
    )


@registry.register_hparams
def transformer_tall_pretrain_lm_tpu_adafactor_large() -> HParams:
    """The Adafactor pre-training set at hidden 1024, filter 32768, 16 heads."""
    return _update(
        transformer_tall_pretrain_lm_tpu_adafactor(),
        hidden_size=1024,
        num_heads=16,
        filter_size=32768,
        batch_size=4,
        multiproblem_mixing_schedule="constant",
        multiproblem_per_task_threshold="320,80,160,1,80,160,2,20,10,5",
    )


@registry.register_hparams
def transformer_tall_pretrain_lm_tpu() -> HParams:
    """The TPU pre-training set with AdamW again (update_hparams_for_tpu chose Adafactor)."""
    hparams = _update(
        transformer_tall_pretrain_lm_tpu_adafactor(),
        learning_rate_constant=2e-4,
        learning_rate_schedule="linear_warmup * constant * cosdecay",
        optimizer="adam_w",
    )
    hparams.weight_decay = 0.01 * hparams.learning_rate_constant
    return hparams


@registry.register_hparams
def transformer_parameter_attention_a() -> HParams:
    """transformer_base with parameter attention (1536 memory rows) as the FFN."""
    return _update(transformer_base(), ffn_layer="parameter_attention", filter_size=1536)


@registry.register_hparams
def transformer_parameter_attention_b() -> HParams:
    """Parameter attention with 512 rows, 1024-deep keys and values, 16 heads."""
    return _update(
        transformer_base(),
        ffn_layer="parameter_attention",
        filter_size=512,
        parameter_attention_key_channels=1024,
        parameter_attention_value_channels=1024,
        num_heads=16,
    )


@registry.register_hparams
def transformer_mlperf_tpu() -> HParams:
    """The MLPerf Transformer (big sizes on transformer_base_v3, broadcast dropout)."""
    return _update(
        transformer_base_v3(),
        mlperf_mode=True,
        symbol_modality_num_shards=1,
        max_length=256,
        batch_size=2048,
        hidden_size=1024,
        filter_size=4096,
        num_heads=16,
        attention_dropout_broadcast_dims="0,1",  # batch, heads
        relu_dropout_broadcast_dims="1",  # length
        layer_prepostprocess_dropout_broadcast_dims="1",  # length
    )


@registry.register_hparams
def transformer_tpu_bf16_activation() -> HParams:
    """transformer_tpu with bfloat16 activations (autocast)."""
    return _update(transformer_tpu(), activation_dtype="bfloat16")


@registry.register_hparams
def transformer_fairseq_fp16_activation_big() -> HParams:
    """transformer_big with float16 activations, batch 3584 (Ott et al. 2018)."""
    return _update(transformer_big(), activation_dtype="float16", batch_size=3584)


@registry.register_hparams
def transformer_packed_tpu() -> HParams:
    """Deprecated alias of transformer_tpu."""
    return transformer_tpu()


@registry.register_hparams
def transformer_tpu_with_conv() -> HParams:
    """transformer_tpu with 4 heads and conv_relu_conv feed-forward layers."""
    return _update(transformer_tpu(), num_heads=4, ffn_layer="conv_relu_conv")


@registry.register_hparams
def transformer_lm_tpu_0() -> HParams:
    """lm1b8k on TPU, 92M parameters: transformer_clean_big, 4 heads, untied softmax."""
    return _update(
        update_hparams_for_tpu(transformer_clean_big()),
        num_heads=4,
        batch_size=4096,
        shared_embedding_and_softmax_weights=False,
        layer_prepostprocess_dropout=0.1,
    )


@registry.register_hparams
def transformer_lm_tpu_1() -> HParams:
    """transformer_lm_tpu_0 at hidden 2048, filter 8192 (335M parameters)."""
    return _update(transformer_lm_tpu_0(), hidden_size=2048, filter_size=8192)


@registry.register_hparams
def transformer_supervised_attention() -> HParams:
    """transformer_base plus a loss pulling the encoder-decoder attention towards a given
    alignment (feature "expected_attentions" [B, T, S] of logits)."""
    hparams = transformer_base()
    hparams.add_hparam("expected_attention_loss_type", "kl_divergence")  # or "mse"
    hparams.add_hparam("expected_attention_loss_multiplier", 1.0)
    return hparams


@registry.register_hparams
def transformer_tpu_1b() -> HParams:
    """Translation with ~1.1B parameters: hidden 2048, filter 8192, 8 layers, bfloat16."""
    return _update(
        transformer_tpu(),
        hidden_size=2048,
        filter_size=8192,
        num_hidden_layers=8,
        batch_size=1024,
        activation_dtype="bfloat16",
        weight_dtype="bfloat16",
        shared_embedding_and_softmax_weights=False,
    )
