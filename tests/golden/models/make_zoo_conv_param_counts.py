"""Counts T2T 1.15.7's trainable parameters of the convolutional zoo's main sets.

Run with the original's interpreter, in one process (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_zoo_conv_param_counts.py
Builds each model's graph in TRAIN mode on `test_problem_hparams(VOCAB, VOCAB)` (symbol
inputs and targets) with fixed ids and writes zoo_conv_param_counts.json:
{"<model>/<hparams_set>": the number of trainable scalars}. The hparams are the set's,
except for the overrides listed in OVERRIDES (kept small so the graphs build fast; the
count formulas do not depend on them otherwise). tests/models/test_zoo_conv.py builds ours
with the same settings and compares.
"""

import json
import os

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models import bytenet, evolved_transformer, neural_gpu, slicenet  # noqa
from tensor2tensor.utils import registry

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 35
CASES = [
    ("neural_gpu", "neural_gpu"),
    ("diagonal_neural_gpu", "neural_gpu"),
    ("byte_net", "bytenet_base"),
    ("slice_net", "slicenet_1"),
    ("slice_net", "slicenet_1noam"),
    ("slice_net", "slicenet_1tiny"),
    ("evolved_transformer", "evolved_transformer_tiny"),
    ("evolved_transformer", "evolved_transformer_base"),
    ("evolved_transformer", "evolved_transformer_big"),
    ("evolved_transformer", "evolved_transformer_deep"),
]


def count(model_name, set_name):
    tf.reset_default_graph()
    hparams = registry.hparams(set_name)
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(7)
    inputs = rng.randint(1, VOCAB, size=(2, 6, 1, 1)).astype(np.int32)
    targets = rng.randint(1, VOCAB, size=(2, 5, 1, 1)).astype(np.int32)
    features = {
        "inputs": tf.constant(inputs),
        "targets": tf.constant(targets),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    model(features)
    variables = tf.trainable_variables()
    return int(sum(np.prod(v.shape.as_list()) for v in variables)), len(variables)


if __name__ == "__main__":
    counts = {}
    for model_name, set_name in CASES:
        counts[f"{model_name}/{set_name}"], n_vars = count(model_name, set_name)
        print(model_name, set_name, counts[f"{model_name}/{set_name}"], n_vars, flush=True)
    with open(os.path.join(HERE, "zoo_conv_param_counts.json"), "w") as f:
        json.dump({"vocab_size": VOCAB, "counts": counts}, f, indent=1, sort_keys=True)
        f.write("\n")
