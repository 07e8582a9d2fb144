"""T2T's sinusoid timing signal (`get_timing_signal_1d`, `add_timing_signal_1d`).

Unlike the paper, the channels are [sin of every frequency | cos of every frequency]
(two halves, not interleaved); checkpoints trained by T2T depend on that layout.
"""

import math

import torch


def get_timing_signal_1d(
    length: int,
    channels: int,
    min_timescale: float = 1.0,
    max_timescale: float = 1.0e4,
    start_index: int = 0,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The timing signal for positions start_index .. start_index + length - 1.

    Args:
        length: number of positions.
        channels: signal depth; if odd, a zero column is appended.
        min_timescale: smallest wavelength scale.
        max_timescale: largest wavelength scale.
        start_index: position of the first row.
        device: where to build the tensor.

    Returns:
        float32 tensor [1, length, channels].
    """
    position = torch.arange(length, dtype=torch.float32, device=device) + start_index
    return timing_signal_at(position, channels, min_timescale, max_timescale)[None]  # [1, L, C]


def timing_signal_at(
    position: torch.Tensor,
    channels: int,
    min_timescale: float = 1.0,
    max_timescale: float = 1.0e4,
) -> torch.Tensor:
    """The timing signal at given (float) positions: [...] -> [..., channels]."""
    num_timescales = channels // 2
    log_increment = math.log(max_timescale / min_timescale) / max(num_timescales - 1, 1)
    inv_timescales = min_timescale * torch.exp(
        torch.arange(num_timescales, dtype=torch.float32, device=position.device) * -log_increment
    )
    scaled_time = position.float()[..., None] * inv_timescales  # [..., channels // 2]
    signal = torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=-1)  # [..., 2*(C//2)]
    if channels % 2:
        signal = torch.nn.functional.pad(signal, [0, 1])
    return signal


def add_timing_signal_1d(
    x: torch.Tensor,
    min_timescale: float = 1.0,
    max_timescale: float = 1.0e4,
    start_index: int = 0,
) -> torch.Tensor:
    """x + the timing signal of its positions. x: [B, T, D] -> [B, T, D]."""
    signal = get_timing_signal_1d(
        x.shape[1], x.shape[2], min_timescale, max_timescale, start_index, device=x.device
    )
    return x + signal.to(x.dtype)
