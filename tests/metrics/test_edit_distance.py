"""Edit distance and word error rate: T2T's values, and jiwer's on decoded texts.

`ed_*` / `wer_*` in tests/golden/audio/audio_goldens.npz are T2T 1.15.7's
`metrics.sequence_edit_distance` and `metrics.word_error_rate` on the stored one-hot logits
and byte labels (tests/golden/audio/make_audio_feature_goldens.py); the random-logits cases
are in tests/golden/metrics/metrics_goldens.json (tests/metrics/test_metrics.py).
"""

import os

import numpy as np
import pytest
import torch

from t2t.metrics import edit_distance
from t2t.metrics.metrics import METRICS_FNS, weights_all, weights_nonzero

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "audio", "audio_goldens.npz")


def test_values_equal_t2t_on_byte_targets():
    golden = np.load(GOLDEN)
    logits = torch.from_numpy(golden["metric_logits"])
    labels = torch.from_numpy(golden["metric_labels"])
    value, weight = edit_distance.sequence_edit_distance(logits, labels, weights_nonzero)
    # T2T returns (distance / length, length); tf.metrics.mean adds their product
    assert weight.item() == golden["ed_weight"]
    assert value.item() / weight.item() == pytest.approx(float(golden["ed_value"]))
    value, weight = edit_distance.word_error_rate(logits, labels, weights_nonzero)
    assert weight.item() == golden["wer_weight"] == 9
    assert value.item() / weight.item() == pytest.approx(float(golden["wer_value"]))
    assert METRICS_FNS["edit_distance"] is edit_distance.sequence_edit_distance
    assert METRICS_FNS["word_error_rate"] is edit_distance.word_error_rate


def test_other_weights_are_refused_as_in_t2t():
    logits, labels = torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.long)
    with pytest.raises(ValueError, match="weights_nonzero"):
        edit_distance.word_error_rate(logits, labels, weights_all)


@pytest.mark.parametrize("seed", range(5))
def test_levenshtein_and_text_counts_equal_jiwer(seed):
    jiwer = pytest.importorskip("jiwer")
    rng = np.random.RandomState(seed)
    words = ["a", "cat", "sat", "on", "the", "mat", "dog"]
    refs = [" ".join(rng.choice(words, rng.randint(1, 8))) for _ in range(6)]
    hyps = [" ".join(rng.choice(words, rng.randint(1, 8))) for _ in range(6)]
    counts = edit_distance.text_error_counts(hyps, refs)
    assert counts["word_errors"] / counts["words"] == pytest.approx(jiwer.wer(refs, hyps))
    assert counts["char_errors"] / counts["chars"] == pytest.approx(jiwer.cer(refs, hyps))
