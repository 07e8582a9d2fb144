"""The Xception hparams sets (T2T's values)."""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def xception_base() -> HParams:
    """768 channels, 8 residual blocks, exp decay; T2T's ImageNet recipe."""
    hparams = basic_params1()
    hparams.batch_size = 128
    hparams.hidden_size = 768
    hparams.dropout = 0.2
    hparams.symbol_dropout = 0.2
    hparams.label_smoothing = 0.1
    hparams.clip_grad_norm = 2.0
    hparams.num_hidden_layers = 8
    hparams.kernel_height = 3
    hparams.kernel_width = 3
    hparams.learning_rate_decay_scheme = "exp"
    hparams.learning_rate = 0.05
    hparams.learning_rate_warmup_steps = 3000
    hparams.initializer_gain = 1.0
    hparams.weight_decay = 3.0
    hparams.num_sampled_classes = 0  # a plain attribute in T2T too, not an hparam
    hparams.sampling_method = "argmax"
    hparams.optimizer_adam_epsilon = 1e-6
    hparams.optimizer_adam_beta1 = 0.85
    hparams.optimizer_adam_beta2 = 0.997
    return hparams


@registry.register_hparams
def xception_tiny() -> HParams:
    """64 channels, 2 blocks, batch 2, no decay."""
    hparams = xception_base()
    hparams.batch_size = 2
    hparams.hidden_size = 64
    hparams.num_hidden_layers = 2
    hparams.learning_rate_decay_scheme = "none"
    return hparams


@registry.register_hparams
def xception_tiny_tpu() -> HParams:
    """128 channels, 2 blocks, batch 2, true_adam."""
    hparams = xception_base()
    hparams.batch_size = 2
    hparams.num_hidden_layers = 2
    hparams.hidden_size = 128
    hparams.optimizer = "true_adam"
    return hparams
