"""The ResNet hparams sets (T2T's values; `resnet_base` is not registered, as in T2T).

Every set trains with T2T's Momentum (0.9, Nesterov), the legacy cosine schedule of
`learning_rate_cosine_cycle_steps` steps and L2 weight decay 1e-4.
"""

from t2t import registry
from t2t.hparams import HParams, basic_params1


def resnet_base() -> HParams:
    """ResNet-50 on ImageNet: bottleneck blocks [3, 4, 6, 3], lr 0.4 for batch 1024."""
    hparams = basic_params1()
    hparams.add_hparam("layer_sizes", [3, 4, 6, 3])
    hparams.add_hparam("bottleneck_ratios", [4, 4, 4, 4])
    hparams.add_hparam("filter_sizes", [64, 64, 128, 256, 512])
    hparams.add_hparam("block_fn", "bottleneck")
    hparams.add_hparam("use_nchw", True)
    hparams.add_hparam("is_cifar", False)
    # targeted dropout
    hparams.add_hparam("use_td", False)
    hparams.add_hparam("targeting_rate", None)
    hparams.add_hparam("keep_prob", None)
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


def _targeted(hparams: HParams, use_td: str, targeting_rate: float, keep_prob: float) -> HParams:
    hparams.use_td = use_td
    hparams.targeting_rate = targeting_rate
    hparams.keep_prob = keep_prob
    return hparams


@registry.register_hparams
def resnet_50() -> HParams:
    """Bottleneck [3, 4, 6, 3]."""
    return resnet_base()


@registry.register_hparams
def resnet_18() -> HParams:
    """Residual blocks [2, 2, 2, 2]."""
    hp = resnet_base()
    hp.block_fn = "residual"
    hp.layer_sizes = [2, 2, 2, 2]
    return hp


@registry.register_hparams
def resnet_imagenet_34() -> HParams:
    """Residual blocks [2, 4, 8, 2]."""
    hp = resnet_base()
    hp.block_fn = "residual"
    hp.layer_sizes = [2, 4, 8, 2]
    return hp


@registry.register_hparams
def resnet_imagenet_34_td_weight_05_05() -> HParams:
    """resnet_imagenet_34 with weight-targeted dropout (rate 0.5, keep 0.5)."""
    return _targeted(resnet_imagenet_34(), "weight", 0.5, 0.5)


@registry.register_hparams
def resnet_imagenet_34_td_unit_05_05() -> HParams:
    """resnet_imagenet_34 with unit-targeted dropout (rate 0.5, keep 0.5)."""
    return _targeted(resnet_imagenet_34(), "unit", 0.5, 0.5)


@registry.register_hparams
def resnet_imagenet_34_td_unit_no_drop() -> HParams:
    """resnet_imagenet_34 with unit targeting but keep 1.0 (no dropout)."""
    return _targeted(resnet_imagenet_34(), "unit", 0.0, 1.0)


@registry.register_hparams
def resnet_imagenet_102() -> HParams:
    """Residual blocks [3, 8, 36, 3]."""
    hp = resnet_imagenet_34()
    hp.layer_sizes = [3, 8, 36, 3]
    return hp


@registry.register_hparams
def resnet_cifar_15() -> HParams:
    """CIFAR: residual blocks [2, 2, 2], filters [16, 32, 64, 128]."""
    hp = resnet_base()
    hp.block_fn = "residual"
    hp.is_cifar = True
    hp.layer_sizes = [2, 2, 2]
    hp.filter_sizes = [16, 32, 64, 128]
    return hp


@registry.register_hparams
def resnet_cifar_32() -> HParams:
    """CIFAR: residual blocks [5, 5, 5]."""
    hp = resnet_cifar_15()
    hp.layer_sizes = [5, 5, 5]
    return hp


@registry.register_hparams
def resnet_cifar_32_td_weight_05_05() -> HParams:
    """resnet_cifar_32 with weight-targeted dropout (rate 0.5, keep 0.5)."""
    return _targeted(resnet_cifar_32(), "weight", 0.5, 0.5)


@registry.register_hparams
def resnet_cifar_32_td_unit_05_05() -> HParams:
    """resnet_cifar_32 with unit-targeted dropout (rate 0.5, keep 0.5)."""
    return _targeted(resnet_cifar_32(), "unit", 0.5, 0.5)


@registry.register_hparams
def resnet_cifar_32_td_unit_no_drop() -> HParams:
    """resnet_cifar_32 with unit targeting but keep 1.0 (no dropout)."""
    return _targeted(resnet_cifar_32(), "unit", 0.0, 1.0)


@registry.register_hparams
def resnet_34() -> HParams:
    """Residual blocks [3, 4, 6, 3]."""
    hp = resnet_base()
    hp.block_fn = "residual"
    return hp


@registry.register_hparams
def resnet_101() -> HParams:
    """Bottleneck [3, 4, 23, 3]."""
    hp = resnet_base()
    hp.layer_sizes = [3, 4, 23, 3]
    return hp


@registry.register_hparams
def resnet_152() -> HParams:
    """Bottleneck [3, 8, 36, 3]."""
    hp = resnet_base()
    hp.layer_sizes = [3, 8, 36, 3]
    return hp


@registry.register_hparams
def resnet_200() -> HParams:
    """Bottleneck [3, 24, 36, 3]."""
    hp = resnet_base()
    hp.layer_sizes = [3, 24, 36, 3]
    return hp
