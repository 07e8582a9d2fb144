"""The Evolved Transformer (T2T's `models/evolved_transformer.py`, arXiv:1901.11117).

Its hparams sets are in `t2t.models.evolved_transformer_hparams` (re-exported here).

A `Transformer` whose encoder and decoder stacks are the Evolved Transformer's
(`t2t.layers.evolved_transformer_layers`); embedding, positions, target-space embedding,
biases and the body are the Transformer's. Fast decoding follows the decoding protocol as
the Transformer's does, with two self-attention caches per decoder layer (the 16-head and
the plain one) and the conv branches' last inputs.

`num_trainable_top_decoder_layers` = N >= 0 (T2T: fine-tuning) freezes every parameter but
the top N decoder layers, the decoder's final norm and the softmax; as in T2T, the softmax
is then not shared with the embeddings.
"""

import torch
from torch import nn

from t2t import registry
from t2t.hparams import HParams, copy_hparams
from t2t.layers import attention as attn
from t2t.layers import evolved_transformer_layers as etl
from t2t.models.t2t_model import Features
from t2t.models.transformer import Transformer, _with_shared_states, layer_config


@registry.register_model
class EvolvedTransformer(Transformer):
    """T2T's `evolved_transformer`: the Transformer with the evolved stacks."""

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        hparams = self._untie_softmax(hparams)
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        cfg = layer_config(hp)
        if self.encoder is not None:
            self.encoder.stack = etl.EvolvedTransformerEncoder(
                cfg,
                hp.num_encoder_layers or hp.num_hidden_layers,
                hp.get("et_encoder_self_attention", True),
            )
        self.decoder = etl.EvolvedTransformerDecoder(
            cfg, hp.num_decoder_layers or hp.num_hidden_layers, self.has_input
        )
        self.initialize_parameters()
        self._freeze_below_top_layers(hp.get("num_trainable_top_decoder_layers", -1))

    @staticmethod
    def _untie_softmax(hparams: HParams) -> HParams:
        if hparams.get("num_trainable_top_decoder_layers", -1) < 0:
            return hparams
        hparams = copy_hparams(hparams)
        hparams.set_hparam("shared_embedding_and_softmax_weights", False)
        return hparams

    def _freeze_below_top_layers(self, trainable_layers: int) -> None:
        if trainable_layers < 0:
            return
        kept = [self.decoder.final, self.target_top]
        kept += list(self.decoder.layers)[len(self.decoder.layers) - trainable_layers :]
        keep = {id(p) for module in kept if module is not None for p in module.parameters()}
        softmax = [p for n, p in self.named_parameters() if n.endswith("_softmax")]
        keep |= {id(p) for p in softmax}
        for param in self.parameters():
            param.requires_grad_(id(param) in keep)

    # ---- fast (cached) decoding -----------------------------------------------------

    def init_decode_states(self, features: Features, max_length: int | None = None) -> dict:
        """The decoding protocol's initial state: per decoder layer two empty self-attention
        caches and zero conv windows; under "shared" the memory bias and each layer's
        encoder keys/values for its two attentions to the encoder."""
        states: dict = {}
        shared: dict = {}
        memory = None
        if self.has_input:
            inputs = self.bottoms["inputs"](features["inputs"])  # [B, S, H]
            memory, shared["memory_bias"] = self.encoder(inputs, features.get("target_space_id"))
            batch = inputs.shape[0]
        else:
            batch = features.get("inputs", features.get("targets")).shape[0]
        parameter = next(self.parameters())
        size = self.hparams.hidden_size

        def cache(attention: nn.Module) -> attn.SelfAttentionCache:
            heads = attention.num_heads
            return attn.SelfAttentionCache(
                batch,
                heads,
                attention.q.out_features // heads,
                attention.v.out_features // heads,
                capacity=max_length or 16,
                device=parameter.device,
                dtype=parameter.dtype,
            )

        for i, layer in enumerate(self.decoder.layers):
            zeros = parameter.new_zeros
            states[f"layer_{i}"] = {
                "self16": cache(layer.wide_attention),
                "self": cache(layer.self_attention.sublayer),
                "conv1": zeros(batch, etl.LEFT_CONV_PADDING, size),
                "conv2": zeros(batch, etl.FINAL_CONV_PADDING, 2 * size),
            }
            if memory is not None:
                shared[f"layer_{i}"] = {
                    "encdec_first": layer.first_encdec.memory_cache(memory),
                    "encdec": layer.encdec_attention.sublayer.memory_cache(memory),
                }
        if shared:
            states["shared"] = shared
        return states

    def decode_step(self, ids: torch.Tensor, i: int, states: dict) -> tuple[torch.Tensor, dict]:
        """ids [N, i+1] -> logits [N, V] of position i; the caches advance one position."""
        x = self.target_bottom(ids[:, -1:])  # [N, 1, H]
        if i == 0:
            x = torch.zeros_like(x)  # the GO symbol is a zero vector, as shift_right makes it
        x = self.positions(x, start=i)
        cache = _with_shared_states(states)
        out = self.decoder(x, None, None, cache.get("memory_bias"), cache=cache)
        for name, layer_states in states.items():  # the conv windows were replaced
            if name != "shared":
                layer_states["conv1"] = cache[name]["conv1"]
                layer_states["conv2"] = cache[name]["conv2"]
        return self.top(out, {})[:, -1], states


# The hparams sets live in evolved_transformer_hparams.py; re-exported for T2T's
# `models.evolved_transformer.<set>()`.
from t2t.models.evolved_transformer_hparams import (  # noqa: E402, F401
    evolved_transformer_base,
    evolved_transformer_base_tpu,
    evolved_transformer_big,
    evolved_transformer_big_tpu,
    evolved_transformer_deep,
    evolved_transformer_tiny,
    evolved_transformer_tpu_basic,
)
