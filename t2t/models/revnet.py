"""RevNet (T2T's `revnet`): reversible residual units whose backward pass recomputes.

The image is convolved, batch-normed, ReLU'd (and max-pooled) and split along the channels
into (x1, x2). Each unit first changes resolution and width:

    x1 = h(x1) + f(x2)        (f strided)
    x2 = h(x2) + f'(x1)

(h: a strided 1x1 convolution for bottleneck units; otherwise average pooling and zero
channels on both sides), then runs `num_layers_per_block` reversible layers
y1 = x1 + f(x2), y2 = x2 + g(y1) as a `ReversibleBlock`, which keeps only its outputs for
the backward pass and recomputes the rest, so activation memory stays flat in depth. The
end: concat, batch norm, ReLU, mean over the image -> [B, 1, 1, 2·depth2] for the
class-label top.

f is T2T's residual function: bottleneck (BN, ReLU,) 1x1 conv (stride), BN, ReLU, 3x3 conv,
BN, ReLU, 1x1 conv to 4x the depth; otherwise BN, ReLU, 3x3 conv (stride). T2T's
non-bottleneck f also builds a batch norm and a 3x3 convolution whose outputs it discards
(it normalises `x` a second time instead of the first convolution's output); those
parameters never influence anything and are not built here (see tests/models/
test_image_param_counts.py). Convolutions have biases and TF's variance-scaling kernels
(scale 2, fan_out); batch norms are TF's defaults (decay 0.99, epsilon 1e-3).
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.layers.batch_norm import BatchNorm
from t2t.layers.convolutions import Conv2d
from t2t.layers.initializers import tf_variance_scaling_
from t2t.layers.reversible import ReversibleBlock
from t2t.models.image_classifier import (
    input_channels,
    predict_class,
    to_channels_first,
    to_channels_last,
)
from t2t.models.t2t_model import Features, T2TModel


def conv(in_channels: int, out_channels: int, kernel: int, stride: int = 1) -> Conv2d:
    """RevNet's convolution: "SAME", bias, variance scaling (2.0, fan_out) kernel."""
    return Conv2d(
        in_channels,
        out_channels,
        kernel,
        stride=stride,
        kernel_init=lambda k: tf_variance_scaling_(k, 2.0, "fan_out"),
    )


class Residual(nn.Module):
    """T2T's revnet f: [B, Cin, H, W] -> [B, depth2, H/s, W/s] (see the module doc).

    Args:
        in_channels: Cin.
        depth1: the bottleneck width.
        depth2: the output width.
        stride: of the first convolution.
        first_batch_norm: start with BN-ReLU (bottleneck only; the non-bottleneck f always
            normalises first, as T2T's does in effect).
        bottleneck: the 1x1-3x3-1x1 form.
    """

    def __init__(
        self, in_channels, depth1, depth2, stride=1, first_batch_norm=True, bottleneck=True
    ):
        super().__init__()
        self.bottleneck = bottleneck
        if not bottleneck:
            self.norm0 = BatchNorm(in_channels)
            self.conv1 = conv(in_channels, depth2, 3, stride)
            return
        self.norm0 = BatchNorm(in_channels) if first_batch_norm else None
        self.conv1 = conv(in_channels, depth1, 1, stride)
        self.norm1 = BatchNorm(depth1)
        self.conv2 = conv(depth1, depth1, 3)
        self.norm2 = BatchNorm(depth1)
        self.conv3 = conv(depth1, depth2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc."""
        if self.norm0 is not None:
            x = F.relu(self.norm0(x))
        x = self.conv1(x)
        if not self.bottleneck:
            return x
        x = self.conv2(F.relu(self.norm1(x)))
        return self.conv3(F.relu(self.norm2(x)))


class PadDownsample(nn.Module):
    """Average pooling (stride), zero channels on both sides: [B, C, H, W] -> [B, C', H/s, W/s]."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.pad = (out_channels - in_channels) // 2
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc."""
        if self.stride > 1:
            x = F.avg_pool2d(x, self.stride, self.stride)
        return F.pad(x, [0, 0, 0, 0, self.pad, self.pad])  # channels: pad before and after


class Unit(nn.Module):
    """Downsampling (x1, x2) then a reversible block of `num_layers` layers.

    Args:
        in_channels: channels of x1 and x2.
        depth: the unit's depth (x4 at the output for bottleneck units).
        num_layers: reversible layers.
        bottleneck, first_batch_norm, stride: as in T2T's block hparams.
    """

    def __init__(self, in_channels, depth, num_layers, bottleneck, first_batch_norm, stride):
        super().__init__()
        depth1, depth2 = (depth, 4 * depth) if bottleneck else (depth, depth)
        if bottleneck:
            self.h1 = conv(in_channels, depth2, 1, stride)
            self.h2 = conv(in_channels, depth2, 1, stride)
        else:
            self.h1 = PadDownsample(in_channels, depth2, stride)
            self.h2 = PadDownsample(in_channels, depth2, stride)
        self.f1 = Residual(in_channels, depth1, depth2, stride, first_batch_norm, bottleneck)
        self.f2 = Residual(depth2, depth1, depth2, bottleneck=bottleneck)

        def residual() -> Residual:
            return Residual(depth2, depth1, depth2, bottleneck=bottleneck)

        self.block = ReversibleBlock(
            [residual() for _ in range(num_layers)], [residual() for _ in range(num_layers)]
        )
        self.out_channels = depth2

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, Cin, H, W] x 2 -> [B, depth2, H/s, W/s] x 2."""
        x1 = self.h1(x1) + self.f1(x2)
        x2 = self.h2(x2) + self.f2(x1)
        return self.block(x1, x2)


@registry.register_model
class Revnet(T2TModel):
    """RevNet over images (see the module doc)."""

    def __init__(self, hparams, problem_hparams=None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        if hp.dim != "2d":
            raise HParamsError(
                f"revnet supports dim='2d' only (T2T's '3d' is not here); got {hp.dim!r}"
            )
        self.channels = input_channels(problem_hparams)
        self.init_conv = conv(
            self.channels, hp.num_channels_init_block, hp.init_kernel_size, hp.init_stride
        )
        self.init_norm = BatchNorm(hp.num_channels_init_block)
        units, channels = [], hp.num_channels_init_block // 2
        for i, num_layers in enumerate(hp.num_layers_per_block):
            unit = Unit(
                channels,
                hp.num_channels[i],
                num_layers,
                hp.bottleneck,
                hp.first_batch_norm[i],
                hp.strides[i],
            )
            units.append(unit)
            channels = unit.out_channels
        self.units = nn.ModuleList(units)
        self.final_norm = BatchNorm(2 * channels)
        self.initialize_parameters()

    def body_output_depth(self) -> int:
        """2 x the last unit's output channels."""
        hp = self.hparams
        return 2 * hp.num_channels[-1] * (4 if hp.bottleneck else 1)

    def body(self, features: Features) -> torch.Tensor:
        """inputs [B, H, W, C] -> pooled [B, 1, 1, 2·depth2]."""
        hp = self.hparams
        x = to_channels_first(features["inputs"], self.channels)
        x = F.relu(self.init_norm(self.init_conv(x)))
        if hp.init_maxpool:
            x = F.max_pool2d(x, 3, hp.init_stride)  # TF's default "valid" padding
        x1, x2 = x.chunk(2, dim=1)
        for unit in self.units:
            x1, x2 = unit(x1, x2)
        y = F.relu(self.final_norm(torch.cat([x1, x2], dim=1)))
        return to_channels_last(y.mean(dim=(2, 3), keepdim=True))  # [B, 1, 1, 2·depth2]

    def predict(self, features: Features) -> dict[str, torch.Tensor]:
        """{"inputs": [B, H, W, C]} -> {"outputs": [B, 1] classes, "scores": [B] log-probs}."""
        return predict_class(self, features)
