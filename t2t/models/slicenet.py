"""SliceNet (T2T's `models/slicenet.py`, arXiv:1706.03059).

Its hparams sets are in `t2t.models.slicenet_hparams` (re-exported here).

As in T2T: the embedded inputs get T2T's 16-frequency timing signal (`common_layers.
add_timing_signal`) and run through int(1.5 · `num_hidden_layers`) residual layers of
(sub)separable convolution blocks (`kernel_scheme`, `dilation_scheme`, `separability`),
masked at input padding; the targets are shifted right with the target-space embedding in
the first slot, attend to the encoder ("transformer" attention: a causal conv block, causal
self-attention, then attention over the encoder output) and are merged with the raw shifted
targets by a causal conv; the decoder is `num_hidden_layers` causal residual layers, each
followed by such an attention over the encoder output. A class-label problem runs the
encoder only. T2T's encoder-decoder attention has no padding mask (its bias is zeros); we
keep that, so an example's output depends on its batch's input padding.

Departures: T2T pads the timing signal to the depth and fails below 32 channels; we cut it.
T2T first projects inputs of another depth with a 3x3 conv; the modalities here always
give `hidden_size`, so there is nothing to project.
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import attention as attn
from t2t.layers.convolutions import ConvBlock
from t2t.layers.sequence_ops import embedding_to_padding
from t2t.layers.timing_signal import timing_signal_at
from t2t.modalities.names import ModalityType
from t2t.models.t2t_model import Features, T2TModel

KERNEL_SCHEMES = {
    "3.3.3.3": [(3, 1), (3, 1), (3, 1), (3, 1)],
    "3.7.7.7": [(3, 1), (7, 1), (7, 1), (7, 1)],
    "3.7.15.15": [(3, 1), (7, 1), (15, 1), (15, 1)],
    "3.7.15.31": [(3, 1), (7, 1), (15, 1), (31, 1)],
    "3.7.15.31.63": [(3, 1), (7, 1), (15, 1), (31, 1), (63, 1)],
}
DILATION_SCHEMES = {
    "1.1.1.1.1": [(1, 1)] * 5,
    "1.1.1.1": [(1, 1)] * 4,
    "1.1.1.2": [(1, 1), (1, 1), (1, 1), (2, 1)],
    "1.1.2.4": [(1, 1), (1, 1), (2, 1), (4, 1)],
    "1.2.4.8": [(1, 1), (2, 1), (4, 1), (8, 1)],
}


def add_timing_signal(x: torch.Tensor, num_timescales: int = 16) -> torch.Tensor:
    """T2T's `common_layers.add_timing_signal`: x [B, L, 1, C] + [sin | cos | zeros] of 16
    timescales from 1 to 1e4 (cut to C when C < 32)."""
    position = torch.arange(x.shape[1], device=x.device, dtype=torch.float32)
    signal = timing_signal_at(position, 2 * num_timescales)  # [L, 32]
    depth = x.shape[-1]
    signal = F.pad(signal, [0, max(0, depth - signal.shape[1])])[:, :depth]  # [L, C]
    return x + signal[None, :, None, :].to(x.dtype)


def _separabilities(separability: int, count: int) -> list[int]:
    """T2T's per-layer separabilities: negative ones grow more negative towards the front."""
    if separability < 0:
        return [separability - i for i in reversed(range(count))]
    return [separability] * count


class SliceAttention(nn.Module):
    """T2T's slicenet `attention`: a causal conv block on the timed targets, causal
    self-attention, then attention over the encoder output (no mask), no residual."""

    def __init__(self, hp: HParams) -> None:
        super().__init__()
        if hp.attention_type != "transformer":
            raise HParamsError(f"Unsupported attention_type: {hp.attention_type}")
        size = hp.hidden_size
        self.timed = ConvBlock(
            size,
            size,
            [((1, 1), (5, 1)), ((4, 1), (5, 1))],
            kind="subseparable",
            padding="LEFT",
            norm_type=hp.norm_type,
            norm_epsilon=hp.norm_epsilon,
            separabilities=_separabilities(hp.separability, 2),
        )

        def attention() -> attn.MultiheadAttention:
            return attn.MultiheadAttention(
                size, size, size, size, size, hp.num_heads, hp.attention_dropout
            )

        self.self_attention, self.encdec_attention = attention(), attention()

    def forward(self, targets: torch.Tensor, encoded: torch.Tensor) -> torch.Tensor:
        """targets [B, T, 1, H], encoded [B, S, 1, H] -> [B, T, 1, H]."""
        x = self.timed(add_timing_signal(targets))[:, :, 0]  # [B, T, H]
        causal = attn.attention_bias_lower_triangle(x.shape[1], x.device)
        x = self.self_attention(x, None, causal)
        return self.encdec_attention(x, encoded[:, :, 0])[:, :, None]  # [B, T, 1, H]


class MultiConvRes(nn.Module):
    """T2T's `multi_conv_res`: residual layers of two subseparable conv blocks (and an
    attention over `source` when there is one), then dropout."""

    def __init__(self, hp: HParams, num_layers: int, padding: str, attend: bool) -> None:
        super().__init__()
        if hp.kernel_scheme in KERNEL_SCHEMES and hp.dilation_scheme in DILATION_SCHEMES:
            pairs = list(
                zip(DILATION_SCHEMES[hp.dilation_scheme], KERNEL_SCHEMES[hp.kernel_scheme])
            )
            first, second = pairs[:2], pairs[2:]
        else:
            kernel, large = (hp.kernel_height, hp.kernel_width), (hp.large_kernel_size, 1)
            first, second = [((1, 1), kernel)] * 2, [((1, 1), large), ((4, 4), large)]
        self.padding, self.dropout = padding, hp.dropout

        def block(pairs) -> ConvBlock:
            return ConvBlock(
                hp.hidden_size,
                hp.hidden_size,
                pairs,
                kind="subseparable",
                padding=padding,
                norm_type=hp.norm_type,
                norm_epsilon=hp.norm_epsilon,
                separabilities=_separabilities(hp.separability, len(pairs)),
            )

        self.first = nn.ModuleList(block(first) for _ in range(num_layers))
        self.second = nn.ModuleList(block(second) for _ in range(num_layers))
        use_attention = attend and hp.attention_type != "none"
        self.attention = nn.ModuleList(
            SliceAttention(hp) for _ in range(num_layers if use_attention else 0)
        )

    def forward(self, x, mask=None, source=None) -> torch.Tensor:
        """x [B, L, 1, H], mask [B, L, 1, 1] (1 at real positions), source [B, S, 1, H]."""
        if self.padding == "LEFT":
            mask = None  # T2T masks nothing when left-padding
        for i, (first, second) in enumerate(zip(self.first, self.second)):
            y = first(x, mask)
            x = x + second(x + y, mask) + y
            if self.attention:
                x = x + self.attention[i](x, source)
            if mask is not None:
                x = x * mask
        return F.dropout(x, self.dropout, self.training)


@registry.register_model("slice_net")
class SliceNet(T2TModel):
    """T2T's `slice_net`: separable-convolution encoder and decoder with attention."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        self.run_decoder = self.target_modality != ModalityType.CLASS_LABEL
        self.default_target_space = int(getattr(problem_hparams, "target_space_id", 0) or 0)
        self.encoder = MultiConvRes(hp, int(hp.num_hidden_layers * 1.5), "SAME", attend=False)
        if self.run_decoder:
            self.target_space_embedding = nn.Parameter(torch.zeros(32, hp.hidden_size))
            self.attention = SliceAttention(hp) if hp.attention_type != "none" else None
            self.merge = ConvBlock(
                2 * hp.hidden_size,
                hp.hidden_size,
                [((1, 1), (hp.kernel_height, hp.kernel_width))],
                kind="subseparable",
                padding="LEFT",
                norm_type=hp.norm_type,
                norm_epsilon=hp.norm_epsilon,
                separabilities=[4],  # T2T passes separability=4 to its one layer
            )
            self.decoder = MultiConvRes(hp, hp.num_hidden_layers, "LEFT", attend=True)
        self.initialize_parameters()

    def _target_space(self, features: Features, like: torch.Tensor) -> torch.Tensor:
        """The target-space embedding [1 or B, 1, 1, H]."""
        ids = features.get("target_space_id", self.default_target_space)
        ids = torch.as_tensor(ids, device=like.device).reshape(-1).long()  # [1 or B]
        return self.target_space_embedding[ids][:, None, None, :].to(like.dtype)

    def body(self, features: Features) -> torch.Tensor:
        """inputs [B, S, H], targets [B, T, H] -> [B, T, H] ([B, S, H] for class labels)."""
        inputs = features["inputs"][:, :, None]  # [B, S, 1, H]
        mask = 1.0 - embedding_to_padding(inputs)[..., None]  # [B, S, 1, 1]
        encoded = self.encoder(add_timing_signal(inputs), mask)
        if not self.run_decoder:
            return encoded[:, :, 0]
        targets = features["targets"][:, :, None]  # [B, T, 1, H]
        space = self._target_space(features, targets).expand(targets.shape[0], 1, 1, -1)
        shifted = torch.cat([space, targets], dim=1)[:, :-1]  # [B, T, 1, H]
        if self.attention is None:
            attended = torch.zeros_like(shifted)
        else:
            attended = self.attention(shifted, encoded)
        start = self.merge(torch.cat([attended, shifted], dim=-1))
        return self.decoder(start, mask, encoded)[:, :, 0]  # [B, T, H]


# The hparams sets live in slicenet_hparams.py; re-exported for T2T's `models.slicenet.<set>()`.
from t2t.models.slicenet_hparams import (  # noqa: E402, F401
    slicenet_params1,
    slicenet_params1_noam,
    slicenet_params1_tiny,
)
