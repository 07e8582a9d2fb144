"""benchmarks/moe_vs_dense.py: its samples, its compute matching, the load summary and the
recorder that reads routing and losses from a model's forward passes."""

import argparse

import pytest
import torch

from t2t import registry
from tests.benchmark_modules import load_benchmark

from .models.conftest import make_problem_hparams

bench = load_benchmark("moe_vs_dense")  # registers nothing: main() does


def tiny_args(**changes) -> argparse.Namespace:
    args = dict(
        hidden_size=16, num_heads=2, num_layers=2, experts=4, k=2, expert_hidden=8,
        batch_size=64, max_length=32, dropout=0.0, learning_rate=1e-3, train_steps=10,
        moe_loss_coef=1e-2,
    )  # fmt: skip
    args.update(changes)
    return argparse.Namespace(**args)


def test_importing_the_benchmark_registers_nothing():
    assert bench.PROBLEM not in registry.list_problems()
    assert not registry.list_hparams("moe_vs_dense")


def test_samples_join_paragraphs_and_drop_short_ones():
    long_a, long_b = "a" * 300 + " end.", "b" * 350 + " end."
    text = f"Short.\n\n{long_a}\n   \n{long_b}\n\nx {'c' * 50}\n  continued here."
    samples = list(bench._samples(text))
    assert samples == [long_a, f"{long_b} x {'c' * 50} continued here."]
    assert all(len(s) <= bench.SAMPLE_CHARS for s in samples)


def test_dense_active_matches_the_moes_feed_forward_compute():
    args = tiny_args()
    moe, active = (
        bench.ffn_macs_per_token("moe", args),
        bench.ffn_macs_per_token("dense_active", args),
    )
    assert moe - active == 2 * 16 * 4 * 2  # only the gate (w_gate and w_noise) differs
    assert bench.ffn_width("dense_params", args) == 4 * 8
    assert bench.model_hparams("moe", args).moe_layers == "0,1"
    assert bench.model_hparams("dense_active", args).filter_size == 16


def test_load_summary():
    counts = torch.tensor([[10, 10, 10, 10], [40, 0, 0, 0]])
    summary = bench.load_summary(counts)
    assert summary["share"] == [[0.25] * 4, [1.0, 0.0, 0.0, 0.0]]
    assert summary["cv"][0] == 0.0
    assert summary["cv"][1] == pytest.approx(3**0.5, abs=1e-4)  # one of E busy: sqrt(E - 1)
    assert summary["max_over_even"] == [1.0, 4.0]


def test_curve_averages_windows_ending_at_quarters():
    assert bench.curve([float(i) for i in range(8)], window=2) == {
        2: 0.5,
        4: 2.5,
        6: 4.5,
        8: 6.5,
    }


def test_recorder_counts_non_pad_tokens_per_layer_and_phase():
    torch.manual_seed(0)
    args = tiny_args()
    model = registry.model("attention_lm_moe")(
        bench.model_hparams("moe", args), make_problem_hparams(inputs=None, vocab_out=11)
    )
    recorder = bench.Recorder(model, train_steps=3, window=1)
    targets = torch.randint(1, 11, (2, 6))
    targets[1, 4:] = 0  # two pads
    model.train()
    for _ in range(3):
        model({"targets": targets})
    model.eval()
    model({"targets": targets})
    assert len(recorder.train_loss) == 3 and all(v > 0 for v in recorder.moe_loss)
    assert set(recorder.counts) == {"train_first", "train_last", "dev@3"}
    for counts in recorder.counts.values():
        assert counts.shape == (2, 4)  # [layers, experts]
        assert counts.sum(-1).tolist() == [10 * 2, 10 * 2]  # 10 tokens, k = 2 each
    assert recorder.dev[3][1] == 10  # the loss's denominator: the non-pad tokens
