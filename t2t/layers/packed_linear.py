"""Linear layers with MKL-packed weights for the duration of a CPU decoding loop.

A decoding step multiplies the same weights by an activation matrix of the same height
(batch x beams rows), once per step. MKL can reorder a weight once into the panel layout its
GEMM kernel reads ("packed" GEMM); each product then runs about 10-20 % faster on x86 CPUs
(transformer_base beam search, 128 rows: 4.5 instead of 5.2-5.5 CPU-seconds per batch,
benchmarks/README.md). PyTorch exposes this through the ops its compiler uses for frozen
CPU models (``torch.ops.mkl._mkl_reorder_linear_weight`` / ``_mkl_linear``).

`packed_linears` swaps packed products into the given modules for a ``with`` block and
restores them after. Everything else falls back to `torch.nn.functional.linear`: a torch
without these ops (non-x86 builds), non-float32 or non-CPU weights, inputs of another height
(the packing is for one height), and a weight changed since it was packed (its version
counter moved), so the swap can never compute with stale weights. Packed weights are kept
on the module (one extra copy of each weight) and reused while the weight and height stay
the same, e.g. across the batches of a file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

# Packing pays off when the rows are many; an interactive sentence is decoded plainly.
MIN_ROWS = 16
_PACK_ATTRIBUTE = "_t2t_mkl_pack"


def packing_available() -> bool:
    """Whether this torch has MKL's packed GEMM ops (x86 builds with MKL)."""
    mkl = getattr(torch.ops, "mkl", None)
    try:
        return mkl is not None and hasattr(mkl, "_mkl_linear") and torch.backends.mkl.is_available()
    except (AttributeError, RuntimeError):
        return False


def _weight_and_bias(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None] | None:
    """The (weight [out, in], bias) a module multiplies by, if it is a plain linear map."""
    if type(module) is nn.Linear:
        params = module._parameters  # what module.weight reads, without __getattr__'s cost
        if "weight" in params and "bias" in params:
            return params["weight"], params["bias"]
        return module.weight, module.bias  # e.g. set as plain attributes by a hook
    weight = getattr(module, "linear_weight", None)  # e.g. SymbolTop's shared table
    return (weight, None) if isinstance(weight, torch.Tensor) else None


def _stamp(weight: torch.Tensor, rows: int) -> tuple:
    return (rows, weight.data_ptr(), weight._version, tuple(weight.shape))


def _packed_weight(module: nn.Module, weight: torch.Tensor, rows: int) -> torch.Tensor:
    """The module's weight packed for `rows`-row inputs (cached on the module)."""
    cached = getattr(module, _PACK_ATTRIBUTE, None)
    stamp = _stamp(weight, rows)
    if cached is None or cached[0] != stamp:
        packed = torch.ops.mkl._mkl_reorder_linear_weight(weight.detach(), rows)
        cached = (stamp, packed)
        setattr(module, _PACK_ATTRIBUTE, cached)
    return cached[1]


def _packed_forward(module: nn.Module, weight, bias, rows: int, packed: torch.Tensor):
    """A forward for `module` that multiplies by `packed` while nothing has changed.

    It runs every step of a decode, so its checks are the cheap ones that catch a change:
    the same weight and bias objects, the weight's version counter (in-place updates) and
    storage address (``.data`` replaced), the packed height and float32 input.
    """
    version, address = weight._version, weight.data_ptr()

    def forward(x: torch.Tensor) -> torch.Tensor:
        current = _weight_and_bias(module)
        flat = x.reshape(-1, x.shape[-1])  # [M, in]
        if (
            flat.shape[0] != rows
            or x.dtype != torch.float32
            or current is None
            or current[0] is not weight
            or current[1] is not bias
            or weight._version != version
            or weight.data_ptr() != address
        ):
            return F.linear(x, *current) if current else module.__class__.forward(module, x)
        out = torch.ops.mkl._mkl_linear(flat, packed, weight, bias, rows)  # [M, out]
        return out.view(*x.shape[:-1], out.shape[-1])  # [..., out]

    return forward


@contextlib.contextmanager
def packed_linears(modules: Iterable[nn.Module], rows: int) -> Iterator[int]:
    """Within the block, linear maps among `modules` (and their children) use packed GEMM.

    Args:
        modules: roots to search for `nn.Linear` layers and modules with a `linear_weight`.
        rows: the height of the activations the loop multiplies (batch x beams).

    Yields:
        How many modules were switched (0 where packing is unavailable or not worth it).
    """
    switched = []
    if rows >= MIN_ROWS and packing_available():
        for root in modules:
            for module in root.modules():
                pair = _weight_and_bias(module)
                if pair is None or "forward" in vars(module):
                    continue  # not a linear map, or already switched (an enclosing block)
                weight, bias = pair
                if weight.dtype != torch.float32 or weight.device.type != "cpu":
                    continue
                try:
                    packed = _packed_weight(module, weight, rows)
                except RuntimeError:
                    break  # this torch cannot pack: decode plainly
                module.forward = _packed_forward(module, weight, bias, rows, packed)
                switched.append(module)
    try:
        yield len(switched)
    finally:
        for module in switched:
            vars(module).pop("forward", None)
