"""Runs T2T 1.15.7's byte_net and slice_net on fixed ids; saves variables, logits, loss.

Run with the original's interpreter (not part of the test suite):
    /tmp/t2t-original/bin/python tests/golden/models/make_conv_seq2seq_golden.py
Writes <model>_<set>.npz: every trainable variable under its TF name (in creation order, in
"order"), the inputs, targets, logits ([B, T, V]) and the training loss, in TRAIN mode with
every dropout 0 (label smoothing 0.1 on), vocab 35, target_space_id 1, the second rows
ending in padding. The sizes are in CASES. tests/models/test_conv_seq2seq_golden.py loads
the variables into ours and compares.
"""

import os

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models import bytenet, slicenet  # noqa: F401
from tensor2tensor.utils import registry

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB = 35
CASES = {
    ("byte_net", "bytenet_base"): dict(hidden_size=8, num_hidden_layers=2, num_block_repeat=2),
    ("slice_net", "slicenet_1"): dict(hidden_size=48, num_hidden_layers=1, num_heads=4),
    ("slice_net", "slicenet_1tiny"): dict(hidden_size=32, num_hidden_layers=2, num_heads=4),
}


def run_case(model_name, set_name, sizes):
    tf.reset_default_graph()
    tf.set_random_seed(1)
    hparams = registry.hparams(set_name)
    for key, value in sizes.items():
        setattr(hparams, key, value)
    for key in ("dropout", "symbol_dropout", "attention_dropout"):
        if hasattr(hparams, key):
            setattr(hparams, key, 0.0)
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(11)
    inputs = rng.randint(1, VOCAB, size=(2, 7)).astype(np.int32)
    inputs[1, 5:] = 0
    targets = rng.randint(1, VOCAB, size=(2, 6)).astype(np.int32)
    targets[1, 4:] = 0
    features = {
        "inputs": tf.constant(inputs[:, :, None, None]),
        "targets": tf.constant(targets[:, :, None, None]),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    logits, losses = model(features)
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        names = [v.name for v in tf.trainable_variables()]
        values = sess.run(tf.trainable_variables())
        logits_value, loss_value = sess.run([logits, losses["training"]])
    out = {"var:" + k: v for k, v in zip(names, values)}
    out.update(
        order=np.array(names),
        inputs=inputs,
        targets=targets,
        logits=logits_value.reshape(2, -1, VOCAB),
        loss=np.float32(loss_value),
    )
    np.savez_compressed(os.path.join(HERE, f"{model_name}_{set_name}.npz"), **out)
    for name, value in zip(names, values):
        print("VAR", model_name, set_name, name, value.shape)
    print("loss", model_name, set_name, loss_value, logits_value.shape)


if __name__ == "__main__":
    for (model_name, set_name), sizes in CASES.items():
        run_case(model_name, set_name, sizes)
