"""T2T's initializers: TF's variance scaling, the `initializer` hparam, per-module init.

A parameter a layer initializes itself is tagged with `own_init` and left alone.
"""

import math
from collections.abc import Callable

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.norms import LayerNorm


def variance_scaling_(
    tensor: torch.Tensor, gain: float, fan_in: int, fan_out: int, distribution: str = "uniform"
) -> torch.Tensor:
    """TF's `variance_scaling_initializer(gain, mode="fan_avg")` in place.

    Uniform: U(-limit, limit) with limit = sqrt(3 * gain / fan_avg). Normal: TF1's truncated
    normal with stddev sqrt(gain / fan_avg) / 0.8796... (the truncation correction).
    """
    fan_avg = max(1.0, (fan_in + fan_out) / 2.0)
    with torch.no_grad():
        if distribution == "uniform":
            limit = math.sqrt(3.0 * gain / fan_avg)
            return tensor.uniform_(-limit, limit)
        std = math.sqrt(gain / fan_avg) / 0.87962566103423978
        return nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)


def tf_fans(shape: tuple[int, ...] | torch.Size) -> tuple[int, int]:
    """TF's (fan_in, fan_out) of a variable: [in, out]; a conv kernel [k.., in, out] counts
    its receptive field on both sides."""
    if len(shape) < 2:
        return (int(shape[0]), int(shape[0])) if shape else (1, 1)
    receptive = math.prod(shape[:-2])
    return int(shape[-2]) * receptive, int(shape[-1]) * receptive


def tf_variance_scaling_(tensor: torch.Tensor, scale: float, mode: str) -> torch.Tensor:
    """TF1's `variance_scaling_initializer(scale, mode)` (truncated normal) on a TF-layout tensor.

    mode: "fan_in", "fan_out" or "fan_avg".
    """
    fan_in, fan_out = tf_fans(tensor.shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode)
    if fan is None:
        return variance_scaling_(tensor, scale, fan_in, fan_out, "normal")
    return variance_scaling_(tensor, scale, fan, fan, "normal")


def init_conv_kernel_(
    weight: torch.Tensor,
    fill: Callable[[torch.Tensor], object],
    parts: int = 1,
    depthwise_multiplier: int = 0,
) -> None:
    """Initialises a torch conv weight through TF's kernel layout.

    The weight is split along its output channels into `parts` TF variables. `fill` gets a
    fresh tensor shaped as each TF kernel and fills it; the values are then moved into
    torch's layout. A TF conv kernel is [kh, kw, in, out] (torch: [out, in, kh, kw]); a
    depthwise one (`depthwise_multiplier` m > 0, torch weight [C*m, 1, kh, kw]) is
    [kh, kw, C, m].
    """
    with torch.no_grad():
        for part in weight.data.chunk(parts, dim=0):
            if depthwise_multiplier:
                channels = part.shape[0] // depthwise_multiplier
                kh, kw = part.shape[2:]
                tf_kernel = part.view(channels, depthwise_multiplier, kh, kw).permute(2, 3, 0, 1)
            else:
                tf_kernel = part.permute(2, 3, 1, 0)
            fresh = torch.empty(tf_kernel.shape)
            fill(fresh)
            tf_kernel.copy_(fresh)


def init_tf_variable_(tensor: torch.Tensor, initializer: str, gain: float) -> None:
    """Initializes a TF-layout variable [fan_in, ..., fan_out] as T2T's scope initializer.

    Args:
        tensor: a parameter whose FIRST dim is the input side and LAST dim the output side
            (TF layout: a dense kernel is [in, out], an embedding table [rows, depth], a
            conv kernel [kh, kw, in, out], with TF's fans: see `tf_fans`).
        initializer: T2T's `initializer` hparam: "uniform_unit_scaling", "normal_unit_scaling",
            "uniform", "orthogonal", "xavier".
        gain: `initializer_gain`.

    Raises:
        HParamsError: an unknown initializer name.
    """
    fan_in, fan_out = tf_fans(tensor.shape)
    with torch.no_grad():
        if initializer == "uniform_unit_scaling":
            variance_scaling_(tensor, gain, fan_in, fan_out, "uniform")
        elif initializer == "normal_unit_scaling":
            variance_scaling_(tensor, gain, fan_in, fan_out, "normal")
        elif initializer == "uniform":
            tensor.uniform_(-0.1 * gain, 0.1 * gain)
        elif initializer == "orthogonal":
            # TF makes the [prod(shape[:-1]), shape[-1]] matrix orthogonal
            matrix = tensor.view(-1, tensor.shape[-1]) if tensor.dim() > 2 else tensor
            nn.init.orthogonal_(matrix, gain=gain)
        elif initializer == "xavier":
            variance_scaling_(tensor, 1.0, fan_in, fan_out, "uniform")
        else:
            raise HParamsError(f"Unrecognized initializer: {initializer}")


def initialize_module(module: nn.Module, initializer: str, gain: float) -> None:
    """Applies T2T's initialization to every parameter of `module` that has no own init.

    As in T2T: dense kernels and other weights get the scope initializer (`initializer`,
    `initializer_gain`); biases start at zero; norm scales at one. A parameter tagged with
    `_t2t_own_init = True` (symbol embeddings: N(0, depth^-0.5)) is left as its layer set it;
    one tagged `_t2t_per_expert = True` ([E, d_in, d_out], E experts' kernels stacked) is
    initialised expert by expert, with the fans of T2T's per-expert [d_in, d_out] variable.
    torch's `nn.Linear.weight` is [out, in], so it is initialized through its transpose.
    """
    # "": T2T sets no scope initializer, so TF's default for variables applies: glorot
    # uniform, which is T2T's "xavier".
    initializer = initializer or "xavier"

    def fill(tensor: torch.Tensor) -> None:
        init_tf_variable_(tensor, initializer, gain)

    for sub in module.modules():
        for name, param in sub.named_parameters(recurse=False):
            if getattr(param, "_t2t_own_init", False):
                continue
            if getattr(param, "_t2t_per_expert", False):  # [E, ...]: E TF variables
                for expert in param.data:
                    init_tf_variable_(expert, initializer, gain)
                continue
            if hasattr(param, "_t2t_tf_groups"):  # t2t.layers.convolutions kernels
                depthwise = getattr(param, "_t2t_tf_depthwise", False)
                init_conv_kernel_(param, fill, param._t2t_tf_groups, 1 if depthwise else 0)
            elif isinstance(sub, nn.Conv2d) and name == "weight":
                if sub.groups > 1 and param.shape[1] == 1:  # depthwise: TF [kh, kw, C, m]
                    init_conv_kernel_(
                        param, fill, depthwise_multiplier=param.shape[0] // sub.groups
                    )
                else:  # each group its own TF kernel
                    init_conv_kernel_(param, fill, parts=sub.groups)
            elif isinstance(sub, nn.Linear) and name == "weight":
                init_tf_variable_(param.data.t(), initializer, gain)  # TF kernel [in, out]
            elif isinstance(sub, (nn.LSTM, nn.LSTMCell)) and name.startswith("weight"):
                init_tf_variable_(param.data.t(), initializer, gain)
            elif name.startswith("bias"):
                nn.init.zeros_(param)
            elif isinstance(sub, (nn.LayerNorm, LayerNorm)) or name == "scale":
                nn.init.ones_(param)
            elif param.dim() >= 2:
                init_tf_variable_(param.data, initializer, gain)


def own_init(param: nn.Parameter) -> nn.Parameter:
    """Marks a parameter as initialized by its layer (skipped by `initialize_module`)."""
    param._t2t_own_init = True
    return param
