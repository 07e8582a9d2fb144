"""The registered hparams sets of attention_lm_moe (T2T's names and values)."""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def attention_lm_moe_base() -> HParams:
    """Four layers of 1024 (filter 2048, 8 heads), a MoE feed-forward in layer 2 (32 experts)."""
    hparams = basic_params1()
    hparams.hidden_size = 1024
    hparams.batch_size = 8192
    hparams.max_length = 256
    hparams.dropout = 0.0
    hparams.clip_grad_norm = 0.0
    hparams.optimizer_adam_epsilon = 1e-9
    hparams.learning_rate_decay_scheme = "noam"
    hparams.learning_rate = 0.1
    hparams.learning_rate_warmup_steps = 2000
    hparams.initializer_gain = 1.0
    hparams.num_hidden_layers = 4
    hparams.initializer = "uniform_unit_scaling"
    hparams.weight_decay = 0.0
    hparams.optimizer_adam_beta1 = 0.9
    hparams.optimizer_adam_beta2 = 0.98
    hparams.num_sampled_classes = 0
    hparams.label_smoothing = 0.0
    hparams.shared_embedding_and_softmax_weights = False
    hparams.add_hparam("filter_size", 2048)
    hparams.moe_num_experts = 32
    hparams.add_hparam("num_heads", 8)
    hparams.add_hparam("attention_key_channels", 0)
    hparams.add_hparam("attention_value_channels", 0)
    hparams.add_hparam("attention_dropout", 0.0)
    hparams.add_hparam("relu_dropout", 0.0)
    hparams.add_hparam("pos", "timing")  # timing, none
    hparams.add_hparam("moe_layers", "2")  # comma-separated layer numbers
    # One symbol per layer (h, e, m, s, t, r, f); when set, num_hidden_layers is ignored.
    hparams.add_hparam("attention_layers", "")
    hparams.add_hparam("attention_type", "multihead")
    hparams.add_hparam("attention_local", False)
    hparams.add_hparam("attention_moe_k", 2)
    hparams.add_hparam("attention_num_head", 1)
    hparams.add_hparam("attention_num_experts", 16)
    hparams.add_hparam("attention_split_batch", False)
    hparams.add_hparam("attention_red_factor", 3)
    hparams.add_hparam("attention_block_length", 128)
    hparams.add_hparam("attention_reduction_type", "conv")
    hparams.add_hparam("attention_nonlinearity", "none")  # none, silu
    # > 0: each token is expanded into this many tokens of attention_exp_inputdim before
    # the attention experts, and compressed back after them.
    hparams.add_hparam("attention_exp_factor", 0)
    hparams.add_hparam("attention_exp_inputdim", 128)
    hparams.add_hparam("attention_kq_size", 128)
    hparams.add_hparam("attention_v_size", 256)
    hparams.add_hparam("attention_load_balance", 2e-2)
    hparams.add_hparam("lsh_num_hyperplanes", 4)
    hparams.add_hparam("lsh_use_map_fn", False)
    hparams.add_hparam("use_sepconv", False)
    hparams.add_hparam("diet_experts", False)
    hparams.add_hparam("memory_efficient_ffn", False)
    # True: a non-autoregressive model from "inputs" to "targets" of the same length.
    hparams.add_hparam("use_inputs", False)
    return hparams


@registry.register_hparams
def attention_lm_moe_base_long_seq() -> HParams:
    """For long sequences: max_length = batch_size, separable-convolution feed-forwards."""
    hparams = attention_lm_moe_base()
    hparams.max_length = 0
    hparams.eval_drop_long_sequences = True
    hparams.min_length_bucket = 256
    hparams.use_sepconv = True
    return hparams


@registry.register_hparams
def attention_lm_moe_base_ae() -> HParams:
    """Every layer's self-attention is a mixture of attention experts."""
    hparams = attention_lm_moe_base_long_seq()
    hparams.attention_type = "local_experts"
    hparams.learning_rate = 0.05
    hparams.learning_rate_warmup_steps = 10000
    return hparams


@registry.register_hparams
def attention_lm_moe_base_local() -> HParams:
    """Local (blocked, causal) self-attention."""
    hparams = attention_lm_moe_base_long_seq()
    hparams.attention_local = True
    return hparams


@registry.register_hparams
def attention_lm_moe_base_hybrid() -> HParams:
    """Local attention and attention experts alternating ("hehe")."""
    hparams = attention_lm_moe_base_long_seq()
    hparams.attention_layers = "hehe"
    hparams.attention_local = True
    return hparams


@registry.register_hparams
def attention_lm_hybrid_v2() -> HParams:
    """ "hheh" with 6 experts per token, pre-norm."""
    hparams = attention_lm_moe_base_long_seq()
    hparams.attention_layers = "hheh"
    hparams.attention_local = True
    hparams.attention_moe_k = 6
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    return hparams


@registry.register_hparams
def attention_lm_16k() -> HParams:
    """attention_lm_hybrid_v2 with batch 16384."""
    hparams = attention_lm_hybrid_v2()
    hparams.batch_size = 16384
    return hparams


@registry.register_hparams
def attention_lm_12k() -> HParams:
    """attention_lm_hybrid_v2 with batch 12000."""
    hparams = attention_lm_hybrid_v2()
    hparams.batch_size = 12000
    return hparams


@registry.register_hparams
def attention_lm_11k() -> HParams:
    """attention_lm_hybrid_v2 with batch 11500."""
    hparams = attention_lm_hybrid_v2()
    hparams.batch_size = 11500
    return hparams


@registry.register_hparams
def attention_lm_ae_extended() -> HParams:
    """Four attention-expert layers, each token expanded into 4 before the experts."""
    hparams = attention_lm_moe_base_long_seq()
    hparams.attention_layers = "eeee"
    hparams.attention_local = True
    hparams.attention_moe_k = 2
    hparams.attention_exp_factor = 4
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    return hparams


@registry.register_hparams
def attention_lm_moe_base_memeff() -> HParams:
    """Memory-efficient attention and feed-forwards, diet experts."""
    hparams = attention_lm_moe_base_long_seq()
    hparams.use_sepconv = False
    hparams.diet_experts = True
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.memory_efficient_ffn = True
    hparams.attention_type = "memory_efficient"
    hparams.num_heads = 8
    hparams.factored_logits = True
    return hparams


@registry.register_hparams
def attention_lm_moe_small() -> HParams:
    """Four layers of 512, 128 experts in layer 2 (T2T: ~312M parameters on lm1b_32k)."""
    hparams = attention_lm_moe_base()
    hparams.num_hidden_layers = 4
    hparams.hidden_size = 512
    hparams.filter_size = 2048
    hparams.moe_num_experts = 128
    hparams.moe_layers = "2"
    return hparams


@registry.register_hparams
def attention_lm_moe_tiny() -> HParams:
    """attention_lm_moe_small with 32 experts."""
    hparams = attention_lm_moe_small()
    hparams.moe_num_experts = 32
    return hparams


@registry.register_hparams
def attention_lm_attention_moe_tiny() -> HParams:
    """attention_lm_moe_small with 128 attention experts and no MoE feed-forward."""
    hparams = attention_lm_moe_small()
    hparams.moe_layers = ""
    hparams.attention_num_experts = 128
    hparams.filter_size = 8192
    hparams.attention_type = "local_experts"
    return hparams


@registry.register_hparams
def attention_lm_no_moe_small() -> HParams:
    """attention_lm_moe_small without the mixture of experts (T2T: ~45M parameters)."""
    hparams = attention_lm_moe_small()
    hparams.moe_layers = ""
    return hparams


@registry.register_hparams
def attention_lm_moe_large() -> HParams:
    """Five layers of 1024 (16 heads, filter 4096), 128 experts of 4096 in layer 3."""
    hparams = attention_lm_moe_base()
    hparams.num_hidden_layers = 5
    hparams.moe_layers = "3"
    hparams.hidden_size = 1024
    hparams.num_heads = 16
    hparams.filter_size = 4096
    hparams.moe_hidden_sizes = "4096"
    hparams.moe_num_experts = 128
    hparams.layer_prepostprocess_dropout = 0.2
    return hparams


@registry.register_hparams
def attention_lm_moe_large_diet() -> HParams:
    """attention_lm_moe_large with diet experts."""
    hparams = attention_lm_moe_large()
    hparams.diet_experts = True
    return hparams


@registry.register_hparams
def attention_lm_moe_memory_efficient() -> HParams:
    """attention_lm_moe_large, memory-efficient layers, diet experts, pre-norm."""
    hparams = attention_lm_moe_large()
    hparams.diet_experts = True
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.memory_efficient_ffn = True
    hparams.attention_type = "memory_efficient"
    hparams.num_heads = 8
    hparams.factored_logits = True
    return hparams


@registry.register_hparams
def attention_lm_moe_32b_diet() -> HParams:
    """1024 diet experts of 16384 (T2T: "32B params")."""
    hparams = attention_lm_moe_large_diet()
    hparams.moe_hidden_sizes = "16384"
    hparams.moe_num_experts = 1024
    return hparams


@registry.register_hparams
def attention_lm_moe_24b_diet() -> HParams:
    """1024 diet experts of 12288, batch 4096 (T2T: "24B params")."""
    hparams = attention_lm_moe_large_diet()
    hparams.moe_hidden_sizes = "12288"
    hparams.moe_num_experts = 1024
    hparams.batch_size = 4096
    return hparams


@registry.register_hparams
def attention_lm_moe_translation() -> HParams:
    """For seq2seq as language modelling (inputs prepended), MoE in all six layers."""
    hparams = attention_lm_moe_base()
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    hparams.learning_rate = 0.4
    hparams.prepend_mode = "prepend_inputs_masked_attention"
    hparams.max_length = 512
    hparams.label_smoothing = 0.1
    hparams.layer_prepostprocess_dropout = 0.2
    hparams.num_hidden_layers = 6
    hparams.moe_layers = "0,1,2,3,4,5"
    hparams.shared_embedding_and_softmax_weights = True
    return hparams


@registry.register_hparams
def attention_lm_moe_unscramble_base() -> HParams:
    """Non-autoregressive inputs -> targets (languagemodel_wiki_scramble1k50)."""
    hparams = attention_lm_no_moe_small()
    hparams.use_inputs = True
    hparams.min_length_bucket = 1024
    hparams.max_length = 1024
    hparams.batch_size = 5000
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    return hparams
