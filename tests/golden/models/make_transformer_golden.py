"""Runs T2T 1.15.7's Transformer on fixed ids and saves its variables, logits and loss.

Run with the original's interpreter (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_transformer_golden.py
Writes transformer_<case>.npz: every trainable variable under its TF name, the inputs,
targets, logits ([B, T, V]) and the training loss (TRAIN mode with all dropouts 0, so the
label smoothing of the set is active). tests/models/test_transformer_golden.py loads the
variables into our Transformer and compares.
"""

import os

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models import transformer

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 35  # 16 embedding shards of 3 or 2 rows
CASES = {
    "base": (transformer.transformer_base, True),
    "base_v1": (transformer.transformer_base_v1, True),
    "relative": (transformer.transformer_relative, True),
    "lm": (transformer.transformer_base, False),
}


def run_case(name, hparams_fn, has_input):
    tf.reset_default_graph()
    tf.set_random_seed(1)
    hparams = hparams_fn()
    hparams.hidden_size = 16
    hparams.filter_size = 24
    hparams.num_heads = 2
    hparams.num_hidden_layers = 2
    hparams.max_relative_position = 3 if hparams.max_relative_position else 0
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.attention_dropout = 0.0
    hparams.relu_dropout = 0.0
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    if not has_input:
        del p_hparams.modality["inputs"]
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(7)
    inputs = rng.randint(1, VOCAB, size=(3, 6)).astype(np.int32)
    inputs[0, 4:] = 0
    targets = rng.randint(1, VOCAB, size=(3, 5)).astype(np.int32)
    targets[1, 3:] = 0
    features = {
        "targets": tf.constant(targets[:, :, None, None]),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    if has_input:
        features["inputs"] = tf.constant(inputs[:, :, None, None])
    model = transformer.Transformer(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    logits, losses = model(features)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        variables = {v.name: sess.run(v) for v in tf.trainable_variables()}
        logits_value, loss_value = sess.run([logits, losses["training"]])
    out = {"var:" + k: v for k, v in variables.items()}
    out.update(
        inputs=inputs,
        targets=targets,
        logits=logits_value.reshape(3, targets.shape[1], VOCAB),
        loss=np.float32(loss_value),
        label_smoothing=np.float32(hparams.label_smoothing),
    )
    np.savez_compressed(os.path.join(HERE, f"transformer_{name}.npz"), **out)
    print(name, len(variables), "variables, loss", loss_value)


if __name__ == "__main__":
    for case_name, (fn, with_inputs) in CASES.items():
        run_case(case_name, fn, with_inputs)
