"""t2t-trainer end to end on a tiny user problem: data, training, eval, files, resume."""

import json
import os
import subprocess
import sys

import pytest

USR_DIR = os.path.join(os.path.dirname(__file__), "..", "problems", "fixtures", "problems_usr_dir")
TINY = "hidden_size=16,filter_size=32,num_heads=2,batch_size=64,learning_rate_warmup_steps=10"


def trainer(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_trainer", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def common(tmp_path, *extra: str) -> list[str]:
    return [
        f"--t2t_usr_dir={USR_DIR}",
        "--problem=my_tiny_translate",
        "--model=transformer",
        "--hparams_set=transformer_tiny",
        f"--data_dir={tmp_path / 'data'}",
        f"--tmp_dir={tmp_path / 'tmp'}",
        f"--output_dir={tmp_path / 'train'}",
        "--random_seed=7",
        "--noprogress_bar",
        *extra,
    ]


def read_log(tmp_path) -> list[dict]:
    with open(tmp_path / "train" / "log.jsonl") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("run")
    args = common(
        tmp_path,
        "--generate_data",
        f"--hparams={TINY}",
        "--train_steps=6",
        "--local_eval_frequency=3",
        "--iterations_per_loop=1",
        "--log_step_count_steps=2",
        "--eval_steps=2",
    )
    out = trainer(*args)
    assert out.returncode == 0, out.stderr
    return tmp_path, out


def test_trains_evaluates_and_writes_the_run_files(trained):
    tmp_path, out = trained
    train_dir = tmp_path / "train"
    assert "trainable parameters" in out.stdout
    assert "per-sequence dev accuracy:" in out.stdout
    run = json.loads((train_dir / "run.json").read_text())
    assert run["problem"] == "my_tiny_translate" and run["model"] == "transformer"
    assert run["hparams_set"] == "transformer_tiny" and run["hparams"] == TINY
    assert run["seed"] == 7 and run["train_steps"] == 6 and run["num_parameters"] > 0
    assert run["data_dir"] == str(tmp_path / "data")
    hparams = json.loads((train_dir / "hparams.json").read_text())
    assert hparams["hidden_size"] == 16 and hparams["batch_size"] == 64
    assert (train_dir / "model.ckpt-3.safetensors").exists()
    assert (train_dir / "model.ckpt-6.safetensors").exists()
    records = read_log(tmp_path)
    train_steps = [r["step"] for r in records if "split" not in r]
    assert train_steps == [2, 4, 6]
    assert all(
        {"loss", "learning_rate", "tokens_per_sec"} <= set(r) for r in records if "split" not in r
    )
    evals = [r for r in records if r.get("split") == "eval"]
    assert [r["step"] for r in evals] == [3, 6]
    key = "metrics-my_tiny_translate/targets/accuracy_per_sequence"
    assert all(0.0 <= r[key] <= 1.0 for r in evals)


def test_restart_resumes_and_keeps_saved_hparams(trained):
    tmp_path, _ = trained
    # No --hparams this time: hparams.json of the first run must be merged back.
    out = trainer(
        *common(tmp_path, "--train_steps=8", "--local_eval_frequency=2", "--eval_steps=1")
    )
    assert out.returncode == 0, out.stderr
    assert "resumed from" in out.stderr
    records = read_log(tmp_path)
    assert [r["step"] for r in records if "split" not in r][-1] == 8
    hparams = json.loads((tmp_path / "train" / "hparams.json").read_text())
    assert hparams["hidden_size"] == 16


def test_evaluate_schedule_reports_the_latest_checkpoint(trained):
    tmp_path, _ = trained
    out = trainer(*common(tmp_path, "--schedule=evaluate", "--eval_steps=1"))
    assert out.returncode == 0, out.stderr
    assert "final eval:" in out.stdout


def test_missing_data_is_a_one_line_error(tmp_path):
    out = trainer(*common(tmp_path, f"--hparams={TINY}", "--train_steps=2"))
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert "t2t-datagen" in lines[-1] and "Traceback" not in out.stderr


def test_missing_output_dir_is_a_one_line_error():
    out = trainer("--problem=reverse_sequence_small", "--model=transformer",
                  "--hparams_set=transformer_tiny", "--data_dir=/nonexistent")  # fmt: skip
    assert out.returncode != 0 and "--output_dir" in out.stderr


def test_torchrun_two_processes(trained, tmp_path):
    """The same command under torchrun: gloo DDP on CPU, rank 0 alone writes files."""
    data_dir = trained[0] / "data"
    out = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
         "--master_port=29517", "-m", "t2t.bin.t2t_trainer",
         *common(tmp_path, f"--hparams={TINY}", "--train_steps=4", "--local_eval_frequency=2",
                 "--log_step_count_steps=2", "--eval_steps=1"),
         f"--data_dir={data_dir}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    records = read_log(tmp_path)
    assert [r["step"] for r in records if "split" not in r] == [2, 4]
    assert [r["step"] for r in records if r.get("split") == "eval"] == [2, 4]
    assert (tmp_path / "train" / "model.ckpt-4.safetensors").exists()


def test_warm_start_from_another_run(trained, tmp_path):
    data_dir = trained[0] / "data"
    out = trainer(
        *common(tmp_path, f"--hparams={TINY}", "--train_steps=1", "--local_eval_frequency=1",
                "--eval_steps=1", f"--warm_start_from={trained[0] / 'train'}"),
        f"--data_dir={data_dir}",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "warm-started from" in out.stderr and "model.ckpt-" in out.stderr


def test_a_failed_run_writes_no_run_files(tmp_path):
    """Regression: a run that stops before training (here: no data) left an hparams.json
    that a later run in the same output dir merged silently."""
    out = trainer(*common(tmp_path, f"--hparams={TINY}", "--train_steps=2"))
    assert out.returncode != 0
    assert not (tmp_path / "train" / "hparams.json").exists()
    assert not (tmp_path / "train" / "run.json").exists()


def test_a_run_with_an_unusable_schedule_writes_no_run_files(tmp_path):
    """Regression: a schedule that fails at its first step (single_cycle_cos_decay with
    train_steps <= warmup) stopped the trainer after the run files were written."""
    hp = TINY + ",learning_rate_schedule=constant*linear_warmup*single_cycle_cos_decay"
    out = trainer(*common(tmp_path, "--generate_data", f"--hparams={hp}", "--train_steps=5"))
    assert out.returncode != 0
    assert "single_cycle_cos_decay" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "train" / "hparams.json").exists()
    assert not (tmp_path / "train" / "run.json").exists()


def test_resuming_under_another_hparams_set_is_a_one_line_error(trained):
    tmp_path, _ = trained
    out = trainer(
        *common(tmp_path, "--schedule=evaluate", "--eval_steps=1"),
        "--hparams_set=transformer_small",
    )
    assert out.returncode != 0 and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "--hparams_set=transformer_small" in last and "transformer_tiny" in last
    assert "--allow_run_mismatch" in last
    out = trainer(
        *common(tmp_path, "--schedule=evaluate", "--eval_steps=1"),
        "--hparams_set=transformer_small",
        "--allow_run_mismatch",
    )
    assert out.returncode == 0, out.stderr


def test_an_averaged_dir_decodes_alone(trained, tmp_path):
    """Regression: t2t-avg-all's output dir had no run files, so t2t-decoder could not
    decode it with --output_dir alone."""
    run_dir = trained[0]
    avg_dir = tmp_path / "avg"
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_avg_all", f"--model_dir={run_dir / 'train'}",
         f"--output_dir={avg_dir}", "--n=2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    run = json.loads((avg_dir / "run.json").read_text())
    assert run["hparams_set"] == "transformer_tiny" and run["averaged_n"] == 2
    assert (avg_dir / "hparams.json").exists()
    source = tmp_path / "source.txt"
    source.write_text("alpha beta\ngamma\n", encoding="utf-8")
    target = tmp_path / "decoded.txt"
    out = subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_decoder", f"--t2t_usr_dir={USR_DIR}",
         f"--output_dir={avg_dir}", f"--decode_from_file={source}", f"--decode_to_file={target}",
         "--decode_hparams=beam_size=1,extra_length=3"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert len(target.read_text(encoding="utf-8").split("\n")) == 3
