"""Our Evolved Transformer with T2T's weights gives T2T's logits and loss.

The golden was made by tests/golden/models/make_evolved_transformer_golden.py with T2T
1.15.7 (TRAIN mode, every dropout 0, so label smoothing 0.1 is on): evolved_transformer_tiny
at hidden 16, 2 heads (4 in the 16-head attention), 2 encoder and 2 decoder layers, vocab
35 in 16 embedding shards, target_space_id 1.
"""

import os
import re

import numpy as np
import pytest
import torch

import t2t
from t2t.hparams import HParams
from t2t.models.tf_variables import _shards

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "models")
NORM = "layer_prepostprocess{n}/layer_norm/layer_norm_{p}"
MHA = "multihead_attention/{w}/kernel"
# our name (after "encoder.stack.layers.i." / "decoder.layers.i.") -> T2T's, in the layer scope
ENCODER = {
    r"glu\.pre\.norm\.(?P<p>scale|bias)": "gated_linear_unit/" + NORM,
    r"glu\.values\.(?P<wb>weight|bias)": "gated_linear_unit/dense/{wb}",
    r"glu\.gates\.(?P<wb>weight|bias)": "gated_linear_unit/dense_1/{wb}",
    r"conv_branches\.pre\.norm\.(?P<p>scale|bias)": "conv_branches/" + NORM,
    r"conv_branches\.middle\.norm\.(?P<p>scale|bias)": "conv_branches/" + NORM.replace("{n}", "_1"),
    r"conv_branches\.left\.(?P<wb>weight|bias)": "conv_branches/dense/{wb}",
    r"conv_branches\.right\.(?P<wb>weight|bias)": "conv_branches/standard_conv_3x1/{wb}",
    r"conv_branches\.final\.(?P<sep>.+)": "conv_branches/separable_conv_9x1/{sep}",
    r"self_attention\.pre\.norm\.(?P<p>scale|bias)": "self_attention/" + NORM,
    r"self_attention\.sublayer\.(?P<w>q|k|v|output_transform)\.weight": "self_attention/" + MHA,
    r"dense\.pre\.norm\.(?P<p>scale|bias)": "dense_layers/" + NORM,
    r"dense\.up\.(?P<wb>weight|bias)": "dense_layers/dense/{wb}",
    r"dense\.down\.(?P<wb>weight|bias)": "dense_layers/dense_1/{wb}",
}
DECODER = {
    r"pre\.norm\.(?P<p>scale|bias)": "16_head_self_attention/" + NORM,
    r"wide_attention\.(?P<w>q|k|v|output_transform)\.weight": "16_head_self_attention/" + MHA,
    r"first_encdec\.(?P<w>q|k|v|output_transform)\.weight": "first_attend_to_encoder/" + MHA,
    r"conv_branches\.pre\.norm\.(?P<p>scale|bias)": "conv_branches/" + NORM,
    r"conv_branches\.middle\.norm\.(?P<p>scale|bias)": "conv_branches/" + NORM.replace("{n}", "_1"),
    r"conv_branches\.left\.(?P<sep>.+)": "conv_branches/separable_conv11x1/{sep}",
    r"conv_branches\.right\.(?P<sep>.+)": "conv_branches/separable_conv_7x1_1/{sep}",
    r"conv_branches\.final\.(?P<sep>.+)": "conv_branches/separable_conv_7x1_2/{sep}",
    r"self_attention\.pre\.norm\.(?P<p>scale|bias)": "self_attention/" + NORM,
    r"self_attention\.sublayer\.(?P<w>q|k|v|output_transform)\.weight": "self_attention/" + MHA,
    r"encdec_attention\.pre\.norm\.(?P<p>scale|bias)": "second_attend_to_encoder/" + NORM,
    r"encdec_attention\.sublayer\.(?P<w>q|k|v|output_transform)\.weight": (
        "second_attend_to_encoder/" + MHA
    ),
    r"dense\.pre\.norm\.(?P<p>scale|bias)": "dense_layers/" + NORM,
    r"dense\.middle\.norm\.(?P<p>scale|bias)": "dense_layers/" + NORM.replace("{n}", "_1"),
    r"dense\.up\.(?P<wb>weight|bias)": "dense_layers/dense/{wb}",
    r"dense\.down\.(?P<wb>weight|bias)": "dense_layers/dense_1/{wb}",
}
SEPARABLE = {
    "depthwise.weight": "depthwise_kernel",
    "pointwise.weight": "pointwise_kernel",
    "pointwise.bias": "bias",
}


def tf_name(name: str) -> str:
    """T2T's variable name of one of our parameters (without the model scope)."""
    final = "layer_prepostprocess/layer_norm/layer_norm_"
    fixed = {
        "encoder.target_space_embedding": "body/target_space_embedding/kernel",
        "encoder.stack.final.norm.scale": "body/encoder/" + final + "scale",
        "encoder.stack.final.norm.bias": "body/encoder/" + final + "bias",
        "decoder.final.norm.scale": "body/decoder/" + final + "scale",
        "decoder.final.norm.bias": "body/decoder/" + final + "bias",
    }
    if name in fixed:
        return fixed[name]
    match = re.fullmatch(r"(encoder\.stack|decoder)\.layers\.(\d+)\.(.+)", name)
    stack = "encoder" if match[1] == "encoder.stack" else "decoder"
    for pattern, template in (ENCODER if stack == "encoder" else DECODER).items():
        rule = re.fullmatch(pattern, match[3])
        if rule:
            parts = {k: v for k, v in rule.groupdict().items()}
            parts.setdefault("n", "")
            parts["wb"] = {"weight": "kernel", "bias": "bias"}.get(parts.get("wb"))
            parts["sep"] = SEPARABLE.get(parts.get("sep"))
            return f"body/{stack}/layer_{match[2]}/" + template.format(**parts)
    raise KeyError(name)


def to_torch(value: np.ndarray, param: torch.Tensor, depthwise: bool) -> torch.Tensor:
    """TF layout -> ours: dense [in, out] -> [out, in]; conv [k, in, out] -> [out, in, k, 1];
    depthwise [k, C, 1] -> [C, 1, k, 1] (`depthwise` also marks a 2-D table kept as is)."""
    tensor = torch.from_numpy(value)
    if tensor.dim() == 2 and param.dim() == 2 and not depthwise:
        return tensor.T
    if tensor.dim() == 3:
        return tensor.permute(*((1, 2, 0) if depthwise else (2, 1, 0)))[..., None]
    return tensor


def test_logits_and_loss_equal_original():
    golden = np.load(os.path.join(GOLDEN, "evolved_transformer_tiny.npz"))
    tf_vars = {k[4:].removesuffix(":0"): golden[k] for k in golden.files if k.startswith("var:")}
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": 35, "targets": 35},
        target_space_id=1,
    )
    model = t2t.create_model(
        "evolved_transformer",
        "evolved_transformer_tiny",
        hparams="hidden_size=16,filter_size=32,num_heads=2,num_encoder_layers=2,"
        "num_decoder_layers=2,layer_prepostprocess_dropout=0.0,attention_dropout=0.0,"
        "relu_dropout=0.0",
        problem_hparams=problem,
    )
    used = set()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith("modality_weights"):
                value = _shards(tf_vars, "evolved_transformer/symbol_modality_35_16/shared/weights")
                used |= {k for k in tf_vars if "/shared/weights_" in k}
                param.copy_(torch.from_numpy(value))
                continue
            source = "evolved_transformer/" + tf_name(name)
            kept = "depthwise" in name or name == "encoder.target_space_embedding"
            param.copy_(to_torch(tf_vars[source], param, kept))
            used.add(source)
    assert used == set(tf_vars)
    features = {
        "inputs": torch.from_numpy(golden["inputs"]).long(),
        "targets": torch.from_numpy(golden["targets"]).long(),
        "target_space_id": torch.tensor(1),
    }
    logits, losses = model.train()(features)  # label smoothing on; every dropout is 0
    torch.testing.assert_close(logits, torch.from_numpy(golden["logits"]), atol=1e-4, rtol=1e-4)
    assert losses["training"].item() == pytest.approx(float(golden["loss"]), rel=1e-5)
