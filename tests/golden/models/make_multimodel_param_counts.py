# ruff: noqa: UP008, UP031 - runs under the original T2T's Python 3.7, in its style
"""Writes multimodel_param_counts.json: trainable parameters of T2T's MultiModel body.

MultiModel left T2T before 1.15.7, so this script rebuilds the body of its last version
(T2T 1.4-1.5: `conv_experts` encoder layers, attention decoder layers, an MoE in the
decoder layers of `moe_layers`, the target-space embedding) out of the building blocks the
original 1.15.7 still ships (`common_layers.subseparable_conv_block`, `layer_norm`,
`conv_hidden_relu`, `common_attention.multihead_attention`, `expert_utils`'s
`noisy_top_k_gating` and `ffn_expert_fn`), builds the graph in TF on a [2, 5, 1, H] input
and sums the sizes of tf.trainable_variables. Run with the original's Python:

    /tmp/t2t-original/bin/python tests/golden/models/make_multimodel_param_counts.py

tests/models/test_multimodel.py compares t2t's MultiModel body (`model.net` plus the
modality-free parts) with these counts.
"""

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.layers import common_attention, common_layers
from tensor2tensor.utils import expert_utils

tf.disable_v2_behavior()

SETS = {
    # name: (hidden, filter, layers, heads, experts, k, moe_layers, moe_hidden, large_kernel)
    "multimodel_base": (512, 2048, 4, 8, 30, 2, "2", [2048], 15),
    "multimodel_tiny": (128, 512, 2, 8, 30, 2, "0", [2048], 15),
    "tiny_test": (16, 32, 2, 2, 4, 2, "0", [2048], 15),
}


def local_moe(x, expert_fn, num_experts, k):
    """`expert_utils.local_moe`'s top-k path (1.15.7's also builds a VQ bottleneck, whose
    variables T2T 1.4's MultiModel never had): noisy top-k gating, then the experts."""
    with tf.variable_scope(None, default_name="local_moe"):
        gates, _ = expert_utils.noisy_top_k_gating(
            x,
            num_experts,
            True,
            k,
            initializer=tf.zeros_initializer(),
            noisy_gating=True,
            noise_epsilon=1e-2,
        )
        dispatcher = expert_utils.SparseDispatcher(num_experts, gates)
        ep = expert_utils.Parallelism(["/cpu:0"] * num_experts, reuse=None)
        outputs = ep(expert_fn, dispatcher.dispatch(x))
        return dispatcher.combine(outputs)


def body_params(hidden, filters, layers, heads, experts, k, moe_layers, moe_hidden, large):
    tf.reset_default_graph()
    x = tf.zeros([2, 5, 1, hidden])
    mask = tf.ones([2, 5, 1, 1])
    kernel = (3, 1)  # basic_params1's kernel_height, kernel_width
    for i in range(layers):
        with tf.variable_scope("enc_layer_%d" % i):
            with tf.variable_scope("conv_res_step"):
                y = common_layers.subseparable_conv_block(
                    x,
                    filters,
                    [((1, 1), kernel), ((1, 1), kernel)],
                    padding="SAME",
                    mask=mask,
                    separabilities=0,
                    name="residual1",
                )
                conv = common_layers.subseparable_conv_block(
                    y,
                    hidden,
                    [((1, 1), (large, 1)), ((4, 4), (large, 1))],
                    padding="SAME",
                    mask=mask,
                    separabilities=0,
                    name="residual2",
                )
            expert_fn = expert_utils.ffn_expert_fn(hidden, [filters], hidden)
            moe = local_moe(tf.reshape(x, [-1, hidden]), expert_fn, experts, k)
            x = common_layers.layer_norm(x + tf.reshape(moe, tf.shape(x)) + conv)
    enc = tf.squeeze(x, 2)
    with tf.variable_scope("target_space"):
        tf.get_variable("target_space_embedding", [32, hidden])
    x = tf.zeros([2, 6, hidden])
    for i in range(layers):
        with tf.variable_scope("dec_layer_%d" % i):
            with tf.variable_scope("attention"):
                y = common_attention.multihead_attention(
                    x, None, None, hidden, hidden, hidden, heads, 0.0, name="decoder_self_attention"
                )
                z = common_attention.multihead_attention(
                    y, enc, None, hidden, hidden, hidden, heads, 0.0, name="encdec_attention"
                )
                x = common_layers.layer_norm(x + y + z)
            with tf.variable_scope("ffn"):
                if str(i) in moe_layers.split(","):
                    expert_fn = expert_utils.ffn_expert_fn(hidden, moe_hidden, hidden)
                    y = local_moe(tf.reshape(x, [-1, hidden]), expert_fn, experts, k)
                    y = tf.reshape(y, tf.shape(x))
                else:
                    y = common_layers.conv_hidden_relu(x, filters, hidden)
                x = common_layers.layer_norm(x + y)
    return int(sum(np.prod(v.shape.as_list()) for v in tf.trainable_variables()))


def main():
    counts = {name: body_params(*args) for name, args in SETS.items()}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multimodel_param_counts.json")
    with open(out, "w") as f:
        json.dump({"body_params": counts, "sets": SETS}, f, indent=1, sort_keys=True)
        f.write("\n")
    print(counts)


if __name__ == "__main__":
    main()
