"""Fixtures for model tests: hand-built problem hparams and a tiny greedy search."""

import importlib
import sys
import types

import pytest
import torch

from t2t.hparams import HParams


def make_problem_hparams(
    vocab_in: int | None = 11,
    vocab_out: int = 11,
    targets: str = "symbol",
    inputs: str | None = "symbol",
) -> HParams:
    """Problem hparams as a Problem's get_hparams returns them (spec data 1.2)."""
    modality = {"targets": targets}
    vocab = {"targets": vocab_out}
    if inputs is not None:
        modality["inputs"] = inputs
        vocab["inputs"] = vocab_in
    return HParams(
        modality=modality,
        vocab_size=vocab,
        input_space_id=0,
        target_space_id=1,
        loss_multiplier=1.0,
        batch_size_multiplier=1,
        stop_at_eos=1,
    )


@pytest.fixture
def problem_hparams():
    return make_problem_hparams


def tiny_greedy(step_fn, initial_ids, decode_length, states):
    """Greedy decoding with no early stop: the test's own loop over a step function."""
    ids = initial_ids[:, None]
    for i in range(decode_length):
        logits, states = step_fn(ids, i, states)
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    return ids


@pytest.fixture
def greedy():
    return tiny_greedy


@pytest.fixture
def search(monkeypatch):
    """`t2t.decode.beam_search`, or (until it exists) a stand-in with a plain greedy loop."""
    try:
        return importlib.import_module("t2t.decode.beam_search")
    except ImportError:
        pass

    fake = types.ModuleType("t2t.decode.beam_search")

    def greedy_search(step_fn, initial_ids, decode_length, states=None, eos_id=1):
        ids = tiny_greedy(step_fn, initial_ids, decode_length, states)
        return ids, torch.zeros(initial_ids.shape[0]), states

    fake.greedy_search = greedy_search
    fake.is_stand_in = True
    monkeypatch.setitem(sys.modules, "t2t.decode.beam_search", fake)
    return fake
