"""The speech_recognition modality: T2T's strided convolutions over filterbank frames.

Its bottom takes the problem's features, [B, T, num_mel_bins, channels] normalised
filterbanks (or, with `audio_preproc_in_bottom`, raw waveforms [B, N, 1, 1] it featurises
itself with `t2t.layers.audio`), and shortens time 4x: the frames are zero-padded by 8,
two 3x3 convolutions of stride 2 with 128 channels, each followed by layer norm and ReLU,
then 2 more zero frames and a convolution of height 3 spanning all remaining frequencies
to hidden_size, layer norm and ReLU: [B, T, M, C] -> [B, (T + 8 - 7) // 4 ..., H].
No biases, as T2T. Only inputs use it (targets are characters: a symbol modality).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from t2t import registry
from t2t.hparams import HParams
from t2t.layers.audio import AudioFeatureConfig, batch_features
from t2t.layers.initializers import own_init, variance_scaling_
from t2t.layers.norms import LayerNorm
from t2t.modalities.base import Modality, ModalitySpec
from t2t.modalities.names import ModalityType

_CONV_CHANNELS = 128  # T2T hard-codes the two strided convolutions' width


def audio_config(hparams: Any) -> AudioFeatureConfig:
    """The feature settings in model hparams' `audio_*` (T2T's defaults where missing)."""
    default = AudioFeatureConfig()

    def value(name: str, fallback: Any) -> Any:
        found = getattr(hparams, name, None)
        return fallback if found is None else found

    return AudioFeatureConfig(
        sample_rate=value("audio_sample_rate", default.sample_rate),
        preemphasis=value("audio_preemphasis", default.preemphasis),
        dither=value("audio_dither", default.dither),
        frame_length=value("audio_frame_length", default.frame_length),
        frame_step=value("audio_frame_step", default.frame_step),
        lower_edge_hertz=value("audio_lower_edge_hertz", default.lower_edge_hertz),
        upper_edge_hertz=value("audio_upper_edge_hertz", default.upper_edge_hertz),
        num_mel_bins=value("audio_num_mel_bins", default.num_mel_bins),
        add_delta_deltas=value("audio_add_delta_deltas", default.add_delta_deltas),
        num_zeropad_frames=value("num_zeropad_frames", default.num_zeropad_frames),
    )


def _conv(in_channels: int, out_channels: int, kernel: tuple[int, int], stride: int, init):
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, bias=False)
    initializer, gain = init
    kh, kw = kernel
    if initializer in ("uniform_unit_scaling", "normal_unit_scaling"):
        # TF's fans of a conv kernel include the receptive field on both sides.
        fan_in, fan_out = kh * kw * in_channels, kh * kw * out_channels
        distribution = "uniform" if initializer == "uniform_unit_scaling" else "normal"
        variance_scaling_(conv.weight.data, gain, fan_in, fan_out, distribution)
        own_init(conv.weight)
    return conv


class SpeechRecognitionBottom(nn.Module):
    """Filterbank frames -> [B, T', hidden_size] through T2T's convolution stack.

    Args:
        config: the feature settings (num_mel_bins and channels; all of them when the
            bottom featurises waveforms).
        hidden_size: the output depth.
        preproc_in_bottom: inputs are waveforms [B, N, 1, 1] (or [B, N]) to featurise here.
        init: (initializer, initializer_gain) of the model.
    """

    def __init__(
        self,
        config: AudioFeatureConfig,
        hidden_size: int,
        preproc_in_bottom: bool = False,
        init: tuple[str, float] = ("uniform_unit_scaling", 1.0),
    ) -> None:
        super().__init__()
        self.config = config
        self.preproc_in_bottom = preproc_in_bottom
        channels = config.num_channels
        width = config.num_mel_bins
        for _ in range(2):
            width = (width - 3) // 2 + 1
        if width < 1:
            raise ValueError(f"audio_num_mel_bins={config.num_mel_bins} is too few (need >= 7)")
        self.conv1 = _conv(channels, _CONV_CHANNELS, (3, 3), 2, init)
        self.norm1 = LayerNorm(_CONV_CHANNELS)
        self.conv2 = _conv(_CONV_CHANNELS, _CONV_CHANNELS, (3, 3), 2, init)
        self.norm2 = LayerNorm(_CONV_CHANNELS)
        self.conv3 = _conv(_CONV_CHANNELS, hidden_size, (3, width), 1, init)
        self.norm3 = LayerNorm(hidden_size)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv stack's input [B, T, M, C]: x itself, or features of waveforms x."""
        if not self.preproc_in_bottom:
            return x.float()
        waveforms = x.float().reshape(x.shape[0], x.shape[1])  # [B, N, 1, 1] -> [B, N]
        return batch_features(waveforms, self.config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, M, C] features (or [B, N, 1, 1] waveforms) -> [B, T', H]."""
        x = self.features(x)  # [B, T, M, C]
        x = nn.functional.pad(x.permute(0, 3, 1, 2), (0, 0, 0, 8))  # [B, C, T + 8, M]
        for conv, norm in ((self.conv1, self.norm1), (self.conv2, self.norm2)):
            x = conv(x)  # [B, 128, T', M']
            x = torch.relu(norm(x.permute(0, 2, 3, 1))).permute(0, 3, 1, 2)  # norm channels
        x = self.conv3(nn.functional.pad(x, (0, 0, 0, 2)))  # [B, H, T'', 1]
        x = x.squeeze(3).transpose(1, 2)  # [B, T'', H]
        return torch.relu(self.norm3(x))


@registry.register_modality(ModalityType.SPEECH_RECOGNITION)
class SpeechRecognitionModality(Modality):
    """T2T's speech_recognition modality (inputs only): the convolution-stack bottom."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`speech_recognition_modality`."""
        return "speech_recognition_modality"

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """[B, T, M, C] features (or waveforms, `audio_preproc_in_bottom`) -> [B, T', H]."""
        hp = spec.hparams
        return SpeechRecognitionBottom(
            audio_config(hp),
            hp.hidden_size,
            bool(getattr(hp, "audio_preproc_in_bottom", False)),
            (hp.initializer, hp.initializer_gain),
        )
