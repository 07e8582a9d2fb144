"""transformer_moe and attention_lm: every set scaled down, the layer strings, causality,
the MoE loss reaching the trainer, parameter counts equal the original's."""

import json
import os

import pytest
import torch

from t2t import registry
from t2t.models.research.transformer_moe import parse_layer_types
from t2t.train import distributed
from t2t.train.trainer import training_loss

from .conftest import make_problem_hparams

MOE_SETS = registry.list_hparams("transformer_moe")
LM_SETS = [  # attention_lm_moe's sets share the prefix: tests/models/test_attention_lm_moe.py
    n
    for n in registry.list_hparams("attention_lm")
    if registry.Registries.hparams.raw(n).__module__.endswith(".attention_lm_hparams")
]
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "models", "zoo_param_counts.json")
MOE_TINY = dict(
    hidden_size=16,
    filter_size=32,
    num_heads=2,
    moe_num_experts=4,
    attention_loc_block_length=2,
    attention_loc_block_width=1,
)


def tiny(name: str):
    hp = registry.hparams(name)
    for key, value in MOE_TINY.items():
        if key in hp:
            hp.set_hparam(key, value)
    return hp


def build(model: str, name: str, lm: bool):
    torch.manual_seed(0)
    problem = make_problem_hparams(inputs=None) if lm else make_problem_hparams()
    return registry.model(model)(tiny(name), problem)


def features(lm: bool):
    g = torch.Generator().manual_seed(0)
    targets = torch.randint(2, 11, (2, 7), generator=g)
    targets[0, 5:] = 0
    if lm:
        return {"targets": targets}
    inputs = torch.randint(2, 11, (2, 5), generator=g)
    inputs[1, 3:] = 0
    return {"inputs": inputs, "targets": targets}


def test_the_families_are_registered():
    assert {"transformer_moe", "attention_lm"} <= set(registry.list_models())
    assert len(MOE_SETS) == 6 and len(LM_SETS) == 5


@pytest.mark.parametrize("name", MOE_SETS)
def test_every_transformer_moe_set_trains(name):
    lm = registry.hparams(name).prepend_mode != "none" or name.endswith("_lm")
    model = build("transformer_moe", name, lm).train()
    _, losses = model(features(lm))
    has_moe = "moe" in registry.hparams(name).layer_types
    assert ("moe_loss" in losses) == has_moe
    loss, _ = training_loss(losses, distributed.DistributedContext())
    if has_moe:
        torch.testing.assert_close(loss, losses["training"] + losses["moe_loss"])
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name", LM_SETS)
def test_every_attention_lm_set_trains(name):
    model = build("attention_lm", name, lm=True).train()
    _, losses = model(features(lm=True))
    losses["training"].backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_layer_strings_parse_as_in_t2t():
    enc, dec = parse_layer_types(registry.hparams("transformer_moe_2k"))
    assert enc == [("a", "sep")] * 5
    assert dec[2] == ("a", "a", "moe") and dec[0] == ("a", "a", "sepm")
    enc, dec = parse_layer_types(registry.hparams("transformer_moe_8k_lm"))
    assert enc == [] and dec[2] == ("a", "_", "moe") and dec[0] == ("a", "_", "sepm")
    enc, dec = parse_layer_types(registry.hparams("transformer_moe_prepend_8k"))
    assert enc == [] and [d[0] for d in dec] == ["locm", "redm", "locm", "redm", "locm"]
    enc, dec = parse_layer_types(registry.hparams("transformer_moe_base"))
    assert enc == [("a", "fc")] * 5 and dec == [("a", "a", "fc")] * 5


@pytest.mark.parametrize(
    "model_name, name",
    [("transformer_moe", "transformer_moe_prepend_8k"), ("attention_lm", "attention_lm_base")],
)
def test_language_models_are_causal(model_name, name):
    model = build(model_name, name, lm=True).eval()
    feats = features(lm=True)
    changed = {"targets": feats["targets"].clone()}
    changed["targets"][:, -1] = 3
    torch.testing.assert_close(model(feats)[0][:, :-1], model(changed)[0][:, :-1])


def _golden(prefixes):
    with open(GOLDEN) as f:
        counts = json.load(f)["counts"]
    return {k: v for k, v in counts.items() if k.startswith(prefixes) and isinstance(v, int)}


@pytest.mark.parametrize("key", sorted(_golden(("transformer_moe/", "attention_lm/"))))
def test_parameter_counts_equal_the_originals(key):
    """Counts made by tests/golden/models/make_zoo_param_counts.py with T2T 1.15.7."""
    model_name, set_name = key.split("/")
    lm = model_name == "attention_lm"
    problem = make_problem_hparams(20, 20, inputs=None if lm else "symbol")
    model = registry.model(model_name)(registry.hparams(set_name), problem)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == _golden((key,))[key]
