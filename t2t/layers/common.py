"""Shared building blocks: initializers, norms, dropout, layer pre/post-processing, FFN.

Everything here takes plain arguments (never an hparams object), so the blocks can be
reused outside T2T's models. The numerics follow T2T's `common_layers.py`.
"""

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from t2t.errors import HParamsError

# ---- initializers -------------------------------------------------------------------


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


def init_tf_variable_(tensor: torch.Tensor, initializer: str, gain: float) -> None:
    """Initializes a TF-layout variable [fan_in, ..., fan_out] as T2T's scope initializer.

    Args:
        tensor: a parameter whose FIRST dim is the input side and LAST dim the output side
            (TF layout: a dense kernel is [in, out], an embedding table [rows, depth]).
        initializer: T2T's `initializer` hparam: "uniform_unit_scaling", "normal_unit_scaling",
            "uniform", "orthogonal", "xavier".
        gain: `initializer_gain`.

    Raises:
        HParamsError: an unknown initializer name.
    """
    fan_in = math.prod(tensor.shape[:-1]) if tensor.dim() > 1 else tensor.shape[0]
    fan_out = tensor.shape[-1]
    with torch.no_grad():
        if initializer == "uniform_unit_scaling":
            variance_scaling_(tensor, gain, fan_in, fan_out, "uniform")
        elif initializer == "normal_unit_scaling":
            variance_scaling_(tensor, gain, fan_in, fan_out, "normal")
        elif initializer == "uniform":
            tensor.uniform_(-0.1 * gain, 0.1 * gain)
        elif initializer == "orthogonal":
            nn.init.orthogonal_(tensor, gain=gain)
        elif initializer == "xavier":
            variance_scaling_(tensor, 1.0, fan_in, fan_out, "uniform")
        else:
            raise HParamsError(f"Unrecognized initializer: {initializer}")


def initialize_module(module: nn.Module, initializer: str, gain: float) -> None:
    """Applies T2T's initialization to every parameter of `module` that has no own init.

    As in T2T: dense kernels and other weights get the scope initializer (`initializer`,
    `initializer_gain`); biases start at zero; norm scales at one. A parameter tagged with
    `_t2t_own_init = True` (symbol embeddings: N(0, depth^-0.5)) is left as its layer set it.
    torch's `nn.Linear.weight` is [out, in], so it is initialized through its transpose.
    """
    if not initializer:
        return
    for sub in module.modules():
        for name, param in sub.named_parameters(recurse=False):
            if getattr(param, "_t2t_own_init", False):
                continue
            if isinstance(sub, nn.Linear) and name == "weight":
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


# ---- dropout, norms -----------------------------------------------------------------


def parse_broadcast_dims(spec: str) -> list[int]:
    """T2T's comma-separated broadcast dims string ("0,1" -> [0, 1]; "" -> [])."""
    return [int(d) for d in spec.split(",") if d.strip()] if spec else []


def dropout_with_broadcast_dims(
    x: torch.Tensor, rate: float, broadcast_dims: Sequence[int] = (), training: bool = True
) -> torch.Tensor:
    """Inverted dropout whose mask is shared along `broadcast_dims` (T2T's helper).

    Args:
        x: any tensor.
        rate: drop probability.
        broadcast_dims: dims (negative allowed) where one mask value serves the whole dim.
        training: no dropout when False.
    """
    if not training or rate <= 0.0:
        return x
    if not broadcast_dims:
        if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and rate < 1.0:
            return _cpu_dropout(x, rate)
        return F.dropout(x, rate, training=True)
    shape = list(x.shape)
    for dim in broadcast_dims:
        shape[dim] = 1
    keep = 1.0 - rate
    mask = torch.empty(shape, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


def _cpu_dropout(x: torch.Tensor, rate: float) -> torch.Tensor:
    """Inverted dropout for float32/64 CPU tensors, faster than `F.dropout` there.

    The same distribution as `F.dropout` (keep with probability 1 - rate, scale by
    1 / (1 - rate)), but the mask comes from `rand_like` (compared in place) rather than
    `bernoulli_`, whose CPU kernel draws its numbers ~1.5x slower: dropout masks are 10-15 %
    of a Transformer training step on CPU. The RNG stream therefore differs from F.dropout's.
    """
    mask = torch.rand_like(x).ge_(rate).div_(1.0 - rate)  # 0 or 1 / keep
    return x * mask


class LayerNorm(nn.Module):
    """T2T's normalisations over the last dim: "layer", "noam", "l2", "none".

    "layer": (x - mean) / sqrt(var + eps) * scale + bias (biased variance, as torch's).
    "noam": x / ||x|| * sqrt(depth) (no variables). "l2": (x - mean) / sqrt(Σ(x - mean)² + eps)
    * scale + bias. "none": identity.
    """

    def __init__(self, depth: int, norm_type: str = "layer", eps: float = 1e-6) -> None:
        super().__init__()
        if norm_type not in ("layer", "noam", "l2", "none"):
            raise HParamsError(
                f"norm_type must be one of: layer, noam, l2, none; got {norm_type!r} "
                "(batch and group norm are not supported)"
            )
        self.norm_type = norm_type
        self.eps = eps
        self.depth = depth
        if norm_type in ("layer", "l2"):
            self.scale = nn.Parameter(torch.ones(depth))
            self.bias = nn.Parameter(torch.zeros(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [..., depth] -> [..., depth]."""
        if self.norm_type == "layer":
            return F.layer_norm(x, (self.depth,), self.scale, self.bias, self.eps)
        if self.norm_type == "noam":
            return F.normalize(x, dim=-1, eps=1e-12) * math.sqrt(self.depth)
        if self.norm_type == "l2":
            centered = x - x.mean(dim=-1, keepdim=True)
            sq = centered.square().sum(dim=-1, keepdim=True)
            return centered * torch.rsqrt(sq + self.eps) * self.scale + self.bias
        return x


class PrePostProcess(nn.Module):
    """T2T's `layer_prepostprocess`: apply a sequence like "n", "da", "dan" or "none".

    "a": add the residual (`previous`); "n": normalise; "d": dropout. A sequence of "none"
    or "" is the identity. Args: `depth`, `sequence`, `dropout` (rate), `norm_type`,
    `norm_epsilon`, `broadcast_dims` (dropout mask shared along these dims).
    """

    def __init__(
        self,
        depth: int,
        sequence: str,
        dropout: float,
        norm_type: str = "layer",
        norm_epsilon: float = 1e-6,
        broadcast_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.sequence = "" if sequence == "none" else sequence
        for step in self.sequence:
            if step not in "adn":
                raise HParamsError(f"unknown layer pre/post-process step {step!r} in {sequence!r}")
        self.dropout = dropout
        self.broadcast_dims = list(broadcast_dims)
        self.norm = LayerNorm(depth, norm_type, norm_epsilon) if "n" in self.sequence else None

    def forward(self, previous: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor:
        """previous: residual input [B, T, D] or None (pre-processing); x: [B, T, D]."""
        for step in self.sequence:
            if step == "a":
                x = x + previous
            elif step == "n":
                x = self.norm(x)
            else:
                x = dropout_with_broadcast_dims(x, self.dropout, self.broadcast_dims, self.training)
        return x


class DenseReluDense(nn.Module):
    """T2T's "dense_relu_dense" FFN: dense(filter, ReLU) -> dropout -> dense(depth).

    The two layers carry biases (T2T's `conv1`, `conv2`).
    """

    def __init__(
        self,
        depth: int,
        filter_size: int,
        relu_dropout: float = 0.0,
        broadcast_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.conv1 = nn.Linear(depth, filter_size)
        self.conv2 = nn.Linear(filter_size, depth)
        self.relu_dropout = relu_dropout
        self.broadcast_dims = list(broadcast_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, depth] -> [B, T, depth]."""
        h = F.relu(self.conv1(x))  # [B, T, F]
        h = dropout_with_broadcast_dims(h, self.relu_dropout, self.broadcast_dims, self.training)
        return self.conv2(h)


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Shifts [B, T, ...] one step right along T: position 0 becomes zeros, the last drops."""
    return F.pad(x, [0, 0] * (x.dim() - 2) + [1, 0])[:, :-1]


def embedding_to_padding(emb: torch.Tensor) -> torch.Tensor:
    """1.0 where an embedding vector is all zeros (T2T's padding test). [B, T, D] -> [B, T]."""
    return (emb.abs().sum(dim=-1) == 0).to(emb.dtype)
