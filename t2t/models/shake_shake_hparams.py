"""The Shake-Shake hparams sets (T2T's values)."""

from t2t import registry
from t2t.hparams import HParams, basic_params1


@registry.register_hparams
def shakeshake_small() -> HParams:
    """CIFAR-10, 26 layers, k=2: about 96 % after 700k steps of batch 128 on one GPU."""
    hparams = basic_params1()
    hparams.batch_size = 128
    hparams.hidden_size = 32
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.dropout = 0
    hparams.label_smoothing = 0.0
    hparams.clip_grad_norm = 0.0
    hparams.num_hidden_layers = 26
    hparams.learning_rate_decay_scheme = "cosine"
    hparams.learning_rate_cosine_cycle_steps = 700000  # ~1800 epochs at batch 128
    hparams.learning_rate = 0.2
    hparams.learning_rate_warmup_steps = 100
    hparams.initializer = "uniform_unit_scaling"
    hparams.initializer_gain = 1.0
    hparams.weight_decay = 1e-4
    hparams.optimizer = "Momentum"
    hparams.optimizer_momentum_momentum = 0.9
    hparams.add_hparam("shake_shake_num_branches", 2)
    hparams.add_hparam("shake_shake_concat", int(False))
    return hparams


@registry.register_hparams
def shake_shake_quick() -> HParams:
    """The slides' MNIST run: Adam, a 1000-step cosine, lr 0.5, batch 100."""
    hparams = shakeshake_small()
    hparams.optimizer = "adam"
    hparams.learning_rate_cosine_cycle_steps = 1000
    hparams.learning_rate = 0.5
    hparams.batch_size = 100
    return hparams


@registry.register_hparams
def shakeshake_big() -> HParams:
    """k=6 (hidden_size 96): about 97 % on CIFAR-10."""
    hparams = shakeshake_small()
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.hidden_size = 96
    return hparams


@registry.register_hparams
def shakeshake_tpu() -> HParams:
    """shakeshake_big with a 180k-step cosine and lr 0.6."""
    hparams = shakeshake_big()
    hparams.learning_rate_cosine_cycle_steps = 180000
    hparams.learning_rate = 0.6
    return hparams
