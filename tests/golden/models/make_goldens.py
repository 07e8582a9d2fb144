"""Generates the model goldens with the original T2T 1.15.7 / TensorFlow 1.15.

Run with the original's interpreter (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_goldens.py
Writes timing_signal.json and padded_cross_entropy.json next to this script.
"""

import json
import os

import numpy as np
import tensorflow as tf
from tensor2tensor.layers import common_attention, common_layers

HERE = os.path.dirname(os.path.abspath(__file__))


def timing_signals(sess):
    cases = []
    for length, channels, start in [(7, 8, 0), (5, 12, 3), (4, 7, 0), (50, 64, 0)]:
        signal = common_attention.get_timing_signal_1d(length, channels, start_index=start)
        value = sess.run(signal)
        cases.append(
            {
                "length": length,
                "channels": channels,
                "start_index": start,
                "signal": value[0].tolist(),
            }
        )
    return cases


def cross_entropies(sess):
    rng = np.random.RandomState(1234)
    cases = []
    for label_smoothing in (0.0, 0.1, 0.2):
        logits = rng.randn(2, 5, 7).astype(np.float32) * 2.0
        labels = rng.randint(1, 7, size=(2, 4)).astype(np.int64)  # one shorter: T2T pads
        labels[0, 2:] = 0  # padding
        # T2T's 4-D/5-D shapes: logits [B, T, 1, 1, V], labels [B, T, 1, 1]
        num, den = common_layers.padded_cross_entropy(
            tf.constant(logits[:, :, None, None, :]),
            tf.constant(labels[:, :, None, None]),
            label_smoothing,
        )
        num, den = sess.run([num, den])
        cases.append(
            {
                "label_smoothing": label_smoothing,
                "logits": logits.tolist(),
                "labels": labels.tolist(),
                "numerator": float(num),
                "denominator": float(den),
            }
        )
    return cases


def main():
    with tf.Session() as sess:
        goldens = {
            "timing_signal.json": timing_signals(sess),
            "padded_cross_entropy.json": cross_entropies(sess),
        }
    for name, value in goldens.items():
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(value, f)
            f.write("\n")


if __name__ == "__main__":
    main()
