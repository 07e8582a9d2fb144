"""Area attention (Li et al. 2019; T2T's `layers/area_attention.py`), for 1-D memories.

A query attends to *areas*, runs of 1..max_area_width consecutive memory positions,
instead of single positions. Areas are ordered as T2T orders them: all areas of width 1
(starting at 0, 1, ..., L-1), then all of width 2 (starting at 0, ..., L-2), and so on.
An area's key is the mean ("mean"), the element-wise max ("max"), or in training the mean
plus std-scaled noise ("sample") of its positions' keys; its value is the sum ("sum") or
mean ("mean") of its positions' values. An area that contains padding is masked out.
"""

import torch

from t2t.errors import HParamsError

KEY_MODES = ("mean", "max", "sample")
VALUE_MODES = ("sum", "mean")


def area_spans(length: int, max_area_width: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(starts [A], widths [A]) of the areas of a memory of `length`, in T2T's order."""
    starts, widths = [], []
    for width in range(1, max_area_width + 1):
        count = max(length - width + 1, 0)
        starts.append(torch.arange(count, device=device))
        widths.append(torch.full((count,), width, device=device))
    return torch.cat(starts), torch.cat(widths)


def area_sum_mean_std(
    x: torch.Tensor, max_area_width: int, epsilon: float = 1e-6
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-area sum, mean and std (sqrt(|E[x²] - E[x]²| + epsilon)) of x [B, L, D]:
    each [B, A, D], computed from prefix sums as T2T does."""
    starts, widths = area_spans(x.shape[1], max_area_width, x.device)
    ends = starts + widths
    prefix = torch.nn.functional.pad(x.cumsum(1), (0, 0, 1, 0))  # [B, L+1, D]
    prefix_sq = torch.nn.functional.pad(x.square().cumsum(1), (0, 0, 1, 0))
    total = prefix[:, ends] - prefix[:, starts]  # [B, A, D]
    size = widths.to(x.dtype)[None, :, None]  # [1, A, 1]
    mean = total / size
    variance = (prefix_sq[:, ends] - prefix_sq[:, starts]) / size - mean.square()
    return total, mean, torch.sqrt(variance.abs() + epsilon)


def area_max(x: torch.Tensor, max_area_width: int) -> torch.Tensor:
    """Per-area element-wise max of x [B, L, D] -> [B, A, D]."""
    out, running = [], x
    for width in range(1, max_area_width + 1):
        if width > 1:
            running = torch.maximum(running[:, :-1], x[:, width - 1 :])  # [B, L-w+1, D]
        out.append(running)
    return torch.cat(out, dim=1)


def area_keys(keys: torch.Tensor, max_area_width: int, mode: str, training: bool) -> torch.Tensor:
    """Area keys [B, A, D] of keys [B, L, D] (T2T's compute_area_key, modes without
    parameters).

    Raises:
        HParamsError: an area_key_mode this port does not implement.
    """
    if mode == "max":
        return area_max(keys, max_area_width)
    if mode not in KEY_MODES:
        raise HParamsError(f"area_key_mode {mode!r} is not supported; use one of {KEY_MODES}")
    _, mean, std = area_sum_mean_std(keys, max_area_width)
    if mode == "sample" and training:
        mean = mean + std * torch.randn_like(std)
    return mean


def area_values(values: torch.Tensor, max_area_width: int, mode: str) -> torch.Tensor:
    """Area values [B, A, D] of values [B, L, D]: their sum or mean.

    Raises:
        HParamsError: an area_value_mode other than sum / mean.
    """
    if mode not in VALUE_MODES:
        raise HParamsError(f"Unsupported area_value_mode: {mode}")
    total, mean, _ = area_sum_mean_std(values, max_area_width)
    return total if mode == "sum" else mean


def area_padding(padding: torch.Tensor, max_area_width: int) -> torch.Tensor:
    """Which areas contain padding: padding [B, L] (1.0 at pads) -> [B, A] bool."""
    total, _, _ = area_sum_mean_std(padding[..., None].float(), max_area_width)
    return total[..., 0] > 0.5
