"""Golden numerics of T2T 1.15.7's recurrent memories (layers/transformer_memory.py).

Run with the original's interpreter (not part of the test suite):
    nice -n 19 /tmp/t2t-original/bin/python tests/golden/models/make_transformer_memory_golden.py
Writes transformer_memory.npz. Four calls in a row (chunk numbers SEGMENTS per row) of
- TransformerMemory ("neural_memory": batch 2, depth 4, 3 slots): pre_attention on x_i,
  post_attention on y_i; saved: its trainable variables (`nm/...`, TF [in, out] kernels),
  each call's output `nm_out_i` and the memory after it (`nm_vals_i`, `nm_logits_i`);
- RecentTokensMemory ("transformer_xl": chunk 3, 5 tokens kept): pre_attention on x_i with
  a causal bias; saved: the attention's keys/values source `xl_antecedent_i` and bias
  `xl_bias_i`.
tests/models/test_transformer_memory.py runs ours on the same inputs and compares.
"""

import os

import numpy as np
import tensorflow as tf
from tensor2tensor.layers import common_attention, transformer_memory
from tensor2tensor.utils import hparam

HERE = os.path.dirname(os.path.abspath(__file__))
B, L, H, SLOTS, KEPT = 2, 3, 4, 3, 5
SEGMENTS = [[0, 0], [1, 1], [2, 0], [3, 1]]


def main():
    tf.set_random_seed(5)
    rng = np.random.RandomState(3)
    xs = [rng.randn(B, L, H).astype(np.float32) for _ in SEGMENTS]
    ys = [rng.randn(B, L, H).astype(np.float32) for _ in SEGMENTS]
    x_in = tf.placeholder(tf.float32, [B, L, H])
    y_in = tf.placeholder(tf.float32, [B, L, H])
    segment = tf.placeholder(tf.int32, [B])

    neural = transformer_memory.TransformerMemory(
        batch_size=B, key_depth=H, val_depth=H, memory_size=SLOTS, name="nm"
    )
    token, _, _, _ = neural.pre_attention(segment, x_in, None, None)
    nm_out = neural.post_attention(token, y_in)

    hp = hparam.HParams(
        hidden_size=H,
        split_targets_chunk_length=L,
        num_memory_items=KEPT,
        recurrent_memory_batch_size=B,
        batch_size=B * L,
        max_length=L,
    )
    recent = transformer_memory.RecentTokensMemory("xl", hp)
    causal = common_attention.attention_bias_lower_triangle(L)
    xl_token, _, xl_antecedent, xl_bias = recent.pre_attention(segment, x_in, None, causal)
    xl_out = recent.post_attention(xl_token, x_in)

    out = {"x": np.stack(xs), "y": np.stack(ys), "segments": np.array(SEGMENTS)}
    with tf.Session() as sess:
        sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
        for v in tf.trainable_variables():
            out[v.op.name] = sess.run(v)
        for i, seg in enumerate(SEGMENTS):
            feed = {x_in: xs[i], y_in: ys[i], segment: np.array(seg, np.int32)}
            (o,) = sess.run([nm_out], feed)
            out[f"nm_out_{i}"] = o
            out[f"nm_vals_{i}"], out[f"nm_logits_{i}"] = sess.run(
                [neural.mem_vals, neural.mean_logits]
            )
            # read the memory first, then commit (one run would not order the two)
            a, b = sess.run([xl_antecedent, xl_bias], feed)
            out[f"xl_antecedent_{i}"], out[f"xl_bias_{i}"] = a, b
            sess.run(xl_out, feed)
    for k in sorted(out):
        print(k, out[k].shape)
    np.savez(os.path.join(HERE, "transformer_memory.npz"), **out)


if __name__ == "__main__":
    main()
