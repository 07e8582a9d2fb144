"""CTranslate2 and ONNX Runtime decodes of the exported tiny model equal ours.

The model (tests/export/tiny_run.py) is trained, so the search is not a coin toss among
near-equal scores. Greedy must give identical ids in every format. Beam search:

* ONNX: the graphs run under our own search, so ids are identical and scores equal to
  float rounding, for any alpha.
* CTranslate2: its beam search is its own. With alpha=0 both keep the `beam_size` best
  prefixes by summed log-probability and stop when no unfinished beam can win, so the best
  hypotheses agree here. With alpha > 0 the normalisations differ (T2T divides by
  ((5 + length) / 6) ** alpha, CTranslate2 by length ** alpha), so scores differ, and the
  n-best order may too; the best ids are compared only for alpha=0.
* CTranslate2 answers an empty input (the source is EOS alone) with an empty hypothesis
  and score 0 without decoding; ours decodes it like any input. That case is checked
  apart, as the one known difference.
"""

import os

import pytest
import torch

import t2t
from t2t.decode import decoding, protocol

INPUTS = ["2 3 4 5", "9 8 7", "1 1 2 3 5 8", "0", "4 4", "7 0 7 0 7", ""]
EXTRA = 8


@pytest.fixture(scope="module")
def ours(trained):
    return t2t.load(trained[1], device="cpu")


@pytest.fixture(scope="module")
def batch(ours):
    return decoding.encode_batch(INPUTS, ours.encode)  # [B, S], ids + EOS, 0-padded


def _ours(ours, inputs, beam, alpha, top_beams=1):
    return protocol.infer(ours.model, {"inputs": inputs}, EXTRA, beam, top_beams, alpha)


@pytest.mark.parametrize("beam,alpha", [(1, 0.0), (4, 0.0), (4, 0.6)])
def test_onnx_runtime_equals_ours(trained, ours, batch, beam, alpha):
    from t2t.export.onnx_export import OnnxTranslator

    onnx = OnnxTranslator(os.path.join(trained[1], "onnx"), threads=1)
    top = 1 if beam == 1 else 2
    expected = _ours(ours, batch, beam, alpha, top)
    got = onnx.decode_ids(batch, beam, alpha, top, EXTRA)
    assert torch.equal(got["outputs"], expected["outputs"])
    torch.testing.assert_close(got["scores"], expected["scores"], atol=1e-4, rtol=1e-4)


def _ct2_best(trained, ours, beam, alpha, inputs=INPUTS):
    from t2t.serving.backends import Translator

    translator = Translator(os.path.join(trained[1], "ctranslate2"), threads=1)
    rows = [ours.encode(text) + [1] for text in inputs]
    width = max(len(r) for r in rows)
    results = translator.decode_ids(rows, beam, alpha, 1, max_length=width + EXTRA)
    return [decoding.cut_at_eos(beams[0][0]) for beams in results], [b[0][1] for b in results]


def _ours_best(ours, batch, beam, alpha):
    result = _ours(ours, batch, beam, alpha)
    return [decoding.cut_at_eos(row) for row in result["outputs"].tolist()], result["scores"]


def test_ctranslate2_greedy_equals_ours(trained, ours, batch):
    ids, scores = _ct2_best(trained, ours, 1, 0.0)
    expected, expected_scores = _ours_best(ours, batch, 1, 0.0)
    empty = INPUTS.index("")
    assert ids[empty] == [] and scores[empty] == 0.0  # CTranslate2 does not decode it
    del ids[empty], scores[empty], expected[empty]
    expected_scores = torch.cat([expected_scores[:empty], expected_scores[empty + 1 :]])
    assert ids == expected
    # Greedy scores are the sum of the log-probs in both (EOS included).
    torch.testing.assert_close(torch.tensor(scores), expected_scores, atol=1e-4, rtol=1e-4)


def test_ctranslate2_beam_equals_ours(trained, ours, batch):
    inputs = [text for text in INPUTS if text]
    ids, scores = _ct2_best(trained, ours, 4, 0.0, inputs)
    batch = decoding.encode_batch(inputs, ours.encode)
    expected, expected_scores = _ours_best(ours, batch, 4, 0.0)
    assert ids == expected
    torch.testing.assert_close(torch.tensor(scores), expected_scores, atol=1e-4, rtol=1e-4)
    assert any(ids), "the model decodes something"
