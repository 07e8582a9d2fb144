"""ByteNet (T2T's `models/bytenet.py`, arXiv:1610.10099).

Its hparams set is in `t2t.models.bytenet_hparams` (re-exported here).

As in T2T: the inputs are extended by half their length with zeros, then inputs and
targets are zero-padded to one length divisible by 50; the encoder is `num_block_repeat`
residual blocks of dilated convolutions (dilations 1, 2, 4, ... over
`num_hidden_layers` layers, kernel `kernel_height` x `kernel_width`, SAME padding), each
block a layer norm then T2T's `conv_block` (ReLU, conv, layer norm per layer) then dropout;
the decoder starts with a causal conv of [encoder output, targets shifted right] and runs
the same residual blocks with causal (LEFT) padding. The body returns the first T positions
(T2T's loss zero-pads the targets to the output's length; the padded positions weigh 0).
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.hparams import HParams
from t2t.layers.convolutions import ConvBlock
from t2t.layers.norms import LayerNorm
from t2t.layers.sequence_ops import fit_length, pad_to_multiple, shift_right
from t2t.models.t2t_model import Features, T2TModel


class ResidualDilatedConv(nn.Module):
    """T2T's `residual_dilated_conv`: `repeat` blocks x += dropout(conv_block(norm(x))).

    Args:
        hidden_size: depth H.
        num_layers: dilated convs per block (dilation 2^i).
        kernel: (kh, kw).
        repeat: blocks.
        padding: "SAME" or "LEFT".
        dropout: rate after each block (training only).
    """

    def __init__(self, hidden_size, num_layers, kernel, repeat, padding, dropout) -> None:
        super().__init__()
        dilations_and_kernels = [((2**i, 1), kernel) for i in range(num_layers)]
        self.norms = nn.ModuleList(LayerNorm(hidden_size) for _ in range(repeat))
        self.blocks = nn.ModuleList(
            ConvBlock(hidden_size, hidden_size, dilations_and_kernels, padding=padding)
            for _ in range(repeat)
        )
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, 1, H] -> [B, L, 1, H]."""
        for norm, block in zip(self.norms, self.blocks):
            x = x + F.dropout(block(norm(x)), self.dropout, self.training)
        return x


@registry.register_model("byte_net")
class ByteNet(T2TModel):
    """T2T's `byte_net`: a dilated-convolution encoder stacked under a causal decoder."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        size, kernel = hp.hidden_size, (hp.kernel_height, hp.kernel_width)

        def stack(padding: str) -> ResidualDilatedConv:
            return ResidualDilatedConv(
                size, hp.num_hidden_layers, kernel, hp.num_block_repeat, padding, hp.dropout
            )

        self.encoder = stack("SAME")
        self.decoder_start = ConvBlock(2 * size, size, [((1, 1), kernel)], padding="LEFT")
        self.decoder = stack("LEFT")
        self.initialize_parameters()

    def body(self, features: Features) -> torch.Tensor:
        """inputs [B, S, H], targets [B, T, H] -> [B, T, H]."""
        inputs, targets = features["inputs"], features["targets"]
        inputs = fit_length(inputs, inputs.shape[1] + inputs.shape[1] // 2)  # extend by 50 %
        length = max(inputs.shape[1], targets.shape[1])
        inputs = pad_to_multiple(inputs, length, 50)[:, :, None]  # [B, L, 1, H]
        shifted = shift_right(pad_to_multiple(targets, length, 50))[:, :, None]  # [B, L, 1, H]
        encoded = self.encoder(inputs)
        decoded = self.decoder(self.decoder_start(torch.cat([encoded, shifted], dim=-1)))
        return fit_length(decoded[:, :, 0], targets.shape[1])  # [B, T, H]


# The hparams set lives in bytenet_hparams.py; re-exported for T2T's `models.bytenet.<set>()`.
from t2t.models.bytenet_hparams import bytenet_base  # noqa: E402, F401
