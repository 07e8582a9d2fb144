"""Generates metrics_goldens.json with the ORIGINAL Tensor2Tensor metric functions.

Run with the T2T 1.15.7 / TensorFlow 1.15 venv (Python 3.7), from the repository root:

    /tmp/t2t-original/bin/python tests/golden/metrics/make_metrics_goldens.py

Each case has seeded random logits [B, T, 1, 1, V] and zero-padded labels [B, T', 1, 1]
(T' may differ from T; one case has coarse logits with ties). For every metric of
utils/metrics.METRICS_FNS that a translation or speech problem uses, it records what
tf.metrics.mean would add for that batch: sum(scores * weights) and sum(weights broadcast
to scores), plus the streaming mean of two batches through tf.metrics.mean itself. It also
records utils/rouge.rouge_n and rouge_l_sentence_level on seeded random id lists.
"""

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.utils import metrics, rouge

tf.disable_v2_behavior()

HERE = os.path.dirname(os.path.abspath(__file__))
NAMES = [
    "accuracy",
    "accuracy_top5",
    "accuracy_per_sequence",
    "neg_log_perplexity",
    "approx_bleu_score",
    "rouge_2_fscore",
    "rouge_L_fscore",
    "edit_distance",
    "word_error_rate",
]
CASES = [  # name, seed, batch, logits length, labels length, vocab, ties, share made right
    ("basic", 0, 3, 6, 6, 7, False, 0.5),
    ("longer_logits", 1, 2, 8, 5, 9, False, 0.5),
    ("longer_labels", 2, 4, 4, 6, 5, False, 0.5),
    ("ties", 3, 3, 6, 6, 8, True, 0.5),
    ("vocab_below_5", 4, 2, 5, 5, 3, False, 0.5),
    ("mostly_right", 6, 6, 5, 5, 10, False, 0.93),
]


def make_case(seed, batch, logits_len, labels_len, vocab, ties, right):
    rng = np.random.RandomState(seed)
    logits = rng.normal(size=(batch, logits_len, 1, 1, vocab)).astype(np.float32) * 2
    if ties:
        logits = np.round(logits / 2)
    labels = rng.randint(1, vocab, size=(batch, labels_len, 1, 1))
    for b in range(batch):  # zero padding at the end, different lengths
        labels[b, rng.randint(1, labels_len + 1) :] = 0
    # Make some predictions right so accuracies are not all ~1/V.
    common = min(logits_len, labels_len)
    hit = rng.rand(batch, common) < right
    for b, t in zip(*np.nonzero(hit)):
        logits[b, t, 0, 0, labels[b, t, 0, 0]] += 4.0
    return logits, labels.astype(np.int32)


def batch_parts(sess, name, logits, labels):
    scores, weights = metrics.METRICS_FNS[name](tf.constant(logits), tf.constant(labels))
    scores, weights = sess.run([scores, weights])
    weights = np.broadcast_to(np.asarray(weights, np.float32), np.shape(scores))
    return float(np.sum(scores * weights)), float(np.sum(weights))


def streaming_mean(sess, name, batches):
    logits_ph = tf.placeholder(tf.float32, [None, None, 1, 1, None])
    labels_ph = tf.placeholder(tf.int32, [None, None, 1, 1])
    scores, weights = metrics.METRICS_FNS[name](logits_ph, labels_ph)
    value, update = tf.metrics.mean(scores, weights)
    sess.run(tf.local_variables_initializer())
    for logits, labels in batches:
        sess.run(update, {logits_ph: logits, labels_ph: labels})
    return float(sess.run(value))


def rouge_cases():
    rng = np.random.RandomState(5)
    cases = []
    for n_pairs, vocab, max_len in [(1, 4, 6), (4, 6, 12), (8, 20, 30)]:
        hyps = [
            rng.randint(0, vocab, size=rng.randint(1, max_len)).tolist() for _ in range(n_pairs)
        ]
        refs = [
            rng.randint(0, vocab, size=rng.randint(1, max_len)).tolist() for _ in range(n_pairs)
        ]
        cases.append(
            {
                "hyps": hyps,
                "refs": refs,
                "rouge_2": float(rouge.rouge_n(hyps, refs, 2)),
                "rouge_1": float(rouge.rouge_n(hyps, refs, 1)),
                "rouge_l": float(rouge.rouge_l_sentence_level(hyps, refs)),
            }
        )
    return cases


def main():
    out = {"cases": [], "rouge": rouge_cases()}
    for name, seed, batch, logits_len, labels_len, vocab, ties, right in CASES:
        logits, labels = make_case(seed, batch, logits_len, labels_len, vocab, ties, right)
        logits2, labels2 = make_case(seed + 100, batch, logits_len, labels_len, vocab, ties, right)
        case = {
            "name": name,
            "logits": logits.tolist(),
            "labels": labels.tolist(),
            "logits2": logits2.tolist(),
            "labels2": labels2.tolist(),
            "parts": {},
            "streaming": {},
        }
        with tf.Graph().as_default(), tf.Session() as sess:
            for metric in NAMES:
                case["parts"][metric] = batch_parts(sess, metric, logits, labels)
                case["streaming"][metric] = streaming_mean(
                    sess, metric, [(logits, labels), (logits2, labels2)]
                )
        out["cases"].append(case)
        print(name, case["parts"])
    with open(os.path.join(HERE, "metrics_goldens.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
