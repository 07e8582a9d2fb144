# ruff: noqa: UP031 - runs under the original's Python 3.7
"""Golden values of T2T 1.15.7's VQ gating with EMA codebook updates (`ema=True`).

Run with the original's Python, from the repo root:

    /tmp/t2t-original/bin/python tests/golden/layers/make_vq_gating_ema_golden.py

It calls `expert_utils.vq_gating` with a `vq_discrete.DiscreteBottleneck` (what
`local_moe` does for gating_type "vq") on tokens x [6, 4], for two cases:

- "scales": 8 experts, one codebook block, use_scales, decay 0.9;
- "plain": 4 experts, no scales, decay 0.8.

(T2T's bottleneck fails to build with num_blocks > 1 inside vq_gating, so no case has it.)

The codebook `means` starts from RandomState(1).normal (stored as `<case>/means0`), the
scales from RandomState(2).normal (`<case>/scales0`). Three training steps run in one
session on x0, x1, x2 (RandomState(0).normal); after each step i the script stores the
gating loss (`<case>/loss<i>`, including the scale loss), the chosen experts
(`<case>/expert<i>`) and the variables as they stand afterwards (`<case>/means<i+1>`,
`ema_count<i+1>`, `ema_means<i+1>`). Writes vq_gating_ema.npz beside this script.
"""

import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.layers import vq_discrete
from tensor2tensor.utils import expert_utils, hparam

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vq_gating_ema.npz")
CASES = [("scales", 8, 1, 1, 0.9), ("plain", 4, 1, 0, 0.8)]


def run_case(name, experts, blocks, use_scales, decay, xs, out):
    z = int(np.log2(experts))
    hp = hparam.HParams(
        z_size=z,
        num_blocks=blocks,
        num_residuals=1,
        hidden_size=4,
        filter_size=8,
        beta=0.25,
        epsilon=1e-5,
        decay=decay,
        ema=True,
        random_top_k=1,
        soft_em=False,
        num_samples=10,
        use_scales=use_scales,
        residual_centroids=0,
        moe_num_experts=experts,
        batch_size=6,
        top_k=1,
    )
    with tf.Graph().as_default(), tf.Session() as sess:
        x = tf.placeholder(tf.float32, [6, 4])
        with tf.variable_scope("moe"):
            bneck = vq_discrete.DiscreteBottleneck(hp)
            gates, loss, _ = expert_utils.vq_gating(x, experts, 1, bneck, hparams=hp)
        expert = tf.argmax(gates, axis=-1)
        variables = {v.op.name.split("/")[-1]: v for v in tf.global_variables()}
        means0 = np.random.RandomState(1).normal(size=variables["means"].shape.as_list())
        sess.run(tf.global_variables_initializer())
        variables["means"].load(means0.astype(np.float32), sess)
        variables["ema_means"].load(means0.astype(np.float32), sess)
        out[name + "/means0"] = means0.astype(np.float32)
        if use_scales:
            scales0 = np.random.RandomState(2).normal(size=[experts]).astype(np.float32)
            variables["scales"].load(scales0, sess)
            out[name + "/scales0"] = scales0
        for i, xi in enumerate(xs):
            loss_i, expert_i = sess.run([loss, expert], {x: xi})
            out["%s/loss%d" % (name, i)] = np.float32(loss_i)
            out["%s/expert%d" % (name, i)] = expert_i
            for var in ("means", "ema_count", "ema_means"):
                out["%s/%s%d" % (name, var, i + 1)] = sess.run(variables[var])


def main():
    xs = np.random.RandomState(0).normal(size=(3, 6, 4)).astype(np.float32)
    out = {"x": xs}
    for case in CASES:
        run_case(*case, xs=xs, out=out)
    np.savez(OUT, **out)
    print("wrote", OUT, sorted(out))


if __name__ == "__main__":
    main()
