"""Models find modalities through the registry: T2T's hparams overrides, the REAL_L2_LOSS
name regression, and a modality registered by a test that trains without any model edit."""

import math

import pytest
import torch
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.modalities import ModalityType
from t2t.modalities.base import Modality, weights_all
from t2t.modalities.overrides import FunctionBottom, FunctionTop
from t2t.problems.problem import ModalityType as ProblemModalityType


def problem_hparams(targets="symbol", inputs="symbol", vocab_in=11, vocab_out=11):
    """Problem hparams as a Problem's get_hparams returns them."""
    modality, vocab = {"targets": targets}, {"targets": vocab_out}
    if inputs is not None:
        modality["inputs"], vocab["inputs"] = inputs, vocab_in
    return HParams(
        modality=modality,
        vocab_size=vocab,
        input_space_id=0,
        target_space_id=1,
        loss_multiplier=1.0,
    )


def tiny(name="transformer_tiny", **values):
    hp = registry.hparams(name)
    for key, value in dict(hidden_size=16, filter_size=32, num_heads=2, **values).items():
        hp.set_hparam(key, value)
    return hp


def build(model="transformer", hparams=None, **problem):
    torch.manual_seed(0)
    return registry.model(model)(hparams or tiny(), problem_hparams(**problem))


FEATURES = {
    "inputs": torch.tensor([[4, 5, 3, 0], [2, 7, 0, 0]]),
    "targets": torch.tensor([[3, 4, 0], [5, 6, 2]]),
}


def test_real_l2_loss_problem_builds_and_trains():
    # Regression: problem.py said "real_l2", layers/modalities.py "real_l2_loss", so a
    # problem with ModalityType.REAL_L2_LOSS was rejected by the model.
    model = build(
        "transformer_encoder", targets=ProblemModalityType.REAL_L2_LOSS, vocab_out=1
    ).eval()
    targets = torch.tensor([[0.5, -1.0, 2.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    logits, losses = model({"inputs": FEATURES["inputs"], "targets": targets})
    assert logits.shape == (2, 4, 1)
    expected = ((logits.squeeze(-1) - targets) ** 2).sum() / targets.numel()
    torch.testing.assert_close(losses["training"], expected)
    assert losses["training_den"].item() == 8.0


def test_unknown_problem_modality_is_one_clear_error():
    with pytest.raises(HParamsError, match="'real_l2_loss' of feature 'targets' is not supported"):
        build("transformer_encoder", targets="real_l2_loss", vocab_out=1)


def test_bottom_override_with_a_t2t_function():
    def one_hot_bottom(x, model_hparams, vocab_size):
        assert vocab_size == 11
        return nn.functional.one_hot(x, model_hparams.hidden_size).float()

    hp = tiny()
    hp.bottom = {"inputs": one_hot_bottom}
    model = build(hparams=hp)
    assert isinstance(model.bottoms["inputs"], FunctionBottom)
    out = model.bottom(FEATURES)["inputs"]
    torch.testing.assert_close(out, nn.functional.one_hot(FEATURES["inputs"], 16).float())
    # only the targets own a table now
    assert list(model.modality_weights.tables) == ["symbol_modality_11_16_shared"]
    _, losses = model(FEATURES)
    assert torch.isfinite(losses["training"])


def test_bottom_override_with_a_registered_name():
    hp = tiny(shared_embedding_and_softmax_weights=False)
    hp.bottom = {"inputs": ModalityType.SYMBOL_ONE_HOT}
    model = build(hparams=hp, vocab_in=16)  # one-hot depth 16 = hidden_size
    out = model.bottom(FEATURES)["inputs"]
    torch.testing.assert_close(out, nn.functional.one_hot(FEATURES["inputs"], 16).float())


def test_top_override_gets_targets_and_t2t_arguments():
    seen = {}

    def first_logits(body_output, targets, model_hparams, vocab_size):
        seen["targets"], seen["vocab"] = targets, vocab_size
        return body_output[..., :vocab_size]

    hp = tiny()
    hp.top = {"targets": first_logits}
    model = build(hparams=hp).eval()
    logits, _ = model(FEATURES)
    assert isinstance(model.target_top, FunctionTop)
    assert seen["vocab"] == 11 and seen["targets"] is FEATURES["targets"]
    assert logits.shape == (2, 3, 11)


def test_loss_and_weights_fn_overrides():
    model = build().eval()
    logits, losses = model(FEATURES)
    assert losses["training_den"].item() == 5.0  # symbol: non-padding targets
    # weights_fn by name: every position counts
    model.hparams.weights_fn = {"targets": "weights_all"}
    assert model.loss(logits, FEATURES)["training_den"].item() == 6.0
    # weights_fn as a function, as T2T
    model.hparams.weights_fn = {"targets": lambda labels: 2.0 * (labels != 0).float()}
    assert model.loss(logits, FEATURES)["training_den"].item() == 10.0
    # loss by a registered name: symbol_one_hot's loss
    model.hparams.weights_fn = {}
    model.hparams.loss = {"targets": ModalityType.SYMBOL_ONE_HOT}
    parts = model.loss(logits, FEATURES)
    assert parts["training_den"].item() == 1.0  # symbol_one_hot: mean, denominator 1

    # loss as a T2T function: (top_out, targets, model_hparams, vocab_size, weights_fn)
    def count_loss(top_out, targets, model_hparams, vocab_size, weights_fn):
        assert model_hparams.label_smoothing == 0.0  # eval: T2T's set_mode zeroes it
        return weights_fn(targets).sum() * 3.0, torch.tensor(2.0)

    model.hparams.loss = {"targets": count_loss}
    parts = model.loss(logits, FEATURES)
    assert parts["training"].item() == 7.5  # 5 non-padding targets × 3 / 2


def test_name_override_sets_the_table_keys():
    hp = tiny()
    hp.name = {"inputs": "shared_text", "targets": lambda model_hparams, vocab: "shared_text"}
    model = build(hparams=hp)
    assert list(model.modality_weights.tables) == ["shared_text_shared"]


def test_prepend_mode_weights_win_for_sequence_targets():
    hp = tiny(prepend_mode="prepend_inputs_full_attention")
    hp.weights_fn = {"targets": weights_all}
    model = build(hparams=hp, inputs=None).eval()
    targets = torch.tensor([[4, 5, 0, 7, 8]])
    _, losses = model({"targets": targets})
    assert losses["training_den"].item() == 2.0  # only 7 and 8, after the first 0


def test_bad_override_values_are_clear_errors():
    hp = tiny()
    hp.bottom = {"inputs": 3}
    with pytest.raises(HParamsError, match=r"hparams.bottom\['inputs'\] must be"):
        build(hparams=hp)
    hp.bottom = {"inputs": "symbl"}
    with pytest.raises(HParamsError, match="did you mean symbol"):
        build(hparams=hp)


# ---- a modality the model base class has never heard of ------------------------------


class _ScaledEmbedding(nn.Module):
    """ids [B, T] -> own embedding [B, T, H] × 0.5."""

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, hidden_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.embedding(ids) * 0.5


class _TestModality(Modality):
    """Own embedding in, own dense out, plain mean cross-entropy over every position."""

    def bottom(self, spec):
        return _ScaledEmbedding(spec.vocab_size, spec.hparams.hidden_size)

    def top(self, spec):
        return nn.Linear(spec.body_output_depth, spec.vocab_size)

    def loss(self, logits, targets, hparams, vocab_size, weights_fn):
        xent = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")
        return xent, weights_fn(targets).sum()


@pytest.fixture
def test_modality():
    name = "test_scaled_symbol"
    registry.register_modality(name)(_TestModality)
    yield name
    registry.Registries.modalities._entries.pop(name)


def test_a_modality_registered_here_trains_a_step(test_modality):
    model = build(targets=test_modality, inputs=test_modality)
    names = dict(model.named_parameters())
    assert "bottoms.inputs.embedding.weight" in names and "target_top.weight" in names
    assert not list(model.modality_weights.tables)  # no symbol tables
    assert model.modalities["targets"].scope_name(model.hparams, 11) == (
        "test_scaled_symbol_modality"
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.bottoms["inputs"].embedding.weight.detach().clone()
    _, losses = model(FEATURES)
    # weights_all (the base default): 6 positions, PAD included
    assert losses["training_den"].item() == 6.0
    losses["training"].backward()
    optimizer.step()
    assert not torch.equal(before, model.bottoms["inputs"].embedding.weight)
    _, after = model(FEATURES)
    assert after["training"].item() < losses["training"].item()
    assert math.isfinite(after["training"].item())


def test_metrics_weights_follow_t2t():
    # T2T's eval metrics use hparams.weights_fn["targets"] or the modality's default, and
    # never the prepend-mode weights (those live in the model's own hparams copy).
    from t2t.modalities.base import weights_prepend_inputs_to_targets

    labels = torch.tensor([[4, 0, 7]])
    hp = tiny(prepend_mode="prepend_inputs_full_attention")
    model = build(hparams=hp, inputs=None)
    assert model.weights_fn() is weights_prepend_inputs_to_targets
    assert model.metrics_weights_fn()(labels).tolist() == [[1.0, 0.0, 1.0]]  # non-padding
    model.hparams.weights_fn = {"targets": "weights_all"}
    assert model.metrics_weights_fn()(labels).tolist() == [[1.0, 1.0, 1.0]]
    classifier = build("transformer_encoder", targets="class_label", vocab_out=3)
    assert classifier.metrics_weights_fn()(torch.tensor([0, 2])).tolist() == [1.0, 1.0]
