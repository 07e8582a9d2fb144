"""MultiModel (T2T's `models/multimodel.py`, "One Model To Learn Them All", arXiv:1706.05137).

A modality-agnostic body: whatever the modality bottoms give (embedded text [B, S, H],
image features [B, H, W, C]) is flattened to a sequence and encoded; the decoder attends to
it. Its hparams sets are in `t2t.models.multimodel_hparams` (re-exported here).

As in T2T's last version (1.4-1.5; MultiModel left T2T before 1.15.7):

* inputs of another depth than `hidden_size` (images) are projected by a 3x3 convolution
  block (no ReLU, layer norm), then flattened to [B, L, 1, H];
* the encoder adds T2T's 16-timescale timing signal and runs `num_hidden_layers` layers
  of `conv_experts`: a convolution step (two separable conv blocks, kernel
  (kernel_height, kernel_width) twice to `filter_size`, then (large_kernel_size, 1) with
  dilations 1 and 4 back to `hidden_size`, masked at padding) and a mixture of experts
  (`moe_num_experts` experts of one `filter_size` hidden layer, top `moe_k`) side by side,
  combined as layer_norm(x + dropout(moe) + dropout(conv)); their balancing losses are
  summed and scaled by `moe_loss_coef`;
* a class-label problem stops there (the class-label top pools the encoder output);
* otherwise the decoder shifts the targets right with the target-space embedding in the
  first slot, adds the transformer timing signal, and per layer runs causal self-attention,
  then attention from that result over the encoder output (T2T's residual_fn3: layer_norm(x
  + dropout(self) + dropout(encdec))), then a feed-forward block (a mixture of experts with
  `moe_hidden_sizes` in the layers listed in `moe_layers`, else dense-ReLU-dense) with
  layer_norm(x + dropout(y)).

`MultiModel(hparams, problem_hparams, share_body_with=other)` builds the model of another
problem around the same body modules, so one body trains on several problems at once
(T2T built one body for all of `hparams.problems`); each problem keeps its own bottoms and
top.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.hparams import HParams
from t2t.layers import attention as attn
from t2t.layers.convolutions import ConvBlock
from t2t.layers.ffn import DenseReluDense
from t2t.layers.mixture_of_experts import LocalMoE
from t2t.layers.norms import LayerNorm
from t2t.layers.sequence_ops import embedding_to_padding
from t2t.layers.timing_signal import add_timing_signal_1d
from t2t.modalities.names import ModalityType
from t2t.models.slicenet import add_timing_signal
from t2t.models.t2t_model import Features, T2TModel

_IMAGE_INPUTS = (ModalityType.IMAGE,)


class ConvExperts(nn.Module):
    """T2T's `conv_experts`: a conv step and a mixture of experts beside it, summed with the
    input and layer-normed. x [B, L, 1, H] -> (same, balancing loss [])."""

    def __init__(self, hp: HParams) -> None:
        super().__init__()
        kernel, large = (hp.kernel_height, hp.kernel_width), (hp.large_kernel_size, 1)
        self.conv1 = ConvBlock(
            hp.hidden_size, hp.filter_size, [((1, 1), kernel), ((1, 1), kernel)],
            kind="subseparable", norm_epsilon=hp.norm_epsilon, separabilities=[0, 0],
        )  # fmt: skip
        self.conv2 = ConvBlock(
            hp.filter_size, hp.hidden_size, [((1, 1), large), ((4, 4), large)],
            kind="subseparable", norm_epsilon=hp.norm_epsilon, separabilities=[0, 0],
        )  # fmt: skip
        self.moe = LocalMoE(
            hp.hidden_size, [hp.filter_size], hp.hidden_size, hp.moe_num_experts, hp.moe_k,
            loss_coef=1.0,
        )  # fmt: skip
        self.norm = LayerNorm(hp.hidden_size, eps=hp.norm_epsilon)
        self.dropout = hp.dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, L, 1, H], mask [B, L, 1, 1] (1 at real positions)."""
        y = self.conv1(x, mask)
        y = F.dropout(y, self.dropout, self.training)
        conv_out = self.conv2(y, mask)
        moe_out, loss = self.moe(x)
        drop = lambda t: F.dropout(t, self.dropout, self.training)  # noqa: E731
        return self.norm(x + drop(moe_out) + drop(conv_out)), loss


class DecoderLayer(nn.Module):
    """Self-attention, attention over the encoder, then a dense or MoE feed-forward."""

    def __init__(self, hp: HParams, use_moe: bool) -> None:
        super().__init__()
        size = hp.hidden_size

        def attention() -> attn.MultiheadAttention:
            return attn.MultiheadAttention(
                size, size, size, size, size, hp.num_heads, hp.attention_dropout
            )

        self.self_attention, self.encdec_attention = attention(), attention()
        self.attention_norm = LayerNorm(size, eps=hp.norm_epsilon)
        self.ffn_norm = LayerNorm(size, eps=hp.norm_epsilon)
        if use_moe:
            sizes = [int(s) for s in hp.moe_hidden_sizes.split(",")]
            self.moe = LocalMoE(size, sizes, size, hp.moe_num_experts, hp.moe_k, hp.moe_loss_coef)
            self.ffn = None
        else:
            self.moe = None
            self.ffn = DenseReluDense(size, hp.filter_size, hp.dropout)
        self.dropout = hp.dropout

    def forward(self, x, encoded, self_bias, encdec_bias) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, T, H], encoded [B, S, H] -> (x [B, T, H], balancing loss [] or 0)."""
        drop = lambda t: F.dropout(t, self.dropout, self.training)  # noqa: E731
        y = self.self_attention(x, None, self_bias)
        # T2T feeds the self-attention output (not x + it) to the encoder attention.
        z = self.encdec_attention(y, encoded, encdec_bias)
        x = self.attention_norm(x + drop(y) + drop(z))
        loss = torch.zeros((), device=x.device)
        if self.moe is not None:
            y, loss = self.moe(x)
        else:
            y = self.ffn(x)
        return self.ffn_norm(x + drop(y)), loss


class MultiModelBody(nn.Module):
    """The shared body: the conv-experts encoder and the attention decoder."""

    def __init__(self, hp: HParams) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(ConvExperts(hp) for _ in range(hp.num_hidden_layers))
        moe_layers = hp.moe_layers.split(",")
        self.decoder = nn.ModuleList(
            DecoderLayer(hp, str(i) in moe_layers) for i in range(hp.num_hidden_layers)
        )
        self.target_space_embedding = nn.Parameter(torch.zeros(32, hp.hidden_size))


@registry.register_model
class MultiModel(T2TModel):
    """T2T's `multi_model`: one conv + mixture-of-experts + attention body for any modality.

    Args:
        hparams: model hparams (a `multimodel_*` set).
        problem_hparams: the problem's hparams.
        share_body_with: another MultiModel whose body (and image input projection) this
            model uses: a second problem trained on the same body.
    """

    def __init__(
        self,
        hparams: HParams,
        problem_hparams: HParams | None = None,
        share_body_with: MultiModel | None = None,
    ) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        self.run_decoder = self.target_modality != ModalityType.CLASS_LABEL
        self.default_target_space = int(getattr(problem_hparams, "target_space_id", 0) or 0)
        self.project_inputs = None
        if self.modality_types.get("inputs") in _IMAGE_INPUTS:
            channels = int(getattr(problem_hparams, "num_channels", None) or 3)
            if channels != hp.hidden_size:
                self.project_inputs = ConvBlock(
                    channels, hp.hidden_size, [((1, 1), (3, 3))], first_relu=False,
                    norm_epsilon=hp.norm_epsilon,
                )  # fmt: skip
        self.net = MultiModelBody(hp) if share_body_with is None else None
        self.initialize_parameters()
        if share_body_with is not None:  # attached after the initialisation: kept as it is
            self.net = share_body_with.net

    def _encode(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """inputs [B, S, H] or [B, H_img, W, C] -> (encoded [B, L, 1, H], flat inputs
        [B, L, 1, H], balancing loss [])."""
        if self.project_inputs is not None:
            inputs = self.project_inputs(inputs.float())  # [B, H_img, W, H]
        if inputs.dim() == 4:
            inputs = inputs.flatten(1, 2)  # [B, H_img·W, H]
        inputs = inputs[:, :, None]  # [B, L, 1, H]
        mask = 1.0 - embedding_to_padding(inputs)[..., None]  # [B, L, 1, 1]
        x = add_timing_signal(inputs)
        loss = torch.zeros((), device=x.device)
        for layer in self.net.encoder:
            x, layer_loss = layer(x, mask)
            loss = loss + layer_loss.mean() * self.hparams.moe_loss_coef
        return x, inputs, loss

    def body(self, features: Features) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """inputs [B, S, H] (or image features), targets [B, T, H] -> ([B, T, H], {"extra":
        the experts' balancing loss}); class labels: the encoder output [B, L, H]."""
        encoded, inputs, loss = self._encode(features["inputs"])
        if not self.run_decoder:
            return encoded[:, :, 0], {"extra": loss}
        encoded, inputs = encoded[:, :, 0], inputs[:, :, 0]  # [B, L, H]
        encdec_bias = attn.attention_bias_ignore_padding(embedding_to_padding(inputs))
        targets = features["targets"]
        if targets.dim() == 4:
            targets = targets.flatten(1, 2)  # [B, T, H]
        ids = features.get("target_space_id", self.default_target_space)
        ids = torch.as_tensor(ids, device=targets.device).reshape(-1).long()  # [1 or B]
        space = self.net.target_space_embedding[ids][:, None, :].to(targets.dtype)
        space = space.expand(targets.shape[0], 1, -1)  # [B, 1, H]
        x = torch.cat([space, targets], dim=1)[:, :-1]  # shifted right [B, T, H]
        x = add_timing_signal_1d(x)
        x = F.dropout(x, self.hparams.dropout, self.training)
        causal = attn.attention_bias_lower_triangle(x.shape[1], x.device)
        for layer in self.net.decoder:
            x, layer_loss = layer(x, encoded, causal, encdec_bias)
            loss = loss + layer_loss.mean()
        return x, {"extra": loss}


# The hparams sets live in multimodel_hparams.py; re-exported for T2T's names.
from t2t.models.multimodel_hparams import multimodel_base, multimodel_tiny  # noqa: E402, F401
