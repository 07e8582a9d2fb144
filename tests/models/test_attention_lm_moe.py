"""attention_lm_moe: every set scaled down trains with its MoE loss; attention experts equal
a dense per-expert reference; diet experts update themselves in backward; the
memory-efficient layers equal their plain computation; parameter counts equal the
original's (tests/golden/models/make_attention_lm_moe_param_counts.py)."""

import json
import os

import pytest
import torch
import torch.nn.functional as F

from t2t import registry
from t2t.layers import diet
from t2t.layers.attention_experts import LocalExpertAttention
from t2t.layers.memory_efficient import MemoryEfficientFeedForward, MemoryEfficientSelfAttention
from t2t.models.research.attention_lm_moe import layer_attention_types
from t2t.train import distributed
from t2t.train.trainer import training_loss

from .conftest import make_problem_hparams

SETS = [
    n
    for n in registry.list_hparams()
    if registry.Registries.hparams.raw(n).__module__.endswith(".attention_lm_moe_hparams")
]
GOLDEN = os.path.join(
    os.path.dirname(__file__), "..", "golden", "models", "attention_lm_moe_param_counts.json"
)
TINY = dict(
    hidden_size=16,
    filter_size=32,
    num_heads=2,
    num_hidden_layers=2,
    moe_num_experts=4,
    moe_hidden_sizes="24",
    attention_num_experts=3,
    attention_kq_size=8,
    attention_v_size=8,
    attention_exp_inputdim=8,
    attention_block_length=2,
)


def tiny(name: str):
    hp = registry.hparams(name)
    for key, value in TINY.items():
        hp.set_hparam(key, value)
    hp.set_hparam("attention_moe_k", min(hp.attention_moe_k, 3))
    if hp.attention_layers:  # two layers that keep the set's mix of types
        hp.set_hparam("attention_layers", "".join(sorted(set(hp.attention_layers))))
    layers = len(hp.attention_layers) or hp.num_hidden_layers
    moe = [int(s) for s in hp.moe_layers.split(",") if s]
    hp.set_hparam("moe_layers", ",".join(str(min(i, layers - 1)) for i in moe))
    return hp


def features(use_inputs: bool):
    g = torch.Generator().manual_seed(0)
    targets = torch.randint(2, 11, (2, 6), generator=g)
    targets[0, 4:] = 0
    if use_inputs:
        return {"inputs": torch.randint(2, 11, (2, 6), generator=g), "targets": targets}
    return {"targets": targets}


def test_the_sets_are_registered():
    assert "attention_lm_moe" in registry.list_models()
    assert len(SETS) == 22


@pytest.mark.parametrize("name", SETS)
def test_every_set_trains_with_its_moe_loss(name):
    torch.manual_seed(0)
    hp = tiny(name)
    problem = make_problem_hparams(inputs="symbol" if hp.use_inputs else None)
    model = registry.model("attention_lm_moe")(hp, problem).train()
    _, losses = model(features(hp.use_inputs))
    has_moe = bool(hp.moe_layers) or "local_experts" in layer_attention_types(hp)
    assert ("moe_loss" in losses) == has_moe
    loss, _ = training_loss(losses, distributed.DistributedContext())
    if has_moe:
        torch.testing.assert_close(loss, losses["training"] + losses["moe_loss"])
    loss.backward()
    unused = set()
    if hp.use_inputs:  # as in T2T, the targets are embedded but the body reads the inputs
        unused = {id(p) for n, p in model.named_parameters() if n.endswith("_target_emb")}
    trainable = [p for p in model.parameters() if p.requires_grad and id(p) not in unused]
    assert all(p.grad is not None for p in trainable)


def test_language_model_is_causal():
    hp = tiny("attention_lm_moe_base_hybrid")  # local attention and attention experts
    model = registry.model("attention_lm_moe")(hp, make_problem_hparams(inputs=None)).eval()
    feats = features(False)
    changed = {"targets": feats["targets"].clone()}
    changed["targets"][:, -1] = 3
    torch.testing.assert_close(model(feats)[0][:, :-1], model(changed)[0][:, :-1])


def _dense_expert_attention(layer: LocalExpertAttention, x, rows):
    """Every expert on its own tokens, one expert at a time, masks written out."""
    _, _, indices, top_gates = layer.gating(x)
    ex = layer.experts
    y = torch.zeros_like(x)
    for e in range(layer.num_experts):
        picked = (indices == e) & (top_gates != 0)  # [N, k]
        tokens = picked.any(-1).nonzero()[:, 0]
        if not len(tokens):
            continue
        gate = (top_gates * picked).sum(-1)[tokens]
        h = x[tokens]
        q, k, v = h @ ex.wq[e], h @ ex.wk[e], h @ ex.wv[e]
        heads = ex.num_heads
        q, k, v = (t.view(len(tokens), heads, -1).transpose(0, 1) for t in (q, k, v))
        logits = q @ k.transpose(1, 2) * q.shape[-1] ** -0.5  # [h, n, n]
        same = rows[tokens][:, None] == rows[tokens][None, :]
        allowed = same & (tokens[None, :] <= tokens[:, None])
        logits = logits.masked_fill(~allowed, float("-inf"))
        o = (logits.softmax(-1) @ v).transpose(0, 1).reshape(len(tokens), -1)
        y[tokens] += (o @ ex.wo[e]) * gate[:, None]
    return y


def test_attention_experts_equal_a_dense_reference():
    torch.manual_seed(0)
    layer = LocalExpertAttention(8, num_experts=4, k=2, loss_coef=1e-2, num_heads=2,
                                 kq_size=8, v_size=6).eval()  # fmt: skip
    with torch.no_grad():
        layer.gating.w_gate.normal_()
    x = torch.randn(11, 8)
    rows = torch.tensor([0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2])
    y, loss = layer(x, rows)
    torch.testing.assert_close(y, _dense_expert_attention(layer, x, rows))
    assert loss.ndim == 0


def test_diet_experts_update_themselves_in_backward():
    torch.manual_seed(0)
    experts = diet.DietExperts(2, 4, 6).train()
    before = experts.w1.clone()
    w1, w2 = experts.dequantized()
    x = torch.randn(2, 3, 4, requires_grad=True)
    reference = torch.bmm(F.relu(torch.bmm(x, w1)), w2) * experts.output_scale
    y = experts(x)
    torch.testing.assert_close(y, reference)
    (dx_ref,) = torch.autograd.grad(reference.sum(), x)
    y.sum().backward()
    torch.testing.assert_close(x.grad, dx_ref)
    assert experts.w1.dtype == torch.int16 and int(experts.step) == 1
    assert not torch.equal(before, experts.w1)
    assert not list(experts.parameters())  # not trained by the trainer's optimizer


def test_memory_efficient_layers_equal_their_plain_computation():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 8, requires_grad=True)
    attention = MemoryEfficientSelfAttention(8, 2)
    causal = torch.triu(torch.full((5, 5), -1e9), 1)[None, None]
    n = F.layer_norm(x, (8,), attention.norm.scale, attention.norm.bias, 1e-6)
    expected = 0
    for h in range(2):
        q, k, v = (n @ attention.wqkv[h]).split(4, -1)
        w = (q @ k.transpose(1, 2) * 0.5 + causal[0]).softmax(-1)
        expected = expected + (w @ v) @ attention.wo[h]
    y = attention(x, causal)
    torch.testing.assert_close(y, expected)
    y.sum().backward()  # recomputed in backward
    assert attention.wqkv.grad is not None and x.grad is not None
    ffn = MemoryEfficientFeedForward(8, 12)
    n = F.layer_norm(x, (8,), ffn.norm.scale, ffn.norm.bias, 1e-6)
    torch.testing.assert_close(ffn(x), F.relu(n @ ffn.f1) @ ffn.f2)


def _golden():
    if not os.path.exists(GOLDEN):
        pytest.skip("no golden counts yet: run make_attention_lm_moe_param_counts.py")
    with open(GOLDEN) as f:
        return json.load(f)


def _count(name: str, **overrides) -> int:
    hp = registry.hparams(name)
    for key, value in overrides.items():
        hp.set_hparam(key, value)
    vocab = _golden()["vocab"]
    with torch.device("meta"):
        model = registry.model("attention_lm_moe")(
            hp, make_problem_hparams(None, vocab, inputs=None)
        )
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(
    "name", ["attention_lm_moe_base", "attention_lm_moe_small", "attention_lm_moe_tiny"]
)
def test_parameter_counts_equal_the_originals(name):
    """as_built: the original's graph (it never reads moe_layers); with the MoE layers the
    authors meant: that minus the dense feed-forwards they replace plus the MoE layers, each
    measured in the original."""
    counts = _golden()["counts"].get(name, {})
    if not isinstance(counts.get("as_built"), int):
        pytest.skip(f"the golden file has no count of {name}: {counts}")
    assert _count(name, moe_layers="") == counts["as_built"]
    if not all(isinstance(counts.get(k), int) for k in ("moe_layer", "dense_ffn")):
        pytest.skip(f"the golden file has no MoE layer count of {name}: {counts}")
    layers = len([s for s in registry.hparams(name).moe_layers.split(",") if s])
    intended = counts["as_built"] + layers * (counts["moe_layer"] - counts["dense_ffn"])
    assert _count(name) == intended
