"""The registered hparams sets of attention_lm (T2T's names and values)."""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def attention_lm_base() -> HParams:
    """Six layers of 1024 (filter 4096, 8 heads), noam schedule, no weight sharing."""
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
    hparams.num_hidden_layers = 6
    hparams.initializer = "uniform_unit_scaling"
    hparams.weight_decay = 0.0
    hparams.optimizer_adam_beta1 = 0.9
    hparams.optimizer_adam_beta2 = 0.98
    hparams.label_smoothing = 0.0
    hparams.shared_embedding_and_softmax_weights = False
    hparams.add_hparam("filter_size", 4096)
    hparams.add_hparam("num_heads", 8)
    hparams.add_hparam("attention_key_channels", 0)
    hparams.add_hparam("attention_value_channels", 0)
    hparams.add_hparam("attention_dropout", 0.0)
    hparams.add_hparam("relu_dropout", 0.0)
    hparams.add_hparam("pos", "timing")  # timing, none
    hparams.add_hparam("encoder_full_attention", False)  # read nowhere in T2T either
    return hparams


@registry.register_hparams
def attention_lm_small() -> HParams:
    """Four layers of 512 (filter 2048), dropout 0.5."""
    hparams = attention_lm_base()
    hparams.num_hidden_layers = 4
    hparams.hidden_size = 512
    hparams.filter_size = 2048
    hparams.layer_prepostprocess_dropout = 0.5
    return hparams


@registry.register_hparams
def attention_lm_translation() -> HParams:
    """For seq2seq as language modelling: inputs prepended (masked attention), pre-norm."""
    hparams = attention_lm_base()
    hparams.layer_preprocess_sequence = "n"
    hparams.layer_postprocess_sequence = "da"
    hparams.learning_rate = 0.4
    hparams.prepend_mode = "prepend_inputs_masked_attention"
    hparams.max_length = 512
    hparams.label_smoothing = 0.1
    hparams.shared_embedding_and_softmax_weights = True
    return hparams


@registry.register_hparams
def attention_lm_translation_l12() -> HParams:
    """attention_lm_translation with 12 layers and batch 4096."""
    hparams = attention_lm_translation()
    hparams.batch_size = 4096
    hparams.num_hidden_layers = 12
    return hparams


@registry.register_hparams
def attention_lm_translation_full_attention() -> HParams:
    """attention_lm_translation where the prepended inputs attend both ways."""
    hparams = attention_lm_translation()
    hparams.prepend_mode = "prepend_inputs_full_attention"
    return hparams
