"""Shake-Shake (T2T's `shake_shake`, "Shake-Shake-Batch" of Gastaldi 2017) for CIFAR / MNIST.

A 3x3 convolution (16 channels) and batch norm, then three layers of
n = (num_hidden_layers - 2) / 6 blocks with 16k, 32k and 64k channels (k = hidden_size / 16;
strides 1, 2, 2), then a ReLU; the class-label top averages and maps to the classes.
Each block adds `shake_shake_num_branches` branches (ReLU, conv, BN, ReLU, conv, BN) to a
shortcut. In training every branch is scaled per example by a random weight (uniforms
normalised to sum 1) in the forward pass and by an independent one in the backward pass
(`shake`); in evaluation every branch is scaled by 1 / branches. Where the channels change
the shortcut is two 1x1 convolutions on the image and on the image shifted by one pixel,
strided, concatenated and batch-normed. With `shake_shake_concat` the shortcut and the
branches are concatenated, ReLU'd and mapped back with a 1x1 convolution and batch norm.

As in T2T: convolutions have biases and the model's initializer; batch norms are TF's
defaults (decay 0.99, epsilon 1e-3); TF's "SAME" padding.
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.layers.batch_norm import BatchNorm
from t2t.layers.convolutions import Conv2d
from t2t.models.image_classifier import (
    input_channels,
    predict_class,
    to_channels_first,
    to_channels_last,
)
from t2t.models.t2t_model import Features, T2TModel


class _Shake(torch.autograd.Function):
    """x * forward_weight in the forward pass; the gradient is scaled by backward_weight."""

    @staticmethod
    def forward(ctx, x, forward_weight, backward_weight):
        """x [B, C, H, W], weights [B, 1, 1, 1] -> x * forward_weight."""
        ctx.save_for_backward(backward_weight)
        return x * forward_weight

    @staticmethod
    def backward(ctx, grad):
        """grad * backward_weight for x; the random weights get no gradient."""
        (backward_weight,) = ctx.saved_tensors
        return grad * backward_weight, None, None


def shake(x: torch.Tensor, forward_weight: torch.Tensor, backward_weight: torch.Tensor):
    """Scales x by forward_weight, its gradient by backward_weight (T2T's stop-gradient trick)."""
    return _Shake.apply(x, forward_weight, backward_weight)


def branch_weights(batch: int, branches: int, device: torch.device) -> torch.Tensor:
    """Per example, `branches` uniform draws normalised to sum 1: [branches, B, 1, 1, 1]."""
    draws = torch.rand(branches, batch, 1, 1, 1, device=device)
    return draws / draws.sum(dim=0, keepdim=True)


class Branch(nn.Module):
    """ReLU, 3x3 conv (stride), BN, ReLU, 3x3 conv, BN: [B, Cin, H, W] -> [B, C, H/s, W/s]."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = Conv2d(in_channels, channels, 3, stride=stride)
        self.bn1 = BatchNorm(channels)
        self.conv2 = Conv2d(channels, channels, 3)
        self.bn2 = BatchNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """See the class doc."""
        x = self.bn1(self.conv1(F.relu(x)))
        return self.bn2(self.conv2(F.relu(x)))


class Shortcut(nn.Module):
    """Two strided 1x1 convolutions (image, image shifted by one pixel), concat, BN."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.path1 = Conv2d(in_channels, channels // 2, 1)
        self.path2 = Conv2d(in_channels, channels // 2, 1)
        self.bn = BatchNorm(channels // 2 * 2)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, C, H/s, W/s]."""
        s = self.stride
        shifted = F.pad(x, [0, 1, 0, 1])[:, :, 1:, 1:]  # x[i+1, j+1], zeros past the edge
        paths = [self.path1(x[:, :, ::s, ::s]), self.path2(shifted[:, :, ::s, ::s])]
        return self.bn(torch.cat(paths, dim=1))


class ShakeShakeBlock(nn.Module):
    """A shortcut plus shaken branches (or their 1x1-convolved concatenation).

    Args:
        in_channels, channels, stride: sizes.
        branches: shake_shake_num_branches.
        concat: shake_shake_concat.
        dropout: layer_prepostprocess_dropout on every branch.
    """

    def __init__(self, in_channels, channels, stride, branches, concat, dropout) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            Branch(in_channels, channels, stride) for _ in range(branches)
        )
        self.shortcut = Shortcut(in_channels, channels, stride) if in_channels != channels else None
        self.dropout = dropout
        if concat:
            self.concat_conv = Conv2d(channels * (branches + 1), channels, 1)
            self.concat_bn = BatchNorm(channels)
        self.concat = bool(concat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, Cin, H, W] -> [B, C, H/s, W/s]."""
        n = len(self.branches)
        if self.training:
            forward_w = branch_weights(x.shape[0], n, x.device).to(x.dtype)
            backward_w = branch_weights(x.shape[0], n, x.device).to(x.dtype)
        outputs = []
        for i, branch in enumerate(self.branches):
            b = branch(x)
            b = shake(b, forward_w[i], backward_w[i]) if self.training else b * (1.0 / n)
            outputs.append(F.dropout(b, self.dropout, self.training))
        residual = x if self.shortcut is None else self.shortcut(x)
        if self.concat:
            joined = F.relu(torch.cat([residual, *outputs], dim=1))
            return self.concat_bn(self.concat_conv(joined))
        return residual + sum(outputs)


@registry.register_model
class ShakeShake(T2TModel):
    """Shake-Shake for small images (see the module doc)."""

    def __init__(self, hparams, problem_hparams=None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        if (hp.num_hidden_layers - 2) % 6 != 0 or hp.hidden_size % 16 != 0:
            raise HParamsError(
                "shake_shake needs (num_hidden_layers - 2) divisible by 6 and hidden_size "
                f"divisible by 16; got {hp.num_hidden_layers} and {hp.hidden_size}"
            )
        k, n = hp.hidden_size // 16, (hp.num_hidden_layers - 2) // 6
        self.channels = input_channels(problem_hparams)
        self.init_conv = Conv2d(self.channels, 16, 3)
        self.init_bn = BatchNorm(16)
        blocks, in_channels = [], 16
        for channels, stride in ((16 * k, 1), (32 * k, 2), (64 * k, 2)):
            for i in range(n):
                blocks.append(
                    ShakeShakeBlock(
                        in_channels,
                        channels,
                        stride if i == 0 else 1,
                        hp.shake_shake_num_branches,
                        hp.shake_shake_concat,
                        hp.layer_prepostprocess_dropout,
                    )
                )
                in_channels = channels
        self.blocks = nn.Sequential(*blocks)
        self.initialize_parameters()

    def body_output_depth(self) -> int:
        """64k = 4 hidden_size channels."""
        return 4 * self.hparams.hidden_size

    def body(self, features: Features) -> torch.Tensor:
        """inputs [B, H, W, C] -> [B, H/4, W/4, 4 hidden_size]."""
        x = to_channels_first(features["inputs"], self.channels)
        x = self.init_bn(self.init_conv(x))
        return to_channels_last(F.relu(self.blocks(x)))

    def predict(self, features: Features) -> dict[str, torch.Tensor]:
        """{"inputs": [B, H, W, C]} -> {"outputs": [B, 1] classes, "scores": [B] log-probs}."""
        return predict_class(self, features)
