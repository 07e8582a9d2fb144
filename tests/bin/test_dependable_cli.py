"""The commands with impossible numbers, unusable output paths and huge inputs: one line."""

import subprocess
import sys

import pytest

from t2t.bin.cli import readable


def _run(module, *args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=cwd
    )


def _one_line(out):
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2, out.stderr[-2000:]
    assert len(lines) == 1, out.stderr[-2000:]
    return lines[0]


BASE = ["--problem=algorithmic_reverse_binary40_test", "--model=transformer"]


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--hparams_set=transformer_tiny", "--hparams=hidden_size=-3"], "hidden_size=-3"),
        (["--hparams_set=transformer_tiny", "--hparams=batch_size=0"], "batch_size=0"),
        (["--hparams_set=transformer_tiny", "--train_steps=0"], "--train_steps=0"),
        (["--hparams_set=transformer_tiny", "--train_steps=-1"], "--train_steps=-1"),
    ],
)
def test_trainer_impossible_numbers(tmp_path, args, expected):
    out = _run(
        "t2t.bin.t2t_trainer",
        *BASE,
        *args,
        f"--output_dir={tmp_path / 'out'}",
        f"--data_dir={tmp_path / 'data'}",
    )
    assert expected in _one_line(out)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_trainer_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("x")
    out = _run(
        "t2t.bin.t2t_trainer",
        *BASE,
        "--hparams_set=transformer_tiny",
        f"--output_dir={tmp_path / 'out'}",
        f"--data_dir={tmp_path / 'data'}",
    )
    line = _one_line(out)
    assert str(tmp_path / "out") in line and "Not a directory" in line


@pytest.mark.parametrize("hparams", ["beam_size=0", "beam_size=-2"])
def test_decoder_impossible_beam_size(tmp_path, hparams):
    out = _run("t2t.bin.t2t_decoder", f"--output_dir={tmp_path}", f"--decode_hparams={hparams}")
    assert "beam_size" in _one_line(out)


def test_decoder_decode_to_file_in_missing_dir_fails_before_loading(tmp_path):
    # No run in output_dir either: the output path is checked first, before any loading.
    out = _run(
        "t2t.bin.t2t_decoder",
        f"--output_dir={tmp_path}",
        f"--decode_to_file={tmp_path / 'missing' / 'out.txt'}",
    )
    line = _one_line(out)
    assert "missing" in line and "does not exist" in line


def test_long_user_input_is_cut_to_a_readable_line():
    out = _run("t2t.bin.t2t_trainer", "--hparams_set=transformer_tiny", "--hparams=x" * 3000)
    line = _one_line(out)
    assert len(line) < 800 and "characters cut" in line


def test_readable():
    assert readable("a\nb") == "a b"
    text = "start " + "x" * 5000 + " advice"
    short = readable(text)
    assert short.startswith("start ") and short.endswith(" advice") and len(short) < 700
