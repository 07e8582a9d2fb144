"""t2t-trainer's command line: registry help, and one-line errors for unknown names."""

import subprocess
import sys

import pytest

from t2t.bin.t2t_trainer import hp_args_to_flags


def trainer(*args):
    return subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_trainer", *args], capture_output=True, text=True
    )


def test_registry_help_sorted_and_grouped():
    out = trainer("--registry_help")
    assert out.returncode == 0
    text = out.stdout
    sections = ["Models:", "HParams:", "Problems:", "Optimizers:"]
    positions = [text.index(s) for s in sections]
    assert positions == sorted(positions)
    hparams_part = text[text.index("HParams:") : text.index("RangedHParams:")]
    names = [line.split("* ")[1] for line in hparams_part.splitlines() if "* " in line]
    assert names == sorted(names) and "basic_1" in names


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--hparams_set=basic1"], "Did you mean: basic_1"),
        (["--hparams_set=basic_1", "--hparams=hidden_sise=8"], "Did you mean: hidden_size"),
        (["--model=no_such_model"], "is not a registered model"),
        (["--problem=no_such_problem"], "is not a registered problem"),
    ],
)
def test_unknown_names_fail_with_one_line(args, expected):
    out = trainer(*args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr


def test_hp_pairs_become_hparams():
    argv = ["t2t-trainer", "--hparams=a=1", "--hp_b", "2", "--model=x"]
    assert hp_args_to_flags(argv) == ["t2t-trainer", "--model=x", "--hparams=a=1,b=2"]
    assert hp_args_to_flags(["t2t-trainer", "--model=x"]) == ["t2t-trainer", "--model=x"]
