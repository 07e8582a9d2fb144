"""Xception (T2T's `xception`): separable-convolution residual blocks over images.

Small images (height <= 200; the problem hparams' `image_size`, 32 when unset): a 3x3
convolution to hidden_size channels; large ones run Xception's entry flow (strided
convolutions and three separable residual blocks). Then num_hidden_layers residual blocks:
three (ReLU, 3x3 separable conv, layer norm) steps added to the block's input, layer-normed
and dropped out (`dropout`). Then the exit flow: a strided block that widens to
2.5 hidden_size channels, and a ReLU. The class-label top averages and maps to classes.

As in T2T's conv blocks: convolutions followed by a layer norm have no bias; layer norms
normalise the channels of each position (epsilon 1e-6); padding is TF's "SAME"; kernels
take the model's initializer through their TF layout.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.layers.convolutions import Conv2d, SeparableConv2d, max_pool_same
from t2t.models.image_classifier import (
    image_size,
    input_channels,
    predict_class,
    to_channels_first,
    to_channels_last,
)
from t2t.models.t2t_model import Features, T2TModel

LARGE_IMAGE = 200  # T2T runs the entry flow on images taller than this


class ChannelNorm(nn.Module):
    """T2T's layer_norm over the channels of every position: [B, C, H, W] -> same."""

    def __init__(self, channels: int, epsilon: float = 1e-6) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.channels, self.epsilon = channels, epsilon

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, C, H, W] -> [B, C, H, W]."""
        x = F.layer_norm(
            x.permute(0, 2, 3, 1), (self.channels,), self.scale, self.bias, self.epsilon
        )
        return x.permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]


class ConvStep(nn.Module):
    """One step of T2T's conv blocks: optional ReLU, conv (separable or not), layer norm.

    Args:
        in_channels, out_channels, kernel, stride: sizes.
        relu: ReLU first.
        separable: a separable convolution.
    """

    def __init__(self, in_channels, out_channels, kernel, stride=1, relu=True, separable=False):
        super().__init__()
        conv = SeparableConv2d if separable else Conv2d
        self.conv = conv(
            in_channels, out_channels, kernel, padding="SAME", bias=False, stride=stride
        )
        self.norm = ChannelNorm(out_channels)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, Cout, H/s, W/s]."""
        return self.norm(self.conv(F.relu(x) if self.relu else x))


class ResidualBlock(nn.Module):
    """Three ReLU-separable conv-norm steps added to the input, layer-normed, dropped out."""

    def __init__(self, hidden: int, kernel: int, dropout: float) -> None:
        super().__init__()
        self.steps = nn.Sequential(
            *(ConvStep(hidden, hidden, kernel, separable=True) for _ in range(3))
        )
        self.norm = ChannelNorm(hidden)
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, D, H, W] -> [B, D, H, W]."""
        return F.dropout(self.norm(x + self.steps(x)), self.dropout, self.training)


class EntryResBlock(nn.Module):
    """Two separable steps, a 3x3 stride-2 max pool, plus a strided 1x1 conv step."""

    def __init__(self, in_channels: int, filters: int, res_relu: bool) -> None:
        super().__init__()
        self.sep1 = ConvStep(in_channels, filters, 3, separable=True)
        self.sep2 = ConvStep(filters, filters, 3, separable=True)
        self.res = ConvStep(in_channels, filters, 1, stride=2, relu=res_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, filters, H/2, W/2]."""
        return max_pool_same(self.sep2(self.sep1(x)), 3, 2) + self.res(x)


class EntryFlow(nn.Module):
    """Xception's entry flow for large images: [B, C, H, W] -> [B, D, H/16, W/16]."""

    def __init__(self, channels: int, hidden: int) -> None:
        super().__init__()
        self.conv0 = ConvStep(channels, 32, 3, stride=2, relu=False)
        self.conv1 = ConvStep(32, 64, 3)
        self.block0 = EntryResBlock(64, min(128, hidden), True)
        self.block1 = EntryResBlock(min(128, hidden), min(256, hidden), False)
        self.block2 = EntryResBlock(min(256, hidden), hidden, False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc."""
        x = self.conv1(self.conv0(x))
        return self.block2(self.block1(self.block0(x)))


class ExitFlow(nn.Module):
    """T2T's conv_block_downsample and a ReLU: [B, D, H, W] -> [B, 2.5 D, H/2, W/2]."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        wide = int(1.25 * hidden)
        self.res = ConvStep(hidden, wide, 3, stride=2)
        self.conv0 = ConvStep(hidden, hidden, 3, separable=True)
        self.conv1 = ConvStep(hidden, wide, 3, separable=True)
        self.conv2 = ConvStep(wide, 2 * hidden, 3, relu=False, separable=True)
        self.conv3 = ConvStep(2 * hidden, int(2.5 * hidden), 3, separable=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc."""
        x = max_pool_same(self.conv1(self.conv0(x)), 3, 2) + self.res(x)
        return F.relu(self.conv3(self.conv2(x)))


def squarify(x: torch.Tensor) -> torch.Tensor:
    """T2T's exit flow wants square maps: [B, D, H, W] with H != W -> [B, D, S, S], S² = H·W.

    Raises:
        ValueError: H·W is not a square.
    """
    height, width = x.shape[2], x.shape[3]
    if height == width:
        return x
    side = math.isqrt(height * width)
    if side * side != height * width:
        raise ValueError(
            f"Assumed inputs were square-able but they were not. Shape: {tuple(x.shape)}"
        )
    nhwc = to_channels_last(x).reshape(x.shape[0], side, side, x.shape[1])  # T2T reshapes NHWC
    return nhwc.permute(0, 3, 1, 2)  # [B, D, S, S]


@registry.register_model
class Xception(T2TModel):
    """Xception body for image classification (see the module doc)."""

    def __init__(self, hparams, problem_hparams=None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        if hp.kernel_height != hp.kernel_width:
            raise ValueError("xception needs kernel_height == kernel_width")
        self.channels = input_channels(problem_hparams)
        hidden = hp.hidden_size
        # TF built only the branch the first batch took; the problem tells us which
        self.large_images = image_size(problem_hparams) > LARGE_IMAGE
        if self.large_images:
            self.entry = EntryFlow(self.channels, hidden)
        else:
            self.small_image_conv = ConvStep(self.channels, hidden, 3, relu=False)
        self.layers = nn.Sequential(
            *(
                ResidualBlock(hidden, hp.kernel_height, hp.dropout)
                for _ in range(hp.num_hidden_layers)
            )
        )
        self.exit = ExitFlow(hidden)
        self.initialize_parameters()

    def body_output_depth(self) -> int:
        """int(2.5 hidden_size)."""
        return int(2.5 * self.hparams.hidden_size)

    def body(self, features: Features) -> torch.Tensor:
        """inputs [B, H, W, C] -> [B, H', W', 2.5 hidden_size]."""
        x = to_channels_first(features["inputs"], self.channels)
        if (x.shape[2] > LARGE_IMAGE) != self.large_images:
            raise HParamsError(
                f"xception was built for images {'taller' if self.large_images else 'no taller'}"
                f" than {LARGE_IMAGE} pixels (problem hparams image_size) but got height "
                f"{x.shape[2]}; set the problem's image_size to the real height"
            )
        x = self.entry(x) if self.large_images else self.small_image_conv(x)
        x = self.layers(x)
        return to_channels_last(self.exit(squarify(x)))

    def predict(self, features: Features) -> dict[str, torch.Tensor]:
        """{"inputs": [B, H, W, C]} -> {"outputs": [B, 1] classes, "scores": [B] log-probs}."""
        return predict_class(self, features)
