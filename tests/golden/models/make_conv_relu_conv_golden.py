# ruff: noqa: UP031 - runs under the original's Python 3.7
"""Golden outputs of T2T 1.15.7's `common_layers.conv_relu_conv` (the "conv_relu_conv" FFN).

Run with the original's Python, from the repo root:

    /tmp/t2t-original/bin/python tests/golden/models/make_conv_relu_conv_golden.py

For inputs x [2, 7, 4] (seed 0) with a nonpadding mask (the second row's last 2 positions
are padding), filter_size 6, output size 4, second_kernel_size 1, it runs kernel 3 "SAME",
kernel 9 "SAME" and kernel 4 "LEFT", and kernel 3 "LEFT" step by step with T2T's decoding
cache. Variables get values drawn in creation order from RandomState(1).uniform(-0.5, 0.5)
(`<case>/names` lists them). Writes conv_relu_conv.npz beside this script.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.layers import common_layers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conv_relu_conv.npz")
CASES = [("same3", 3, "SAME"), ("same9", 9, "SAME"), ("left4", 4, "LEFT")]


def main():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(2, 7, 4)).astype(np.float32)
    mask = np.ones((2, 7), np.float32)
    mask[1, 5:] = 0
    out = {"x": x, "mask": mask}
    values = np.random.RandomState(1)
    for name, kernel, padding in CASES + [("left3_cached", 3, "LEFT")]:
        with tf.Graph().as_default(), tf.Session() as sess:
            if name.endswith("cached"):
                cache = {"f": tf.zeros([2, 0, 4])}
                steps = []
                for t in range(7):
                    with tf.variable_scope("ffn", reuse=tf.AUTO_REUSE):
                        steps.append(
                            common_layers.conv_relu_conv(
                                tf.constant(x[:, t : t + 1]),
                                6,
                                4,
                                first_kernel_size=kernel,
                                second_kernel_size=1,
                                padding=padding,
                                cache=cache,
                            )
                        )
                y = tf.concat(steps, axis=1)
            else:
                with tf.variable_scope("ffn"):
                    y = common_layers.conv_relu_conv(
                        tf.constant(x),
                        6,
                        4,
                        first_kernel_size=kernel,
                        second_kernel_size=1,
                        padding=padding,
                        nonpadding_mask=tf.constant(mask),
                    )
            sess.run(tf.global_variables_initializer())
            names = []
            for var in tf.global_variables():
                var.load(
                    values.uniform(-0.5, 0.5, size=var.shape.as_list()).astype(np.float32), sess
                )
                names.append(var.name[:-2])
            out[name] = sess.run(y)
            out[name + "/names"] = np.array(names)
            print(name, names)
    np.savez(OUT, **out)


if __name__ == "__main__":
    main()
