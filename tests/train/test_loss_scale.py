"""float16 loss scaling with T2T's constants (t2t.train.loss_scale) and in the trainer."""

import json
import os

import pytest
import torch

from t2t.errors import HParamsError
from t2t.hparams import basic_params1
from t2t.train import trainer
from t2t.train.loss_scale import LossScaler, initial_loss_scale
from tests.train import toy_training


def test_the_scale_halves_every_second_overflow_and_doubles_after_n_good_steps():
    scaler = LossScaler(8.0, increase_every_n_steps=3)
    scaler.update(False)
    assert scaler.scale == 8.0  # TF's decr_every_n_nan_or_inf=2: one overflow is not enough
    scaler.update(True)  # resets the good steps only; the overflow count stays
    scaler.update(False)
    assert scaler.scale == 4.0 and scaler.good_steps == scaler.bad_steps == 0
    for _ in range(2):
        scaler.update(True)
    assert scaler.scale == 4.0
    scaler.update(True)
    assert scaler.scale == 8.0
    floor = LossScaler(1.0)
    floor.update(False), floor.update(False)
    assert floor.scale == 1.0  # never below 1
    restored = LossScaler()
    restored.load_state_dict(scaler.state_dict())
    assert restored.state_dict() == scaler.state_dict()


def test_unscaling_divides_the_gradients_and_detects_overflow():
    weight = torch.nn.Parameter(torch.ones(3))
    scaler = LossScaler(4.0)
    scaler.scaled((weight * torch.tensor([1.0, 2.0, 3.0])).sum()).backward()
    assert scaler.unscale_and_update([weight])
    torch.testing.assert_close(weight.grad, torch.tensor([1.0, 2.0, 3.0]))
    weight.grad = torch.tensor([1.0, float("inf"), 0.0])
    assert not scaler.unscale_and_update([weight])


def test_the_hparams_choose_the_scaler_as_t2t_does():
    hp = basic_params1()
    assert initial_loss_scale(hp) is None  # float32 activations
    hp.activation_dtype = "float16"
    assert initial_loss_scale(hp) == 2.0**15
    hp.mixed_precision_optimizer_init_loss_scale = 128
    assert initial_loss_scale(hp) == 128.0
    hp.mixed_precision_optimizer_loss_scaler = ""
    assert initial_loss_scale(hp) is None
    hp.mixed_precision_optimizer_loss_scaler = "fixed"
    with pytest.raises(HParamsError, match="exponential"):
        initial_loss_scale(hp)
    config = trainer.TrainConfig.from_hparams(
        toy_training.toy_hparams(activation_dtype="float16"), output_dir="x", train_steps=1
    )
    assert (config.autocast_dtype, config.loss_scale) == ("float16", 2.0**15)


class _Quadratic(torch.nn.Module):
    """loss = c·w², w = 1 at first: the scaled gradient 2c·w·scale overflows float32 once it
    reaches 2**128, so which steps overflow is known in advance (and all is exact)."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c
        self.w = torch.nn.Parameter(torch.ones(1))

    def forward(self, features: dict) -> tuple[torch.Tensor, dict]:
        loss = self.c * (self.w**2).sum() * features["x"].mean()
        return loss, {"training": loss}


def _train_quadratic(output_dir, c: float, loss_scale: float | None, steps: int = 2):
    model = _Quadratic(c)
    config = trainer.TrainConfig(
        output_dir=str(output_dir), train_steps=steps, save_checkpoints_steps=steps,
        log_every_steps=1, progress_bar=False, device="cpu", autocast_dtype="float16",
        loss_scale=loss_scale,
    )  # fmt: skip
    result = trainer.train(
        model,
        lambda params: torch.optim.SGD(params, lr=0.0),
        lambda step: 2.0**-130,  # w: 1 -> 0.875 -> 0.765625
        [{"x": torch.ones(1)}] * 20,
        config,
    )
    return result, model.w.detach()


def test_an_overflowing_step_is_skipped_and_the_scale_backs_off(tmp_path):
    # c = 2**126, first scale 4: the gradient 2**127·scale overflows at scales 4 and 2 (two
    # steps each: T2T backs off at every second overflow) and fits at 1.
    result, weights = _train_quadratic(tmp_path / "scaled", 2.0**126, 4.0)
    assert result["step"] == 2  # the 4 skipped steps did not count
    with open(os.path.join(tmp_path, "scaled", "log.jsonl")) as f:
        logged = [json.loads(line) for line in f if '"loss_scale"' in line]
    assert [(e["step"], e["loss_scale"]) for e in logged] == [(1, 1.0), (2, 1.0)]
    _, plain = _train_quadratic(tmp_path / "plain", 2.0**126, None)
    assert weights.tolist() == plain.tolist() == [0.765625]  # two updates, as unscaled
    state = torch.load(str(result["checkpoint"]) + ".state.pt", weights_only=True)
    assert state["loss_scale"] == {"scale": 1.0, "good_steps": 2, "bad_steps": 0}
    # A resumed run continues from the saved scale (from 4 again, step 3 would overflow).
    resumed, _ = _train_quadratic(tmp_path / "scaled", 2.0**126, 4.0, steps=3)
    state = torch.load(str(resumed["checkpoint"]) + ".state.pt", weights_only=True)
    assert state["loss_scale"] == {"scale": 1.0, "good_steps": 3, "bad_steps": 0}


def test_gradients_that_overflow_at_scale_1_stop_training(tmp_path):
    # c = 2**127: the loss is finite, its gradient 2**128 is not, even unscaled
    with pytest.raises(trainer.TrainingDivergedError, match="loss scale at 1"):
        _train_quadratic(tmp_path, 2.0**127, 2.0)


def test_float16_autocast_with_loss_scaling_trains_the_toy_model(tmp_path):
    result = toy_training.run_training(
        str(tmp_path), 3, autocast_dtype="float16", loss_scale=2.0**15
    )
    assert result["step"] == 3 and result["loss"] is not None
    with open(os.path.join(tmp_path, "log.jsonl")) as f:
        assert [json.loads(line)["loss_scale"] for line in f] == [2.0**15] * 3
