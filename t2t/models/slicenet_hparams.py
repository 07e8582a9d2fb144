"""SliceNet's registered hparams sets (T2T's values and names).

Re-exported by `t2t.models.slicenet` under T2T's function names.
"""

from t2t import registry
from t2t.hparams import LOG_SCALE, HParams, RangedHParams, basic_params1


@registry.register_hparams("slicenet_1")
def slicenet_params1() -> HParams:
    """768 filters, 4 decoder layers, kernel scheme 3.7.15.31, separability -2, 8 heads."""
    hparams = basic_params1()
    hparams.batch_size = 1024
    hparams.hidden_size = 768
    hparams.dropout = 0.5
    hparams.symbol_dropout = 0.2
    hparams.label_smoothing = 0.1
    hparams.clip_grad_norm = 2.0
    hparams.num_hidden_layers = 4
    hparams.kernel_height = 3
    hparams.kernel_width = 1
    hparams.norm_type = "layer"
    hparams.learning_rate_decay_scheme = "exp"
    hparams.learning_rate = 0.05
    hparams.learning_rate_warmup_steps = 3000
    hparams.initializer_gain = 1.0
    hparams.weight_decay = 3.0
    hparams.num_sampled_classes = 0
    hparams.sampling_method = "argmax"
    hparams.optimizer_adam_epsilon = 1e-6
    hparams.optimizer_adam_beta1 = 0.85
    hparams.optimizer_adam_beta2 = 0.997
    hparams.add_hparam("large_kernel_size", 15)  # used when the schemes below are unknown
    hparams.add_hparam("separability", -2)
    hparams.add_hparam("dilation_scheme", "1.1.1.1")  # a key of slicenet.DILATION_SCHEMES
    hparams.add_hparam("kernel_scheme", "3.7.15.31")  # a key of slicenet.KERNEL_SCHEMES
    hparams.add_hparam("audio_compression", 8)
    hparams.add_hparam("attention_type", "transformer")  # or "none"
    hparams.add_hparam("num_heads", 8)
    hparams.add_hparam("attention_key_channels", 0)
    hparams.add_hparam("attention_value_channels", 0)
    hparams.add_hparam("sim_loss_mult", 0.0)
    hparams.add_hparam("attention_dropout", 0.2)
    hparams.shared_embedding_and_softmax_weights = True
    return hparams


@registry.register_hparams("slicenet_1noam")
def slicenet_params1_noam() -> HParams:
    """slicenet_1 with the Noam learning-rate schedule."""
    hparams = slicenet_params1()
    hparams.learning_rate_decay_scheme = "noam"
    hparams.learning_rate = 1.0
    hparams.learning_rate_warmup_steps = 4000
    hparams.initializer = "uniform_unit_scaling"
    hparams.optimizer_adam_epsilon = 1e-9
    hparams.optimizer_adam_beta1 = 0.9
    hparams.optimizer_adam_beta2 = 0.98
    return hparams


@registry.register_hparams("slicenet_1tiny")
def slicenet_params1_tiny() -> HParams:
    """128 filters, 2 decoder layers, plain separable convs: for fast local runs."""
    hparams = slicenet_params1()
    hparams.separability = 0
    hparams.hidden_size = 128
    hparams.num_hidden_layers = 2
    hparams.batch_size = 512
    hparams.learning_rate_warmup_steps = 200
    return hparams


@registry.register_ranged_hparams("slicenet1")
def slicenet_range1(ranged_hparams: RangedHParams) -> None:
    """T2T's small search space around slicenet_1."""
    rhp = ranged_hparams
    rhp.set_float("clip_grad_norm", 1.0, 10.0, scale=LOG_SCALE)
    rhp.set_float("learning_rate", 0.02, 1.0, scale=LOG_SCALE)
    rhp.set_float("optimizer_adam_beta2", 0.995, 0.998)
    rhp.set_float("weight_decay", 1.0, 5.0)
