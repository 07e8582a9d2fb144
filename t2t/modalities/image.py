"""Image modalities: pixels [B, H, W, C] in; per-pixel, per-channel logits out.

- image: inputs enter as floats (T2T's image_bottom: a cast, no variables; the problem
  standardises); image targets are embedded per pixel value (a [V, 64] table per channel
  value, then dense(H) over the C·64 merged channels); the top is dense(C·V) per position,
  reshaped to [B, H, W, C, V].
- image_channel_compress: pixels to [-1, 1], each pixel's C=3 channel values to H features
  with a 1 x 3 convolution (stride 3) and a ReLU: [B, H, W, 3] -> [B, H, W, H_model]; the top
  expands each position to 3 channels, layer-preprocesses and maps to V values:
  [B, img_len, img_len, 3, V]. Inputs and targets have separate convolutions.
- image_channel_bottom_identity: the compress bottoms, an identity top.
- image_channel_embeddings_bottom: float inputs; targets embedded per channel with one
  [256·C, H] table (x sqrt(H)): [B, H, W, C] -> [B, H, W·C, H]; the top is dense(256)
  reshaped to [B, img_len, img_len, C, V].

Every position counts in the loss (weights_all); the loss is T2T's generic cross-entropy.
Classifiers over images pair `image` inputs with `class_label` targets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers.prepostprocess import PrePostProcess
from t2t.modalities.base import Identity, IdentityBottom, Modality, ModalitySpec
from t2t.modalities.names import ModalityType

PIXEL_EMBEDDING_SIZE = 64  # T2T's image_targets_bottom
RGB_CHANNELS = 3  # the channel-compress modalities assume RGB, as T2T does


def _num_channels(spec: ModalitySpec) -> int:
    """The problem's `num_channels` (T2T reads it from the problem; default 3)."""
    return int(getattr(spec.problem_hparams, "num_channels", None) or RGB_CHANNELS)


def _model_channels(spec: ModalitySpec) -> int:
    """The model's `num_channels` (T2T reads hparams.num_channels), else the problem's."""
    value = spec.hparams.get("num_channels")
    return value if isinstance(value, int) and value > 0 else _num_channels(spec)


def _img_len(hparams: HParams, modality: str) -> int:
    img_len = hparams.get("img_len")
    if not img_len:
        raise HParamsError(
            f"the {modality} top needs hparams.img_len (the image side length), as T2T's "
            "image models set it; add it with --hparams or use a set that has it"
        )
    return int(img_len)


class ImageTargetsBottom(nn.Module):
    """Embeds each channel's pixel value, then merges the channels: [B, H, W, C] -> [B, H, W, D].

    Args:
        vocab_size: V, the number of pixel values (256).
        channels: C.
        hidden_size: D.
    """

    def __init__(self, vocab_size: int, channels: int, hidden_size: int) -> None:
        super().__init__()
        self.pixel_embedding = nn.Parameter(torch.empty(vocab_size, PIXEL_EMBEDDING_SIZE))
        nn.init.normal_(self.pixel_embedding, std=0.05)  # replaced by the model initializer
        self.merge = nn.Linear(channels * PIXEL_EMBEDDING_SIZE, hidden_size)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """pixel values [B, H, W, C] -> [B, H, W, D]."""
        if x.dim() != 4:
            raise HParamsError(
                "image targets must be int pixel values [batch, height, width, channels]; "
                f"got shape {tuple(x.shape)}"
            )
        embedded = F.embedding(x.long(), self.pixel_embedding)  # [B, H, W, C, 64]
        return self.merge(embedded.flatten(3))  # [B, H, W, C·64] -> [B, H, W, D]


class ImageTop(nn.Module):
    """Dense(C·V) per position: [B, H, W, D] -> logits [B, H, W, C, V].

    Args:
        depth: D.
        channels: C.
        vocab_size: V.
    """

    def __init__(self, depth: int, channels: int, vocab_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(depth, channels * vocab_size)
        self.channels, self.vocab_size = channels, vocab_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, H, W, D] -> [B, H, W, C, V]."""
        return self.dense(x).unflatten(-1, (self.channels, self.vocab_size))


class ChannelCompressBottom(nn.Module):
    """Pixels to [-1, 1], then each pixel's 3 values to D features (1 x 3 conv, ReLU).

    [B, H, W, 3] -> [B, H, W, D]. The kernel is TF's [1, 3, 1, D] conv kernel (its fans,
    and so its initial scale, are a convolution's, not a dense layer's).

    Args:
        hidden_size: D.
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, hidden_size, (1, RGB_CHANNELS), stride=(1, RGB_CHANNELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, H, W, 3] pixel values -> [B, H, W, D]."""
        x = x.float() / 127.5 - 1.0
        x = x.flatten(2).unsqueeze(1)  # [B, 1, H, W·3]
        return F.relu(self.conv(x)).permute(0, 2, 3, 1)  # [B, D, H, W] -> [B, H, W, D]


class ChannelCompressTop(nn.Module):
    """[B, L, L, D] -> 1x1 conv to 3·D, ReLU -> [B, L, 3·L, D] -> preprocess -> dense(V)
    -> logits [B, L, L, 3, V].

    Args:
        hparams: the model hparams (hidden_size, img_len, layer_preprocess_sequence,
            layer_prepostprocess_dropout, norm_type, norm_epsilon).
        vocab_size: V.
    """

    def __init__(self, hparams: HParams, vocab_size: int) -> None:
        super().__init__()
        hidden = hparams.hidden_size
        self.img_len = _img_len(hparams, ModalityType.IMAGE_CHANNEL_COMPRESS)
        self.decompress = nn.Conv2d(hidden, hidden * RGB_CHANNELS, 1)
        self.preprocess = PrePostProcess(
            hidden,
            hparams.layer_preprocess_sequence,
            hparams.layer_prepostprocess_dropout,
            hparams.norm_type,
            hparams.norm_epsilon,
        )
        self.output = nn.Linear(hidden, vocab_size)
        self.hidden, self.vocab_size = hidden, vocab_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, L, L, D] -> [B, L, L, 3, V]."""
        batch, length = x.shape[0], self.img_len
        x = F.relu(self.decompress(x.permute(0, 3, 1, 2)))  # [B, 3·D, L, L]
        x = x.permute(0, 2, 3, 1).reshape(batch, length, length * RGB_CHANNELS, self.hidden)
        x = self.output(self.preprocess(None, x))  # [B, L, 3·L, V]
        return x.reshape(batch, length, length, RGB_CHANNELS, self.vocab_size)


class ChannelEmbeddingsBottom(nn.Module):
    """One embedding per (channel, value), x sqrt(D): [B, H, W, C] -> [B, H, W·C, D].

    Args:
        channels: C.
        hidden_size: D.
    """

    def __init__(self, channels: int, hidden_size: int) -> None:
        super().__init__()
        self.rgb_target_emb = nn.Parameter(torch.empty(256 * channels, hidden_size))
        nn.init.normal_(self.rgb_target_emb, std=hidden_size**-0.5)  # model initializer
        self.channels, self.hidden_size = channels, hidden_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, H, W, C] values in [0, 256) -> [B, H, W·C, D]."""
        offsets = torch.arange(self.channels, device=x.device) * 256  # [C]
        ids = x.long() + offsets  # [B, H, W, C]: channel c's values live in rows c·256...
        embedded = F.embedding(ids, self.rgb_target_emb) * self.hidden_size**0.5
        return embedded.flatten(2, 3)  # [B, H, W, C, D] -> [B, H, W·C, D]


class ChannelEmbeddingsTop(nn.Module):
    """Dense(256) per position, reshaped to [B, img_len, img_len, C, V].

    Args:
        depth: the body output depth.
        img_len: L.
        channels: C.
        vocab_size: V (256 for the reshape to work, as in T2T).
    """

    def __init__(self, depth: int, img_len: int, channels: int, vocab_size: int) -> None:
        super().__init__()
        self.output = nn.Linear(depth, 256)
        self.shape = (img_len, img_len, channels, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, ..., D] -> [B, L, L, C, V]."""
        return self.output(x).reshape(-1, *self.shape)


@registry.register_modality(ModalityType.IMAGE)
class ImageModality(Modality):
    """T2T's image modality: float inputs, pixel-embedded targets, per-channel softmax top."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`image_modality`."""
        return "image_modality"

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """Pixels [B, H, W, C] (uint8 or standardised floats) -> the same values as float32."""
        return IdentityBottom()

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """Pixel values [B, H, W, C] -> [B, H, W, hidden_size]."""
        return ImageTargetsBottom(spec.vocab_size, _num_channels(spec), spec.hparams.hidden_size)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """[B, H, W, D] -> [B, H, W, C, V]."""
        return ImageTop(spec.body_output_depth, _num_channels(spec), spec.vocab_size)


@registry.register_modality(ModalityType.IMAGE_CHANNEL_COMPRESS)
class ImageChannelCompressModality(Modality):
    """RGB pixels compressed to one vector per pixel; decompressed per channel on top."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`image_channel_compress_modality`."""
        return "image_channel_compress_modality"

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """[B, H, W, 3] -> [B, H, W, hidden_size] (T2T's "input_bottom" conv)."""
        return ChannelCompressBottom(spec.hparams.hidden_size)

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """As `bottom`, with its own conv (T2T's "output_bottom")."""
        return ChannelCompressBottom(spec.hparams.hidden_size)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """[B, L, L, D] -> [B, L, L, 3, V]."""
        return ChannelCompressTop(spec.hparams, spec.vocab_size)


@registry.register_modality(ModalityType.IMAGE_CHANNEL_BOTTOM_IDENTITY)
class ImageChannelBottomIdentityModality(ImageChannelCompressModality):
    """The channel-compress bottoms with an identity top (the body writes the logits)."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`image_channel_bottom_identity_modality`."""
        return "image_channel_bottom_identity_modality"

    def top(self, spec: ModalitySpec) -> nn.Module:
        """The body output itself."""
        return Identity()


@registry.register_modality(ModalityType.IMAGE_CHANNEL_EMBEDDINGS_BOTTOM)
class ImageChannelEmbeddingsModality(Modality):
    """Float inputs; targets embedded per channel value; dense(256) top."""

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """`image_channel_embeddings_bottom` (T2T's name, without "_modality")."""
        return "image_channel_embeddings_bottom"

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """[B, H, W, C] -> [B, H, W·C, hidden_size]; C is hparams.num_channels."""
        return ChannelEmbeddingsBottom(_model_channels(spec), spec.hparams.hidden_size)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """[B, ..., D] -> [B, img_len, img_len, C, V]."""
        hp = spec.hparams
        channels = _model_channels(spec)
        img_len = _img_len(hp, ModalityType.IMAGE_CHANNEL_EMBEDDINGS_BOTTOM)
        return ChannelEmbeddingsTop(spec.body_output_depth, img_len, channels, spec.vocab_size)
