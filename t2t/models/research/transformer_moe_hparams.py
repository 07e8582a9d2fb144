"""The registered hparams sets of transformer_moe (T2T's names and values)."""

from t2t import registry
from t2t.hparams import HParams, basic_params1


def _add_standard_attention_hparams(hparams: HParams) -> HParams:
    """T2T's `add_standard_attention_hparams`: heads, depths, local/reduced attention."""
    hparams.add_hparam("num_heads", 8)
    hparams.add_hparam("attention_key_channels", 0)
    hparams.add_hparam("attention_value_channels", 0)
    hparams.add_hparam("attention_dropout", 0.0)
    hparams.add_hparam("attention_loc_block_length", 256)
    hparams.add_hparam("attention_loc_block_width", 128)
    hparams.add_hparam("attention_red_factor", 3)
    hparams.add_hparam("attention_red_type", "conv")
    hparams.add_hparam("attention_red_nonlinearity", "none")
    hparams.add_hparam("filter_size", 2048)
    hparams.add_hparam("relu_dropout", 0.0)
    return hparams


@registry.register_hparams
def transformer_moe_base() -> HParams:
    """Five "a-fc" layers of 512 on each side: a Transformer spelled as layer strings."""
    hparams = basic_params1()
    hparams.norm_type = "layer"
    hparams.hidden_size = 512
    hparams.batch_size = 4096
    hparams.max_length = 2001
    hparams.max_input_seq_length = 2000
    hparams.max_target_seq_length = 2000
    hparams.dropout = 0.0
    hparams.clip_grad_norm = 0.0
    hparams.optimizer_adam_epsilon = 1e-9
    hparams.learning_rate_decay_scheme = "noam"
    hparams.learning_rate = 0.1
    hparams.learning_rate_warmup_steps = 2000
    hparams.initializer_gain = 1.0
    hparams.num_hidden_layers = 5
    hparams.initializer = "uniform_unit_scaling"
    hparams.weight_decay = 0.0
    hparams.optimizer_adam_beta1 = 0.9
    hparams.optimizer_adam_beta2 = 0.98
    hparams.num_sampled_classes = 0
    hparams.label_smoothing = 0.0
    hparams.shared_embedding_and_softmax_weights = True
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    hparams.add_hparam("pos", "timing")  # timing, none
    hparams.add_hparam("proximity_bias", False)
    hparams.add_hparam("causal_decoder_self_attention", True)
    hparams = _add_standard_attention_hparams(hparams)
    hparams.add_hparam("layer_types", "")  # "<encoder>#<decoder>", see transformer_moe
    hparams.add_hparam("default_att", "a")
    hparams.add_hparam("default_ff", "fc")
    return hparams


@registry.register_hparams
def transformer_moe_8k() -> HParams:
    """Long sequences: hidden 1024, batch 8192, separable-convolution feed-forwards."""
    hparams = transformer_moe_base()
    hparams.batch_size = 8192
    hparams.max_length = 0
    hparams.eval_drop_long_sequences = True
    hparams.min_length_bucket = 256
    hparams.default_ff = "sep"
    hparams.hidden_size = 1024
    return hparams


@registry.register_hparams
def transformer_moe_8k_lm() -> HParams:
    """Language model: no encoder; five decoder layers, the middle one a mixture of experts."""
    hparams = transformer_moe_8k()
    hparams.default_ff = "sepm"
    hparams.layer_types = "#a/a/a-moe/a/a"
    return hparams


@registry.register_hparams
def transformer_moe_2k() -> HParams:
    """Batch 2048; encoder a-sep x5, decoder a-a-sepm with a mixture of experts in the middle."""
    hparams = transformer_moe_8k()
    hparams.batch_size = 2048
    hparams.default_ff = "sep"
    hparams.layer_types = "a/a/a/a/a#a-sepm/a-sepm/a-moe/a-sepm/a-sepm"
    return hparams


@registry.register_hparams
def transformer_moe_12k() -> HParams:
    """transformer_moe_8k with batch 12000."""
    hparams = transformer_moe_8k()
    hparams.batch_size = 12000
    # T2T also sets `factored_logit`, a plain attribute no code reads (not an hparam).
    return hparams


@registry.register_hparams
def transformer_moe_prepend_8k() -> HParams:
    """Seq2seq as language modelling: local and memory-compressed attention, 256 experts."""
    hparams = transformer_moe_8k()
    hparams.prepend_mode = "prepend_inputs_masked_attention"
    hparams.eval_drop_long_sequences = False
    hparams.max_input_seq_length = 7500
    hparams.default_ff = "sepm"
    hparams.layer_types = "locm/redm/locm-moe/redm/locm"
    hparams.moe_num_experts = 256
    return hparams
