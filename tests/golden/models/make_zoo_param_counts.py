"""Counts the trainable parameters of the zoo models in the original T2T 1.15.7.

Run with the original's interpreter (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_zoo_param_counts.py
For every (model, hparams set) below it builds the training graph on T2T's test problem
(symbol inputs and targets, vocabulary VOCAB), sums the sizes of tf.trainable_variables()
and writes zoo_param_counts.json next to this script. A set the original cannot build is
recorded with its error instead of a count.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models.research import (  # noqa: F401
    attention_lm,
    transformer_moe,
    universal_transformer,
)
from tensor2tensor.utils import registry

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "zoo_param_counts.json")
VOCAB = 20

UT_SETS = [
    "universal_transformer_tiny",
    "universal_transformer_small",
    "universal_transformer_base",
    "universal_transformer_teeny",
    "universal_transformer_sepconv_tiny",
    "universal_transformer_step_sinusoid_timing_tiny",
    "universal_transformer_dwa_base",
    "universal_transformer_gru_base",
    "universal_transformer_lstm_base",
    "universal_transformer_highway_base",
    "universal_transformer_skip_base",
    "universal_transformer_mix_before_ut_base",
    "universal_transformer_mix_after_ut_base",
    "adaptive_universal_transformer_tiny",
    "adaptive_universal_transformer_small",
    "adaptive_universal_transformer_concat_tiny",
    "adaptive_universal_transformer_global_base",
    "adaptive_universal_transformer_with_sru_base",
    "adaptive_universal_transformer_multilayer_tpu",
]
CASES = [("universal_transformer", s) for s in UT_SETS] + [
    ("universal_transformer_encoder", "universal_transformer_tiny"),
    ("universal_transformer_encoder", "adaptive_universal_transformer_tiny"),
]
CASES += [
    ("transformer_moe", s)
    for s in [
        "transformer_moe_base",
        "transformer_moe_8k",
        "transformer_moe_12k",
        "transformer_moe_2k",
        "transformer_moe_8k_lm",
    ]
]
# Language models: built on the test problem without inputs.
LM_CASES = [("attention_lm", s) for s in ["attention_lm_base", "attention_lm_small"]]
CASES += LM_CASES


def count(model_name, set_name, has_input=True):
    tf.reset_default_graph()
    hparams = registry.hparams(set_name)
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    if not has_input:
        del p_hparams.modality["inputs"]
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(0)
    features = {
        "targets": tf.constant(rng.randint(1, VOCAB, size=(2, 5, 1, 1)).astype(np.int32)),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    if has_input:
        features["inputs"] = tf.constant(rng.randint(1, VOCAB, size=(2, 6, 1, 1)).astype(np.int32))
    model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    model(features)
    return int(sum(np.prod(v.shape.as_list()) for v in tf.trainable_variables()))


def main():
    counts = {}
    if os.path.exists(OUT):
        with open(OUT) as f:
            counts = json.load(f)["counts"]
    only = set(sys.argv[1:])
    for model_name, set_name in CASES:
        key = f"{model_name}/{set_name}"
        if only and model_name not in only:
            continue
        try:
            has_input = (model_name, set_name) not in LM_CASES
            counts[key] = count(model_name, set_name, has_input)
        except Exception as e:  # the original cannot build this set
            counts[key] = f"error: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
        print(key, counts[key], flush=True)
    with open(OUT, "w") as f:
        json.dump(
            {"vocab": VOCAB, "problem": "test_problem_hparams", "counts": counts},
            f,
            indent=1,
            sort_keys=True,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
