"""Counts the trainable parameters of attention_lm_moe sets in the original T2T 1.15.7.

Run with the original's interpreter (not part of the test suite):
    nice -n 19 /tmp/t2t-original/bin/python \
        tests/golden/models/make_attention_lm_moe_param_counts.py [--kinds=...] [set ...]
Writes attention_lm_moe_param_counts.json next to this script:

- "as_built": the AttentionLmMoe graph of each set on T2T's test problem without inputs
  (vocabulary VOCAB), built in training mode, sum of tf.trainable_variables(). In 1.15.7
  the model never reads `moe_layers`, so these graphs have no mixture-of-experts layer;
  a set the original cannot build is recorded with its error.
- "moe_layer": the mixture-of-experts feed-forward the authors meant (older T2T built it
  for every layer listed in `moe_layers`): noisy top-k gating plus `ffn_expert_fn` experts
  of `moe_hidden_sizes`, measured by building `expert_utils.local_moe` alone at the set's
  sizes (1.15.7 no longer has `distributed_moe`, which had the same variables on one shard).
- "dense_ffn": the `conv_hidden_relu` feed-forward (hidden_size -> filter_size -> hidden_size)
  that a MoE layer replaces, measured the same way.
t2t's test compares its count with as_built (moe_layers="") and with
as_built - n * dense_ffn + n * moe_layer (n = number of MoE layers).
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.layers import common_layers
from tensor2tensor.models.research import attention_lm_moe  # noqa: F401
from tensor2tensor.utils import expert_utils, registry

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "attention_lm_moe_param_counts.json")
VOCAB = 20
SETS = [
    "attention_lm_moe_base",
    "attention_lm_moe_small",
    "attention_lm_moe_tiny",
    "attention_lm_no_moe_small",
    "attention_lm_moe_base_memeff",
    "attention_lm_moe_base_long_seq",
    "attention_lm_attention_moe_tiny",
    "attention_lm_moe_base_ae",
]


def _trainable():
    return int(sum(np.prod(v.shape.as_list()) for v in tf.trainable_variables()))


def as_built(set_name):
    tf.reset_default_graph()
    hparams = registry.hparams(set_name)
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    del p_hparams.modality["inputs"]
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(0)
    features = {
        "targets": tf.constant(rng.randint(1, VOCAB, size=(2, 5, 1, 1)).astype(np.int32)),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    model = registry.model("attention_lm_moe")(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    model(features)
    return _trainable()


def moe_layer(set_name):
    """local_moe's variables: its noisy top-k gating and E `ffn_expert_fn` experts (built
    from the same calls; local_moe itself needs a DiscreteBottleneck hparams set in 1.15.7)."""
    tf.reset_default_graph()
    hp = registry.hparams(set_name)
    sizes = [int(s) for s in hp.moe_hidden_sizes.split(",")]
    x = tf.zeros([10, hp.hidden_size])
    expert_fn = expert_utils.ffn_expert_fn(hp.hidden_size, sizes, hp.hidden_size)
    with tf.variable_scope("local_moe"):
        gates, _ = expert_utils.noisy_top_k_gating(
            x,
            hp.moe_num_experts,
            True,
            hp.moe_k,
            initializer=tf.zeros_initializer(),
            noisy_gating=True,
            noise_epsilon=1e-2,
        )
        dispatcher = expert_utils.SparseDispatcher(hp.moe_num_experts, gates)
        experts = expert_utils.Parallelism(
            [expert_utils.DEFAULT_DEV_STRING] * hp.moe_num_experts, reuse=None
        )
        experts(expert_fn, dispatcher.dispatch(x))
    return _trainable()


def dense_ffn(set_name):
    tf.reset_default_graph()
    hp = registry.hparams(set_name)
    x = tf.zeros([2, 5, hp.hidden_size])
    common_layers.conv_hidden_relu(x, hp.filter_size, hp.hidden_size)
    return _trainable()


def main():
    """Args: set names (default SETS); "--kinds=a,b" measures only those kinds. Entries
    already measured are kept; the file is re-read before each write, so two runs with
    different kinds can share it."""
    args = sys.argv[1:]
    kinds = ("as_built", "moe_layer", "dense_ffn")
    for arg in [a for a in args if a.startswith("--kinds=")]:
        kinds = tuple(arg.split("=", 1)[1].split(","))
        args.remove(arg)
    fns = {"as_built": as_built, "moe_layer": moe_layer, "dense_ffn": dense_ffn}
    for set_name in args or SETS:
        for kind in kinds:
            try:
                value = fns[kind](set_name)
            except Exception as e:  # the original cannot build this
                value = f"error: {type(e).__name__}: {str(e).splitlines()[0][:120]}"
            print(set_name, kind, value, flush=True)
            counts = {}
            if os.path.exists(OUT):
                with open(OUT) as f:
                    counts = json.load(f)["counts"]
            counts.setdefault(set_name, {})[kind] = value
            with open(OUT, "w") as f:
                json.dump(
                    {
                        "vocab": VOCAB,
                        "problem": "test_problem_hparams without inputs",
                        "counts": counts,
                    },
                    f,
                    indent=1,
                    sort_keys=True,
                )
                f.write("\n")


if __name__ == "__main__":
    main()
