"""t2t-trainer with --hparams=pack_dataset=true: packed rows train and evaluate end to end."""

import json
import subprocess
import sys

HPARAMS = (
    "hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=1,"
    "learning_rate_warmup_steps=10,pack_dataset=true,max_length=24,batch_size=4"
)


def test_trainer_trains_on_packed_rows(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "t2t.bin.t2t_trainer",
            "--problem=algorithmic_reverse_binary40_test",
            "--model=transformer",
            "--hparams_set=transformer_tiny",
            f"--hparams={HPARAMS}",
            "--generate_data",
            f"--data_dir={tmp_path / 'data'}",
            f"--tmp_dir={tmp_path / 'tmp'}",
            f"--output_dir={tmp_path / 'train'}",
            "--train_steps=4",
            "--local_eval_frequency=4",
            "--eval_steps=2",
            "--log_step_count_steps=2",
            "--random_seed=3",
            "--noprogress_bar",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "pack_dataset" not in out.stderr  # no longer refused, and not warned as inert
    hparams = json.loads((tmp_path / "train" / "hparams.json").read_text())
    assert hparams["pack_dataset"] is True and hparams["max_length"] == 24
    records = [json.loads(line) for line in open(tmp_path / "train" / "log.jsonl")]
    train = [r for r in records if "split" not in r]
    assert [r["step"] for r in train] == [2, 4]
    assert all(0 < r["loss"] < 10 for r in train)
    assert any(r.get("split") for r in records)  # evaluated on packed dev rows
    assert (tmp_path / "train" / "model.ckpt-4.safetensors").exists()
