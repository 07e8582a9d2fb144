"""Speech features as T2T computes them (`layers/common_audio.py`), batched, on any device.

    config = AudioFeatureConfig()                         # T2T's speech problem defaults
    fbanks = mel_filterbanks(waveforms, config)           # [B, N] -> [B, T, 80, 1]
    fbanks = add_delta_deltas(fbanks)                     # -> [B, T, 80, 3]
    inputs = utterance_features(waveform, config)         # [N] -> [T + 250, 80, 3]

The steps, in T2T's order: the waveform length is the last non-zero sample + 1 (taken before
dither); Gaussian dither; pre-emphasis x[t] - a * x[t-1] (one sample shorter); frames of
`frame_length` ms every `frame_step` ms, the end zero-padded to whole frames (TF's
`stft(pad_end=True)`), a periodic Hann window, an FFT of the next power of two; magnitudes
(not powers) through TF's mel matrix; log with a floor of 1e-3; optionally frames past the
waveform's length zeroed (T2T keeps one frame more than the length covers). Deltas and
delta-deltas are T2T's 9-tap filters, each scaled to unit norm, over time with zero padding.

Values equal the original's to float32 rounding (tests/layers/test_audio.py compares them
with goldens made by T2T 1.15.7).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

# T2T's default dither: one int16 quantisation step.
INT16_STEP = 1.0 / 32767.0
VAR_EPSILON = 1e-9  # T2T's epsilon of the per-utterance normalisation


@dataclass(frozen=True)
class AudioFeatureConfig:
    """The feature settings, named as T2T's `audio_*` hparams without the prefix.

    The defaults are what T2T's SpeechRecognitionProblem adds to model hparams (`frame_length`
    and `frame_step` in milliseconds).
    """

    sample_rate: int = 16000
    preemphasis: float = 0.97
    dither: float = INT16_STEP
    frame_length: float = 25.0
    frame_step: float = 10.0
    lower_edge_hertz: float = 20.0
    upper_edge_hertz: float = 8000.0
    num_mel_bins: int = 80
    add_delta_deltas: bool = True
    num_zeropad_frames: int = 250
    log_noise_floor: float = 1e-3

    @property
    def num_channels(self) -> int:
        """3 with deltas and delta-deltas, else 1."""
        return 3 if self.add_delta_deltas else 1

    def frame_samples(self) -> tuple[int, int, int]:
        """(frame length, frame step, FFT length) in samples, truncated as T2T does."""
        length = int(self.frame_length * self.sample_rate / 1e3)
        step = int(self.frame_step * self.sample_rate / 1e3)
        return length, step, int(2 ** math.ceil(math.log2(length)))


def _hertz_to_mel(hertz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(hertz / 700.0)


def mel_weight_matrix(
    num_mel_bins: int,
    num_spectrogram_bins: int,
    sample_rate: float,
    lower_edge_hertz: float,
    upper_edge_hertz: float,
) -> np.ndarray:
    """TF's `linear_to_mel_weight_matrix`: [num_spectrogram_bins, num_mel_bins] float32.

    Triangles on the HTK mel scale between mel-spaced band edges; the DC bin weighs nothing.

    Raises:
        ValueError: edges out of order or above the Nyquist frequency.
    """
    nyquist = sample_rate / 2.0
    if not 0.0 <= lower_edge_hertz < upper_edge_hertz <= nyquist:
        raise ValueError(
            f"need 0 <= lower_edge_hertz ({lower_edge_hertz}) < upper_edge_hertz "
            f"({upper_edge_hertz}) <= sample_rate / 2 ({nyquist})"
        )
    # TF computes in float32; so do we, for the same rounding.
    f32 = np.float32
    bins_mel = _hertz_to_mel(np.linspace(0.0, nyquist, num_spectrogram_bins, dtype=f32)[1:])
    edges = np.linspace(
        _hertz_to_mel(f32(lower_edge_hertz)),
        _hertz_to_mel(f32(upper_edge_hertz)),
        num_mel_bins + 2,
        dtype=f32,
    )
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]  # [1, M]
    bins_mel = bins_mel.astype(f32)[:, None]  # [S - 1, 1]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(f32(0.0), np.minimum(rising, falling))  # [S - 1, M]
    return np.concatenate([np.zeros((1, num_mel_bins), f32), weights]).astype(f32)


def waveform_lengths(waveforms: torch.Tensor) -> torch.Tensor:
    """[B, N] -> [B] int64: index of the last non-zero sample + 1 (1 for a silent row)."""
    positions = torch.arange(waveforms.shape[1], device=waveforms.device)  # [N]
    return (positions * (waveforms != 0).long()).amax(dim=1) + 1


def mel_filterbanks(
    waveforms: torch.Tensor,
    config: AudioFeatureConfig,
    apply_mask: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """T2T's `compute_mel_filterbank_features`: log-mel filterbanks of a padded batch.

    Args:
        waveforms: [B, N] float samples in [-1, 1], zero-padded at the end.
        config: the feature settings (dither 0 makes the result deterministic).
        apply_mask: zero the frames past each waveform's length (+1 frame, as T2T).
        generator: the random source of the dither (None: torch's default).

    Returns:
        [B, T, num_mel_bins, 1] float32, T = ceil((N - 1) / step) with pre-emphasis.
    """
    x = waveforms.float()
    lengths = waveform_lengths(x)  # [B]
    if config.dither > 0:
        noise = torch.randn(x.shape, generator=generator, device=x.device)
        x = x + noise * config.dither  # T2T dithers the padding too
    if config.preemphasis > 0:
        x = x[:, 1:] - config.preemphasis * x[:, :-1]  # [B, N - 1]
        lengths = lengths - 1
    frame_length, frame_step, fft_length = config.frame_samples()
    num_frames = -(-x.shape[1] // frame_step)  # pad_end: every sample starts in some frame
    pad = max(0, (num_frames - 1) * frame_step + frame_length - x.shape[1])
    frames = F.pad(x, (0, pad)).unfold(1, frame_length, frame_step)  # [B, T, L]
    window, weights = _constants(config, fft_length // 2 + 1, str(x.device))
    spectrum = torch.fft.rfft(frames * window, n=fft_length).abs()  # [B, T, fft/2 + 1]
    mel = spectrum @ weights  # [B, T, M]
    log_mel = torch.log(torch.clamp(mel, min=config.log_noise_floor))
    if apply_mask:
        covered = (lengths + frame_step - 1) // frame_step  # [B]
        frame_ids = torch.arange(num_frames, device=x.device)
        log_mel = log_mel * (frame_ids[None] <= covered[:, None]).unsqueeze(-1)  # [B, T, 1]
    return log_mel.unsqueeze(-1)  # [B, T, M, 1]


@functools.lru_cache(maxsize=64)
def _constants(
    config: AudioFeatureConfig, num_bins: int, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Hann window [L], mel matrix [num_bins, M]) on `device`, made once per settings and
    device (they are never modified)."""
    frame_length = config.frame_samples()[0]
    window = torch.hann_window(frame_length, periodic=True, device=device)
    mel = mel_weight_matrix(
        config.num_mel_bins,
        num_bins,
        config.sample_rate,
        config.lower_edge_hertz,
        config.upper_edge_hertz,
    )
    return window, torch.from_numpy(mel).to(device)


@functools.lru_cache(maxsize=1)
def _delta_filters() -> np.ndarray:
    """[3, 9]: identity, delta and delta-delta taps, each of unit L2 norm."""
    delta = np.array([2, 1, 0, -1, -2], dtype=np.float64)
    filters = np.zeros((3, 9))
    filters[0, 4] = 1.0
    filters[1, 2:7] = delta
    filters[2] = np.convolve(delta, delta)
    return (filters / np.linalg.norm(filters, axis=1, keepdims=True)).astype(np.float32)


def add_delta_deltas(filterbanks: torch.Tensor) -> torch.Tensor:
    """T2T's `add_delta_deltas`: [B, T, M, 1] -> [B, T, M, 3] (features, deltas, deltas²).

    A cross-correlation over time with zero padding of 4 frames each side (TF's "SAME").
    """
    weight = torch.from_numpy(_delta_filters()).to(filterbanks.device)  # [3, 9]
    x = filterbanks.permute(0, 3, 1, 2)  # [B, 1, T, M]
    out = F.conv2d(x, weight[:, None, :, None], padding=(4, 0))  # [B, 3, T, M]
    return out.permute(0, 2, 3, 1)  # [B, T, M, 3]


def normalize_utterance(features: torch.Tensor) -> torch.Tensor:
    """Per-utterance mean/variance normalisation over time: [B, T, M, C] -> same shape.

    What T2T's SpeechRecognitionProblem.preprocess_example does to one utterance (B = 1).
    """
    mean = features.mean(dim=1, keepdim=True)  # [B, 1, M, C]
    variance = (features - mean).square().mean(dim=1, keepdim=True)
    return (features - mean) * torch.rsqrt(variance + VAR_EPSILON)


def normalize_padded_batch(features: torch.Tensor) -> torch.Tensor:
    """The normalisation of T2T's speech bottom (audio_preproc_in_bottom): [B, T, M, C].

    Kept as T2T computes it, quirks included: a (frame, bin) cell is padding when all its
    channels are 0; the sums over time are divided by the number of non-padding cells of the
    WHOLE batch times M * C (not by each utterance's frame count), so the "mean" and
    "variance" are far smaller than an utterance's; padding cells are zeroed at the end.
    """
    nonpadding = (features.abs().sum(dim=-1) != 0).float()  # [B, T, M]
    count = nonpadding.sum() * features.shape[2] * features.shape[3]
    total = features.sum(dim=1, keepdim=True)  # [B, 1, M, C]
    mean = total / count
    squares = features.square().sum(dim=1, keepdim=True)
    variance = (count * mean.square() - 2.0 * mean * total + squares) / count
    return (features - mean) * torch.rsqrt(variance + VAR_EPSILON) * nonpadding.unsqueeze(-1)


def batch_features(
    waveforms: torch.Tensor,
    config: AudioFeatureConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The bottom's features of a padded batch: masked filterbanks (+ deltas), normalised.

    Args:
        waveforms: [B, N] zero-padded samples.
        config: the feature settings.
        generator: the random source of the dither.

    Returns:
        [B, T, num_mel_bins, num_channels] float32.
    """
    fbanks = mel_filterbanks(waveforms, config, apply_mask=True, generator=generator)
    if config.add_delta_deltas:
        fbanks = add_delta_deltas(fbanks)
    return normalize_padded_batch(fbanks)


def utterance_features(
    waveform: torch.Tensor,
    config: AudioFeatureConfig,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The input pipeline's features of one utterance, as T2T's preprocess_example.

    Filterbanks without mask (+ deltas), normalised over the utterance, then
    `num_zeropad_frames` zero frames appended.

    Args:
        waveform: [N] samples.
        config: the feature settings.
        generator: the random source of the dither.

    Returns:
        [T + num_zeropad_frames, num_mel_bins, num_channels] float32.
    """
    fbanks = mel_filterbanks(waveform[None], config, apply_mask=False, generator=generator)
    if config.add_delta_deltas:
        fbanks = add_delta_deltas(fbanks)
    features = normalize_utterance(fbanks)[0]  # [T, M, C]
    zeros = features.new_zeros((config.num_zeropad_frames, *features.shape[1:]))
    return torch.cat([features, zeros])  # [T + pad, M, C]
