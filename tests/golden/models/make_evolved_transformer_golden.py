"""Runs T2T 1.15.7's evolved_transformer on fixed ids; saves its variables, logits and loss.

Run with the original's interpreter (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_evolved_transformer_golden.py
Writes evolved_transformer_tiny.npz: every trainable variable under its TF name, the
inputs, targets, logits ([B, T, V]) and the training loss, in TRAIN mode with every dropout
0 (evolved_transformer_tiny at hidden 16, 2 heads, 2 encoder and 2 decoder layers, vocab 35,
the second rows ending in padding). tests/models/test_evolved_transformer_golden.py loads
the variables into ours and compares.
"""

import os

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models import evolved_transformer

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 35

if __name__ == "__main__":
    tf.set_random_seed(1)
    hparams = evolved_transformer.evolved_transformer_tiny()
    hparams.hidden_size = 16
    hparams.filter_size = 32
    hparams.num_heads = 2
    hparams.num_encoder_layers = 2
    hparams.num_decoder_layers = 2
    hparams.layer_prepostprocess_dropout = 0.0
    hparams.attention_dropout = 0.0
    hparams.relu_dropout = 0.0
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(5)
    inputs = rng.randint(1, VOCAB, size=(2, 7)).astype(np.int32)
    inputs[1, 5:] = 0
    targets = rng.randint(1, VOCAB, size=(2, 6)).astype(np.int32)
    targets[1, 4:] = 0
    features = {
        "inputs": tf.constant(inputs[:, :, None, None]),
        "targets": tf.constant(targets[:, :, None, None]),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    model = evolved_transformer.EvolvedTransformer(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    logits, losses = model(features)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        variables = {v.name: sess.run(v) for v in tf.trainable_variables()}
        logits_value, loss_value = sess.run([logits, losses["training"]])
    out = {"var:" + k: v for k, v in variables.items()}
    out.update(
        inputs=inputs,
        targets=targets,
        logits=logits_value.reshape(2, targets.shape[1], VOCAB),
        loss=np.float32(loss_value),
    )
    np.savez_compressed(os.path.join(HERE, "evolved_transformer_tiny.npz"), **out)
    for name in sorted(variables):
        print("VAR", name, variables[name].shape)
    print("loss", loss_value)
