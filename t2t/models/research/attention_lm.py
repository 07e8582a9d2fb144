"""attention_lm: T2T's decoder-only attention language model (`attention_lm.py`).

A stack of self-attention + feed-forward layers (t2t's Transformer decoder layers without
encoder-decoder attention) over the targets shifted right, sinusoid positions when
`pos="timing"`. With `prepend_mode` the problem puts the inputs before the targets; under
"prepend_inputs_full_attention" the inputs part attends both ways. T2T decodes it through
the slow path, and so does t2t. Sets: `attention_lm_hparams`.
"""

import torch

from t2t import registry
from t2t.hparams import HParams
from t2t.layers import attention as attn
from t2t.layers import transformer_layers as tl
from t2t.layers.dropout import dropout_with_broadcast_dims, parse_broadcast_dims
from t2t.layers.sequence_ops import embedding_to_padding, shift_right
from t2t.layers.timing_signal import add_timing_signal_1d
from t2t.models.t2t_model import Features, T2TModel


def lm_layer_config(hparams: HParams) -> tl.LayerConfig:
    """The layer settings of an attention_lm set (it has no Transformer-only hparams)."""
    hp = hparams
    return tl.LayerConfig(
        hidden_size=hp.hidden_size,
        filter_size=hp.filter_size,
        num_heads=hp.num_heads,
        key_depth=hp.attention_key_channels,
        value_depth=hp.attention_value_channels,
        layer_preprocess_sequence=hp.layer_preprocess_sequence,
        layer_postprocess_sequence=hp.layer_postprocess_sequence,
        layer_prepostprocess_dropout=hp.layer_prepostprocess_dropout,
        layer_prepostprocess_dropout_broadcast_dims=parse_broadcast_dims(
            hp.layer_prepostprocess_dropout_broadcast_dims
        ),
        attention_dropout=hp.attention_dropout,
        relu_dropout=hp.relu_dropout,
        norm_type=hp.norm_type,
        norm_epsilon=hp.norm_epsilon,
    )


def lm_self_bias(targets: torch.Tensor, prepend_mode: str) -> torch.Tensor:
    """Causal bias [1, 1, T, T], or T2T's prepend-full-attention bias [B, 1, T, T]."""
    if prepend_mode == "prepend_inputs_full_attention":
        return attn.attention_bias_prepend_inputs_full_attention(embedding_to_padding(targets))
    return attn.attention_bias_lower_triangle(targets.shape[1], targets.device)


@registry.register_model("attention_lm")
class AttentionLM(T2TModel):
    """Decoder-only attention language model.

    Args:
        hparams: an attention_lm set.
        problem_hparams: the problem's hparams (only "targets" is read).
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        self.decoder = tl.TransformerDecoder(lm_layer_config(hp), hp.num_hidden_layers, False)
        self.initialize_parameters()

    def body(self, features: Features) -> torch.Tensor:
        """{"targets": [B, T, H]} -> [B, T, H]."""
        hp = self.hparams
        targets = features["targets"]
        bias = lm_self_bias(targets, hp.prepend_mode)
        x = shift_right(targets)  # [B, T, H]
        if hp.pos == "timing":
            x = add_timing_signal_1d(x)
        dims = parse_broadcast_dims(hp.layer_prepostprocess_dropout_broadcast_dims)
        x = dropout_with_broadcast_dims(x, hp.layer_prepostprocess_dropout, dims, self.training)
        return self.decoder(x, bias)
