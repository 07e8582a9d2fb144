"""Counts the trainable parameters of more Transformer / LSTM hparams sets in T2T 1.15.7.

Run with the original's interpreter (not part of the test suite):
    nice -n 19 /tmp/t2t-original/bin/python \
        tests/golden/models/make_transformer_sets_param_counts.py [set names...]
For every (model, hparams set, has_inputs) below, at LAYERS layers, it builds the training
graph on T2T's test problem (symbol modalities, vocabulary VOCAB; without "inputs" for the
language-model sets), sums the sizes of tf.trainable_variables() and writes
transformer_sets_param_counts.json next to this script. It also records the first layer's
mixture-of-experts variables (the discrete bottleneck's "means", "vch2", "vcfin" among
them), so a test can tell which of them the original creates without using. A set the
original cannot build is recorded with its error instead of a count.
"""

import json
import os
import sys

import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models import lstm, transformer  # noqa: F401
from tensor2tensor.utils import registry

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "transformer_sets_param_counts.json")
VOCAB = 20

# Every set is built with LAYERS layers (num_hidden_layers; num_decoder_layers too where
# the set gives it): the widths are the set's own, and building six-layer graphs on the
# shared 2-core machine took too long. Layer 1 still shows what the original does to the
# layers after the first (its vq_gating rewrites hparams.z_size).
LAYERS = 2
CASES = [
    ("transformer", "transformer_topk_16_packed", False),
    ("transformer", "transformer_base_vq1_16_nb1_packed_nda_b01_scales", False),
    ("transformer", "transformer_base_vq_ada_32ex_packed", False),
    ("transformer", "transformer_parameter_attention_a", True),
    ("transformer", "transformer_parameter_attention_b", True),
    ("transformer", "transformer_tpu_with_conv", True),
    ("transformer", "transformer_lm_tpu_0", False),
    ("transformer", "transformer_base_vq1_16_nb1_packed_nda_b01_scales_dialog", False),
    ("lstm_seq2seq_attention", "lstm_area_attention_base", True),
]


def count(model_name, set_name, has_input=True):
    tf.reset_default_graph()
    hparams = registry.hparams(set_name)
    hparams.num_hidden_layers = LAYERS
    if hparams.get("num_decoder_layers"):
        hparams.num_decoder_layers = LAYERS
    p_hparams = problem_hparams.test_problem_hparams(VOCAB, VOCAB, hparams)
    if not has_input:
        del p_hparams.modality["inputs"]
    hparams.problem_hparams = p_hparams
    rng = np.random.RandomState(0)
    features = {
        "targets": tf.constant(rng.randint(1, VOCAB, size=(2, 5, 1, 1)).astype(np.int32)),
        "target_space_id": tf.constant(1, dtype=tf.int32),
    }
    if has_input:
        features["inputs"] = tf.constant(rng.randint(1, VOCAB, size=(2, 6, 1, 1)).astype(np.int32))
    model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    model(features)
    variables = tf.trainable_variables()
    total = int(sum(np.prod(v.shape.as_list()) for v in variables))
    marked = {
        v.name: v.shape.as_list()
        for v in variables
        if any(m in v.name for m in ("vq_gating", "means", "vch2", "vcfin", "local_moe"))
        and "layer_0/" in v.name
    }
    return total, marked


def _save(key, total, marked):
    """Merges one case into the JSON file (several runs may fill it side by side)."""
    result = {"counts": {}, "layer_0_moe_variables": {}}
    if os.path.exists(OUT):
        with open(OUT) as f:
            result = json.load(f)
    result["counts"][key] = total
    if marked:
        result["layer_0_moe_variables"][key] = marked
    result["vocab"] = VOCAB
    result["layers"] = LAYERS
    result["problem"] = "test_problem_hparams (no inputs for the LM sets)"
    with open(OUT + ".tmp", "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(OUT + ".tmp", OUT)


def main():
    only = sys.argv[1:]
    cases = [c for name in only for c in CASES if c[1] == name] if only else CASES
    for model_name, set_name, has_input in cases:
        key = f"{model_name}/{set_name}"
        marked = {}
        try:
            total, marked = count(model_name, set_name, has_input)
        except Exception as e:  # the original cannot build this set
            total = f"error: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
        _save(key, total, marked)
        print(key, total, flush=True)


if __name__ == "__main__":
    main()
