"""Trainable parameter counts of T2T's image models, measured with the original T2T 1.15.7.

Run with the original's Python (TF 1.15), in one process:

    /tmp/t2t-original/bin/python tests/golden/models/make_image_param_counts.py \
        > tests/golden/models/image_param_counts.json

For every (model, hparams set, problem) below, the model's TRAIN graph is built on a batch
of two zero images shaped as the problem's (targets [2, 1, 1, 1]), with the hparams from
`trainer_lib.create_hparams(set, problem_name=problem)`, and `tf.trainable_variables()` is
counted. "live" counts only the variables the training loss has a gradient for
(`tf.gradients` is not None); it is measured for revnet, whose non-bottleneck residual
function builds variables it never uses.
"""

import json
import sys

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor import problems  # noqa: F401  (registers the problems)
from tensor2tensor.models import resnet, revnet, shake_shake, xception  # noqa: F401
from tensor2tensor.utils import registry, trainer_lib

tf.logging.set_verbosity(tf.logging.ERROR)

IMAGES = {"image_cifar10": (32, 3), "image_mnist": (28, 1), "image_imagenet224": (224, 3)}
RESNET_IMAGENET = [
    "resnet_18", "resnet_34", "resnet_50", "resnet_101", "resnet_152", "resnet_200",
    "resnet_imagenet_34", "resnet_imagenet_34_td_weight_05_05",
    "resnet_imagenet_34_td_unit_05_05", "resnet_imagenet_34_td_unit_no_drop",
    "resnet_imagenet_102",
]  # fmt: skip
RESNET_CIFAR = [
    "resnet_cifar_15", "resnet_cifar_32", "resnet_cifar_32_td_weight_05_05",
    "resnet_cifar_32_td_unit_05_05", "resnet_cifar_32_td_unit_no_drop",
]  # fmt: skip
SHAKE = ["shakeshake_small", "shake_shake_quick", "shakeshake_big", "shakeshake_tpu"]
REVNET_CIFAR = ["revnet_38_cifar", "revnet_110_cifar", "revnet_164_cifar"]
CASES = (
    [("resnet", s, "image_imagenet224") for s in RESNET_IMAGENET]
    + [("resnet", s, "image_cifar10") for s in RESNET_CIFAR + ["resnet_18", "resnet_50"]]
    + [("xception", s, "image_cifar10") for s in ["xception_base", "xception_tiny"]]
    + [("xception", "xception_tiny_tpu", "image_cifar10")]
    + [("xception", s, "image_imagenet224") for s in ["xception_base", "xception_tiny"]]
    + [("xception", "xception_tiny", "image_mnist")]
    + [("shake_shake", s, "image_cifar10") for s in SHAKE]
    + [("shake_shake", s, "image_mnist") for s in ["shake_shake_quick", "shakeshake_small"]]
    + [("revnet", s, "image_cifar10") for s in REVNET_CIFAR]
    + [("revnet", "revnet_104", "image_imagenet224")]
)  # fmt: skip


def measure(model_name, set_name, problem_name):
    size, channels = IMAGES[problem_name]
    with tf.Graph().as_default():
        hparams = trainer_lib.create_hparams(set_name, problem_name=problem_name)
        model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN)
        features = {
            "inputs": tf.zeros([2, size, size, channels], tf.float32),
            "targets": tf.zeros([2, 1, 1, 1], tf.int64),
        }
        _, losses = model(features)
        variables = tf.trainable_variables()
        row = {
            "model": model_name,
            "hparams_set": set_name,
            "problem": problem_name,
            "trainable": int(sum(np.prod(v.shape.as_list()) for v in variables)),
        }
        if model_name == "revnet":
            grads = tf.gradients(losses["training"], variables)
            live = [v for v, g in zip(variables, grads) if g is not None]
            row["live"] = int(sum(np.prod(v.shape.as_list()) for v in live))
        return row


def main():
    problems_info = {}
    for name, (size, channels) in IMAGES.items():
        p_hparams = registry.problem(name).get_hparams(trainer_lib.create_hparams("basic_1"))
        problems_info[name] = {
            "image_size": size,
            "num_channels": channels,
            "num_classes": int(p_hparams.vocab_size["targets"]),
        }
    rows = []
    for case in CASES:
        rows.append(measure(*case))
        print(rows[-1], file=sys.stderr)
    json.dump({"problems": problems_info, "counts": rows}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
