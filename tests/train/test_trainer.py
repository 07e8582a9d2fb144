"""The training loop: resume equals an uninterrupted run, NaN stop, eval, logs."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from t2t.runs import checkpoints
from t2t.train import trainer

sys.path.insert(0, os.path.dirname(__file__))
import toy_training  # noqa: E402

TOY_SCRIPT = os.path.join(os.path.dirname(__file__), "toy_training.py")


def _train_losses(output_dir) -> dict[int, float]:
    """step -> loss from log.jsonl (the last record wins: a resumed run re-logs steps)."""
    losses = {}
    with open(os.path.join(output_dir, "log.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "split" not in record:
                losses[record["step"]] = record["loss"]
    return losses


def _weights(output_dir):
    return checkpoints.read_weights(checkpoints.latest_checkpoint(str(output_dir)))


def test_resume_matches_uninterrupted_run(tmp_path):
    toy_training.run_training(str(tmp_path / "full"), 6)
    toy_training.run_training(str(tmp_path / "resumed"), 3)
    assert checkpoints.latest_checkpoint(str(tmp_path / "resumed")).endswith("model.ckpt-3")
    toy_training.run_training(str(tmp_path / "resumed"), 6)
    full, resumed = _train_losses(tmp_path / "full"), _train_losses(tmp_path / "resumed")
    assert sorted(full) == list(range(1, 7))
    assert full == resumed  # exactly equal on CPU (same data, dropout RNG, Adam state)
    for name, value in _weights(tmp_path / "full").items():
        assert torch.equal(value, _weights(tmp_path / "resumed")[name]), name


@contextlib.contextmanager
def _one_thread():
    """Same thread count as the subprocess: float sums are bitwise reproducible."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_kill_9_then_resume_matches_uninterrupted_run(tmp_path):
    full, killed = str(tmp_path / "full"), str(tmp_path / "killed")
    with _one_thread():
        toy_training.run_training(full, 8)
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.Popen(
        [
            sys.executable,
            TOY_SCRIPT,
            "--output_dir",
            killed,
            "--train_steps",
            "8",
            "--sleep",
            "0.3",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            latest = checkpoints.latest_checkpoint(killed)
            if latest and checkpoints.checkpoint_step(latest) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
        proc.stderr.close()
    step_at_kill = checkpoints.checkpoint_step(checkpoints.latest_checkpoint(killed))
    assert 3 <= step_at_kill < 8
    with _one_thread():
        toy_training.run_training(killed, 8)
    assert _train_losses(full) == _train_losses(killed)
    for name, value in _weights(full).items():
        assert torch.equal(value, _weights(killed)[name]), name


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    hparams = toy_training.toy_hparams()
    model = toy_training.ToyModel()
    config = trainer.TrainConfig(
        output_dir=str(tmp_path),
        train_steps=10,
        save_checkpoints_steps=2,
        log_every_steps=1,
        progress_bar=False,
        device="cpu",
    )
    from t2t import registry
    from t2t.train.learning_rate import learning_rate_schedule

    with pytest.raises(trainer.TrainingDivergedError, match="NaN or infinite.*model.ckpt-4"):
        trainer.train(
            model,
            lambda p: registry.optimizer("adam")(p, hparams),
            learning_rate_schedule(hparams),
            toy_training.ToyBatches(nan_at=4),
            config,
        )
    assert checkpoints.latest_checkpoint(str(tmp_path)).endswith("model.ckpt-4")
    assert all(torch.isfinite(v).all() for v in _weights(tmp_path).values())


def test_evaluation_log_and_metrics(tmp_path):
    def metrics_fn(logits, features):
        targets = features["targets"]
        weights = (targets != 0).float()
        correct = ((logits.argmax(-1) == targets).float() * weights).sum()
        return {"accuracy": (correct, weights.sum()), "constant": 2.0}

    eval_batches = [toy_training.ToyBatches(seed=9).batch(i) for i in range(3)]
    hparams = toy_training.toy_hparams()
    from t2t import registry
    from t2t.train.learning_rate import learning_rate_schedule

    config = trainer.TrainConfig(
        output_dir=str(tmp_path),
        train_steps=4,
        save_checkpoints_steps=2,
        log_every_steps=2,
        eval_steps=2,
        progress_bar=False,
        device="cpu",
        keep_checkpoint_max=1,
    )
    result = trainer.train(
        toy_training.ToyModel(),
        lambda p: registry.optimizer("adam")(p, hparams),
        learning_rate_schedule(hparams),
        toy_training.ToyBatches(),
        config,
        eval_batches=eval_batches,
        metrics_fn=metrics_fn,
    )
    records = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    evals = [r for r in records if r.get("split") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    assert set(evals[0]) == {"step", "split", "loss", "accuracy", "constant"}
    assert 0.0 <= evals[0]["accuracy"] <= 1.0 and evals[0]["constant"] == 2.0
    train_records = [r for r in records if "split" not in r]
    assert [r["step"] for r in train_records] == [2, 4]
    assert set(train_records[0]) == {"step", "loss", "learning_rate", "tokens_per_sec"}
    assert result["eval"] == {k: v for k, v in evals[-1].items() if k not in ("step", "split")}
    assert os.path.basename(result["checkpoint"]) == "model.ckpt-4"
    assert len(checkpoints.list_checkpoints(str(tmp_path))) == 1
    # evaluate() alone: loss is the mean over batches of each batch's num / den, as T2T's
    # eval loss was (tf.estimator adds `loss` as tf.metrics.mean of the per-batch loss,
    # estimator.py _verify_and_create_loss_metric; T2T's per-batch loss is num / max(1, den)).
    model = toy_training.ToyModel(dropout=0.0)
    two = [eval_batches[0], {k: v[:1] for k, v in eval_batches[1].items()}]  # unequal dens
    metrics = trainer.evaluate(model, two + eval_batches, max_steps=2)
    with torch.no_grad():
        outs = [model(b)[1] for b in two]
    want = sum(o["training_num"] / max(1.0, float(o["training_den"])) for o in outs) / 2
    assert metrics["loss"] == pytest.approx(float(want))
    pooled = sum(o["training_num"] for o in outs) / sum(o["training_den"] for o in outs)
    assert outs[0]["training_den"] != outs[1]["training_den"]  # so the two definitions differ
    assert metrics["loss"] != pytest.approx(float(pooled), rel=1e-4)


def test_tokens_per_sec_leaves_out_evaluations_between_log_steps(tmp_path, monkeypatch):
    """A fake clock: fetching a training batch takes 1 s, an evaluation batch's metrics
    100 s. Logged every 4 steps and evaluated every 2, step 4's rate is its 4 batches'
    tokens over 4 s (the evaluation at step 2 left out, the time before it kept)."""
    now = [0.0]
    monkeypatch.setattr(trainer.time, "perf_counter", lambda: now[0])
    source = toy_training.ToyBatches()
    fed: list[dict] = []

    def train_batches():
        for i in range(100):
            now[0] += 1.0
            fed.append(source.batch(i))
            yield fed[-1]

    def metrics_fn(logits, features):
        now[0] += 100.0
        return {}

    hparams = toy_training.toy_hparams()
    from t2t import registry
    from t2t.train.learning_rate import learning_rate_schedule

    config = trainer.TrainConfig(
        output_dir=str(tmp_path), train_steps=4, log_every_steps=4, eval_every_steps=2,
        eval_steps=1, progress_bar=False, device="cpu",
    )  # fmt: skip
    trainer.train(
        toy_training.ToyModel(),
        lambda p: registry.optimizer("adam")(p, hparams),
        learning_rate_schedule(hparams),
        train_batches(),
        config,
        eval_batches=[toy_training.ToyBatches(seed=9).batch(0)],
        metrics_fn=metrics_fn,
    )
    records = [json.loads(line) for line in open(tmp_path / "log.jsonl")]
    (logged,) = [r for r in records if "split" not in r]
    tokens = sum(int((b["targets"] != 0).sum()) for b in fed[:4])
    assert logged["tokens_per_sec"] == pytest.approx(tokens / 4.0)


def test_bf16_autocast_and_weight_decay_and_clipping_run(tmp_path):
    result = toy_training.run_training(
        str(tmp_path),
        3,
        autocast_dtype="bfloat16",
        clip_grad_norm=0.5,
        weight_decay=0.01,
        grad_noise_scale=1e-3,
    )
    assert result["step"] == 3 and result["loss"] is not None


def test_multistep_adam_updates_every_n_batches(tmp_path):
    # multistep_adam: weights change only at steps n, 2n, ... (T2T semantics)
    hparams = toy_training.toy_hparams("multistep_adam")
    hparams.optimizer_multistep_accumulate_steps = 2
    hparams.learning_rate_schedule = "constant"
    model = toy_training.ToyModel(dropout=0.0)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    from t2t import registry
    from t2t.train.learning_rate import learning_rate_schedule

    snapshots = []
    for steps in (1, 2):
        config = trainer.TrainConfig(
            output_dir=str(tmp_path),
            train_steps=steps,
            save_checkpoints_steps=1,
            progress_bar=False,
            device="cpu",
        )
        trainer.train(
            model,
            lambda p: registry.optimizer("multistep_adam")(p, hparams),
            learning_rate_schedule(hparams),
            toy_training.ToyBatches(),
            config,
        )
        snapshots.append(_weights(tmp_path))
    assert torch.equal(snapshots[0]["dense.weight"], initial["dense.weight"])  # accumulated
    assert not torch.equal(snapshots[0]["dense.weight"], snapshots[1]["dense.weight"])


def test_iterable_without_state_dict_resumes_by_skipping(tmp_path):
    class Plain:
        def __iter__(self):
            source = toy_training.ToyBatches()
            return (source.batch(i) for i in range(50))

    hparams = toy_training.toy_hparams()
    from t2t import registry
    from t2t.train.learning_rate import learning_rate_schedule

    def run(output_dir, steps):
        torch.manual_seed(3)
        config = trainer.TrainConfig(
            output_dir=output_dir,
            train_steps=steps,
            save_checkpoints_steps=1,
            log_every_steps=1,
            seed=3,
            progress_bar=False,
            device="cpu",
        )
        trainer.train(
            toy_training.ToyModel(),
            lambda p: registry.optimizer("adam")(p, hparams),
            learning_rate_schedule(hparams),
            Plain(),
            config,
        )

    run(str(tmp_path / "a"), 4)
    run(str(tmp_path / "b"), 2)
    run(str(tmp_path / "b"), 4)
    assert _train_losses(tmp_path / "a") == _train_losses(tmp_path / "b")
