"""Quantized decoding: int8 weights with dynamically scaled int8 activations on CPUs.

`quantize(model, "int8")` swaps every `nn.Linear` of a loaded model (attention projections,
feed-forward layers) for PyTorch's dynamically quantized linear layer: the weight is stored
once as int8 with a per-output-channel scale, each call scales its input rows to int8 on the
fly, and the product accumulates in int32 before it returns float32 (fbgemm / oneDNN
kernels, not a home-made GEMM). The embeddings and the output layer stay float32: with T2T's
shared embedding and softmax weights they are one table that is not an `nn.Linear`, and it
is the layer whose rounding moves the argmax most.

Choices (`QUANTIZE_CHOICES`): "none" (float32, the default) and "int8". Quantization is for
CPU decoding; a model on a GPU is refused with a clear error.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from t2t.errors import T2TError

QUANTIZE_CHOICES = ("none", "int8")


def check_choice(choice: str | None) -> str:
    """The normalised choice ("none" for None/""), or a T2TError naming the valid ones."""
    choice = (choice or "none").lower()
    if choice not in QUANTIZE_CHOICES:
        raise T2TError(
            f"unknown quantization {choice!r}: choose one of {', '.join(QUANTIZE_CHOICES)}"
        )
    return choice


def _dynamic_quantizer():
    """torch's dynamic quantization entry point, or a T2TError when this torch lacks it."""
    try:
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic
    except ImportError:  # pragma: no cover - depends on the installed torch
        raise T2TError(
            f"int8 decoding needs torch.ao.quantization.quantize_dynamic, which torch "
            f"{torch.__version__} does not have: decode in float32 (--quantize=none)"
        ) from None
    return quantize_dynamic, per_channel_dynamic_qconfig


def _engine() -> str:
    """The quantized-kernel backend for this CPU ('x86' when present, else fbgemm/qnnpack)."""
    supported = torch.backends.quantized.supported_engines
    for engine in ("x86", "fbgemm", "onednn", "qnnpack"):
        if engine in supported:
            return engine
    raise T2TError("this torch build has no quantized CPU kernels: decode with --quantize=none")


def quantize(model: nn.Module, choice: str | None) -> nn.Module:
    """Returns `model` ready to decode with `choice` ("none": unchanged; "int8": see module).

    The model is switched to eval mode; its nn.Linear layers are replaced in place.

    Raises:
        T2TError: an unknown choice, a model on a GPU, or a torch without the kernels.
    """
    choice = check_choice(choice)
    if choice == "none":
        return model
    devices = {p.device.type for p in model.parameters()}
    if devices - {"cpu"}:
        raise T2TError(
            f"--quantize={choice} is for CPU decoding, but the model is on "
            f"{', '.join(sorted(devices - {'cpu'}))}: add --device=cpu"
        )
    quantize_dynamic, per_channel = _dynamic_quantizer()
    torch.backends.quantized.engine = _engine()
    model.eval()
    with warnings.catch_warnings():
        # torch marks its eager quantization API as deprecated in favour of torchao; the
        # kernels it calls are the maintained fbgemm/oneDNN ones.
        warnings.simplefilter("ignore")
        quantize_dynamic(model, {nn.Linear: per_channel}, dtype=torch.qint8, inplace=True)
    return model


def count_quantized(model: nn.Module) -> int:
    """How many layers of `model` run int8 products (dynamically quantized linears)."""
    try:
        from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    except ImportError:  # pragma: no cover - depends on the installed torch
        return 0
    return sum(1 for m in model.modules() if isinstance(m, DynamicLinear))
