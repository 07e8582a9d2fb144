"""ByteNet and SliceNet with T2T's weights give T2T's logits and loss.

The goldens were made by tests/golden/models/make_conv_seq2seq_golden.py with T2T 1.15.7
(TRAIN mode, every dropout 0, label smoothing 0.1 on, vocab 35): bytenet_base at hidden 8,
2 dilated layers, 2 block repeats; slicenet_1 at hidden 48 (separabilities -3, -2 and the
merge's 4), 1 decoder layer, 4 heads; slicenet_1tiny at hidden 32, 2 layers, 4 heads.
T2T's ByteNet output is 50 positions long (the padded length); ours stops at the targets'
length, and the loss is the same.
"""

import os
import re

import numpy as np
import pytest
import torch

import t2t
from t2t.hparams import HParams
from t2t.layers import convolutions

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "models")
BLOCK = (
    r"(?P<stack>encoder|decoder)\.blocks\.(?P<r>\d+)\.(?P<kind>convs|norms)\.(?P<i>\d+)\.(?P<p>\w+)"
)


def bytenet_tf_name(name: str) -> str:
    """T2T's variable name of one of our ByteNet body parameters."""
    scope = "byte_net/body/bytenet/"
    norm = re.fullmatch(r"(?P<stack>encoder|decoder)\.norms\.(?P<r>\d+)\.(?P<p>scale|bias)", name)
    if norm:
        return scope + "{stack}/repeat_{r}/lnorm/layer_norm_{p}".format(**norm.groupdict())
    block = re.fullmatch(BLOCK, name)
    start = re.fullmatch(r"decoder_start\.(?P<kind>convs|norms)\.0\.(?P<p>\w+)", name)
    if block:
        scope += "{stack}/repeat_{r}/residual_conv/".format(**block.groupdict())
        match = block
    elif start:
        scope += "conv_block/"
        match = start
    else:
        raise KeyError(name)
    i = match.groupdict().get("i", "0")
    if match["kind"] == "convs":
        return scope + f"conv_block_{i}_single/kernel"
    return scope + f"conv_block_norm_{i}/layer_norm_{match['p']}"


def test_bytenet_logits_and_loss_equal_original():
    golden = np.load(os.path.join(GOLDEN, "byte_net_bytenet_base.npz"))
    tf_vars = {k[4:].removesuffix(":0"): golden[k] for k in golden.files if k.startswith("var:")}
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": 35, "targets": 35},
    )
    model = t2t.create_model(
        "byte_net",
        "bytenet_base",
        hparams="hidden_size=8,num_hidden_layers=2,num_block_repeat=2,dropout=0.0,"
        "symbol_dropout=0.0",
        problem_hparams=problem,
    )
    used = set()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith("modality_weights"):
                part = name.rsplit("_", 2)[-2:]
                part = "softmax" if part[-1] == "softmax" else "_".join(part)
                source = f"byte_net/symbol_modality_35_8/{part}/weights_0"
                value = torch.from_numpy(tf_vars[source])
            else:
                source = bytenet_tf_name(name)
                value = torch.from_numpy(tf_vars[source])
                if value.dim() == 4:
                    value = value.permute(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]
            param.copy_(value)
            used.add(source)
    assert used == set(tf_vars)
    features = {
        "inputs": torch.from_numpy(golden["inputs"]).long(),
        "targets": torch.from_numpy(golden["targets"]).long(),
    }
    logits, losses = model.train()(features)
    expected = torch.from_numpy(golden["logits"])[:, : logits.shape[1]]
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=1e-4)
    assert losses["training"].item() == pytest.approx(float(golden["loss"]), rel=1e-5)


class _SliceNetLoader:
    """Copies T2T's SliceNet variables into ours, module by module; remembers what it used."""

    def __init__(self, tf_vars: dict) -> None:
        self.tf_vars, self.used = tf_vars, set()

    def get(self, name: str) -> torch.Tensor:
        self.used.add(name)
        return torch.from_numpy(self.tf_vars[name])

    def parts(self, scope: str, leaf: str, perm: tuple) -> torch.Tensor:
        """One TF variable, or its part_0, part_1, ... concatenated along our output dim."""
        if f"{scope}/{leaf}" in self.tf_vars:
            return self.get(f"{scope}/{leaf}").permute(*perm)
        count = sum(bool(re.fullmatch(rf"{scope}/part_\d+/{leaf}", k)) for k in self.tf_vars)
        return torch.cat(
            [self.get(f"{scope}/part_{k}/{leaf}").permute(*perm) for k in range(count)]
        )

    def conv(self, conv, scope: str, i: int) -> None:
        leaf = f"conv_block_{i}_single"
        if isinstance(conv, convolutions.SeparableConv2d):
            conv.depthwise.weight.copy_(self.parts(scope, f"{leaf}/depthwise_kernel", (2, 3, 0, 1)))
            conv.pointwise.weight.copy_(self.parts(scope, f"{leaf}/pointwise_kernel", (3, 2, 0, 1)))
            if conv.pointwise.bias is not None:
                conv.pointwise.bias.copy_(self.parts(scope, f"{leaf}/bias", (0,)))
            return
        mix = None
        if isinstance(conv, torch.nn.Sequential):
            conv, mix = conv
        conv.weight.copy_(self.parts(scope, f"{leaf}/kernel", (3, 2, 0, 1)))
        if mix is not None:
            mix.weight.copy_(self.get(f"{scope}/conv2d/kernel").permute(3, 2, 0, 1))
            mix.bias.copy_(self.get(f"{scope}/conv2d/bias"))

    def block(self, block, scope: str) -> None:
        for i, (conv, norm) in enumerate(zip(block.convs, block.norms)):
            self.conv(conv, scope, i)
            norm.scale.copy_(self.get(f"{scope}/conv_block_norm_{i}/layer_norm/layer_norm_scale"))
            norm.bias.copy_(self.get(f"{scope}/conv_block_norm_{i}/layer_norm/layer_norm_bias"))

    def attention(self, attention, scope: str) -> None:
        self.block(attention.timed, f"{scope}targets_time")
        for name, module in (
            ("self_attention", attention.self_attention),
            ("encdec_attention", attention.encdec_attention),
        ):
            for w in ("q", "k", "v", "output_transform"):
                getattr(module, w).weight.copy_(self.get(f"{scope}{name}/{w}/kernel").T)

    def stack(self, stack, scope: str) -> None:
        for layer, (first, second) in enumerate(zip(stack.first, stack.second)):
            self.block(first, f"{scope}/layer_{layer}/residual1")
            self.block(second, f"{scope}/layer_{layer}/residual2")
            if stack.attention:
                self.attention(stack.attention[layer], f"{scope}/layer_{layer}/")


@pytest.mark.parametrize(
    "set_name, sizes",
    [
        ("slicenet_1", "hidden_size=48,num_hidden_layers=1,num_heads=4"),
        ("slicenet_1tiny", "hidden_size=32,num_hidden_layers=2,num_heads=4"),
    ],
)
def test_slicenet_logits_and_loss_equal_original(set_name, sizes):
    golden = np.load(os.path.join(GOLDEN, f"slice_net_{set_name}.npz"))
    tf_vars = {k[4:].removesuffix(":0"): golden[k] for k in golden.files if k.startswith("var:")}
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": 35, "targets": 35},
        target_space_id=1,
    )
    model = t2t.create_model(
        "slice_net",
        set_name,
        hparams=sizes + ",dropout=0.0,symbol_dropout=0.0,attention_dropout=0.0",
        problem_hparams=problem,
    )
    loader = _SliceNetLoader(tf_vars)
    root = "slice_net/body/slicenet/"
    with torch.no_grad():
        (table,) = model.modality_weights.tables.values()
        table.copy_(
            loader.get(f"slice_net/symbol_modality_35_{model.hparams.hidden_size}/shared/weights_0")
        )
        model.target_space_embedding.copy_(loader.get(root + "target_space_embedding/kernel"))
        loader.stack(model.encoder, root + "encoder")
        loader.attention(model.attention, root)
        loader.block(model.merge, root + "targets_merge")
        loader.stack(model.decoder, root + "decoder")
    assert loader.used == set(tf_vars)
    assert sum(p.numel() for p in model.parameters()) == sum(v.size for v in tf_vars.values())
    features = {
        "inputs": torch.from_numpy(golden["inputs"]).long(),
        "targets": torch.from_numpy(golden["targets"]).long(),
        "target_space_id": torch.tensor(1),
    }
    logits, losses = model.train()(features)
    torch.testing.assert_close(logits, torch.from_numpy(golden["logits"]), atol=1e-4, rtol=1e-4)
    assert losses["training"].item() == pytest.approx(float(golden["loss"]), rel=1e-5)
