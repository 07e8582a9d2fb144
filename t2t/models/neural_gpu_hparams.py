"""The Neural GPU's registered hparams set (T2T's values).

Re-exported by `t2t.models.neural_gpu`, so `tensor2tensor.models.neural_gpu.neural_gpu()`
keeps working. `diagonal_neural_gpu` uses the same set.
"""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def neural_gpu() -> HParams:
    """One convolutional GRU of 256 filters, kernel 3x1."""
    hparams = basic_params1()
    hparams.daisy_chain_variables = False
    hparams.batch_size = 1024
    hparams.num_hidden_layers = 1
    hparams.hidden_size = 256
    hparams.dropout = 0.1
    hparams.label_smoothing = 0.0
    hparams.clip_grad_norm = 10.0
    hparams.kernel_height = 3
    hparams.kernel_width = 1
    hparams.learning_rate_decay_scheme = "exp"
    hparams.learning_rate = 0.02
    hparams.learning_rate_warmup_steps = 3000
    hparams.initializer_gain = 1.0
    hparams.weight_decay = 0.0
    hparams.num_sampled_classes = 0
    hparams.sampling_method = "argmax"
    hparams.optimizer_adam_epsilon = 1e-6
    hparams.optimizer_adam_beta1 = 0.85
    hparams.optimizer_adam_beta2 = 0.997
    return hparams
