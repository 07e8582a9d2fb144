"""Beam search, greedy decoding and sampling.

Golden values: tests/golden/decode/beam_search_goldens.json was produced by the ORIGINAL
T2T 1.15.7 beam search (TensorFlow 1.15) with tests/golden/decode/make_beam_search_goldens.py
on step functions whose logits come from seeded random tables; here we rebuild the same
tables and check that our beam search returns the same ids and scores. The hand-written
probability cases below are the acceptance cases of T2T's beam_search_test (spec section 6).
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from t2t.decode.beam_search import (
    INF,
    _grow_topk,
    _topk_lower_index_first,
    beam_search,
    greedy_search,
    length_penalty,
    log_normalizer,
    sample,
    select_top_beams,
)

GOLDEN = Path(__file__).parents[1] / "golden" / "decode" / "beam_search_goldens.json"
CASES = json.loads(GOLDEN.read_text())["cases"]


def make_table(case: dict) -> torch.Tensor:
    """Same numpy calls as make_beam_search_goldens.make_table."""
    rng = np.random.RandomState(case["seed"])
    keys = case["state_mod"] if case["use_state"] else case["vocab_size"]
    shape = (case["decode_length"], keys, case["vocab_size"])
    table = rng.normal(size=shape).astype(np.float32) * 2.0
    table[:, :, 1] += case["eos_shift"]
    if case["ties"]:
        table = np.round(table)
    assert float(table.astype(np.float64).sum()) == pytest.approx(case["table_sum"], abs=1e-6)
    return torch.from_numpy(table)


def table_step_fn(table: torch.Tensor):
    """logits = table[position, last id]; the state dict passes through untouched."""

    def fn(ids, i, states):
        assert ids.shape[1] == i + 1
        return table[i, ids[:, -1]], states

    return fn


def state_step_fn(table: torch.Tensor, mod: int):
    """logits = table[position, hash of the history], the hash kept in a nested state."""

    def fn(ids, i, states):
        h = (states["nested"]["h"] * 3 + ids[:, -1]) % mod
        return table[i, h], {"nested": {"h": h}}

    return fn


@pytest.mark.parametrize("per_example", [False, True], ids=["tiled", "first_step_per_example"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_original_t2t(case, per_example):
    """Also with step 0 run once per example (states tiled after it): same beams."""
    table = make_table(case)
    initial_ids = torch.tensor(case["initial_ids"])
    states = None
    fn = table_step_fn(table)
    if case["use_state"]:
        fn = state_step_fn(table, case["state_mod"])
        states = {"nested": {"h": torch.zeros(len(case["initial_ids"]), dtype=torch.long)}}
    ids, scores = beam_search(
        fn,
        initial_ids,
        case["beam_size"],
        case["decode_length"],
        case["vocab_size"],
        case["alpha"],
        states=states,
        stop_early=case["stop_early"],
        first_step_per_example=per_example,
    )
    assert ids.tolist() == case["ids"]
    np.testing.assert_allclose(scores.numpy(), np.array(case["scores"]), rtol=1e-5, atol=1e-5)


def golden_case(name: str) -> dict:
    return next(c for c in CASES if c["name"] == name)


def probs_step_fn(probabilities):
    """T2T test style: row r of the flat [B*K] batch gets log(probabilities[i][r])."""
    logits = torch.log(torch.tensor(probabilities, dtype=torch.float32))

    def fn(ids, i, states):
        return logits[i].reshape(ids.shape[0], -1), states

    return fn


TWO_BEAM_PROBS = [
    [[0.1, 0.1, 0.8], [0.1, 0.1, 0.8]],
    [[0.4, 0.5, 0.1], [0.2, 0.4, 0.4]],
    [[0.05, 0.9, 0.05], [0.4, 0.4, 0.2]],
]


def test_spec_greedy_batch_one():
    fn = probs_step_fn([[[0.7, 0.3]], [[0.4, 0.6]], [[0.5, 0.5]]])
    ids, scores = beam_search(fn, torch.tensor([0]), 1, 3, 2, 0.0)
    assert ids.tolist() == [[[0, 0, 1]]]
    assert math.exp(scores.item()) == pytest.approx(0.7 * 0.6, rel=1e-5)


def test_spec_two_beams_stop_early():
    ids, scores = beam_search(probs_step_fn(TWO_BEAM_PROBS), torch.tensor([0]), 2, 3, 3, 0.0)
    assert ids[:, 0].tolist() == [[0, 2, 1]]
    assert math.exp(scores[0, 0].item()) == pytest.approx(0.8 * 0.5, rel=1e-5)


def test_spec_two_beams_without_stop_early():
    fn = probs_step_fn(TWO_BEAM_PROBS)
    ids, scores = beam_search(fn, torch.tensor([0]), 2, 3, 3, 0.0, stop_early=False)
    assert ids.tolist() == [[[0, 2, 1, 0], [0, 2, 0, 1]]]
    np.testing.assert_allclose(np.exp(scores.numpy()), [[0.8 * 0.5, 0.8 * 0.4 * 0.9]], rtol=1e-5)


def test_spec_two_beams_with_alpha():
    ids, scores = beam_search(probs_step_fn(TWO_BEAM_PROBS), torch.tensor([0]), 2, 3, 3, 3.5)
    assert ids.tolist() == [[[0, 2, 0, 1], [0, 2, 1, 0]]]
    expected = [math.log(0.8 * 0.4 * 0.9) / (8 / 6) ** 3.5, math.log(0.8 * 0.5) / (7 / 6) ** 3.5]
    np.testing.assert_allclose(scores.numpy(), [expected], rtol=1e-5)


def test_spec_batch_two_beams_with_alpha():
    probs = [
        [[[0.1, 0.1, 0.8], [0.1, 0.1, 0.8]], [[0.1, 0.1, 0.8], [0.1, 0.1, 0.8]]],
        [[[0.4, 0.5, 0.1], [0.2, 0.4, 0.4]], [[0.3, 0.6, 0.1], [0.2, 0.4, 0.4]]],
        [[[0.05, 0.9, 0.05], [0.4, 0.4, 0.2]], [[0.05, 0.9, 0.05], [0.4, 0.4, 0.2]]],
    ]
    ids, scores = beam_search(probs_step_fn(probs), torch.tensor([0, 0]), 2, 3, 3, 3.5)
    assert ids.tolist() == [[[0, 2, 0, 1], [0, 2, 1, 0]], [[0, 2, 1, 0], [0, 2, 0, 1]]]
    expected = [
        [math.log(0.8 * 0.4 * 0.9) / (8 / 6) ** 3.5, math.log(0.8 * 0.5) / (7 / 6) ** 3.5],
        [math.log(0.8 * 0.6) / (7 / 6) ** 3.5, math.log(0.8 * 0.3 * 0.9) / (8 / 6) ** 3.5],
    ]
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-5)


def test_spec_corner_case_no_eos_returns_raw_log_probs():
    fn = probs_step_fn([[[0.2, 0.1, 0.7]], [[0.4, 0.1, 0.5]]])
    ids, scores = beam_search(fn, torch.tensor([0]), 1, 2, 3, 0.0)
    assert ids.tolist() == [[[0, 2, 2]]]
    assert math.exp(scores.item()) == pytest.approx(0.7 * 0.5, rel=1e-5)


def test_spec_states_stop_after_eos_bound():
    """K=1, +1 per call: the loop stops right after EOS (as T2T's testStates: state 2)."""
    logits = torch.log(torch.tensor([[0.7, 0.3], [0.4, 0.6], [0.5, 0.5]]))
    calls = []

    def fn(ids, i, states):
        calls.append(states["count"].clone())
        return logits[i].expand(ids.shape[0], -1), {"count": states["count"] + 1}

    ids, _ = beam_search(fn, torch.tensor([0]), 1, 3, 2, 0.0, states={"count": torch.zeros(1)})
    assert ids.tolist() == [[[0, 0, 1]]]
    assert [c.item() for c in calls] == [0.0, 1.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_one_equals_greedy(seed):
    """Beam 1 at alpha 0 equals greedy when EOS is never a runner-up token.

    In T2T (and here) beam search with K=1 still grows 2 candidates and keeps a runner-up
    that ends with EOS as a finished hypothesis, which can beat the greedy path later; that
    is why T2T sends beam_size 1 to greedy decoding. So EOS is either the argmax (+30) or
    hopeless (-30) in these tables.
    """
    gen = torch.Generator().manual_seed(seed)
    table = torch.randn(8, 12, 12, generator=gen) * 2
    eos_wins = torch.rand(8, 12, generator=gen) < 0.3
    table[:, :, 1] = torch.where(eos_wins, 30.0, -30.0)
    initial = torch.tensor([0, 3, 5, 7])
    beam_ids, beam_scores = beam_search(table_step_fn(table), initial, 1, 8, 12, 0.0)
    greedy_ids, greedy_scores = greedy_search(table_step_fn(table), initial, 8)
    assert torch.equal(beam_ids[:, 0], greedy_ids)
    torch.testing.assert_close(beam_scores[:, 0], greedy_scores)


def strip_padding(ids: torch.Tensor) -> list:
    """Sequences up to the first EOS after the initial id (or whole if none)."""
    out = []
    for row in ids.tolist():
        end = row.index(1, 1) + 1 if 1 in row[1:] else len(row)
        out.append(row[:end])
    return out


def test_batch_equals_each_example_alone():
    """Top beam per example is batch independent (with stop_early, as T2T)."""
    gen = torch.Generator().manual_seed(7)
    table = torch.randn(10, 20, 20, generator=gen) * 2
    fn = table_step_fn(table)
    initial = torch.tensor([0, 4, 9])
    ids, scores = beam_search(fn, initial, 4, 10, 20, 0.6)
    for b in range(3):
        alone_ids, alone_scores = beam_search(fn, initial[b : b + 1], 4, 10, 20, 0.6)
        assert strip_padding(ids[b, :1]) == strip_padding(alone_ids[0, :1])
        torch.testing.assert_close(scores[b, 0], alone_scores[0, 0])
    greedy_ids, greedy_scores = greedy_search(fn, initial, 10)
    for b in range(3):
        alone_ids, alone_scores = greedy_search(fn, initial[b : b + 1], 10)
        assert strip_padding(greedy_ids[b : b + 1]) == strip_padding(alone_ids)
        torch.testing.assert_close(greedy_scores[b], alone_scores[0])


def test_all_beams_batch_independent_when_no_eos():
    case = golden_case("never_eos")
    table = make_table(case)
    fn = table_step_fn(table)
    ids, scores = beam_search(fn, torch.tensor([0, 2]), 3, 6, 7, 0.6)
    alone_ids, alone_scores = beam_search(fn, torch.tensor([2]), 3, 6, 7, 0.6)
    assert torch.equal(ids[1], alone_ids[0])
    torch.testing.assert_close(scores[1], alone_scores[0])


def test_states_follow_their_beams():
    """A state holding the full history must equal the ids the step function receives."""
    gen = torch.Generator().manual_seed(3)
    table = torch.randn(9, 15, 15, generator=gen)

    def fn(ids, i, states):
        assert torch.equal(states["history"], ids[:, :-1])
        assert torch.equal(states["deep"]["last"], ids[:, -2 if i else -1])
        new = {"history": ids.clone(), "deep": {"last": ids[:, -1].clone()}}
        return table[i, ids[:, -1]], new

    initial = torch.tensor([0, 6])
    states = {"history": torch.zeros(2, 0, dtype=torch.long), "deep": {"last": initial.clone()}}
    ids, _ = beam_search(fn, initial, 3, 9, 15, 0.6, states=states, stop_early=False)
    assert ids.shape[:2] == (2, 3)


def test_select_top_beams_strips_initial_id():
    ids = torch.tensor([[[0, 5, 1], [0, 6, 1]]])
    scores = torch.tensor([[-1.0, -2.0]])
    top_ids, top_scores = select_top_beams(ids, scores)
    assert top_ids.tolist() == [[5, 1]] and top_scores.tolist() == [-1.0]
    top_ids, top_scores = select_top_beams(ids, scores, top_beams=2)
    assert top_ids.tolist() == [[[5, 1], [6, 1]]] and top_scores.tolist() == [[-1.0, -2.0]]


def test_zero_decode_length_returns_initial_ids():
    fn = table_step_fn(torch.zeros(1, 4, 4))
    ids, scores = beam_search(fn, torch.tensor([2, 3]), 2, 0, 4, 0.6)
    assert ids.tolist() == [[[2], [2]], [[3], [3]]]
    assert scores[:, 0].tolist() == [0.0, 0.0]


def test_bad_arguments():
    fn = table_step_fn(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="vocab_size"):
        beam_search(fn, torch.tensor([0]), 2, 3, 1, 0.0)
    with pytest.raises(ValueError, match="initial_ids"):
        beam_search(fn, torch.tensor([[0]]), 2, 3, 4, 0.0)
    with pytest.raises(ValueError, match="sampling_keep_top_k"):
        sample(fn, torch.tensor([0]), 3, top_k=0)


@pytest.mark.parametrize("seed", range(5))
def test_topk_ties_lower_index_first(seed):
    """Our fast top-k orders like tf.nn.top_k: descending, equal values by lower index."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 4, (6, 40), generator=gen).float()
    values, indices = _topk_lower_index_first(x, 8)
    expected_values, expected_indices = torch.sort(x, dim=-1, descending=True, stable=True)
    assert torch.equal(indices, expected_indices[:, :8])
    assert torch.equal(values, expected_values[:, :8])


def test_sampling_temperature_zero_and_top1_equal_greedy():
    gen = torch.Generator().manual_seed(11)
    table = torch.randn(6, 10, 10, generator=gen)
    fn = table_step_fn(table)
    initial = torch.tensor([0, 2, 4])
    greedy = greedy_search(fn, initial, 6)
    for result in (
        sample(fn, initial, 6, temperature=0.0),
        sample(fn, initial, 6, temperature=5.0, top_k=1, generator=torch.Generator()),
    ):
        assert torch.equal(result[0], greedy[0])
        torch.testing.assert_close(result[1], greedy[1])


def test_sampling_top_k_support_and_reproducibility():
    logits = torch.log(torch.tensor([[0.05, 0.1, 0.4, 0.3, 0.15]]))

    def fn(ids, i, states):
        return logits.expand(ids.shape[0], -1), states

    initial = torch.zeros(4000, dtype=torch.long)
    ids, scores = sample(fn, initial, 1, top_k=2, generator=torch.Generator().manual_seed(0))
    tokens = ids[:, 1]
    assert set(tokens.tolist()) == {2, 3}
    assert (tokens == 2).float().mean().item() == pytest.approx(0.4 / 0.7, abs=0.03)
    # The score is the log-prob under the unmodified distribution (as T2T).
    torch.testing.assert_close(scores, torch.log(logits.exp()[0, tokens]))
    again, _ = sample(fn, initial, 1, top_k=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(ids, again)
    hot, _ = sample(fn, initial, 1, temperature=1e-3, generator=torch.Generator().manual_seed(0))
    assert set(hot[:, 1].tolist()) == {2}


def _grow_topk_reference(logits, alive_log_probs, step, alpha):
    """T2T's formulation: score all K*V extensions, then one top-2K over each example."""
    batch, beam, vocab = logits.shape
    log_probs = (logits - log_normalizer(logits)) + alive_log_probs.unsqueeze(2)
    flat = (log_probs / length_penalty(step + 1, alpha)).view(batch, beam * vocab)
    return torch.sort(flat, dim=-1, descending=True, stable=True)


@pytest.mark.parametrize("vocab", [7, 300, 5000, 64 * 40 + 13])
@pytest.mark.parametrize("kind", ["random", "ties", "forced"])
def test_candidate_ranking_equals_ranking_every_extension(vocab, kind):
    """`_grow_topk` ranks few candidates per beam (blocks of the vocabulary for wide rows);
    it must select what ranking all K*V extensions selects, ties by lower index included."""
    gen = torch.Generator().manual_seed(vocab)
    batch, beam = 5, 4
    logits = torch.randn(batch, beam, vocab, generator=gen) * 3.0
    if kind == "ties":  # few distinct values: ties inside and at the selection boundary
        logits = torch.round(logits / 2.0)
    elif kind == "forced":  # one allowed token per beam, as force_prefix makes them
        logits = torch.full_like(logits, -1e9)
        logits[:, :, 3 % vocab] = 0.0
    alive = -torch.rand(batch, beam, generator=gen) * 5.0
    alive[0, 1:] = -INF  # the first step's copies of beam 0
    alive[1, 2] = alive[1, 1]  # two beams with equal log-probs
    alive_seq = torch.zeros(batch, beam, 2, dtype=torch.long)
    for step in (0, 7):
        topk_seq, _, scores, _, beams = _grow_topk(logits, alive_seq, alive, step, 0.6, 1)
        expected_scores, expected_flat = _grow_topk_reference(logits, alive, step, 0.6)
        assert torch.equal(scores, expected_scores[:, : 2 * beam])
        assert torch.equal(beams * vocab + topk_seq[:, :, -1], expected_flat[:, : 2 * beam])
