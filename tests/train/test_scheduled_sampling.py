"""scheduled_sampling_* and weight_noise: each test fails if the knob does nothing."""

import math

import pytest
import torch

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import create_hparams
from t2t.train import learning_rate, trainer
from t2t.train.optimizers import add_weight_noise, body_parameters
from t2t.train.scheduled_sampling import (
    ScheduledSampling,
    inverse_exp_decay,
    inverse_lin_decay,
    inverse_sigmoid_decay,
)
from tests.models.conftest import make_problem_hparams
from tests.train import toy_training

V = 12


class Recorder(torch.nn.Module):
    """A symbol-target model whose logits at position t put all mass on a chosen token.

    `rule(targets)` -> [B, T] tokens; every call's targets are recorded.
    """

    target_modality = "symbol"

    def __init__(self, rule):
        super().__init__()
        self.rule = rule
        self.calls = []
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, features):
        targets = features["targets"]
        self.calls.append(targets.clone())
        logits = torch.full((*targets.shape, V), -1e4) + self.w
        logits.scatter_(-1, self.rule(targets)[..., None], 1e4)
        return logits, self.loss(logits, features)

    def loss(self, logits, features):
        gold = features["targets"]
        num = torch.nn.functional.cross_entropy(
            logits.reshape(-1, V), gold.reshape(-1), reduction="sum"
        )
        return {"training": num, "training_num": num, "training_den": torch.tensor(1.0)}


def _ss(**overrides):
    hp = create_hparams("basic_1", "scheduled_sampling_prob=1.0,scheduled_sampling_warmup_steps=1")
    for key, value in overrides.items():
        hp.set_hparam(f"scheduled_sampling_{key}", value)
    return ScheduledSampling.from_hparams(hp)


def test_default_is_off_and_bad_values_fail():
    assert ScheduledSampling.from_hparams(create_hparams("transformer_base")) is None
    with pytest.raises(HParamsError, match="must be 0 or 1"):
        ScheduledSampling.from_hparams(create_hparams("basic_1", "scheduled_sampling_prob=0.5"))
    with pytest.raises(HParamsError, match="method"):
        _ss(method="beam")
    with pytest.raises(HParamsError, match="num_passes=1"):
        _ss(method="sequential", num_passes=2)


def test_warmup_schedules_match_t2t_formulas():
    # Each grows from min_value at step 0 to 1 at max_step; values at the midpoint by hand.
    for fn in (inverse_exp_decay, inverse_lin_decay, inverse_sigmoid_decay):
        assert fn(100, 0, 0.001) == pytest.approx(0.001)
        assert fn(100, 100, 0.001) == pytest.approx(1.0)
        assert fn(100, 500, 0.001) == pytest.approx(1.0)
    assert inverse_exp_decay(100, 50, 0.001) == pytest.approx(math.sqrt(0.001))
    assert inverse_lin_decay(100, 50, 0.001) == pytest.approx(0.5 * 0.999 + 0.001)
    assert inverse_sigmoid_decay(100, 50, 0.001) == pytest.approx(0.5 * 0.999 + 0.001)
    ss = _ss(gold_mixin_prob=0.4, warmup_steps=10, warmup_schedule="linear")
    assert ss.mixin_prob(5) == pytest.approx(0.4 * (0.5 * 0.999 + 0.001))


def test_parallel_conditions_on_samples_and_scores_against_gold():
    model = Recorder(lambda t: torch.full_like(t, 7))
    gold = torch.tensor([[3, 4, 5, 1]])
    logits, losses = _ss(gold_mixin_prob=1.0).forward(model, model, {"targets": gold}, step=5)
    assert len(model.calls) == 2  # teacher-forced pass, then the pass on the mixed targets
    assert torch.equal(model.calls[0], gold)
    assert torch.equal(model.calls[1], torch.full_like(gold, 7))  # every token was resampled
    assert float(losses["training"].detach()) > 1e3  # scored against gold (3, 4, 5, 1), not 7s
    model.calls.clear()
    _ss(gold_mixin_prob=0.0).forward(model, model, {"targets": gold}, step=5)
    assert torch.equal(model.calls[1], gold)  # mixing probability 0: gold kept


def test_parallel_passes_keep_earlier_positions():
    # Pass i samples (previous token + 1); positions < i keep the previous pass's tokens.
    model = Recorder(lambda t: (t + 1) % V)
    gold = torch.tensor([[3, 3, 3]])
    _ss(gold_mixin_prob=1.0, num_passes=3).forward(model, model, {"targets": gold}, step=9)
    assert [c.tolist()[0] for c in model.calls] == [[3, 3, 3], [4, 4, 4], [4, 5, 5], [4, 5, 6]]


def test_sequential_builds_tokens_left_to_right():
    # The token at t is (token at t-1) + 1, given what was built so far: 1, 2, 3, 4.
    def rule(t):
        shifted = torch.nn.functional.pad(t, (1, 0))[:, :-1]
        return (shifted + 1) % V

    model = Recorder(rule)
    gold = torch.tensor([[9, 9, 9, 9]])
    _ss(method="sequential", gold_mixin_prob=1.0).forward(model, model, {"targets": gold}, 9)
    assert len(model.calls) == 5
    assert model.calls[-1].tolist() == [[1, 2, 3, 4]]


def _train_transformer(tmp_path, overrides: str) -> float:
    tiny = "hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=1"
    hp = create_hparams("transformer_tiny", ",".join(filter(None, [tiny, overrides])))
    torch.manual_seed(0)
    model = registry.model("transformer")(hp, make_problem_hparams(20, 20))
    config = trainer.TrainConfig.from_hparams(
        hp, output_dir=str(tmp_path), train_steps=3, save_checkpoints_steps=100,
        log_every_steps=1, seed=1, progress_bar=False, device="cpu", tensorboard=False,
    )  # fmt: skip
    result = trainer.train(
        model,
        lambda params: registry.optimizer(hp.optimizer)(params, hp),
        learning_rate.learning_rate_schedule(hp),
        toy_training.ToyBatches(seed=3),
        config,
    )
    return result["loss"]


def test_trainer_applies_scheduled_sampling(tmp_path):
    plain = _train_transformer(tmp_path / "a", "")
    again = _train_transformer(tmp_path / "b", "")
    sampled = _train_transformer(
        tmp_path / "c",
        "scheduled_sampling_prob=1.0,scheduled_sampling_warmup_steps=1,"
        "scheduled_sampling_gold_mixin_prob=1.0",
    )
    assert plain == again and sampled != plain


def test_weight_noise_on_body_only_scaled_by_learning_rate():
    model = registry.model("transformer")(
        create_hparams("transformer_tiny"), make_problem_hparams(20, 20)
    )
    body = body_parameters(model)
    names = {id(p): n for n, p in model.named_parameters()}
    assert body and all("encoder" in names[id(p)] or "decoder" in names[id(p)] for p in body)
    assert len(body) < len(list(model.parameters()))  # the modalities' weights are left alone
    before = [p.detach().clone() for p in body]
    add_weight_noise(body, 0.0, 1.0)
    assert all(torch.equal(a, p) for a, p in zip(before, body))
    torch.manual_seed(0)
    add_weight_noise(body, 2.0, 0.5)  # scale 2.0 * 0.5 / 1000 = 1e-3, truncated at ±2
    deltas = torch.cat([(p.detach() - a).flatten() for a, p in zip(before, body)])
    assert float(deltas.abs().max()) <= 2e-3 + 1e-7
    assert float(deltas.std()) == pytest.approx(1e-3 * 0.88, rel=0.1)  # std of N(0,1) cut at ±2


def test_trainer_applies_weight_noise(tmp_path):
    plain = _train_transformer(tmp_path / "a", "")
    noisy = _train_transformer(tmp_path / "b", "weight_noise=100.0")
    assert noisy != plain
