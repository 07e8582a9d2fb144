"""--eval_early_stopping_* and --save_checkpoints_secs: each test fails if the flag does nothing."""

import pytest
import torch

from t2t import registry
from t2t.errors import T2TError
from t2t.runs import checkpoints
from t2t.train import run_state, trainer
from t2t.train.early_stopping import EarlyStopping, has_metric_plateaued
from t2t.train.learning_rate import learning_rate_schedule
from tests.train import toy_training


def test_has_metric_plateaued_as_t2t():
    steps = [0, 100, 200, 300]
    assert not has_metric_plateaued(steps[:1], [1.0], 100, 0.1)
    assert not has_metric_plateaued(steps, [4.0, 3.0, 2.0, 1.0], 100, 0.1)  # improving
    assert has_metric_plateaued(steps, [4.0, 3.0, 2.95, 2.92], 100, 0.1)  # < 0.1 since 200
    assert not has_metric_plateaued(steps, [4.0, 3.0, 2.95, 2.92], 250, 0.1)  # from step 0
    assert not has_metric_plateaued(steps, [4.0, 3.0, 2.95, 2.92], 1000, 0.1)  # too early
    assert has_metric_plateaued(steps, [0.5, 0.6, 0.61, 0.6], 100, 0.05, decrease=False)
    assert not has_metric_plateaued(steps, [0.5, 0.6, 0.61, 0.7], 100, 0.05, decrease=False)
    with pytest.raises(T2TError):
        has_metric_plateaued(steps, [1, 1, 1, 1], 0, 0.1)


def test_metric_by_key_or_last_part():
    stop = EarlyStopping(num_steps=1, metric="accuracy", delta=0.5, minimize=False)
    key = "metrics-p/targets/accuracy"
    assert not stop.should_stop(1, {"loss": 1.0, key: 0.2})
    assert stop.should_stop(2, {"loss": 1.0, key: 0.3})
    with pytest.raises(T2TError, match="not an eval metric"):
        EarlyStopping(num_steps=1, metric="bleu").should_stop(1, {"loss": 1.0})


def _train(tmp_path, train_steps, **config):
    hparams = toy_training.toy_hparams()
    torch.manual_seed(0)
    eval_batches = [toy_training.ToyBatches(seed=9).batch(i) for i in range(2)]
    values = dict(
        output_dir=str(tmp_path), train_steps=train_steps, save_checkpoints_steps=1000,
        log_every_steps=1, eval_every_steps=1, eval_steps=2, progress_bar=False, device="cpu",
        tensorboard=False, keep_checkpoint_max=0,
    )  # fmt: skip
    values.update(config)
    return trainer.train(
        toy_training.ToyModel(dropout=0.0),
        lambda params: registry.optimizer(hparams.optimizer)(params, hparams),
        learning_rate_schedule(hparams),
        toy_training.ToyBatches(),
        trainer.TrainConfig(**values),
        eval_batches=eval_batches,
    )


def test_training_stops_when_eval_loss_plateaus(tmp_path):
    full = _train(tmp_path / "a", 12)
    assert full["step"] == 12 and "early_stopped" not in full
    # The loss cannot fall by 100 in 2 steps: stop at the first evaluation 2 steps after one.
    stopped = _train(tmp_path / "b", 12, early_stopping=EarlyStopping(num_steps=2, delta=100.0))
    assert stopped["step"] == 3 and stopped["early_stopped"]
    assert checkpoints.checkpoint_step(stopped["checkpoint"]) == 3  # the last step is saved
    # A reachable delta does not stop it.
    kept = _train(tmp_path / "c", 12, early_stopping=EarlyStopping(num_steps=2, delta=-1.0))
    assert kept["step"] == 12


def _saved_steps(output_dir) -> list[int]:
    return [checkpoints.checkpoint_step(p) for p in checkpoints.list_checkpoints(output_dir)]


def test_save_checkpoints_secs_replaces_steps(tmp_path, monkeypatch):
    clock = iter(range(0, 10**6, 10))  # each look at the clock: 10 more seconds
    monkeypatch.setattr(trainer.time, "monotonic", lambda: float(next(clock)))
    _train(tmp_path / "secs", 6, save_checkpoints_secs=15, eval_every_steps=0)
    by_secs = [
        checkpoints.checkpoint_step(p) for p in checkpoints.list_checkpoints(tmp_path / "secs")
    ]
    _train(tmp_path / "steps", 6, eval_every_steps=0)
    by_steps = [
        checkpoints.checkpoint_step(p) for p in checkpoints.list_checkpoints(tmp_path / "steps")
    ]
    assert by_steps == [6]  # every 1000 steps: only the final one
    # Clock read at start (0), then at each step's check: 10, 20 (save), 30, 40 (save), ...
    assert by_secs == [2, 4, 6]


def test_keep_checkpoint_every_n_hours_keeps_one_per_period(tmp_path, monkeypatch):
    # Checkpoint k is written at k half-hours after the start; keep_checkpoint_max=1.
    monkeypatch.setattr(run_state.time, "time", lambda: 0.0)
    monkeypatch.setattr(
        run_state.os.path,
        "getmtime",
        lambda path: 1800.0 * int(path.rsplit("-", 1)[1].split(".")[0]),
    )

    def on_disk(output_dir):
        names = [p.name for p in output_dir.iterdir() if p.name.endswith(".safetensors")]
        return sorted(int(n.split("-")[1].split(".")[0]) for n in names)

    common = dict(save_checkpoints_steps=1, eval_every_steps=0, keep_checkpoint_max=1)
    _train(tmp_path / "plain", 6, **common)
    _train(tmp_path / "hourly", 6, keep_checkpoint_every_n_hours=1.0, **common)
    assert on_disk(tmp_path / "plain") == [6]
    assert on_disk(tmp_path / "hourly") == [2, 4, 6]  # at 1 h and 2 h, then the newest
    assert _saved_steps(tmp_path / "hourly") == [6]  # kept ones are out of the index, as in TF


def test_run_options_reach_the_train_config():
    from t2t.train import experiment

    options = experiment.RunOptions(
        output_dir="out", train_steps=10, save_checkpoints_secs=30,
        keep_checkpoint_every_n_hours=2, early_stopping_steps=500,
        early_stopping_metric="accuracy", early_stopping_delta=0.01,
        early_stopping_minimize=False,
    )  # fmt: skip
    assert experiment._early_stopping(experiment.RunOptions("out", 10)) is None
    stop = experiment._early_stopping(options)
    assert (stop.num_steps, stop.metric, stop.delta, stop.minimize) == (
        500, "accuracy", 0.01, False,
    )  # fmt: skip

    class Exp:
        hparams = toy_training.toy_hparams()

    config = experiment._config(Exp, options, evaluate=True)
    assert config.save_checkpoints_secs == 30 and config.keep_checkpoint_every_n_hours == 2
    assert config.early_stopping is not None
    assert experiment._config(Exp, options, evaluate=False).early_stopping is None
