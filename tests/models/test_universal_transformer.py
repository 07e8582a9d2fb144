"""The Universal Transformer: every registered set runs scaled down, the recurrence and ACT
compute what T2T's do, and the ponder loss reaches the trainer's loss."""

import json
import os

import pytest
import torch

from t2t import registry
from t2t.errors import HParamsError
from t2t.layers import act
from t2t.train import distributed
from t2t.train.trainer import training_loss

from .conftest import make_problem_hparams

UT_SETS = [n for n in registry.list_hparams() if "universal_transformer" in n]
# T2T 1.15.7 names dot_product_relative_v2 here, which t2t's Transformer does not have either.
UNSUPPORTED = {"adaptive_universal_transformer_multilayer_hard"}
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "models", "zoo_param_counts.json")


def tiny(name: str, **overrides):
    hp = registry.hparams(name)
    values = dict(hidden_size=16, filter_size=32, num_heads=2, num_rec_steps=2, act_max_steps=3)
    values.update(overrides)
    for key, value in values.items():
        hp.set_hparam(key, value)
    return hp


def features(classify: bool = False):
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(1, 11, (2, 5), generator=g)
    inputs[1, 3:] = 0
    if classify:
        return {"inputs": inputs, "targets": torch.tensor([0, 2])}
    targets = torch.randint(1, 11, (2, 4), generator=g)
    targets[0, 2:] = 0
    return {"inputs": inputs, "targets": targets}


def build(model: str, hp, **problem):
    torch.manual_seed(0)
    return registry.model(model)(hp, make_problem_hparams(**problem))


def test_the_family_is_registered():
    assert {"universal_transformer", "universal_transformer_encoder"} <= set(registry.list_models())
    assert len(UT_SETS) >= 42
    assert "transformer_teeny" in registry.list_hparams()


@pytest.mark.parametrize("name", UT_SETS)
def test_every_set_runs_forward_and_backward(name):
    if name in UNSUPPORTED:
        with pytest.raises(HParamsError, match="dot_product_relative_v2"):
            build("universal_transformer", tiny(name))
        return
    hp = tiny(name)
    for model_name, problem, classify in [
        ("universal_transformer", {}, False),
        ("universal_transformer_encoder", {"vocab_out": 3, "targets": "class_label"}, True),
    ]:
        model = build(model_name, hp, **problem)
        logits, losses = model(features(classify))
        assert torch.isfinite(losses["training"])
        is_act = hp.recurrence_type == "act" and hp.act_loss_weight != 0
        assert ("act_loss" in losses) == is_act
        loss, _ = training_loss(losses, distributed.DistributedContext())
        loss.backward()
        assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_the_act_loss_is_added_to_the_training_loss():
    model = build("universal_transformer", tiny("adaptive_universal_transformer_tiny"))
    _, losses = model(features())
    loss, _ = training_loss(losses, distributed.DistributedContext())
    torch.testing.assert_close(loss, losses["training"] + losses["act_loss"])
    # weight * (encoder mean(N + R) + decoder mean(N + R)): at least one step everywhere
    assert losses["act_loss"] >= 0.01 * 2 * 1.0


def test_act_update_follows_the_halting_rule():
    state = act.HaltingState.zeros((3,), torch.zeros(1))
    threshold = 0.99
    w1 = act.act_update(torch.tensor([0.5, 0.995, 0.3]), state, threshold)
    # position 1 passes the threshold at once: it halts with remainder 1.0
    torch.testing.assert_close(w1, torch.tensor([0.5, 1.0, 0.3]))
    w2 = act.act_update(torch.tensor([0.6, 0.9, 0.3]), state, threshold)
    # position 0 halts (0.5 + 0.6 > 0.99) with remainder 0.5; position 1 stays halted
    torch.testing.assert_close(w2, torch.tensor([0.5, 0.0, 0.3]))
    torch.testing.assert_close(state.n_updates, torch.tensor([2.0, 1.0, 2.0]))
    torch.testing.assert_close(state.remainders, torch.tensor([0.5, 1.0, 0.0]))
    assert state.should_continue(threshold, max_steps=5)
    assert not state.should_continue(threshold, max_steps=2)


def test_one_basic_step_is_a_one_layer_transformer():
    """Without step signal, one shared step adds the positions as the Transformer does."""
    hp = tiny("universal_transformer_tiny", num_rec_steps=1, add_step_timing_signal=False)
    ut = build("universal_transformer", hp).eval()
    thp = registry.hparams("transformer_tiny")
    for key, value in dict(
        hidden_size=16, filter_size=32, num_heads=2, num_hidden_layers=1
    ).items():
        thp.set_hparam(key, value)
    transformer = build("transformer", thp).eval()
    transformer.load_state_dict(ut.state_dict())
    torch.testing.assert_close(ut(features())[0], transformer(features())[0])


def test_steps_share_their_weights():
    counts = [
        sum(
            p.numel() for p in build("universal_transformer", tiny(s, num_rec_steps=n)).parameters()
        )
        for s, n in [("universal_transformer_tiny", 1), ("universal_transformer_tiny", 6)]
    ]
    # only the learned step embedding ([steps, H], encoder and decoder) grows
    assert counts[1] - counts[0] == 2 * 5 * 16


@pytest.mark.parametrize(
    "name",
    [
        "universal_transformer_tiny",
        "universal_transformer_sepconv_tiny",
        "adaptive_universal_transformer_tiny",
        "adaptive_universal_transformer_global_base",
        "adaptive_universal_transformer_with_sru_base",
        "universal_transformer_dwa_base",
        "universal_transformer_gru_base",
        "universal_transformer_lstm_base",
        "universal_transformer_highway_base",
    ],
)
def test_the_decoder_is_causal(name):
    model = build("universal_transformer", tiny(name)).eval()
    feats = features()
    changed = {k: v.clone() for k, v in feats.items()}
    changed["targets"][:, -1] = 7
    if name == "adaptive_universal_transformer_global_base":
        # global ACT halts a whole sequence at once: later positions change the step count
        return
    torch.testing.assert_close(model(feats)[0][:, :-1], model(changed)[0][:, :-1])


def test_a_padded_example_decodes_as_alone():
    model = build("universal_transformer", tiny("universal_transformer_tiny")).eval()
    feats = features()
    alone = {"inputs": feats["inputs"][1:, :3], "targets": feats["targets"][1:]}
    batch = {k: v[1:] for k, v in feats.items()}
    torch.testing.assert_close(model(batch)[0], model(alone)[0], atol=1e-5, rtol=1e-5)


def _golden_counts(prefix: tuple[str, ...]) -> dict:
    with open(GOLDEN) as f:
        golden = json.load(f)
    counts = golden["counts"]
    return {k: v for k, v in counts.items() if k.startswith(prefix) and isinstance(v, int)}


@pytest.mark.parametrize(
    "key", sorted(_golden_counts(("universal_transformer/", "universal_transformer_encoder/")))
)
def test_parameter_counts_equal_the_originals(key):
    """Counts made by tests/golden/models/make_zoo_param_counts.py with T2T 1.15.7."""
    model_name, set_name = key.split("/")
    expected = _golden_counts((key,))[key]
    model = registry.model(model_name)(registry.hparams(set_name), make_problem_hparams(20, 20))
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == expected


@pytest.mark.parametrize(
    "name", ["universal_transformer_tiny", "adaptive_universal_transformer_tiny"]
)
@pytest.mark.parametrize("beam_size", [1, 3])
def test_slow_decoding_runs_the_encoder_once_and_decodes_the_same(name, beam_size):
    """`slow_decoding_states` hands the encoder's output to every step; the decodes equal
    those of re-running the whole model (T2T's slow path) at every step."""
    from t2t.decode import protocol

    model = build("universal_transformer", tiny(name)).eval()
    inputs = features()["inputs"]
    calls = []
    model.encoder.register_forward_hook(lambda *args: calls.append(1))
    cached = protocol.slow_infer(model, {"inputs": inputs}, 6, beam_size, beam_size, 0.6)
    assert len(calls) == 1
    model.slow_decoding_states = None  # the plain slow path: the encoder at every step
    plain = protocol.slow_infer(model, {"inputs": inputs}, 6, beam_size, beam_size, 0.6)
    assert len(calls) > 2
    assert torch.equal(cached["outputs"], plain["outputs"])
    if beam_size > 1:
        torch.testing.assert_close(cached["scores"], plain["scores"], atol=1e-5, rtol=1e-5)
