"""Runs T2T 1.15.7's neural_gpu and diagonal_neural_gpu on fixed ids; saves their variables,
logits and losses.

Run with the original's interpreter (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_neural_gpu_golden.py
Writes neural_gpu_<model>.npz: every trainable variable under its TF name, the inputs,
targets, logits ([B, T, V]) and the losses, in TRAIN mode with dropout 0 (hidden 8, 2
layers, vocab 35 in 16 embedding shards; the inputs' second row ends in padding).
tests/models/test_neural_gpu_golden.py loads the variables into ours and compares.
"""

import os

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models import neural_gpu

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 35


def run_case(model_cls, name):
    tf.reset_default_graph()
    tf.set_random_seed(1)
    hparams = neural_gpu.neural_gpu()
    hparams.hidden_size = 8
    hparams.num_hidden_layers = 2
    hparams.dropout = 0.0
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(3)
    inputs = rng.randint(1, VOCAB, size=(2, 6)).astype(np.int32)
    inputs[1, 4:] = 0
    targets = rng.randint(1, VOCAB, size=(2, 6)).astype(np.int32)
    targets[1, 4:] = 0
    features = {
        "inputs": tf.constant(inputs[:, :, None, None]),
        "targets": tf.constant(targets[:, :, None, None]),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    model = model_cls(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    logits, losses = model(features)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        variables = {v.name: sess.run(v) for v in tf.trainable_variables()}
        logits_value, losses_value = sess.run([logits, losses])
    out = {"var:" + k: v for k, v in variables.items()}
    out.update(
        inputs=inputs,
        targets=targets,
        logits=logits_value.reshape(2, -1, VOCAB),
        loss=np.float32(losses_value["training"]),
        extra=np.float32(losses_value.get("extra", 0.0)),
    )
    np.savez_compressed(os.path.join(HERE, f"neural_gpu_{name}.npz"), **out)
    print(name, sorted(variables), losses_value)


if __name__ == "__main__":
    run_case(neural_gpu.NeuralGPU, "neural_gpu")
    run_case(neural_gpu.DiagonalNeuralGPU, "diagonal_neural_gpu")
