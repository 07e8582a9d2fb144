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


def trainer_generate(data_dir, tmp_path, *extra):
    """`t2t-trainer --generate_data` on a tiny model: generates, trains one step."""
    return subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_trainer", "--generate_data",
         "--problem=algorithmic_reverse_binary40_test", "--model=transformer",
         "--hparams_set=transformer_tiny", "--hparams=hidden_size=16,filter_size=32,num_heads=2",
         f"--data_dir={data_dir}", f"--tmp_dir={tmp_path}/tmp", f"--output_dir={data_dir}_run",
         "--schedule=train", "--train_steps=1", "--noprogress_bar", "--device=cpu", *extra],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def shard_bytes(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def test_trainer_generate_data_writes_the_same_files_as_datagen(tmp_path):
    """Both paths seed generation alike: every run of either writes the same bytes."""
    runs = {}
    for run in ("datagen_1", "datagen_2"):
        out = datagen("--problem=algorithmic_reverse_binary40_test",
                      f"--data_dir={tmp_path / run}", f"--tmp_dir={tmp_path}/tmp")  # fmt: skip
        assert out.returncode == 0, out.stderr
        runs[run] = shard_bytes(tmp_path / run)
    # --random_seed seeds training only; the data stays t2t-datagen's.
    for run, seed in (("trainer_1", "--random_seed=1"), ("trainer_2", "--random_seed=2")):
        out = trainer_generate(tmp_path / run, tmp_path, seed)
        assert out.returncode == 0, out.stderr
        runs[run] = shard_bytes(tmp_path / run)
    assert len(runs["datagen_1"]) == 2  # train and dev shard
    for run, files in runs.items():
        assert files == runs["datagen_1"], run
    with open(GOLDEN) as f:  # and the examples are the original T2T's
        golden = json.load(f)["algorithmic_reverse_binary40_test"]
    for suffix, expected in golden.items():
        path = tmp_path / "trainer_1" / f"algorithmic_reverse_binary40_test-{suffix}"
        examples = example_codec.read_examples(path)
        assert [{k: v.tolist() for k, v in ex.items()} for ex in examples] == expected
