"""What T2T's image classifiers share: the image layout at the body's edges and prediction.

The image modality hands the body pixels as [B, H, W, C] (T2T's NHWC); torch's
convolutions index [B, C, H, W]. `to_channels_first` turns one into the other; T2T's
`use_nchw` (resnet) chose TF's data layout for speed, and here chooses the memory format:
True keeps contiguous NCHW, False uses torch's channels_last memory format (NHWC in
memory; often faster on GPUs with mixed precision). The numbers are the same either way.
"""

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.hparams import HParams


def input_channels(problem_hparams: HParams | None) -> int:
    """The image channels C of the inputs: the problem's `num_channels` (default 3).

    Convolutions need C when they are built (TF read it from the first batch).
    """
    return int(getattr(problem_hparams, "num_channels", None) or 3)


def image_size(problem_hparams: HParams | None) -> int:
    """The image height of the problem (`image_size` in its hparams; 32 when unset).

    Only a model whose structure depends on it reads it (xception's entry flow).
    """
    return int(getattr(problem_hparams, "image_size", None) or 32)


def to_channels_first(
    images: torch.Tensor, channels: int, channels_last_memory: bool = False
) -> torch.Tensor:
    """Images [B, H, W, C] -> [B, C, H, W] (float).

    Raises:
        HParamsError: the images do not have `channels` channels.
    """
    if images.dim() != 4 or images.shape[-1] != channels:
        raise HParamsError(
            f"expected images [batch, height, width, {channels}] (the problem's num_channels); "
            f"got shape {tuple(images.shape)}"
        )
    # A fresh copy with standard strides: for C == 1 `contiguous()` would keep the permuted
    # strides (a size-1 dim counts as contiguous), which CPU convolution backward mishandles
    # (heap corruption seen with torch 2.13 on one thread).
    layout = torch.channels_last if channels_last_memory else torch.contiguous_format
    return images.permute(0, 3, 1, 2).to(torch.float32, memory_format=layout, copy=True)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, H, W, C], T2T's layout of a body output."""
    return x.permute(0, 2, 3, 1)


def predict_class(model: nn.Module, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The most likely class of each image and its log-probability (T2T's resnet `infer`).

    Args:
        model: an image classifier (bottom -> body -> top gives logits [B, 1, V]).
        features: {"inputs": images [B, H, W, C]}.

    Returns:
        {"outputs": [B, 1] class ids, "scores": [B] log-probabilities}.
    """
    body = model.body(model.bottom({"inputs": features["inputs"]}))
    logits = body[0] if isinstance(body, tuple) else model.top(body, features)
    log_probs = torch.log_softmax(logits.reshape(logits.shape[0], -1).float(), dim=-1)  # [B, V]
    scores, outputs = log_probs.max(dim=-1)
    return {"outputs": outputs[:, None], "scores": scores}
