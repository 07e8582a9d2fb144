"""The RevNet hparams sets (T2T's values; the two bases are not registered, as in T2T)."""

from t2t import registry
from t2t.hparams import HParams, basic_params1


def revnet_base() -> HParams:
    """RevNet-104 on ImageNet: bottleneck units [1, 1, 10, 1] of [64, 128, 256, 416]."""
    hparams = basic_params1()
    hparams.add_hparam("num_channels", [64, 128, 256, 416])
    hparams.add_hparam("num_layers_per_block", [1, 1, 10, 1])
    hparams.add_hparam("bottleneck", True)
    hparams.add_hparam("first_batch_norm", [False, True, True, True])
    hparams.add_hparam("init_stride", 2)
    hparams.add_hparam("init_kernel_size", 7)
    hparams.add_hparam("init_maxpool", True)
    hparams.add_hparam("strides", [1, 2, 2, 2])
    hparams.add_hparam("num_channels_init_block", 64)
    hparams.add_hparam("dim", "2d")
    hparams.initializer = "normal_unit_scaling"
    hparams.initializer_gain = 2.0
    hparams.optimizer = "Momentum"
    hparams.optimizer_momentum_momentum = 0.9
    hparams.optimizer_momentum_nesterov = True
    hparams.weight_decay = 1e-4
    hparams.clip_grad_norm = 0.0
    hparams.learning_rate = 0.4  # 0.1 x (batch 1024 / 256)
    hparams.learning_rate_decay_scheme = "cosine"
    hparams.learning_rate_cosine_cycle_steps = 120000  # one half-cycle over image_imagenet224
    hparams.batch_size = 128
    return hparams


@registry.register_hparams
def revnet_104() -> HParams:
    """The ImageNet RevNet."""
    return revnet_base()


def revnet_cifar_base() -> HParams:
    """Small images: a 3x3 stride-1 first convolution (32 channels), no pool, 3 units."""
    hparams = revnet_base()
    hparams.num_channels_init_block = 32
    hparams.first_batch_norm = [False, True, True]
    hparams.init_stride = 1
    hparams.init_kernel_size = 3
    hparams.init_maxpool = False
    hparams.strides = [1, 2, 2]
    hparams.batch_size = 128
    hparams.weight_decay = 1e-4
    hparams.learning_rate = 0.1
    hparams.learning_rate_cosine_cycle_steps = 5000
    return hparams


@registry.register_hparams
def revnet_38_cifar() -> HParams:
    """Basic units [2, 2, 2] of [16, 32, 56]."""
    hparams = revnet_cifar_base()
    hparams.bottleneck = False
    hparams.num_channels = [16, 32, 56]
    hparams.num_layers_per_block = [2, 2, 2]
    hparams.initializer = "normal_unit_scaling"
    hparams.initializer_gain = 1.5
    return hparams


@registry.register_hparams
def revnet_110_cifar() -> HParams:
    """Basic units [8, 8, 8] of [16, 32, 64]."""
    hparams = revnet_cifar_base()
    hparams.bottleneck = False
    hparams.num_channels = [16, 32, 64]
    hparams.num_layers_per_block = [8, 8, 8]
    return hparams


@registry.register_hparams
def revnet_164_cifar() -> HParams:
    """Bottleneck units [8, 8, 8] of [16, 32, 64]."""
    hparams = revnet_cifar_base()
    hparams.bottleneck = True
    hparams.num_channels = [16, 32, 64]
    hparams.num_layers_per_block = [8, 8, 8]
    return hparams


@registry.register_ranged_hparams
def revnet_range(rhp) -> None:
    """Ranges for tuning RevNet."""
    rhp.set_float("learning_rate", 0.05, 0.2, scale=rhp.LOG_SCALE)
    rhp.set_float("weight_decay", 1e-5, 1e-3, scale=rhp.LOG_SCALE)
    rhp.set_discrete("num_channels_init_block", [64, 128])
