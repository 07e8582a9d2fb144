"""benchmarks/length_generalisation.py: its settings, batching, scoring and report, and one
tiny end-to-end run (datagen -> probe-free training -> teacher-forced and greedy eval)."""

import json

import pytest

from tests.benchmark_modules import load_benchmark

lg = load_benchmark("length_generalisation")


def test_registered_names():
    from t2t import registry

    for problem in lg.PROBLEMS:
        registry.problem(problem)
    for model, hparams_set in lg.HPARAMS_SETS.items():
        registry.model(model)
        registry.hparams(hparams_set)


def test_run_overrides_model_values_win_and_warmup_fits_the_steps():
    args = lg.parse_args(["--neural_gpu_hparams=hidden_size=32,learning_rate_constant=0.01"])
    values = lg.parse_overrides(lg.run_overrides("neural_gpu", args, 50))
    assert values["hidden_size"] == "32"
    assert values["learning_rate_constant"] == "0.01"  # the model's own value wins
    assert values["learning_rate_warmup_steps"] == "5"  # a tenth of 50 steps, not 300
    values = lg.parse_overrides(lg.run_overrides("transformer", args, 10_000))
    assert values["learning_rate_warmup_steps"] == "300"
    assert values["layer_prepostprocess_dropout"] == "0"
    values = lg.parse_overrides(lg.run_overrides("transformer", args, 2))
    assert values["learning_rate_warmup_steps"] == "1"  # single_cycle_cos_decay: 2 > 1


def test_every_default_override_builds():
    from t2t.hparams import create_hparams

    args = lg.parse_args([])
    for model, hparams_set in lg.HPARAMS_SETS.items():
        create_hparams(hparams_set, lg.run_overrides(model, args, 1000))


@pytest.mark.parametrize(
    "length, bucket", [(1, "1-40"), (40, "1-40"), (41, "41-100"), (400, "201-400"), (401, None)]
)
def test_bucket_of(length, bucket):
    assert lg.bucket_of(length) == bucket


def test_eval_batches_same_length_never_pads():
    examples = [([2] * n + [1], [3] * n + [1]) for n in (5, 3, 5, 3, 4, 5)]
    batches = lg.eval_batches(examples, 2, same_length=True)
    assert [len(b) for b in batches] == [2, 1, 2, 1]
    assert all(len({len(e[0]) for e in b}) == 1 for b in batches)
    mixed = lg.eval_batches(examples, 4, same_length=False)
    assert [len(b) for b in mixed] == [4, 2]
    assert sorted(map(len, (e[0] for b in mixed for e in b))) == [4, 4, 5, 6, 6, 6]


def test_score_counts_missing_positions_as_wrong():
    assert lg.score([2, 3, 1], [2, 3, 1]) == (1, 3)
    assert lg.score([2, 1], [2, 3, 1]) == (0, 1)
    assert lg.score([2, 3, 1, 2], [2, 3, 1]) == (0, 3)


def test_markdown_table_rows():
    figures = {"1-40": {"n": 4, "exact": 0.5, "token": 0.875}}
    record = {
        "problem": "p", "model": "m", "hparams_set": "s", "train_steps": 1200,
        "train_seconds": 59.6, "params": 12345, "eval": {"greedy": figures},
    }  # fmt: skip
    table = lg.markdown_table([record])
    assert "| p | m (s) | 1,200 | 60 | 12,345 | greedy | 50.0 / 87.5 | - | - | - |" in table


def test_tiny_end_to_end_run(tmp_path):
    """Two training steps of transformer_tiny on the 10-token test problem, both evaluations."""
    out = tmp_path / "records.json"
    lg.main([
        "--problems=algorithmic_reverse_binary40_test", "--models=transformer",
        "--train_steps=2", "--eval_examples=3", "--greedy_examples=2", "--threads=1",
        f"--work_dir={tmp_path}", f"--json={out}",
    ])  # fmt: skip
    run = json.loads(out.read_text())["runs"][0]
    assert run["train_steps"] == 2 and run["params"] > 0
    assert run["eval"]["teacher_forced"]["1-40"]["n"] == 3
    assert run["eval"]["greedy"]["1-40"]["n"] == 2
    assert "--train_steps=2" in run["command"]
