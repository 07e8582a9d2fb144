"""Counts T2T 1.15.7's trainable parameters of the memory Transformer's sets.

Run with the original's interpreter (not part of the test suite):
    nice -n 19 /tmp/t2t-original/bin/python \
        tests/golden/models/make_transformer_memory_param_counts.py
Builds each set's graph in TRAIN mode on a targets-only symbol problem (what the sets are
meant for: wikitext-103 language modelling, and cifar10 / imagenet64 pixels generated
unconditionally as 256-way symbols) and writes transformer_memory_param_counts.json:
{"<model>/<hparams_set>": trainable scalars}. The vocabularies are stand-ins: VOCAB_TEXT
for wikitext-103 (whose real token vocabulary is built from the data) and 256 for the
image sets. The targets are one chunk long (`split_targets_chunk_length`), as the original's
data pipeline feeds them; tests/models/test_transformer_memory.py builds ours alike.
"""

import json
import os

import numpy as np
import tensorflow as tf
from tensor2tensor.layers import modalities
from tensor2tensor.models import transformer  # noqa: F401
from tensor2tensor.utils import hparam, registry

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB_TEXT = 1000
VOCAB_IMAGE = 256
CASES = [
    ("transformer", "transformer_wikitext103_l4k_v0", VOCAB_TEXT),
    ("transformer_memory", "transformer_wikitext103_l4k_memory_v0", VOCAB_TEXT),
    ("transformer_memory", "transformer_wikitext103_l16k_memory_v0", VOCAB_TEXT),
    ("transformer_memory", "transformer_cifar10_memory_v0", VOCAB_IMAGE),
    ("transformer_memory", "transformer_imagenet64_memory_v0", VOCAB_IMAGE),
]


def targets_only_problem(vocab, model_hparams):
    p = hparam.HParams(
        modality={"targets": modalities.ModalityType.SYMBOL},
        vocab_size={"targets": vocab},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
        batch_size_multiplier=1,
        stop_at_eos=1,
        was_reversed=False,
        was_copy=False,
    )
    return p


def count(model_name, set_name, vocab):
    tf.reset_default_graph()
    hparams = registry.hparams(set_name)
    p_hparams = targets_only_problem(vocab, hparams)
    hparams.problem_hparams = p_hparams
    length = hparams.split_targets_chunk_length or 8
    rng = np.random.RandomState(7)
    targets = rng.randint(1, vocab, size=(2, length, 1, 1)).astype(np.int32)
    features = {
        "targets": tf.constant(targets),
        "target_space_id": tf.constant(0, dtype=tf.int32),
    }
    if model_name == "transformer_memory":
        features["chunk_number"] = tf.zeros_like(features["targets"])
    model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
    model(features)
    variables = tf.trainable_variables()
    return int(sum(np.prod(v.shape.as_list()) for v in variables)), len(variables)


if __name__ == "__main__":
    counts = {}
    for model_name, set_name, vocab in CASES:
        key = f"{model_name}/{set_name}"
        counts[key], n_vars = count(model_name, set_name, vocab)
        print(key, counts[key], n_vars, flush=True)
    out = {"vocab_text": VOCAB_TEXT, "vocab_image": VOCAB_IMAGE, "counts": counts}
    with open(os.path.join(HERE, "transformer_memory_param_counts.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
