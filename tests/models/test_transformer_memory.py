"""transformer_memory: its sets run scaled down, the memory carries across chunks, the
memories compute what T2T's do, and the sets' parameter counts equal T2T 1.15.7's.

Goldens: tests/golden/models/make_transformer_memory_golden.py (the original's two memory
classes on fixed inputs, four calls in a row) -> transformer_memory.npz, and
make_transformer_memory_param_counts.py (the original's graphs, trainable variables
summed) -> transformer_memory_param_counts.json.
"""

import json
import pathlib

import numpy as np
import pytest
import torch

from t2t import registry
from t2t.decode import protocol
from t2t.hparams import HParams
from t2t.layers.transformer_memory import NeuralMemory, RecentTokensMemory

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "models"
MEMORY_SETS = [
    "transformer_wikitext103_l4k_memory_v0",
    "transformer_wikitext103_l16k_memory_v0",
    "transformer_cifar10_memory_v0",
    "transformer_imagenet64_memory_v0",
]
CHUNK = 4


def lm_problem(vocab: int = 11) -> HParams:
    """A targets-only symbol problem (what the sets are for)."""
    return HParams(
        modality={"targets": "symbol"},
        vocab_size={"targets": vocab},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
        batch_size_multiplier=1,
        stop_at_eos=1,
    )


def tiny(name: str, **overrides) -> HParams:
    hp = registry.hparams(name)
    kept = 2 * CHUNK if hp.num_memory_items > hp.split_targets_chunk_length else CHUNK
    values = dict(
        hidden_size=16,
        filter_size=32,
        num_heads=2,
        num_hidden_layers=1,
        split_targets_chunk_length=CHUNK,
        num_memory_items=kept,
        max_relative_position=kept + CHUNK,
    )
    values.update(overrides)
    for key, value in values.items():
        hp.set_hparam(key, value)
    return hp


def build(name: str = MEMORY_SETS[0], seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return registry.model("transformer_memory")(tiny(name, **overrides), lm_problem())


@pytest.mark.parametrize("name", MEMORY_SETS)
def test_sets_forward_backward(name):
    model = build(name)
    targets = torch.randint(1, 11, (2, 3 * CHUNK + 1))  # 4 chunks, the last padded
    targets[1, 9:] = 0
    logits, losses = model({"targets": targets})
    assert logits.shape == (2, 3 * CHUNK + 1, 11)
    losses["training"].backward()
    assert all(p.grad is not None for p in model.parameters())


def test_neural_memory_forward_backward():
    model = build(memory_type="neural_memory")
    logits, losses = model({"targets": torch.randint(1, 11, (2, 2 * CHUNK))})
    losses["training"].backward()
    # The write's layers only change the (detached) memory: no gradient reaches them, as
    # in T2T, where they only feed variable assignments.
    no_grad = {
        n.split(".", 2)[-1].split(".")[0] for n, p in model.named_parameters() if p.grad is None
    }
    assert no_grad == {"gamma", "candidate_value", "erase"}


@pytest.mark.parametrize("memory_type", ["transformer_xl", "neural_memory"])
def test_memory_carries_across_chunks(memory_type):
    model = build(memory_type=memory_type).eval()
    first = torch.randint(1, 11, (1, CHUNK))
    other = (first % 10) + 1  # a different first chunk
    second = torch.randint(1, 11, (1, CHUNK))
    with torch.no_grad():
        a, _ = model({"targets": torch.cat([first, second], 1)})
        b, _ = model({"targets": torch.cat([other, second], 1)})
    # chunk 2 sees chunk 1 only through the memory (each chunk restarts its own context)
    assert not torch.allclose(a[:, CHUNK:], b[:, CHUNK:], atol=1e-4)
    # a call starts from an empty memory: the same input gives the same output
    with torch.no_grad():
        again, _ = model({"targets": torch.cat([first, second], 1)})
    torch.testing.assert_close(again, a)


def test_chunk_by_chunk_calls_equal_one_call_and_reset_clears():
    model = build().eval()
    targets = torch.randint(1, 11, (2, 2 * CHUNK))
    first, second = targets[:, :CHUNK], targets[:, CHUNK:]
    with torch.no_grad():
        whole, _ = model({"targets": targets})
        model.reset_memory()
        out0, _ = model({"targets": first, "chunk_number": torch.zeros(2, CHUNK)})
        out1, _ = model({"targets": second, "chunk_number": torch.ones(2, CHUNK)})
        torch.testing.assert_close(torch.cat([out0, out1], 1), whole)
        alone, _ = model({"targets": second, "chunk_number": torch.zeros(2, CHUNK)})
        model.reset_memory()
        after_reset, _ = model({"targets": second, "chunk_number": torch.ones(2, CHUNK)})
    assert not torch.allclose(out1, alone, atol=1e-4)
    torch.testing.assert_close(after_reset, alone)  # nothing left to attend to


def test_one_chunk_equals_the_plain_transformer():
    """Chunk 0 ignores the (masked) memory: the same weights in `transformer` agree."""
    model = build().eval()
    plain = registry.model("transformer")(tiny(MEMORY_SETS[0]), lm_problem()).eval()
    plain.load_state_dict(model.state_dict())
    targets = torch.randint(1, 11, (2, CHUNK))
    with torch.no_grad():
        torch.testing.assert_close(model({"targets": targets})[0], plain({"targets": targets})[0])


def test_conditional_chunks_attend_to_the_inputs():
    """Without `unconditional`, every chunk attends to the encoder output too (as in T2T)."""
    torch.manual_seed(0)
    hp = tiny(MEMORY_SETS[0], unconditional=False)
    problem = lm_problem()
    problem.modality["inputs"] = "symbol"
    problem.vocab_size["inputs"] = 11
    model = registry.model("transformer_memory")(hp, problem)
    assert model.has_input
    targets = torch.randint(1, 11, (2, 2 * CHUNK))
    logits, losses = model({"inputs": torch.randint(1, 11, (2, 3)), "targets": targets})
    losses["training"].backward()
    assert logits.shape == (2, 2 * CHUNK, 11)


def test_too_many_chunks_and_no_chunking_are_errors():
    model = build(split_targets_max_chunks=2)
    with pytest.raises(ValueError, match="split_targets_max_chunks"):
        model({"targets": torch.ones(1, 2 * CHUNK + 1, dtype=torch.long)})
    with pytest.raises(Exception, match="split_targets_chunk_length"):
        build(split_targets_chunk_length=0)


def test_decodes_through_the_slow_path():
    model = build().eval()
    assert not protocol.implements_protocol(model)
    result = protocol.infer(model, {"inputs": torch.randint(1, 11, (2, 3))}, decode_length=CHUNK)
    assert result["outputs"].shape[0] == 2


# ---- numerics against T2T's memory classes ---------------------------------------------


def _golden():
    path = GOLDEN / "transformer_memory.npz"
    if not path.exists():
        pytest.skip("transformer_memory.npz not generated")
    return dict(np.load(path))


def test_neural_memory_matches_t2t():
    g = _golden()
    batch, _, depth = g["x"].shape[1:]
    slots = g["nm_logits_0"].shape[-1]
    memory = NeuralMemory(depth, depth, depth, slots)
    layers = {
        "pre_attention/mem_key": memory.mem_key,
        "pre_attention/mem_query": memory.mem_query,
        "post_attention/gamma": memory.gamma,
        "post_attention/candidate_value": memory.candidate_value,
        "post_attention/erase": memory.erase,
        "post_attention/dense": memory.output_transform,
        "post_attention/dense_1": memory.memory_transform,
    }
    with torch.no_grad():
        for scope, layer in layers.items():
            layer.weight.copy_(torch.from_numpy(g[f"nm/{scope}/kernel"]).t())
            if layer.bias is not None:
                layer.bias.copy_(torch.from_numpy(g[f"nm/{scope}/bias"]))
        for i, segment in enumerate(g["segments"]):
            x, y = torch.from_numpy(g["x"][i]), torch.from_numpy(g["y"][i])
            token, _, _ = memory.pre_attention(torch.from_numpy(segment), x, None)
            out = memory.post_attention(token, y)
            np.testing.assert_allclose(out.numpy(), g[f"nm_out_{i}"], atol=1e-5, rtol=1e-5)
            np.testing.assert_allclose(memory.vals.numpy(), g[f"nm_vals_{i}"], atol=1e-5)
            np.testing.assert_allclose(memory.mean_logits.numpy(), g[f"nm_logits_{i}"], atol=1e-5)


def test_recent_tokens_memory_matches_t2t():
    g = _golden()
    length = g["x"].shape[2]
    kept = g["xl_bias_0"].shape[-1] - length
    memory = RecentTokensMemory(length, kept)
    causal = torch.triu(torch.full((length, length), -1e9), 1)[None, None]
    for i, segment in enumerate(g["segments"]):
        x = torch.from_numpy(g["x"][i])
        token, antecedent, bias = memory.pre_attention(torch.from_numpy(segment), x, causal)
        memory.post_attention(token, x)
        np.testing.assert_allclose(antecedent.numpy(), g[f"xl_antecedent_{i}"], atol=1e-6)
        # -1e9 masks may sum to -2e9 and more; compare which keys are visible
        np.testing.assert_array_equal(bias.numpy() > -1e8, g[f"xl_bias_{i}"] > -1e8)


# ---- parameter counts against T2T ------------------------------------------------------


def _count_cases():
    path = GOLDEN / "transformer_memory_param_counts.json"
    if not path.exists():
        return []
    golden = json.loads(path.read_text())
    return [(key, count, golden) for key, count in sorted(golden["counts"].items())]


@pytest.mark.parametrize("key, expected, golden", _count_cases(), ids=lambda v: str(v)[:60])
def test_parameter_counts_equal_t2t(key, expected, golden, monkeypatch):
    model_name, set_name = key.split("/")
    vocab = golden["vocab_image" if "image" in set_name or "cifar" in set_name else "vocab_text"]
    model_class = registry.model(model_name)
    monkeypatch.setattr(model_class, "initialize_parameters", lambda self: None)
    with torch.device("meta"):  # counting only: no memory, no initialization
        model = model_class(registry.hparams(set_name), lm_problem(vocab))
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected
