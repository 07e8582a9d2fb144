"""Transformer encoder and decoder stacks with T2T's layer pre/post-processing.

Each sublayer (self-attention, encoder-decoder attention, feed-forward) is wrapped as
T2T's `layer_preprocess` / `layer_postprocess`: y = sublayer(pre(x)); x = post(x, y). With
the v1 sequences ("none", "dan") this is the post-norm Transformer; with v2+ ("n", "da")
the pre-norm one. After each stack the preprocess sequence runs once more (a final layer
norm for "n"). Arguments are plain values; `from_hparams` helpers live with the models.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.attention import MultiheadAttention
from t2t.layers.ffn import ConvReluConv, DenseReluDense
from t2t.layers.mixture_of_experts import MoEFeedForward
from t2t.layers.parameter_attention import ParameterAttention
from t2t.layers.prepostprocess import PrePostProcess
from t2t.layers.sru import SRU


@dataclass
class LayerConfig:
    """Plain settings shared by every layer of a Transformer stack (T2T hparam names)."""

    hidden_size: int
    filter_size: int
    num_heads: int
    key_depth: int = 0  # 0: hidden_size
    value_depth: int = 0  # 0: hidden_size
    layer_preprocess_sequence: str = "n"
    layer_postprocess_sequence: str = "da"
    layer_prepostprocess_dropout: float = 0.0
    layer_prepostprocess_dropout_broadcast_dims: Sequence[int] = field(default_factory=list)
    attention_dropout: float = 0.0
    attention_dropout_broadcast_dims: Sequence[int] = field(default_factory=list)
    relu_dropout: float = 0.0
    relu_dropout_broadcast_dims: Sequence[int] = field(default_factory=list)
    norm_type: str = "layer"
    norm_epsilon: float = 1e-6
    ffn_layer: str = "dense_relu_dense"
    conv_first_kernel: int = 3  # width of the first conv of "conv_relu_conv"
    max_relative_position: int = 0  # > 0: relative self-attention
    use_pad_remover: bool = True
    moe: dict = field(default_factory=dict)  # ffn_layer local_moe(_tpu): MoEFeedForward args
    parameter_attention_key_depth: int = 0  # ffn_layer parameter_attention; 0: hidden_size
    parameter_attention_value_depth: int = 0


def _processors(cfg: LayerConfig) -> tuple[PrePostProcess, PrePostProcess]:
    args = dict(
        depth=cfg.hidden_size,
        dropout=cfg.layer_prepostprocess_dropout,
        norm_type=cfg.norm_type,
        norm_epsilon=cfg.norm_epsilon,
        broadcast_dims=cfg.layer_prepostprocess_dropout_broadcast_dims,
    )
    return (
        PrePostProcess(sequence=cfg.layer_preprocess_sequence, **args),
        PrePostProcess(sequence=cfg.layer_postprocess_sequence, **args),
    )


def _attention(cfg: LayerConfig, relative: bool) -> MultiheadAttention:
    hidden = cfg.hidden_size
    return MultiheadAttention(
        query_depth=hidden,
        memory_depth=hidden,
        key_depth=cfg.key_depth or hidden,
        value_depth=cfg.value_depth or hidden,
        output_depth=hidden,
        num_heads=cfg.num_heads,
        dropout=cfg.attention_dropout,
        dropout_broadcast_dims=cfg.attention_dropout_broadcast_dims,
        max_relative_position=cfg.max_relative_position if relative else 0,
    )


def _ffn(cfg: LayerConfig, padding: str = "SAME") -> nn.Module:
    """The FFN sublayer; `padding` is the conv_relu_conv padding (encoder SAME, decoder LEFT)."""
    if cfg.ffn_layer == "conv_relu_conv":
        return ConvReluConv(
            cfg.hidden_size,
            cfg.filter_size,
            cfg.conv_first_kernel,
            padding,
            cfg.relu_dropout,
            cfg.relu_dropout_broadcast_dims,
        )
    if cfg.ffn_layer in ("local_moe", "local_moe_tpu"):
        return MoEFeedForward(cfg.ffn_layer, cfg.hidden_size, cfg.filter_size, **cfg.moe)
    if cfg.ffn_layer == "sru":
        return SRU(cfg.hidden_size)
    if cfg.ffn_layer == "parameter_attention":
        hidden = cfg.hidden_size
        return ParameterAttention(
            hidden,
            cfg.parameter_attention_key_depth or hidden,
            cfg.parameter_attention_value_depth or hidden,
            hidden,
            cfg.filter_size,
            cfg.num_heads,
            cfg.attention_dropout,
        )
    if cfg.ffn_layer == "none":
        return nn.Identity()
    if cfg.ffn_layer not in ("dense_relu_dense", "conv_hidden_relu"):
        raise HParamsError(
            f"ffn_layer {cfg.ffn_layer!r} is not supported; use dense_relu_dense "
            "(alias conv_hidden_relu), conv_relu_conv, local_moe, local_moe_tpu, "
            "parameter_attention, sru or none"
        )
    return DenseReluDense(
        cfg.hidden_size, cfg.filter_size, cfg.relu_dropout, cfg.relu_dropout_broadcast_dims
    )


class Sublayer(nn.Module):
    """One wrapped sublayer: x = post(x, sublayer(pre(x), ...))."""

    def __init__(self, cfg: LayerConfig, sublayer: nn.Module) -> None:
        super().__init__()
        self.pre, self.post = _processors(cfg)
        self.sublayer = sublayer

    def forward(self, x: torch.Tensor, *args, mask: torch.Tensor | None = None, **kwargs):
        """x: [B, T, H]; mask: optional [B, T, 1] multiplied into the sublayer output."""
        y = self.sublayer(self.pre(None, x), *args, **kwargs)
        if mask is not None:
            y = y * mask
        return self.post(x, y)


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward (T2T `encoder/layer_i`)."""

    def __init__(self, cfg: LayerConfig) -> None:
        super().__init__()
        self.self_attention = Sublayer(cfg, _attention(cfg, relative=True))
        self.ffn = Sublayer(cfg, _ffn(cfg, "SAME"))
        self.use_pad_remover = cfg.use_pad_remover

    def forward(self, x, bias, nonpadding=None):
        """One encoder layer, as T2T's `encoder/layer_i`.

        Args:
            x: [B, S, H] layer input.
            bias: self-attention bias broadcastable to [B, heads, S, S] (usually [B, 1, 1, S]).
            nonpadding: optional [B, S, 1], 1.0 at real positions; zeroes the FFN output at pads
                (what T2T's PadRemover amounts to).

        Returns:
            [B, S, H].
        """
        x = self.self_attention(x, bias=bias)
        if isinstance(self.ffn.sublayer, ConvReluConv):
            # T2T zeroes the pads of the conv's input (no PadRemover for this FFN).
            return self.ffn(x, nonpadding=nonpadding)
        # T2T's PadRemover drops pads before the FFN and restores them as zeros.
        return self.ffn(x, mask=nonpadding if self.use_pad_remover else None)


class DecoderLayer(nn.Module):
    """Self-attention, encoder-decoder attention (when there is an encoder), feed-forward."""

    def __init__(self, cfg: LayerConfig, has_encoder: bool) -> None:
        super().__init__()
        self.self_attention = Sublayer(cfg, _attention(cfg, relative=True))
        self.encdec_attention = (
            Sublayer(cfg, _attention(cfg, relative=False)) if has_encoder else None
        )
        self.ffn = Sublayer(cfg, _ffn(cfg, "LEFT"))

    def forward(self, x, self_bias, memory=None, memory_bias=None, cache=None):
        """One decoder layer, as T2T's `decoder/layer_i`.

        Args:
            x: [B, T, H] layer input (T = 1 during a cached decoding step).
            self_bias: causal bias broadcastable to [B, heads, T, T(+cached)].
            memory: [B, S, H] encoder output, or None (no encoder, or cached "encdec").
            memory_bias: bias broadcastable to [B, heads, T, S], or None.
            cache: {"self": SelfAttentionCache or {"k", "v"}, "encdec": {"k", "v"}, and for
                conv_relu_conv "ffn": {"f": the last inputs}} for incremental decoding,
                updated in place; None for a full forward pass.

        Returns:
            [B, T, H].
        """
        self_cache = cache["self"] if cache is not None else None
        x = self.self_attention(x, bias=self_bias, cache=self_cache)
        if self.encdec_attention is not None:
            if cache is not None and "encdec" in cache:
                x = self.encdec_attention(
                    x, bias=memory_bias, cache=cache["encdec"], static_kv=True
                )
            else:
                x = self.encdec_attention(x, memory, bias=memory_bias)
        if cache is not None and "ffn" in cache:  # conv_relu_conv: the last inputs
            return self.ffn(x, cache=cache["ffn"])
        return self.ffn(x)


class TransformerEncoder(nn.Module):
    """T2T's `transformer_encoder`: a stack of EncoderLayers and a final preprocess.

    Args:
        cfg: layer settings.
        num_layers: number of layers.
    """

    def __init__(self, cfg: LayerConfig, num_layers: int) -> None:
        super().__init__()
        self.use_pad_remover = cfg.use_pad_remover
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(num_layers))
        self.final, _ = _processors(cfg)

    def forward(
        self, x: torch.Tensor, bias: torch.Tensor, padding: torch.Tensor | None = None
    ) -> torch.Tensor:
        """x: [B, S, H]; bias: [B, 1, 1, S] or [1, 1, S, S]; padding: [B, S] (1.0 = pad)."""
        nonpadding = None
        if padding is not None:
            nonpadding = (1.0 - padding).unsqueeze(-1).to(x.dtype)  # [B, S, 1]
        for layer in self.layers:
            x = layer(x, bias, nonpadding)
        return self.final(None, x)


class TransformerDecoder(nn.Module):
    """T2T's `transformer_decoder`: DecoderLayers and a final preprocess.

    Args:
        cfg: layer settings.
        num_layers: number of layers.
        has_encoder: whether layers attend to an encoder output (False for language models).
    """

    def __init__(self, cfg: LayerConfig, num_layers: int, has_encoder: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(DecoderLayer(cfg, has_encoder) for _ in range(num_layers))
        self.final, _ = _processors(cfg)

    def forward(
        self,
        x: torch.Tensor,
        self_bias: torch.Tensor | None,
        memory: torch.Tensor | None = None,
        memory_bias: torch.Tensor | None = None,
        cache: dict | None = None,
    ) -> torch.Tensor:
        """Runs the decoder stack and the final preprocess.

        Args:
            x: [B, T, H] embedded targets (T = 1 during a cached decoding step).
            self_bias: causal bias broadcastable to [B, heads, T, T(+cached)], e.g.
                [1, 1, T, T]; None for no mask.
            memory: [B, S, H] encoder output, or None.
            memory_bias: bias broadcastable to [B, heads, T, S] (usually [B, 1, 1, S]).
            cache: {"layer_i": {"self": {...}, "encdec": {...}}} for incremental decoding,
                updated in place; None for a full forward pass.

        Returns:
            [B, T, H].
        """
        for i, layer in enumerate(self.layers):
            layer_cache = cache[f"layer_{i}"] if cache is not None else None
            x = layer(x, self_bias, memory, memory_bias, layer_cache)
        return self.final(None, x)
