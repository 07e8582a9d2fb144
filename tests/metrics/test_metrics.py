"""T2T's metric functions and ROUGE.

Golden values in tests/golden/metrics/metrics_goldens.json come from the ORIGINAL
tensor2tensor 1.15.7 utils/metrics.py and utils/rouge.py under TensorFlow 1.15 (see
tests/golden/metrics/make_metrics_goldens.py): per batch, what tf.metrics.mean adds to its
total and count, and the streaming mean over two batches.
"""

import json
import math
import random
from pathlib import Path

import pytest
import torch

from t2t.metrics import metrics, rouge

GOLDEN = json.loads(
    (Path(__file__).parents[1] / "golden" / "metrics" / "metrics_goldens.json").read_text()
)
CASES = GOLDEN["cases"]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("name", sorted(metrics.METRICS_FNS))
def test_batch_parts_match_original(case, name):
    fn = metrics.METRICS_FNS[name]
    value_sum, weight_sum = fn(torch.tensor(case["logits"]), torch.tensor(case["labels"]))
    expected_value, expected_weight = case["parts"][name]
    if math.isnan(expected_value):
        # T2T's word_error_rate divides 0 by 0 for a batch without reference words (then
        # tf.metrics.mean stays NaN for good); ours adds nothing to the mean.
        assert name == "word_error_rate" and expected_weight == 0 == weight_sum.item()
        return
    assert value_sum.item() == pytest.approx(expected_value, rel=1e-5, abs=1e-6)
    assert weight_sum.item() == expected_weight


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
@pytest.mark.parametrize("name", sorted(metrics.METRICS_FNS))
def test_streaming_mean_matches_tf_metrics_mean(case, name):
    fn = metrics.METRICS_FNS[name]
    mean = metrics.StreamingMean()
    for logits, labels in ((case["logits"], case["labels"]), (case["logits2"], case["labels2"])):
        mean.update(*fn(torch.tensor(logits), torch.tensor(labels)))
    if math.isnan(case["streaming"][name]):  # see test_batch_parts_match_original
        assert name == "word_error_rate" and math.isfinite(mean.result())
        return
    assert mean.result() == pytest.approx(case["streaming"][name], rel=1e-5, abs=1e-6)


def test_metric_names_are_t2t_names():
    assert set(metrics.METRICS_FNS) == {
        "accuracy",
        "accuracy_top5",
        "accuracy_per_sequence",
        "neg_log_perplexity",
        "approx_bleu_score",
        "rouge_2_fscore",
        "rouge_L_fscore",
        "edit_distance",
        "word_error_rate",
    }
    key = metrics.eval_metric_key("translate_ende_wmt32k", "accuracy")
    assert key == "metrics-translate_ende_wmt32k/targets/accuracy"


def test_accuracy_equals_mean_of_matches_without_padding():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 9, 5, generator=gen)
    labels = torch.randint(1, 5, (4, 9), generator=gen)
    value, weight = metrics.padded_accuracy(logits, labels)
    assert weight.item() == 36
    expected = (logits.argmax(-1) == labels).float().mean()
    torch.testing.assert_close(value / weight, expected)
    top1, _ = metrics.padded_accuracy_topk(logits, labels, 1)
    assert top1.item() == value.item()
    top7, _ = metrics.padded_accuracy_topk(logits, labels, 7)  # k > V: everything matches
    assert top7.item() == 36


def test_neg_log_perplexity_is_minus_mean_xent_over_non_padding():
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1], [1 / 3] * 3]]))
    labels = torch.tensor([[1, 1, 0]])
    value, weight = metrics.padded_neg_log_perplexity(logits, labels)
    assert weight.item() == 2
    assert (value / weight).item() == pytest.approx((math.log(0.25) + math.log(0.8)) / 2)


def test_t2t_five_dim_shapes_accepted():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(2, 4, 1, 1, 6, generator=gen)
    labels = torch.randint(0, 6, (2, 4, 1, 1), generator=gen)
    for fn in metrics.METRICS_FNS.values():
        five = fn(logits, labels)
        three = fn(logits[:, :, 0, 0], labels[:, :, 0, 0])
        assert five[0].item() == pytest.approx(three[0].item()) and five[1] == three[1]


@pytest.mark.parametrize("case", GOLDEN["rouge"], ids=lambda c: str(len(c["hyps"])))
def test_rouge_matches_original(case):
    assert rouge.rouge_n(case["hyps"], case["refs"], 2) == case["rouge_2"]
    assert rouge.rouge_n(case["hyps"], case["refs"], 1) == case["rouge_1"]
    assert rouge.rouge_l_sentence_level(case["hyps"], case["refs"]) == case["rouge_l"]


def test_rouge_spec_cases():
    hyps = [[1, 2, 3, 4, 5, 1, 6, 7, 0], [1, 2, 3, 4, 5, 1, 6, 8, 7]]
    refs = [[1, 9, 2, 3, 4, 5, 1, 10, 6, 7]] * 2
    assert rouge.rouge_n(hyps, refs) == pytest.approx(0.5294118, abs=1e-6)
    assert rouge.rouge_l_sentence_level(hyps, refs) == pytest.approx(0.83747834, abs=1e-6)
    assert rouge.rouge_n(refs, refs) == pytest.approx(1.0)
    assert rouge.rouge_l_sentence_level(refs, refs) == pytest.approx(1.0)
    assert rouge.rouge_n([[1, 2, 3]], [[4, 5, 6]]) == 0.0
    assert rouge.rouge_l_sentence_level([[1, 2, 3]], [[4, 5, 6]]) == 0.0


def lcs_by_dynamic_programming(x, y):
    table = [[0] * (len(y) + 1) for _ in range(len(x) + 1)]
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            if x[i - 1] == y[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_bit_parallel_lcs_equals_dynamic_programming():
    rng = random.Random(0)
    for _ in range(500):
        x = [rng.randint(0, 4) for _ in range(rng.randint(0, 25))]
        y = [rng.randint(0, 4) for _ in range(rng.randint(0, 90))]
        assert rouge.lcs_length(x, y) == lcs_by_dynamic_programming(x, y)
