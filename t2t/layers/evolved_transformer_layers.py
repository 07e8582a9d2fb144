"""The Evolved Transformer's encoder and decoder stacks (arXiv:1901.11117, T2T's
`models/evolved_transformer.py`), built from the Transformer's layer pieces.

They keep the Transformer stacks' call signatures, so `t2t.models.evolved_transformer`
swaps them into a `Transformer`. Every sublayer is T2T's `layer_preprocess` / sublayer /
`layer_postprocess`, except where noted; a preprocess on a wider state (4H, 2H) has its own
norm of that depth, as T2T's.

Encoder layer: gated linear unit; conv branches (relu dense 4H + relu conv 3x1 to H/2,
summed, normed, separable conv 9x1 to H/2, zero-padded to H); self-attention; dense 4H relu
dense H. Decoder layer: 16-head (twice `num_heads`, at most 16) causal self-attention plus,
beside it, attention to the encoder (their sum with the residual, no postprocess); causal
separable convs 11x1 (relu, to 2H) and 7x1 (to H/2), summed, normed, separable conv 7x1 to
H; self-attention; attention to the encoder; swish dense 4H, a norm, dense H. The convs are
masked at input padding in the encoder (T2T masks the decoder's only for packed data).

Cached decoding keeps, per decoder layer, the last 10 inputs of the first conv branch and
the last 6 of the second: with zeros to start, exactly the causal padding of a full pass.
"""

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.convolutions import Conv2d, SeparableConv2d
from t2t.layers.prepostprocess import PrePostProcess
from t2t.layers.transformer_layers import LayerConfig, Sublayer, _attention, _processors

LEFT_CONV_PADDING = 10  # T2T's _DECODER_LEFT_CONV_PADDING (kernel 11)
RIGHT_CONV_PADDING = 6  # kernel 7
FINAL_CONV_PADDING = 6  # kernel 7


def capped_double_heads(num_heads: int, cap: int = 16) -> int:
    """Twice `num_heads`, at most `cap` (never fewer than `num_heads`)."""
    return max(min(num_heads * 2, cap), num_heads)


def _conv1d(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A channels-first 2-D conv module on a sequence: [B, T, C] -> [B, T', C']."""
    return module(x.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)


def _pad_depth(x: torch.Tensor, depth: int) -> torch.Tensor:
    """Zero-pads the last dim of x [..., C] to `depth`."""
    return F.pad(x, [0, depth - x.shape[-1]])


def _preprocess(cfg: LayerConfig, depth: int) -> PrePostProcess:
    """T2T's `layer_preprocess` on a state of `depth` channels."""
    return PrePostProcess(
        depth,
        cfg.layer_preprocess_sequence,
        cfg.layer_prepostprocess_dropout,
        cfg.norm_type,
        cfg.norm_epsilon,
        cfg.layer_prepostprocess_dropout_broadcast_dims,
    )


class _Residual(nn.Module):
    """pre and post processing around a body the subclass writes (`block`)."""

    def __init__(self, cfg: LayerConfig) -> None:
        super().__init__()
        self.pre, self.post = _processors(cfg)
        self.dropout = cfg.layer_prepostprocess_dropout

    def drop(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.dropout, self.training)


class GatedLinearUnit(_Residual):
    """x + dense(h) * sigmoid(dense(h)), h = pre(x)."""

    def __init__(self, cfg: LayerConfig) -> None:
        super().__init__(cfg)
        self.values = nn.Linear(cfg.hidden_size, cfg.hidden_size)
        self.gates = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, S, H] -> [B, S, H]."""
        h = self.pre(None, x)
        return self.post(x, self.values(h) * torch.sigmoid(self.gates(h)))


class EncoderConvBranches(_Residual):
    """The encoder's conv branches (masked at padding)."""

    def __init__(self, cfg: LayerConfig) -> None:
        super().__init__(cfg)
        size = cfg.hidden_size
        self.left = nn.Linear(size, 4 * size)
        self.right = Conv2d(size, size // 2, (3, 1))
        self.middle = _preprocess(cfg, 4 * size)
        self.final = SeparableConv2d(4 * size, size // 2, (9, 1))

    def forward(self, x: torch.Tensor, nonpadding: torch.Tensor) -> torch.Tensor:
        """x [B, S, H], nonpadding [B, S, 1] -> [B, S, H]."""
        h = self.pre(None, x) * nonpadding
        left = self.drop(torch.relu(self.left(h)))  # [B, S, 4H]
        right = self.drop(torch.relu(_conv1d(self.right, h)))  # [B, S, H/2]
        h = self.middle(None, left + _pad_depth(right, left.shape[-1])) * nonpadding
        return self.post(x, _pad_depth(_conv1d(self.final, h), x.shape[-1]))


class DenseLayers(_Residual):
    """dense 4H (relu in the encoder; swish and a second norm in the decoder), dense H."""

    def __init__(self, cfg: LayerConfig, decoder: bool) -> None:
        super().__init__(cfg)
        size = cfg.hidden_size
        self.decoder = decoder
        self.up, self.down = nn.Linear(size, 4 * size), nn.Linear(4 * size, size)
        self.middle = _preprocess(cfg, 4 * size) if decoder else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, H] -> [B, T, H]."""
        h = self.up(self.pre(None, x))
        h = self.drop(F.silu(h) if self.decoder else torch.relu(h))  # [B, T, 4H]
        if self.middle is not None:
            h = self.middle(None, h)
        return self.post(x, self.down(h))


class EvolvedEncoderLayer(nn.Module):
    """GLU, conv branches, self-attention (if `self_attention`), dense layers."""

    def __init__(self, cfg: LayerConfig, self_attention: bool = True) -> None:
        super().__init__()
        self.glu = GatedLinearUnit(cfg)
        self.conv_branches = EncoderConvBranches(cfg)
        self.self_attention = (
            Sublayer(cfg, _attention(cfg, relative=True)) if self_attention else None
        )
        self.dense = DenseLayers(cfg, decoder=False)

    def forward(self, x, bias, nonpadding):
        """x [B, S, H], bias [B, 1, 1, S], nonpadding [B, S, 1] -> [B, S, H]."""
        x = self.conv_branches(self.glu(x), nonpadding)
        if self.self_attention is not None:
            x = self.self_attention(x, bias=bias)
        return self.dense(x)


class EvolvedTransformerEncoder(nn.Module):
    """The Evolved Transformer's encoder stack (`TransformerEncoder`'s signature).

    Args:
        cfg: layer settings.
        num_layers: layers.
        self_attention: T2T's `et_encoder_self_attention`.
    """

    def __init__(self, cfg: LayerConfig, num_layers: int, self_attention: bool = True) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EvolvedEncoderLayer(cfg, self_attention) for _ in range(num_layers)
        )
        self.final, _ = _processors(cfg)

    def forward(self, x, bias, padding=None):
        """x [B, S, H]; bias [B, 1, 1, S]; padding [B, S] (1.0 = pad) -> [B, S, H]."""
        if padding is None:
            padding = torch.zeros(x.shape[:2], dtype=x.dtype, device=x.device)
        nonpadding = (1.0 - padding).unsqueeze(-1).to(x.dtype)  # [B, S, 1]
        for layer in self.layers:
            x = layer(x, bias, nonpadding)
        return self.final(None, x)


def _causal_input(h: torch.Tensor, padding: int, cache: dict | None, key: str) -> torch.Tensor:
    """h [B, T, C] with `padding` earlier rows in front: zeros in a full pass, the cached
    rows in a decoding step (the cache then keeps the last `padding` rows)."""
    if cache is None:
        return F.pad(h, [0, 0, padding, 0])
    window = torch.cat([cache[key], h], dim=1)  # [N, padding + 1, C]
    cache[key] = window[:, -padding:]
    return window


class DecoderConvBranches(_Residual):
    """The decoder's causal conv branches."""

    def __init__(self, cfg: LayerConfig) -> None:
        super().__init__(cfg)
        size = cfg.hidden_size
        self.left = SeparableConv2d(size, 2 * size, (11, 1), padding="VALID")
        self.right = SeparableConv2d(size, size // 2, (7, 1), padding="VALID")
        self.middle = _preprocess(cfg, 2 * size)
        self.final = SeparableConv2d(2 * size, size, (7, 1), padding="VALID")

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        """x [B, T, H] (T = 1 in a cached step, `cache` {"conv1", "conv2"}) -> [B, T, H]."""
        h = _causal_input(self.pre(None, x), LEFT_CONV_PADDING, cache, "conv1")
        left = self.drop(torch.relu(_conv1d(self.left, h)))  # [B, T, 2H]
        right = _conv1d(self.right, h[:, LEFT_CONV_PADDING - RIGHT_CONV_PADDING :])
        h = self.middle(None, left + _pad_depth(self.drop(right), left.shape[-1]))
        h = _causal_input(h, FINAL_CONV_PADDING, cache, "conv2")
        return self.post(x, _conv1d(self.final, h))


class EvolvedDecoderLayer(nn.Module):
    """16-head attention beside attention to the encoder, conv branches, self-attention,
    attention to the encoder, dense layers."""

    def __init__(self, cfg: LayerConfig, has_encoder: bool) -> None:
        super().__init__()
        wide = dataclasses.replace(cfg, num_heads=capped_double_heads(cfg.num_heads))
        self.pre, self.post = _processors(cfg)
        self.dropout = cfg.layer_prepostprocess_dropout
        self.wide_attention = _attention(wide, relative=True)
        self.first_encdec = _attention(cfg, relative=False) if has_encoder else None
        self.conv_branches = DecoderConvBranches(cfg)
        self.self_attention = Sublayer(cfg, _attention(cfg, relative=True))
        self.encdec_attention = (
            Sublayer(cfg, _attention(cfg, relative=False)) if has_encoder else None
        )
        self.dense = DenseLayers(cfg, decoder=True)

    def _attend(self, attention, x, memory, bias, cache, name):
        """Encoder-decoder attention from x, with the cached keys/values when decoding."""
        if cache is not None and name in cache:
            return attention(x, bias=bias, cache=cache[name], static_kv=True)
        return attention(x, memory, bias=bias)

    def forward(self, x, self_bias, memory=None, memory_bias=None, cache=None):
        """x [B, T, H] -> [B, T, H] (the arguments as `DecoderLayer`'s; cache keys "self16",
        "self", "encdec_first", "encdec", "conv1", "conv2")."""
        h = self.pre(None, x)
        left = self.wide_attention(h, None, self_bias, cache["self16"] if cache else None)
        if self.first_encdec is None:
            x = self.post(x, left)
        else:
            right = self._attend(self.first_encdec, h, memory, memory_bias, cache, "encdec_first")
            drop = self.dropout if self.training else 0.0
            x = x + F.dropout(left, drop) + F.dropout(right, drop)
        x = self.conv_branches(x, cache)
        x = self.self_attention(x, bias=self_bias, cache=cache["self"] if cache else None)
        if self.encdec_attention is not None:
            if cache is not None and "encdec" in cache:
                x = self.encdec_attention(
                    x, bias=memory_bias, cache=cache["encdec"], static_kv=True
                )
            else:
                x = self.encdec_attention(x, memory, bias=memory_bias)
        return self.dense(x)


class EvolvedTransformerDecoder(nn.Module):
    """The Evolved Transformer's decoder stack (`TransformerDecoder`'s signature).

    Args:
        cfg: layer settings.
        num_layers: layers.
        has_encoder: whether layers attend to an encoder output.
    """

    def __init__(self, cfg: LayerConfig, num_layers: int, has_encoder: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EvolvedDecoderLayer(cfg, has_encoder) for _ in range(num_layers)
        )
        self.final, _ = _processors(cfg)

    def forward(self, x, self_bias, memory=None, memory_bias=None, cache=None):
        """x [B, T, H] -> [B, T, H]; cache {"layer_i": {...}} in a decoding step."""
        for i, layer in enumerate(self.layers):
            layer_cache = cache[f"layer_{i}"] if cache is not None else None
            x = layer(x, self_bias, memory, memory_bias, layer_cache)
        return self.final(None, x)
