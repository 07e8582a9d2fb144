"""ResNet (T2T's `resnet`): residual (pre-activation) or bottleneck blocks over images.

The body takes images [B, H, W, C] from the image modality. ImageNet-style sets (is_cifar
False) start with a 7x7 stride-2 convolution and a 3x3 stride-2 max pool, run four block
layers and hand [B, H', W', D] to the class-label top (mean over H', W', dense). CIFAR
sets (is_cifar True) start with a 7x7 stride-1 convolution, run three block layers, and
compute the logits and the loss in the body, as T2T does: mean over H', W', a dense layer
"logits", and plain cross-entropy (no label smoothing, no loss_multiplier); the class-label
top is not built (its dense layer would be an unused parameter, which T2T never created).
One difference: T2T reported a loss of 0 outside training for CIFAR sets; we report the
cross-entropy.

As in T2T: batch norms with decay 0.9 and epsilon 1e-5 (the last batch norm of a
bottleneck layer starts with gamma 0); convolutions without bias, padded (k - 1) / 2 on
every side, kernels from TF's variance_scaling_initializer (fan_in, truncated normal); the
first block of every layer has a projection shortcut (1x1 convolution + batch norm), even
where the shapes already match. Targeted dropout (`use_td` "weight" or "unit",
`targeting_rate`, `keep_prob`) applies to the block convolutions' kernels: in training, the
targeted weights (the smallest ones, or the smallest units) are dropped with probability
1 - keep_prob; in evaluation, the expected share of them is pruned.
"""

import functools

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.layers.batch_norm import BatchNorm
from t2t.layers.convolutions import max_pool_same
from t2t.layers.initializers import init_conv_kernel_, own_init, tf_variance_scaling_
from t2t.models.image_classifier import (
    input_channels,
    predict_class,
    to_channels_first,
    to_channels_last,
)
from t2t.models.t2t_model import Features, T2TModel

BATCH_NORM_DECAY = 0.9
BATCH_NORM_EPSILON = 1e-5


def batch_norm(channels: int, zero_init: bool = False) -> BatchNorm:
    """ResNet's batch norm: decay 0.9, epsilon 1e-5."""
    return BatchNorm(channels, BATCH_NORM_DECAY, BATCH_NORM_EPSILON, zero_init)


def weight_targeting(w: torch.Tensor, k: int) -> torch.Tensor:
    """Per output unit, its k+1 smallest-magnitude weights: w [out, n] -> bool mask [out, n]."""
    threshold = w.abs().sort(dim=1).values[:, k]  # [out]
    return w.abs() <= threshold[:, None]


def unit_targeting(w: torch.Tensor, k: int) -> torch.Tensor:
    """The k+1 output units of smallest L2 norm: w [out, n] -> bool mask [out, n]."""
    norms = w.norm(dim=1)  # [out]
    threshold = norms.sort().values[k]
    return (norms <= threshold)[:, None].expand_as(w)


TARGETING = {"weight": weight_targeting, "unit": unit_targeting}


def targeted_dropout(
    kernel: torch.Tensor, count: float, keep_prob: float, targeting: str, training: bool
) -> torch.Tensor:
    """T2T's targeted dropout of a conv kernel [out, in, k, k] (with pruning in evaluation).

    Args:
        kernel: the weights.
        count: how many weights per unit ("weight") or units ("unit") to target.
        keep_prob: keep probability of a targeted weight in training.
        targeting: "weight" or "unit".
        training: drop (training) or prune the expected dropped share (evaluation).
    """
    if not training:
        count = round(count * (1.0 - keep_prob))  # tf.round: half to even, as Python's
    flat = kernel.reshape(kernel.shape[0], -1)  # [out, in·k·k]
    mask = TARGETING[targeting](flat, int(count)).reshape(kernel.shape).to(kernel.dtype)
    if training:
        return kernel * (1 - mask) + F.dropout(kernel, 1.0 - keep_prob) * mask
    return kernel * (1 - mask)


class ResnetConv(nn.Module):
    """Conv without bias, padding (k - 1) / 2 each side: [B, Cin, H, W] -> [B, Cout, H', W'].

    Args:
        in_channels, out_channels, kernel_size, stride: sizes.
        use_td: "", "weight" or "unit" (targeted dropout of the kernel).
        targeting_rate: share of the weights (or units) targeted.
        keep_prob: keep probability of the targeted ones (1.0: no targeting at all).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int,
        use_td: str = "",
        targeting_rate: float | None = None,
        keep_prob: float | None = None,
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size, kernel_size))
        init_conv_kernel_(self.weight, lambda k: tf_variance_scaling_(k, 1.0, "fan_in"))
        own_init(self.weight)
        self.stride, self.padding = stride, (kernel_size - 1) // 2
        if use_td and use_td not in TARGETING:
            raise HParamsError(f"Unrecognized targeted dropout type: {use_td}")
        self.use_td = use_td if use_td and keep_prob is not None and keep_prob < 1.0 else ""
        per_unit = in_channels * kernel_size * kernel_size
        self.count = (targeting_rate or 0.0) * (per_unit if use_td == "weight" else out_channels)
        self.keep_prob = keep_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, Cin, H, W] -> [B, Cout, H', W']."""
        kernel = self.weight
        if self.use_td:
            kernel = targeted_dropout(
                kernel, self.count, self.keep_prob, self.use_td, self.training
            )
        return F.conv2d(x, kernel, stride=self.stride, padding=self.padding)


class Projection(nn.Module):
    """The shortcut of a layer's first block: 1x1 conv (stride) + batch norm, no ReLU."""

    def __init__(self, conv: nn.Module, channels: int) -> None:
        super().__init__()
        self.conv, self.norm = conv, batch_norm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, Cout, H / stride, W / stride]."""
        return self.norm(self.conv(x))


class ResidualBlock(nn.Module):
    """Pre-activation block: BN-ReLU, 3x3 conv (stride), BN-ReLU, 3x3 conv, + shortcut.

    Args:
        in_channels, filters, stride: sizes.
        projection: project the shortcut (of the BN-ReLU'd input), as a layer's first block.
        conv: builds a ResnetConv(in, out, kernel, stride).
        final_block, ratio: unused (the bottleneck block's signature).
    """

    def __init__(self, in_channels, filters, stride, projection, conv, final_block, ratio):
        super().__init__()
        del final_block, ratio
        self.norm1 = batch_norm(in_channels)
        self.projection = (
            Projection(conv(in_channels, filters, 1, stride), filters) if projection else None
        )
        self.conv1 = conv(in_channels, filters, 3, stride)
        self.norm2 = batch_norm(filters)
        self.conv2 = conv(filters, filters, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, filters, H / stride, W / stride]."""
        shortcut = x
        x = F.relu(self.norm1(x))
        if self.projection is not None:
            shortcut = self.projection(x)
        x = self.conv1(x)
        x = self.conv2(F.relu(self.norm2(x)))
        return x + shortcut


class BottleneckBlock(nn.Module):
    """Post-activation bottleneck: 1x1, 3x3 (stride), 1x1 to ratio·filters, + shortcut, ReLU.

    Args: as ResidualBlock; final_block starts the last batch norm's gamma at 0; ratio is
    the bottleneck ratio.
    """

    def __init__(self, in_channels, filters, stride, projection, conv, final_block, ratio):
        super().__init__()
        out = ratio * filters
        self.projection = Projection(conv(in_channels, out, 1, stride), out) if projection else None
        self.conv1 = conv(in_channels, filters, 1, 1)
        self.norm1 = batch_norm(filters)
        self.conv2 = conv(filters, filters, 3, stride)
        self.norm2 = batch_norm(filters)
        self.conv3 = conv(filters, out, 1, 1)
        self.norm3 = batch_norm(out, zero_init=final_block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, ratio·filters, H / stride, W / stride]."""
        shortcut = x if self.projection is None else self.projection(x)
        x = F.relu(self.norm1(self.conv1(x)))
        x = F.relu(self.norm2(self.conv2(x)))
        return F.relu(self.norm3(self.conv3(x)) + shortcut)


BLOCKS = {"residual": ResidualBlock, "bottleneck": BottleneckBlock}


def block_layer(block, in_channels, filters, blocks, stride, ratio, conv) -> nn.Sequential:
    """`blocks` blocks; the first projects its shortcut and strides."""
    layer = [block(in_channels, filters, stride, True, conv, False, ratio)]
    out = filters * (ratio if block is BottleneckBlock else 1)
    for i in range(1, blocks):
        layer.append(block(out, filters, 1, False, conv, i + 1 == blocks, ratio))
    return nn.Sequential(*layer)


@registry.register_model
class Resnet(T2TModel):
    """Residual network (T2T's resnet_v2 body with its initial convolution and pool)."""

    def __init__(self, hparams, problem_hparams=None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        if hp.block_fn not in BLOCKS:
            raise HParamsError(f"block_fn must be 'residual' or 'bottleneck', got {hp.block_fn!r}")
        block = BLOCKS[hp.block_fn]
        conv = functools.partial(
            ResnetConv, use_td=hp.use_td, targeting_rate=hp.targeting_rate, keep_prob=hp.keep_prob
        )
        self.channels = input_channels(problem_hparams)
        filters = hp.filter_sizes
        self.initial_conv = ResnetConv(self.channels, filters[0], 7, 1 if hp.is_cifar else 2)
        self.initial_norm = batch_norm(filters[0])
        layers, in_channels = [], filters[0]
        for i in range(3 if hp.is_cifar else 4):
            ratio = hp.bottleneck_ratios[i]
            stride = 1 if i == 0 else 2
            layers.append(
                block_layer(
                    block, in_channels, filters[i + 1], hp.layer_sizes[i], stride, ratio, conv
                )
            )
            in_channels = filters[i + 1] * (ratio if block is BottleneckBlock else 1)
        self.block_layers = nn.Sequential(*layers)
        if hp.is_cifar:
            self.target_top = None  # the body computes the logits (T2T skips the top)
            self.logits = nn.Linear(in_channels, self.vocab_sizes.get("targets") or 1)
        self.initialize_parameters()

    def body_output_depth(self) -> int:
        """Channels of the last block layer."""
        hp = self.hparams
        ratio = hp.bottleneck_ratios[2 if hp.is_cifar else 3]
        last = hp.filter_sizes[3 if hp.is_cifar else 4]
        return last * (ratio if hp.block_fn == "bottleneck" else 1)

    def body(self, features: Features):
        """inputs [B, H, W, C] -> [B, H', W', D]; CIFAR sets: (logits [B, 1, V], losses)."""
        x = to_channels_first(features["inputs"], self.channels, not self.hparams.use_nchw)
        x = F.relu(self.initial_norm(self.initial_conv(x)))
        if not self.hparams.is_cifar:
            x = max_pool_same(x, 3, 2)
        x = self.block_layers(x)
        if not self.hparams.is_cifar:
            return to_channels_last(x)
        logits = self.logits(x.mean(dim=(2, 3)))[:, None, :]  # [B, 1, V]
        if "targets_raw" not in features:
            return logits, {"training": torch.zeros((), device=x.device)}
        labels = features["targets_raw"].reshape(-1).long()  # [B]
        return logits, {"training": F.cross_entropy(logits[:, 0].float(), labels)}

    def predict(self, features: Features) -> dict[str, torch.Tensor]:
        """{"inputs": [B, H, W, C]} -> {"outputs": [B, 1] classes, "scores": [B] log-probs}."""
        return predict_class(self, features)
