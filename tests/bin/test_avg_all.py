"""t2t-avg-all: sliding-window averages are exact means of each window of checkpoints."""

import os
import subprocess
import sys

import torch

from t2t.runs import checkpoints
from t2t.runs.averaging import sliding_window_averages


def _make_checkpoints(model_dir, steps):
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.LayerNorm(5))
    for i, step in enumerate(steps):
        torch.manual_seed(i)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn_like(p) * 10 ** (i % 3))
        prefix = checkpoints.save_checkpoint(str(model_dir), step, model, {"step": step}, 0)
        os.utime(checkpoints.weights_path(prefix), (1000.0 + step, 1000.0 + step))
    (model_dir / "flags.txt").write_text("--model=toy\n")
    os.utime(model_dir / "flags.txt", (123.0, 123.0))


def test_each_window_average_is_exact(tmp_path):
    model_dir, out = tmp_path / "train", tmp_path / "avg"
    steps = [100, 200, 300, 400, 500]
    _make_checkpoints(model_dir, steps)
    written = list(sliding_window_averages(str(model_dir), str(out), n=3))
    assert [checkpoints.checkpoint_step(p) for p in written] == [300, 400, 500]
    for k, prefix in enumerate(written):
        window = [checkpoints.checkpoint_prefix(str(model_dir), s) for s in steps[k : k + 3]]
        got = checkpoints.read_weights(prefix)
        want = checkpoints.average_checkpoints(window)
        by_hand = {
            name: sum(checkpoints.read_weights(w)[name].double() for w in window) / 3
            for name in want
        }
        for name in want:
            assert torch.equal(got[name], want[name]), name
            assert torch.equal(got[name], by_hand[name].float()), name
        assert os.path.getmtime(checkpoints.weights_path(prefix)) == 1000.0 + steps[k + 2]
    assert os.path.getmtime(out / "flags.txt") == 123.0
    assert checkpoints.latest_checkpoint(str(out), need_state=False) == written[-1]


def test_min_steps_and_too_few(tmp_path):
    model_dir = tmp_path / "train"
    _make_checkpoints(model_dir, [1, 2, 3, 4])
    written = list(sliding_window_averages(str(model_dir), str(tmp_path / "a"), 2, min_steps=3))
    assert [checkpoints.checkpoint_step(p) for p in written] == [4]
    assert list(sliding_window_averages(str(model_dir), str(tmp_path / "b"), n=8)) == []


def test_keeps_five_like_tf_saver(tmp_path):
    model_dir = tmp_path / "train"
    _make_checkpoints(model_dir, list(range(1, 9)))
    list(sliding_window_averages(str(model_dir), str(tmp_path / "avg"), n=1))
    kept = checkpoints.list_checkpoints(str(tmp_path / "avg"))
    assert [checkpoints.checkpoint_step(p) for p in kept] == [4, 5, 6, 7, 8]


def test_command_line(tmp_path):
    model_dir = tmp_path / "train"
    _make_checkpoints(model_dir, [10, 20, 30])
    cmd = [
        sys.executable,
        "-m",
        "t2t.bin.t2t_avg_all",
        f"--model_dir={model_dir}",
        f"--output_dir={tmp_path / 'avg'}",
        "--n=2",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert sorted(os.listdir(tmp_path / "avg")) == [
        "checkpoint",
        "flags.txt",
        "model.ckpt-20.safetensors",
        "model.ckpt-30.safetensors",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_avg_all", f"--model_dir={tmp_path / 'missing'}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "not a directory" in proc.stderr
