"""transformer_moe: T2T's Transformer whose layers are spelled by a string (`transformer_moe.py`).

`layer_types` = "<encoder>#<decoder>": layers separated by "/", each "att-ff" (encoder) or
"self_att-encdec_att-ff" (decoder), empty parts taking `default_att` / `default_ff`; one
part only means the same string for both sides; an empty encoder (or a `prepend_mode`) means
a decoder-only model. Attention types: "a" (multi-head), "mem" (the same, T2T recomputes it
in the backward pass), "loc"/"locm" (local attention over blocks of
`attention_loc_block_length`, unmasked with `attention_loc_block_width` on each side /
masked: the block and the one before), "red"/"redm" (memory-compressed: keys and values
from a strided convolution of factor `attention_red_factor`). Feed-forward types: "fc"
(dense-ReLU-dense), "sep"/"sepm" (separable convolutions 3 then 31 wide, unmasked /
causal) and "moe" (a `LocalMoE` with moe_* hparams).

Departures, where T2T 1.15.7 fails: its layer table has no "moe" entry (KeyError) and its
"redm" mask is laid out [keys, queries]; t2t builds both as their authors meant. Local
attention uses exact band masks (T2T pads the length to whole blocks with zero keys).
"""

import torch
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import attention as attn
from t2t.layers import transformer_layers as tl
from t2t.layers.attention import MultiheadAttention
from t2t.layers.ffn import DenseReluDense
from t2t.layers.mixture_of_experts import LocalMoE
from t2t.layers.sepconv import SepconvReluSepconv
from t2t.layers.sequence_ops import embedding_to_padding, shift_right
from t2t.models.research.attention_lm import lm_layer_config
from t2t.models.t2t_model import Features, T2TModel
from t2t.models.transformer import _Positions

ATTENTION_TYPES = ("a", "mem", "loc", "locm", "red", "redm")
FFN_TYPES = ("fc", "sep", "sepm", "moe")


def parse_layer_types(hparams: HParams) -> tuple[list[tuple], list[tuple]]:
    """T2T's `_extract_layer_types`: ([(att, ff)] encoder, [(self, encdec, ff)] decoder)."""
    hp = hparams
    spec = hp.layer_types or "/".join([hp.default_att] * hp.num_hidden_layers)
    parts = spec.split("#")
    if len(parts) == 1:
        parts *= 2
    if hp.prepend_mode != "none":
        parts[0] = ""
    encoder: list[tuple] = []
    decoder: list[tuple] = []
    for side, joined in enumerate(parts[:2]):
        for block in filter(None, joined.split("/")):
            names = block.split("-")
            ff = names[-1] if len(names) > 1 else hp.default_ff
            encdec = names[1] if len(names) == 3 else (hp.default_att if parts[0] else "_")
            entry = (names[0] or hp.default_att, ff)
            decoder.append((entry[0], encdec, ff)) if side else encoder.append(entry)
    return encoder, decoder


class LocalOrReducedAttention(nn.Module):
    """Self-attention of one of T2T's standardized types, with its own masking.

    Args:
        kind: one of ATTENTION_TYPES.
        hparams: the transformer_moe hparams.
    """

    def __init__(self, kind: str, hparams: HParams) -> None:
        super().__init__()
        if kind not in ATTENTION_TYPES:
            raise HParamsError(f"unknown attention type {kind!r}; use one of {ATTENTION_TYPES}")
        hp, size = hparams, hparams.hidden_size
        self.kind = kind
        self.block_length = hp.attention_loc_block_length
        self.block_width = hp.attention_loc_block_width
        self.factor = hp.attention_red_factor
        self.silu = hp.attention_red_nonlinearity == "silu"
        self.attention = MultiheadAttention(
            size,
            size,
            hp.attention_key_channels or size,
            hp.attention_value_channels or size,
            size,
            hp.num_heads,
            hp.attention_dropout,
        )
        self.reduce = None
        if kind in ("red", "redm"):
            if hp.attention_red_type != "conv":
                raise HParamsError("attention_red_type must be conv")
            self.reduce = nn.Conv1d(size, size, self.factor, stride=self.factor)  # [H, H, f]

    def forward(self, x: torch.Tensor, memory=None, bias=None) -> torch.Tensor:
        """x [B, T, H] (memory: encoder output for "a") -> [B, T, H]."""
        if self.kind in ("a", "mem"):
            return self.attention(x, memory, bias=bias)
        if self.reduce is None:  # loc / locm: T2T ignores the given bias
            return self.attention(x, bias=self._band(x.shape[1], x.device))
        reduced = self.reduce(x.transpose(1, 2)).transpose(1, 2)  # [B, T // f, H]
        if self.silu:
            reduced = reduced * torch.sigmoid(reduced)
        memory = torch.cat([x[:, :1], reduced], dim=1)  # [B, 1 + T // f, H]
        red_bias = None
        if self.kind == "redm":  # query q sees compressed position k when k * f <= q
            q = torch.arange(x.shape[1], device=x.device)[:, None]
            k = torch.arange(memory.shape[1], device=x.device)[None, :]
            red_bias = ((k * self.factor) > q).float()[None, None] * attn.NEG_INF
        return self.attention(x, memory, bias=red_bias)

    def _band(self, length: int, device) -> torch.Tensor:
        """[1, 1, T, T] bias of local attention over blocks."""
        q = torch.arange(length, device=device)[:, None]
        k = torch.arange(length, device=device)[None, :]
        start = (q // self.block_length) * self.block_length
        if self.kind == "locm":  # its block and the previous one, causal
            allowed = (k >= start - self.block_length) & (k <= q)
        else:
            allowed = (k >= start - self.block_width) & (
                k < start + self.block_length + self.block_width
            )
        return (~allowed).float()[None, None] * attn.NEG_INF


class _MoEFFN(nn.Module):
    """A LocalMoE feed-forward that leaves its balancing loss in `aux_loss`."""

    def __init__(self, hparams: HParams) -> None:
        super().__init__()
        hp = hparams
        self.moe = LocalMoE(
            hp.hidden_size, [hp.filter_size], hp.hidden_size, hp.moe_num_experts, hp.moe_k,
            hp.moe_loss_coef,
        )  # fmt: skip
        self.aux_loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, H] -> [B, T, H]."""
        y, loss = self.moe(x)
        self.aux_loss = loss if self.aux_loss is None else self.aux_loss + loss
        return y


def _ffn(kind: str, hparams: HParams) -> nn.Module:
    hp = hparams
    if kind == "fc":
        return DenseReluDense(hp.hidden_size, hp.filter_size, hp.relu_dropout)
    if kind in ("sep", "sepm"):
        padding = "LEFT" if kind == "sepm" else "SAME"
        return SepconvReluSepconv(
            hp.hidden_size, hp.filter_size, hp.hidden_size, 3, 31, padding, hp.relu_dropout
        )
    if kind == "moe":
        return _MoEFFN(hp)
    raise HParamsError(f"unknown feed-forward type {kind!r}; use one of {FFN_TYPES}")


@registry.register_model
class TransformerMoe(T2TModel):
    """The Transformer with per-layer attention and feed-forward types (see module doc).

    Args:
        hparams: a transformer_moe set.
        problem_hparams: the problem's hparams.
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp, cfg = self.hparams, lm_layer_config(self.hparams)
        encoder_types, decoder_types = parse_layer_types(hp)
        if not self.has_input:
            encoder_types = []
        self.encoder = nn.ModuleList(
            nn.ModuleList(
                [tl.Sublayer(cfg, LocalOrReducedAttention(a, hp)), tl.Sublayer(cfg, _ffn(f, hp))]
            )
            for a, f in encoder_types
        )
        self.decoder = nn.ModuleList(
            nn.ModuleList(
                [tl.Sublayer(cfg, LocalOrReducedAttention(s, hp))]
                + ([tl.Sublayer(cfg, LocalOrReducedAttention(e, hp))] if encoder_types else [])
                + [tl.Sublayer(cfg, _ffn(f, hp))]
            )
            for s, e, f in decoder_types
        )
        self.encoder_final = tl.Sublayer(cfg, nn.Identity()).pre if encoder_types else None
        self.decoder_final = tl.Sublayer(cfg, nn.Identity()).pre
        self.target_space_embedding = None
        if encoder_types:
            self.target_space_embedding = nn.Parameter(torch.zeros(32, hp.hidden_size))
        self.positions = _Positions(hp.pos, hp.hidden_size, hp.max_length)
        self.dropout = nn.Dropout(hp.layer_prepostprocess_dropout)
        self.initialize_parameters()

    def _encode(self, inputs: torch.Tensor, target_space) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs [B, S, H] -> (memory [B, S, H], padding bias [B, 1, 1, S])."""
        bias = attn.attention_bias_ignore_padding(embedding_to_padding(inputs))
        if target_space is None:
            target_space = getattr(self.problem_hparams, "target_space_id", 0)
        ids = torch.as_tensor(target_space, device=inputs.device).reshape(-1).long()  # [1 or B]
        x = inputs + self.target_space_embedding[ids][:, None, :]  # [B, S, H]
        x = self.dropout(self.positions(x))
        for attention, ffn in self.encoder:
            x = ffn(attention(x, bias=bias))
        return self.encoder_final(None, x), bias

    def body(self, features: Features) -> torch.Tensor:
        """{"inputs": [B, S, H], "targets": [B, T, H]} -> [B, T, H] (+ "moe_loss" collected
        by the base class when a layer is "moe")."""
        memory = memory_bias = None
        if self.encoder_final is not None:
            memory, memory_bias = self._encode(features["inputs"], features.get("target_space_id"))
        targets = features["targets"]
        causal = attn.attention_bias_lower_triangle(targets.shape[1], targets.device)
        x = self.dropout(self.positions(shift_right(targets)))
        for layer in self.decoder:
            x = layer[0](x, bias=causal)
            if memory is not None:
                x = layer[1](x, memory, bias=memory_bias)
            x = layer[-1](x)
        return self.decoder_final(None, x)
