"""The static-shape decoding step (`t2t.decode.fast_step`) decodes what the module step does.

The static step runs the Transformer's own modules on fixed-size key/value buffers with a
mask; in float32 it gives the same ids as the module step (`decode_step` on growing
caches), and the same scores up to rounding (the attention sums run over more, zeroed,
positions). Checked for greedy and beam search, batch 1 and 4, with inputs and for a
language model, eagerly (default tier) and through torch.compile (slow tier).
"""

import pytest
import torch

from t2t import registry
from t2t.decode import fast_step, protocol
from t2t.hparams import HParams
from t2t.models import transformer

VOCAB = 23


def _problem(has_inputs: bool) -> HParams:
    modality, vocab = {"targets": "symbol"}, {"targets": VOCAB}
    if has_inputs:
        modality["inputs"], vocab["inputs"] = "symbol", VOCAB
    return HParams(
        modality=modality,
        vocab_size=vocab,
        input_space_id=0,
        target_space_id=1,
        loss_multiplier=1.0,
    )


def _model(has_inputs: bool = True, name: str = "transformer_base", **overrides):
    hp = registry.hparams(name)
    values = dict(hidden_size=16, filter_size=32, num_heads=2, num_hidden_layers=1)
    values.update(overrides)
    for key, value in values.items():
        hp.set_hparam(key, value)
    torch.manual_seed(0)
    model = transformer.Transformer(hp, _problem(has_inputs)).eval()
    with torch.no_grad():  # larger logits than the init's: fewer near-ties between tokens
        model.target_top.linear_weight.mul_(4.0)
    return model


def _inputs(batch: int, length: int = 5, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(2, VOCAB, (batch, length), generator=g)
    if batch > 1:
        inputs[1, -2:] = 0  # a padded row
    return inputs


def _decode(model, features, beam: int, mode: str, top_beams: int = 1):
    return protocol.infer(
        model, features, decode_length=6, beam_size=beam, top_beams=top_beams, alpha=0.6,
        step_mode=mode,
    )  # fmt: skip


def _assert_same(result, reference):
    assert torch.equal(result["outputs"], reference["outputs"])
    torch.testing.assert_close(result["scores"], reference["scores"], atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("beam", [1, 4])
@pytest.mark.parametrize("has_inputs", [True, False])
def test_static_step_decodes_like_the_module_step(batch, beam, has_inputs):
    model = _model(has_inputs)
    assert fast_step.supports_static(model)
    features = {"inputs": _inputs(batch)}  # for a language model: a prefix
    reference = _decode(model, features, beam, "module")
    _assert_same(_decode(model, features, beam, "static"), reference)


def test_static_step_keeps_top_beams_and_partial_targets():
    model = _model()
    features = {"inputs": _inputs(4), "partial_targets": torch.tensor([[3, 4]] * 4)}
    for top_beams in (1, 3):
        reference = _decode(model, features, 4, "module", top_beams)
        _assert_same(_decode(model, features, 4, "static", top_beams), reference)


def test_static_step_of_a_pre_norm_v1_and_learned_positions_model():
    for model in (_model(name="transformer_base_v1"), _model(pos="emb")):
        features = {"inputs": _inputs(4)}
        _assert_same(_decode(model, features, 4, "static"), _decode(model, features, 4, "module"))


def test_models_without_a_static_step_use_the_module_step():
    model = _model(name="transformer_relative")
    assert not fast_step.supports_static(model)
    features = {"inputs": _inputs(2)}
    _assert_same(_decode(model, features, 2, "static"), _decode(model, features, 2, "module"))
    with pytest.raises(ValueError, match="step_mode"):
        _decode(model, features, 2, "fused")


def test_a_failing_compiler_warns_once_and_decodes_eagerly(monkeypatch):
    model = _model()

    def broken(step, options):
        def fail(*args):
            raise RuntimeError("no C++ compiler\nmore detail")

        return fail

    monkeypatch.setattr(fast_step, "_Compiled", broken)
    features = {"inputs": _inputs(1)}
    reference = _decode(model, features, 1, "module")
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler") as warned:
        _assert_same(_decode(model, features, 1, "compiled"), reference)
        _assert_same(_decode(model, features, 1, "compiled"), reference)
    assert len(warned) == 1


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning")  # a fallback to eager would warn
@pytest.mark.parametrize("beam", [1, 4])
def test_compiled_step_decodes_like_the_module_step(beam):
    model = _model()
    for batch in (1, 4):
        features = {"inputs": _inputs(batch)}
        reference = _decode(model, features, beam, "module")
        _assert_same(_decode(model, features, beam, "compiled"), reference)


def test_states_flatten_and_unflatten_in_order():
    a, b, c = torch.zeros(1), torch.ones(2), torch.full((3,), 2.0)
    states = {"layer_0": {"self": {"k": a, "v": b}}, "shared": {"memory_bias": c}}
    paths, leaves = fast_step.flatten_states(states)
    assert paths == (("layer_0", "self", "k"), ("layer_0", "self", "v"), ("shared", "memory_bias"))
    assert leaves[0] is a and leaves[1] is b and leaves[2] is c
    assert fast_step.unflatten_states(paths, leaves) == states
    with pytest.raises(TypeError, match="layer_0/self"):
        fast_step.flatten_states({"layer_0": {"self": [a]}})


def _boost_eos(model, per_row: list[float]):
    """Wraps decode_step: row r's EOS logit grows by per_row[r] a step, so rows end at
    different steps (the same wrapper for every step mode)."""
    decode_step = model.decode_step

    def step(ids, i, states):
        logits, states = decode_step(ids, i, states)
        boost = torch.tensor(per_row[: logits.shape[0]]) * (torch.as_tensor(i) + 1.0)
        logits[:, protocol.EOS_ID] = logits[:, protocol.EOS_ID] + boost
        return logits, states

    model.decode_step = step


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_compiled_greedy_stops_rows_at_their_eos_like_the_module_step():
    model = _model()
    _boost_eos(model, [0.0, 4.0, 8.0, 30.0])
    features = {"inputs": _inputs(4)}
    reference = _decode(model, features, 1, "module")
    outputs = reference["outputs"]
    assert (outputs[1:] == protocol.EOS_ID).any(dim=1).all()  # rows 1-3 end early
    assert outputs[3, 1:].eq(0).all()  # ... and are padded with 0 after EOS
    _assert_same(_decode(model, features, 1, "compiled"), reference)


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_compiled_step_follows_changed_weights():
    model = _model()
    features = {"inputs": _inputs(1)}
    _assert_same(_decode(model, features, 1, "compiled"), _decode(model, features, 1, "module"))
    with torch.no_grad():  # frozen into the compiled graph: a change must compile again
        model.target_top.linear_weight.mul_(-1.0)
    _assert_same(_decode(model, features, 1, "compiled"), _decode(model, features, 1, "module"))


@pytest.mark.slow
@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_compiled_greedy_with_partial_targets_uses_the_step_path():
    model = _model()
    features = {"inputs": _inputs(2), "partial_targets": torch.tensor([[3, 4]] * 2)}
    _assert_same(_decode(model, features, 1, "compiled"), _decode(model, features, 1, "module"))
