"""Generates beam_search_goldens.json with the ORIGINAL Tensor2Tensor beam search.

Run with the T2T 1.15.7 / TensorFlow 1.15 venv (not our venv):

    /tmp/t2t-original/bin/python tests/golden/decode/make_beam_search_goldens.py

Every case is a hand-built step function: logits = table[position, key] where `key` is the
last decoded id (or, for the "state" cases, a hash of the whole history kept in a nested
state dict, to check that states follow their beams). The tables are random normal logits
from numpy's seeded generator, with EOS (id 1) pushed up or down to make beams finish early
or never. The tables are not stored: tests/decode/test_beam_search.py rebuilds them from the
seed with the same numpy RandomState calls (checked against `table_sum`), runs our
beam_search on them and compares ids exactly and scores to 1e-5.
"""

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.utils import beam_search

tf.disable_v2_behavior()

STATE_MOD = 11  # states hash the history into 0..STATE_MOD-1


def make_table(rng, positions, keys, vocab, eos_shift=0.0, ties=False):
    table = rng.normal(size=(positions, keys, vocab)).astype(np.float32) * 2.0
    table[:, :, 1] += eos_shift
    if ties:  # Coarse values so that equal scores occur at every step.
        table = np.round(table)
    return table


CASES = [
    # name, seed, batch initial ids, beam, vocab, decode_length, alpha, stop_early, eos_shift,
    # ties, use_state
    ("k2_alpha0", 1, [0], 2, 6, 5, 0.0, True, 0.0, False, False),
    ("k2_alpha06", 2, [0], 2, 6, 5, 0.6, True, 0.0, False, False),
    ("k4_alpha06_batch2", 3, [0, 2], 4, 8, 7, 0.6, True, 0.5, False, False),
    ("k4_alpha0_no_stop_early", 4, [0, 3], 4, 8, 7, 0.0, False, 0.5, False, False),
    ("k4_alpha06_no_stop_early", 5, [0, 3, 5], 4, 10, 8, 0.6, False, 0.0, False, False),
    ("eos_early", 6, [0, 4], 3, 7, 10, 0.6, True, 3.0, False, False),
    ("never_eos", 7, [0, 2], 3, 7, 6, 0.6, True, -40.0, False, False),
    ("k1_batch3", 8, [0, 2, 3], 1, 6, 9, 0.0, True, 0.0, False, False),
    ("candidates_exceed_vocab", 9, [0, 1], 3, 4, 5, 0.6, True, 0.0, False, False),
    ("ties", 10, [0, 2], 3, 6, 6, 0.0, True, 0.0, True, False),
    ("ties_alpha1", 11, [0, 2], 2, 5, 6, 1.0, False, 0.0, True, False),
    ("wide", 12, [0, 5, 7], 4, 50, 12, 0.6, True, -1.0, False, False),
    ("wide_no_stop_early", 13, [0, 5, 7], 4, 50, 12, 0.6, False, -1.0, False, False),
    ("state", 14, [0, 3], 3, 7, 8, 0.6, True, 0.0, False, True),
    ("state_no_stop_early", 15, [0, 3], 4, 7, 8, 0.0, False, 0.0, False, True),
]


def run_case(
    name, seed, initial, beam, vocab, length, alpha, stop_early, eos_shift, ties, use_state
):
    rng = np.random.RandomState(seed)
    keys = STATE_MOD if use_state else vocab
    table = make_table(rng, length, keys, vocab, eos_shift, ties)
    graph = tf.Graph()
    with graph.as_default():
        table_t = tf.constant(table)
        initial_ids = tf.constant(initial, dtype=tf.int32)
        if use_state:

            def fn(ids, i, states):
                # history hash h' = (3h + last id) mod STATE_MOD, carried in a nested dict.
                h = (states["nested"]["h"] * 3 + ids[:, -1]) % STATE_MOD
                pos = tf.fill(tf.shape(h), i)
                logits = tf.gather_nd(table_t, tf.stack([pos, h], axis=1))
                return logits, {"nested": {"h": h}}

            states = {"nested": {"h": tf.zeros([len(initial)], tf.int32)}}
        else:

            def fn(ids):
                last = ids[:, -1]
                pos = tf.fill(tf.shape(last), tf.shape(ids)[1] - 1)
                return tf.gather_nd(table_t, tf.stack([pos, last], axis=1))

            states = None
        out = beam_search.beam_search(
            fn,
            initial_ids,
            beam,
            length,
            vocab,
            alpha,
            states=states,
            eos_id=1,
            stop_early=stop_early,
        )
        with tf.Session(graph=graph) as sess:
            ids, scores = sess.run([out[0], out[1]])
    return {
        "name": name,
        "seed": seed,
        "initial_ids": initial,
        "beam_size": beam,
        "vocab_size": vocab,
        "decode_length": length,
        "alpha": alpha,
        "stop_early": stop_early,
        "use_state": use_state,
        "state_mod": STATE_MOD,
        "eos_shift": eos_shift,
        "ties": ties,
        "table_sum": float(table.astype(np.float64).sum()),
        "ids": ids.tolist(),
        "scores": scores.tolist(),
    }


def main():
    results = [run_case(*case) for case in CASES]
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "beam_search_goldens.json")
    with open(path, "w") as f:
        json.dump(
            {
                "generator": "tensor2tensor 1.15.7 utils/beam_search.beam_search, TF "
                + tf.__version__,
                "cases": results,
            },
            f,
        )
    for r in results:
        print(r["name"], np.array(r["ids"]).shape, r["scores"])


if __name__ == "__main__":
    main()
