"""T2T's BLEU: compute_bleu, bleu_tokenize, bleu_wrapper.

Golden values in tests/golden/metrics/bleu_goldens.json come from the ORIGINAL
tensor2tensor 1.15.7 bleu_hook (see tests/golden/metrics/make_bleu_goldens.py); the small
cases below are those of T2T's bleu_hook_test (spec section 7.3).
"""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from t2t.errors import DataError
from t2t.metrics import bleu

GOLDEN_DIR = Path(__file__).parents[1] / "golden" / "metrics"
GOLDEN = json.loads((GOLDEN_DIR / "bleu_goldens.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "refs, hyps, expected",
    [
        ([[1, 2, 3]], [[1, 2, 3]], 1.0),
        ([[5, 6, 7, 8]], [[1, 2, 3, 4]], 0.0798679),
        ([[1, 2, 3, 4], [5, 6, 7, 10]], [[1, 2, 3, 4], [5, 6, 7, 0]], 0.7231),
        ([[1, 2, 1, 13], [12, 6, 7, 4, 8, 9, 10]], [[1, 2, 1, 3], [5, 6, 7, 4]], 0.3436),
        ([[1, 2, 3]], [[1, 2]], 0.60653),
        ([[1, 2, 3, 4, 5]], [[1, 2, 3]], 0.51342),
        ([[]], [[]], 0.0),
        ([[1, 2]], [[]], 0.0),
    ],
)
def test_compute_bleu_spec_cases(refs, hyps, expected):
    assert bleu.compute_bleu(refs, hyps) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("case", GOLDEN["compute_bleu"], ids=lambda c: str(len(c["refs"])))
def test_compute_bleu_matches_original(case):
    value = bleu.compute_bleu(case["refs"], case["hyps"], case["max_order"], case["use_bp"])
    assert value == case["bleu"]  # same float32


def test_compute_bleu_on_numpy_rows():
    refs = np.array([[1, 2, 1, 13, 0], [12, 6, 7, 4, 8]])
    hyps = np.array([[1, 2, 1, 3, 0], [5, 6, 7, 4, 0]])
    assert bleu.compute_bleu(refs, hyps) == bleu.compute_bleu(refs.tolist(), hyps.tolist())


def test_tokenize_matches_original():
    assert len(GOLDEN["tokenize"]) > 80
    for text, tokens in GOLDEN["tokenize"].items():
        assert bleu.bleu_tokenize(text) == tokens, text


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("In 1999.", ["In", "1999."]),
        ("$1,000.50", ["$", "1,000.50"]),
        ("don't", ["don", "'", "t"]),
        ("e.g.", ["e", ".", "g", "."]),
        ("hi, \u201cthere\u201d", ["hi", ",", "\u201c", "there", "\u201d"]),
        ("a\\b", ["a\\b"]),  # T2T quirk: backslash is not treated as punctuation.
    ],
)
def test_tokenize_spec_cases(text, tokens):
    assert bleu.bleu_tokenize(text) == tokens


def test_whole_text_tokenization_equals_line_by_line():
    """tokenize_lines tokenises a whole file in one pass; it must equal per-line T2T."""
    rng = random.Random(0)
    alphabet = list("ab1 2.,;'\"-\\$%()\n\t€„“") + ["\u2028", "\r", "1999.", "x.\n"]
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        expected = [bleu.bleu_tokenize(line) for line in text.split("\n")]
        assert bleu.tokenize_lines(text) == expected, repr(text)


@pytest.mark.parametrize("name", sorted(GOLDEN["pairs"]))
def test_bleu_wrapper_matches_original(name):
    ref = str(GOLDEN_DIR / f"bleu_{name}.ref")
    hyp = str(GOLDEN_DIR / f"bleu_{name}.hyp")
    expected = GOLDEN["pairs"][name]
    assert bleu.bleu_wrapper(ref, hyp, case_sensitive=False) == expected["uncased"]
    assert bleu.bleu_wrapper(ref, hyp, case_sensitive=True) == expected["cased"]


def test_bleu_wrapper_spec_cases(tmp_path):
    ref, hyp = tmp_path / "ref", tmp_path / "hyp"
    ref.write_text("a b a z\ny f g d k l m", encoding="utf-8")
    hyp.write_text("a b a c\ne f g d", encoding="utf-8")
    assert bleu.bleu_wrapper(str(ref), str(hyp)) == pytest.approx(0.3436, abs=1e-4)
    hyp.write_text("a b a c\ne f \u2028 d", encoding="utf-8")
    assert bleu.bleu_wrapper(str(ref), str(hyp)) == pytest.approx(0.2638, abs=1e-4)


def test_bleu_wrapper_errors(tmp_path):
    ref, hyp = tmp_path / "ref", tmp_path / "hyp"
    ref.write_text("a b\nc d\n", encoding="utf-8")
    hyp.write_text("a b\nc d", encoding="utf-8")  # no final newline: 2 pieces vs 3
    with pytest.raises(DataError, match="3 lines but translation .* has 2"):
        bleu.bleu_wrapper(str(ref), str(hyp))
    with pytest.raises(DataError, match="not found"):
        bleu.bleu_wrapper(str(tmp_path / "missing"), str(hyp))
    hyp.write_bytes(b"\xff\xfe\n\n")
    with pytest.raises(DataError, match="UTF-8"):
        bleu.bleu_wrapper(str(ref), str(hyp))
