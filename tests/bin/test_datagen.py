"""t2t-datagen's command line: generation, selection, errors."""

import json
import os
import subprocess
import sys

import pytest

from t2t.data import example_codec

GOLDEN = os.path.join(
    os.path.dirname(__file__), "..", "golden", "problems", "algorithmic_golden.json"
)
_LAUNCH = (
    "import sys; from t2t import registry; "
    "from t2t.bin import t2t_datagen; sys.argv[0] = 't2t-datagen'; t2t_datagen.run()"
)


def datagen(*args):
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, *args], capture_output=True, text=True, timeout=120
    )


def test_generates_the_originals_examples(tmp_path):
    out = datagen(
        "--problem=algorithmic_reverse_binary40_test,tiny_algo",
        f"--data_dir={tmp_path}",
        f"--tmp_dir={tmp_path}/tmp",
    )
    assert out.returncode == 0, out.stderr
    with open(GOLDEN) as f:
        golden = json.load(f)
    for problem in ("algorithmic_reverse_binary40_test", "tiny_algo"):
        for suffix, expected in golden[problem].items():
            path = tmp_path / f"{problem}-{suffix}"
            got = [
                {k: v.tolist() for k, v in ex.items()} for ex in example_codec.read_examples(path)
            ]
            assert got == expected, (problem, suffix)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".incomplete")]


def test_prefix_selection_and_only_list(tmp_path):
    out = datagen("--problem=algorithmic_reverse_*", "--only_list", f"--data_dir={tmp_path}")
    assert out.returncode == 0, out.stderr
    assert "algorithmic_reverse_binary40_test" in out.stderr
    assert "algorithmic_reverse_nlplike32k" in out.stderr
    assert "algorithmic_addition" not in out.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--problem=algorithmic_reverse_binary4"], "Did you mean: algorithmic_reverse_binary40"),
        (["--problem=tiny_algo", "--num_shards=3"], "--num_shards should not be set"),
        ([], "--problem is required"),
    ],
)
def test_errors_are_one_line(tmp_path, args, expected):
    out = datagen(*args, f"--data_dir={tmp_path}")
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr


def test_unwritable_data_dir(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = datagen("--problem=tiny_algo", f"--data_dir={blocker}/sub")
    assert out.returncode == 2 and "cannot create --data_dir" in out.stderr
