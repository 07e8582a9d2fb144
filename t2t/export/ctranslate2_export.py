"""Our Transformer as a CTranslate2 model, through CTranslate2's own converter API.

`converter_class()` is a `ctranslate2.converters.Converter`: it fills a
`ctranslate2.specs.TransformerSpec` from the model's modules and CTranslate2 validates,
optimises and saves it (no file format of our own). What maps how:

* token ids become tokens "<pad>", "<EOS>", "id2", "id3", ...: CTranslate2 speaks tokens
  (`t2t.runs.export_dir.ct2_tokens` / `ct2_ids` translate; t2t-serve runs the model).
* T2T's GO symbol (a zero vector at the first decoder step) is CTranslate2's
  `start_from_zero_embedding`, with "<pad>" as the decoder start token.
* T2T's [sin | cos] timing signal is written out as each stack's position table
  (`position_encodings.encodings`), since its frequencies differ from CTranslate2's
  built-in sinusoids. The encoder's target-space embedding (one row, the problem's
  target_space_id, added at every position) is folded into the encoder's table.
* pre-norm (layer_preprocess_sequence "n", postprocess "da") and post-norm ("none",
  "dan") stacks, shared or separate embedding tables, q/k/v without biases.

Other variants (relative attention, learned positions beyond the table, other norms) stop
with a one-line error naming the hparam. Needs the `export` extra (ctranslate2).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from t2t.errors import MissingExtraError, T2TError
from t2t.layers.timing_signal import get_timing_signal_1d
from t2t.runs.export_dir import CT2_EOS, CT2_PAD, ct2_vocabulary

DEFAULT_MAX_POSITIONS = 1024


def _ctranslate2() -> Any:
    try:
        import ctranslate2
    except ImportError:
        raise MissingExtraError(
            "the ctranslate2 format needs the ctranslate2 package: pip install 't2t[export]'"
        ) from None
    return ctranslate2


def check_convertible(model: torch.nn.Module) -> None:
    """Raises T2TError naming what CTranslate2 cannot express for `model`."""
    hp = model.hparams
    if type(model).__name__ != "Transformer" or not model.has_input:
        raise T2TError(
            "the ctranslate2 format exports the encoder-decoder `transformer` model "
            f"(this is {type(model).__name__}{'' if model.has_input else ' without inputs'})"
        )
    sequences = (hp.layer_preprocess_sequence, hp.layer_postprocess_sequence)
    if sequences not in (("n", "da"), ("none", "dan"), ("", "dan")):
        raise T2TError(
            f"layer_preprocess_sequence/layer_postprocess_sequence {sequences} cannot be "
            "expressed in CTranslate2 (pre-norm 'n'/'da' and post-norm 'none'/'dan' can)"
        )
    checks = {
        "self_attention_type": (hp.self_attention_type, "dot_product"),
        "norm_type": (hp.norm_type, "layer"),
        "pos": (getattr(hp, "pos", "timing"), "timing"),
        "ffn_layer": (hp.ffn_layer, "dense_relu_dense"),
        "multiply_embedding_mode": (hp.multiply_embedding_mode, "sqrt_depth"),
        "prepend_mode": (hp.prepend_mode, "none"),
        "unidirectional_encoder": (hp.unidirectional_encoder, False),
    }
    for name, (value, wanted) in checks.items():
        if value != wanted and not (name == "ffn_layer" and value == "conv_hidden_relu"):
            raise T2TError(f"hparams.{name}={value!r} cannot be exported to CTranslate2")
    if model.modality_types.get("targets") != "symbol":
        raise T2TError("the ctranslate2 format needs symbol targets")


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().float().cpu().contiguous().numpy()


def _set_norm(spec: Any, processor: Any) -> None:
    spec.gamma = _numpy(processor.norm.scale)
    spec.beta = _numpy(processor.norm.bias)


def _norm_of(sublayer: Any, pre_norm: bool) -> Any:
    return sublayer.pre if pre_norm else sublayer.post


def _set_attention(spec: Any, sublayer: Any, pre_norm: bool, self_attention: bool) -> None:
    """q, k, v, output of an attention sublayer (q/k/v fused as CTranslate2 stores them)."""
    attention = sublayer.sublayer
    q, k, v = (_numpy(m.weight) for m in (attention.q, attention.k, attention.v))
    if self_attention:
        spec.linear[0].weight = np.concatenate([q, k, v])
    else:
        spec.linear[0].weight = q
        spec.linear[1].weight = np.concatenate([k, v])
    spec.linear[-1].weight = _numpy(attention.output_transform.weight)
    _set_norm(spec.layer_norm, _norm_of(sublayer, pre_norm))


def _set_ffn(spec: Any, sublayer: Any, pre_norm: bool) -> None:
    ffn = sublayer.sublayer
    spec.linear_0.weight, spec.linear_0.bias = _numpy(ffn.conv1.weight), _numpy(ffn.conv1.bias)
    spec.linear_1.weight, spec.linear_1.bias = _numpy(ffn.conv2.weight), _numpy(ffn.conv2.bias)
    _set_norm(spec.layer_norm, _norm_of(sublayer, pre_norm))


def converter_class() -> type:
    """The `ctranslate2.converters.Converter` subclass that converts our Transformer."""
    ctranslate2 = _ctranslate2()

    class _Converter(ctranslate2.converters.Converter):
        def __init__(self, model: torch.nn.Module, max_positions: int) -> None:
            check_convertible(model)
            self.model = model
            self.max_positions = max_positions

        def _load(self) -> Any:
            return build_spec(self.model, self.max_positions)

    return _Converter


def build_spec(model: torch.nn.Module, max_positions: int = DEFAULT_MAX_POSITIONS) -> Any:
    """The filled `ctranslate2.specs.TransformerSpec` of `model` (a checked Transformer)."""
    specs = _ctranslate2().specs
    hp = model.hparams
    pre_norm = hp.layer_preprocess_sequence == "n"
    encoder_layers = len(model.encoder.stack.layers)
    decoder_layers = len(model.decoder.layers)
    spec = specs.TransformerSpec.from_config(
        (encoder_layers, decoder_layers), hp.num_heads, pre_norm=pre_norm
    )
    spec.config.layer_norm_epsilon = float(hp.norm_epsilon)
    spec.config.bos_token = CT2_PAD
    spec.config.decoder_start_token = CT2_PAD
    spec.config.eos_token = CT2_EOS
    spec.config.unk_token = CT2_PAD  # never produced: tokens come from our ids
    with torch.no_grad():
        _fill_encoder(spec.encoder, model, pre_norm, max_positions)
        _fill_decoder(spec.decoder, model, pre_norm, max_positions)
    spec.register_source_vocabulary(ct2_vocabulary(model.vocab_sizes["inputs"]))
    spec.register_target_vocabulary(ct2_vocabulary(model.vocab_sizes["targets"]))
    return spec


def _positions(model: torch.nn.Module, length: int) -> torch.Tensor:
    """[length, H]: the timing signal of positions 0..length-1."""
    return get_timing_signal_1d(length, model.hparams.hidden_size)[0]


def _fill_encoder(spec: Any, model: torch.nn.Module, pre_norm: bool, length: int) -> None:
    encoder = model.encoder
    bottom = model.bottoms["inputs"]
    spec.embeddings[0].weight = _numpy(bottom.weights[0][bottom.key])
    table = _positions(model, length)
    if encoder.target_space_embedding is not None:  # the same row at every position
        table = table + encoder.target_space_embedding[encoder.default_target_space].cpu()
    spec.position_encodings.encodings = _numpy(table)
    if pre_norm:
        _set_norm(spec.layer_norm, encoder.stack.final)
    for layer_spec, layer in zip(spec.layer, encoder.stack.layers):
        _set_attention(layer_spec.self_attention, layer.self_attention, pre_norm, True)
        _set_ffn(layer_spec.ffn, layer.ffn, pre_norm)


def _fill_decoder(spec: Any, model: torch.nn.Module, pre_norm: bool, length: int) -> None:
    decoder = model.decoder
    bottom = model.target_bottom
    spec.embeddings.weight = _numpy(bottom.weights[0][bottom.key])
    spec.start_from_zero_embedding = True  # T2T's GO symbol: a zero vector
    spec.position_encodings.encodings = _numpy(_positions(model, length))
    spec.projection.weight = _numpy(model.target_top.linear_weight)
    if pre_norm:
        _set_norm(spec.layer_norm, decoder.final)
    for layer_spec, layer in zip(spec.layer, decoder.layers):
        _set_attention(layer_spec.self_attention, layer.self_attention, pre_norm, True)
        _set_attention(layer_spec.attention, layer.encdec_attention, pre_norm, False)
        _set_ffn(layer_spec.ffn, layer.ffn, pre_norm)


def convert(model: torch.nn.Module, output_dir: str, quantization: str | None = None) -> str:
    """Writes the CTranslate2 model of `model` into output_dir (created; must not exist).

    Args:
        model: our encoder-decoder Transformer.
        output_dir: the CTranslate2 model directory to write.
        quantization: CTranslate2's weight type ("float32", "int8", ...; None: as is).

    Returns:
        output_dir.
    """
    max_positions = max(DEFAULT_MAX_POSITIONS, int(model.hparams.max_length or 0))
    converter = converter_class()(model, max_positions)
    return converter.convert(output_dir, quantization=quantization)
