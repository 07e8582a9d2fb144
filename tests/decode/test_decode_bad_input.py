"""t2t-decoder on input it cannot encode: one line naming the line and the vocabulary.

algorithmic_reverse_binary40_test reads its inputs as ids ("1 0 1"), with a vocabulary of
4 ids (PAD, EOS, "0", "1"): "7" is outside it and used to end in an IndexError traceback.
"""

import subprocess
import sys

import pytest

import t2t
from t2t.errors import T2TError

PROBLEM = "algorithmic_reverse_binary40_test"


def command(module: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", f"t2t.bin.{module}", *args],
        capture_output=True, text=True, timeout=300, input=stdin,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_input")
    out = command(
        "t2t_trainer", "--generate_data", f"--problem={PROBLEM}", "--model=transformer",
        "--hparams_set=transformer_tiny", "--hparams=hidden_size=16,filter_size=32,num_heads=2",
        f"--data_dir={tmp / 'data'}", f"--tmp_dir={tmp / 'tmp'}", f"--output_dir={tmp / 'train'}",
        "--schedule=train", "--train_steps=1", "--noprogress_bar", "--device=cpu",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return tmp / "train"


def test_decode_from_file_names_the_line_and_the_vocabulary(run_dir, tmp_path):
    inputs = tmp_path / "inputs.txt"
    inputs.write_text("1 0 1\n0 0\n1 7 0\n")
    out = command("t2t_decoder", f"--output_dir={run_dir}", f"--decode_from_file={inputs}",
                  f"--decode_to_file={tmp_path / 'out.txt'}", "--device=cpu")  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-3000:]
    last = out.stderr.strip().splitlines()[-1]
    assert "error: line 3: '1 7 0'" in last, last
    assert "'7'" in last and "vocabulary of 4 ids" in last


def test_interactive_reports_the_bad_line_and_goes_on(run_dir):
    out = command("t2t_decoder", f"--output_dir={run_dir}", "--decode_interactive",
                  "--device=cpu", stdin="1 0\n7\nx\n0 1 1\n")  # fmt: skip
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-3000:]
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2
    assert errors[0].startswith("error: line 2: '7'") and "vocabulary of 4 ids" in errors[0]
    assert errors[1].startswith("error: line 3: cannot encode 'x'")
    lines = out.stdout.split("\n")
    assert len(lines) == 5 and lines[1] == lines[2] == "" and lines[4] == ""  # one per input


def test_load_api_raises_one_line_error(run_dir):
    loaded = t2t.load(str(run_dir))
    assert loaded.encode("1 0") == [3, 2]
    with pytest.raises(T2TError, match=r"^line 2: '1 2': token '2' \(id 4\) is outside"):
        loaded.decode(["0 1", "1 2"])
    with pytest.raises(T2TError, match="vocabulary of 4 ids"):
        loaded.encode("-3")  # id -1
