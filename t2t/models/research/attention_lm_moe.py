"""attention_lm_moe: T2T's attention language model with mixtures of experts
(`models/research/attention_lm_moe.py`).

A decoder-only stack over the targets shifted right (sinusoid positions when
`pos="timing"`), each layer a self-attention and a feed-forward sublayer with T2T's
pre/post-processing. Per layer (`attention_layers`, one symbol a layer, else
`attention_type` for all `num_hidden_layers`):

- "h" multihead: multi-head attention, causal; with `attention_local`, local attention
  over blocks of `attention_block_length` (a block and the one before, causal).
- "f" multihead_full: multi-head attention even when `attention_local`.
- "e" local_experts: a mixture of self-attention experts (t2t.layers.attention_experts).
  In training the padding is removed first (T2T's PadRemover), so pads take no part in
  the gating; with `attention_exp_factor` f > 0 each token becomes f tokens of
  `attention_exp_inputdim` (a strided transposed convolution) before the experts and is
  merged back after them (a strided convolution). The balancing loss goes to "moe_loss".
- "m" memory_efficient: t2t.layers.memory_efficient (its own layer norm, no preprocess).
- "s", "t" (LSH "sparse" attention) and "r" (reduced): T2T's experimental types that no
  registered set selects; t2t raises an HParamsError naming them.

Feed-forward: for a layer listed in `moe_layers`, a `LocalMoE` (moe_num_experts experts
with hidden layers `moe_hidden_sizes`, moe_k per token, loss moe_loss_coef), its experts
on diet variables (t2t.layers.diet) when `diet_experts`; else the memory-efficient
feed-forward when `memory_efficient_ffn`; else separable convolutions (3 then 31 wide,
causal) when `use_sepconv`; else dense-ReLU-dense. With `use_inputs` the model maps
"inputs" to "targets" of the same length without masks (the unscramble set).

Departures from T2T 1.15.7: its body never reads `moe_layers` (older T2T built a
mixture-of-experts feed-forward there, and its docstrings' "~229M" / "~312M" parameter
counts include it); t2t builds it, as the authors meant. 1.15.7's local_experts layers
fail to build (its `local_moe` reads `hparams.gating_type` of the None it is given); t2t
builds them with T2T's noisy top-k gating. Padding is removed before attention experts in
training only: outside training T2T removed it in eval but not in predict, which t2t
cannot tell apart; pads come after a sequence's tokens, so its outputs are the same.
T2T decodes this model through the slow path, and so does t2t.
"""

import torch
import torch.nn.functional as F
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import attention as attn
from t2t.layers import transformer_layers as tl
from t2t.layers.attention import MultiheadAttention
from t2t.layers.attention_experts import LocalExpertAttention
from t2t.layers.diet import DietExperts
from t2t.layers.ffn import DenseReluDense
from t2t.layers.memory_efficient import MemoryEfficientFeedForward, MemoryEfficientSelfAttention
from t2t.layers.mixture_of_experts import LocalMoE
from t2t.layers.prepostprocess import PrePostProcess
from t2t.layers.sepconv import SepconvReluSepconv
from t2t.layers.sequence_ops import embedding_to_padding, shift_right
from t2t.layers.timing_signal import add_timing_signal_1d
from t2t.models.research.attention_lm import lm_layer_config, lm_self_bias
from t2t.models.t2t_model import Features, T2TModel

LAYER_SYMBOLS = {
    "h": "multihead",
    "e": "local_experts",
    "m": "memory_efficient",
    "s": "sparse_multihead",
    "t": "sparse_multihead_truncated",
    "r": "multihead_reduced",
    "f": "multihead_full",
}
SUPPORTED = ("multihead", "multihead_full", "local_experts", "memory_efficient")


def layer_attention_types(hparams: HParams) -> list[str]:
    """The attention type of every layer (`attention_layers` symbols or `attention_type`)."""
    hp = hparams
    if hp.attention_layers:
        unknown = sorted(set(hp.attention_layers) - set(LAYER_SYMBOLS))
        if unknown:
            raise HParamsError(f"attention_layers symbols {unknown} unknown; use {LAYER_SYMBOLS}")
        kinds = [LAYER_SYMBOLS[s] for s in hp.attention_layers]
    else:
        kinds = [hp.attention_type] * hp.num_hidden_layers
    for kind in kinds:
        if kind not in SUPPORTED:
            raise HParamsError(
                f"attention type {kind!r} is not available in t2t: T2T's LSH-sparse and reduced "
                "attentions were experiments no registered set selects; use one of "
                f"{SUPPORTED}"
            )
    return kinds


def local_mask_right_bias(length: int, block_length: int, device=None) -> torch.Tensor:
    """[1, 1, T, T] bias of T2T's "local_mask_right": a query sees its block and the block
    before, never a later position."""
    q = torch.arange(length, device=device)[:, None]
    k = torch.arange(length, device=device)[None, :]
    allowed = (k <= q) & (k >= (q // block_length) * block_length - block_length)
    return (~allowed).float()[None, None] * attn.NEG_INF


class ExpertAttentionSublayer(nn.Module):
    """Attention experts over the flattened (and, in training, unpadded) tokens of a batch;
    the balancing loss of the last forward pass is left in `aux_loss`.

    Args:
        hparams: an attention_lm_moe set.
    """

    def __init__(self, hparams: HParams) -> None:
        super().__init__()
        hp, depth = hparams, hparams.hidden_size
        self.factor = hp.attention_exp_factor
        inner = hp.attention_exp_inputdim if self.factor else depth
        self.expand = self.compress = None
        if self.factor:
            self.expand = nn.ConvTranspose1d(depth, inner, self.factor, stride=self.factor)
            self.compress = nn.Conv1d(inner, depth, self.factor, stride=self.factor)
        self.experts = LocalExpertAttention(
            inner,
            hp.attention_num_experts,
            hp.attention_moe_k,
            hp.attention_load_balance,
            hp.attention_num_head,
            hp.attention_kq_size,
            hp.attention_v_size,
            mask_right=not hp.use_inputs,
        )
        self.aux_loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, T, D], keep [B, T] (False: a pad to remove, or None) -> [B, T, D]."""
        batch, length, depth = x.shape
        rows = torch.arange(batch, device=x.device).repeat_interleave(length)  # [B*T]
        flat = x.reshape(batch * length, depth)  # [B*T, D]
        if keep is not None:
            keep = keep.reshape(-1)
            flat, rows = flat[keep], rows[keep]  # [N, D], [N]
        if self.expand is not None:
            flat = self.expand(flat.t()[None])[0].t()  # [N*f, inner]
            rows = rows.repeat_interleave(self.factor)
        y, loss = self.experts(flat, rows)
        if self.compress is not None:
            y = self.compress(y.t()[None])[0].t()  # [N, D]
        self.aux_loss = loss if self.aux_loss is None else self.aux_loss + loss
        if keep is None:
            return y.reshape(batch, length, depth)
        out = x.new_zeros(batch * length, depth)
        out[keep] = y.to(out.dtype)
        return out.reshape(batch, length, depth)


class MoEFeedForward(nn.Module):
    """A LocalMoE feed-forward (diet experts optional) leaving its loss in `aux_loss`.

    Args:
        hparams: an attention_lm_moe set.
    """

    def __init__(self, hparams: HParams) -> None:
        super().__init__()
        hp, depth = hparams, hparams.hidden_size
        sizes = [int(s) for s in str(hp.moe_hidden_sizes).split(",") if s.strip()]
        experts = None
        if hp.diet_experts:
            if len(sizes) != 1:
                raise HParamsError("diet_experts needs one moe_hidden_sizes value")
            experts = DietExperts(hp.moe_num_experts, depth, sizes[0])
        self.moe = LocalMoE(
            depth, sizes, depth, hp.moe_num_experts, hp.moe_k, hp.moe_loss_coef, experts
        )
        for weight in getattr(self.moe.experts, "weights", []):
            weight._t2t_per_expert = True  # T2T: one [d_in, d_out] variable per expert
        self.aux_loss: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> [B, T, D]."""
        y, loss = self.moe(x)
        self.aux_loss = loss if self.aux_loss is None else self.aux_loss + loss
        return y


def _attention(kind: str, hp: HParams) -> nn.Module:
    size = hp.hidden_size
    if kind == "local_experts":
        return ExpertAttentionSublayer(hp)
    if kind == "memory_efficient":
        return MemoryEfficientSelfAttention(size, hp.num_heads)
    return MultiheadAttention(
        size,
        size,
        hp.attention_key_channels or size,
        hp.attention_value_channels or size,
        size,
        hp.num_heads,
        hp.attention_dropout,
    )


def _ffn(moe: bool, hp: HParams) -> nn.Module:
    if moe:
        return MoEFeedForward(hp)
    if hp.memory_efficient_ffn:
        return MemoryEfficientFeedForward(hp.hidden_size, hp.filter_size)
    if hp.use_sepconv:
        return SepconvReluSepconv(
            hp.hidden_size, hp.filter_size, hp.hidden_size, 3, 31, "LEFT", hp.relu_dropout
        )
    return DenseReluDense(hp.hidden_size, hp.filter_size, hp.relu_dropout)


def _sublayer(cfg: tl.LayerConfig, module: nn.Module, preprocess: bool) -> tl.Sublayer:
    sub = tl.Sublayer(cfg, module)
    if not preprocess:  # the memory-efficient layers normalise inside
        sub.pre = PrePostProcess(cfg.hidden_size, "none", 0.0)
    return sub


@registry.register_model
class AttentionLmMoe(T2TModel):
    """Attention language model with mixtures of experts (see the module docstring).

    Args:
        hparams: an attention_lm_moe set.
        problem_hparams: the problem's hparams.
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp, cfg = self.hparams, lm_layer_config(self.hparams)
        self.kinds = layer_attention_types(hp)
        moe_layers = {int(s) for s in str(hp.moe_layers).split(",") if s.strip()}
        self.layers = nn.ModuleList()
        for i, kind in enumerate(self.kinds):
            memeff_ffn = hp.memory_efficient_ffn and i not in moe_layers
            memeff = kind == "memory_efficient" or memeff_ffn
            if memeff and hp.layer_preprocess_sequence != "n":  # T2T asserts the same
                raise HParamsError("memory-efficient layers need layer_preprocess_sequence='n'")
            attention = _sublayer(cfg, _attention(kind, hp), kind != "memory_efficient")
            ffn = _sublayer(cfg, _ffn(i in moe_layers, hp), not memeff_ffn)
            self.layers.append(nn.ModuleList([attention, ffn]))
        self.final = PrePostProcess(
            hp.hidden_size, hp.layer_preprocess_sequence, 0.0, hp.norm_type, hp.norm_epsilon
        )
        self.initialize_parameters()

    def _attention_bias(self, kind: str, bias, length: int, device):
        hp = self.hparams
        if kind == "multihead" and hp.attention_local:
            return local_mask_right_bias(length, hp.attention_block_length, device)
        return bias

    def body(self, features: Features) -> torch.Tensor:
        """{"targets": [B, T, H]} (or {"inputs": [B, T, H]} with use_inputs) -> [B, T, H]
        (+ "moe_loss" collected by the base class)."""
        hp = self.hparams
        keep = None
        if hp.use_inputs:
            x, bias = features["inputs"], None
        else:
            targets = features["targets"]
            bias = lm_self_bias(targets, hp.prepend_mode)
            if self.training:  # T2T's PadRemover before attention experts
                keep = embedding_to_padding(targets) == 0  # [B, T]
            x = shift_right(targets)  # [B, T, H]
            if hp.pos == "timing":
                x = add_timing_signal_1d(x)
        x = F.dropout(x, hp.layer_prepostprocess_dropout, self.training)
        length = x.shape[1]
        for kind, (attention, ffn) in zip(self.kinds, self.layers, strict=True):
            if kind == "local_experts":
                x = attention(x, keep)
            else:
                x = attention(x, bias=self._attention_bias(kind, bias, length, x.device))
            x = ffn(x)
        return self.final(None, x)
