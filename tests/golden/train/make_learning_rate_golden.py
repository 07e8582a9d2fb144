"""Generates learning_rate.json with the ORIGINAL tensor2tensor 1.15.7 (TensorFlow 1.15).

Run with the original's interpreter (Python 3.7):
    /tmp/t2t-original/bin/python tests/golden/train/make_learning_rate_golden.py

For every case it builds T2T's hparams (a registered set + overrides + train_steps), builds
`tensor2tensor.utils.learning_rate.learning_rate_schedule(hparams)` in a graph with a global
step variable, assigns each step and evaluates the schedule tensor (float32). The JSON keeps
the hparams the schedules read, so the test can rebuild them on our basic_params1.
The legacy "cyclelinear10x" scheme is not here: T2T 1.15.7 fails to build it (TypeError,
float() of a Tensor), so there is no original value to compare with.
"""

import json
import os

import tensorflow.compat.v1 as tf
from tensor2tensor.models import transformer  # noqa: F401 (registers transformer sets)
from tensor2tensor.utils import learning_rate, trainer_lib

KEYS = [
    "learning_rate_schedule",
    "learning_rate_constant",
    "learning_rate_decay_scheme",
    "learning_rate_decay_steps",
    "learning_rate_decay_staircase",
    "learning_rate_decay_rate",
    "learning_rate_warmup_steps",
    "learning_rate_cosine_cycle_steps",
    "learning_rate",
    "hidden_size",
    "optimizer",
    "optimizer_multistep_accumulate_steps",
    "learning_rate_boundaries",
    "learning_rate_multiples",
    "train_steps",
]
STEPS = [
    0,
    1,
    2,
    3,
    7,
    50,
    99,
    100,
    101,
    150,
    999,
    1000,
    1001,
    2500,
    3999,
    4000,
    4001,
    7999,
    8000,
    8001,
    10000,
    12345,
    16000,
    20000,
    40000,
    99999,
    100000,
    250000,
    300001,
    499999,
    500000,
    777777,
]

# name -> (hparams set, overrides string, train_steps)
CASES = {
    "transformer_base": ("transformer_base", "", 250000),
    "transformer_base_single_gpu": ("transformer_base_single_gpu", "", 250000),
    "transformer_base_v1_noam": ("transformer_base_v1", "", 250000),
    "transformer_base_v2_noam": ("transformer_base_v2", "", 250000),
    "transformer_base_multistep4": (
        "transformer_base",
        "optimizer=multistep_adam,optimizer_multistep_accumulate_steps=4",
        250000,
    ),
    "basic_legacy_none": ("basic_1", "", 250000),
    "basic_legacy_none_Adam_capital": ("basic_1", "optimizer=Adam", 250000),
    "basic_legacy_no_warmup": ("basic_1", "learning_rate_warmup_steps=0", 250000),
    "legacy_exp": (
        "basic_1",
        "learning_rate_decay_scheme=exp,learning_rate_decay_rate=0.5,"
        "learning_rate_decay_steps=3000,learning_rate_warmup_steps=1000",
        250000,
    ),
    "legacy_exp_staircase": (
        "basic_1",
        "learning_rate_decay_scheme=exp,"
        "learning_rate_decay_rate=0.5,learning_rate_decay_steps=3000,"
        "learning_rate_decay_staircase=true,"
        "learning_rate_warmup_steps=1000",
        250000,
    ),
    "legacy_cosine": (
        "basic_1",
        "learning_rate_decay_scheme=cosine,learning_rate_cosine_cycle_steps=5000,optimizer=sgd",
        250000,
    ),
    "legacy_sqrt": (
        "basic_1",
        "learning_rate_decay_scheme=sqrt,learning_rate_warmup_steps=1000,optimizer=momentum",
        250000,
    ),
    "legacy_noam_multistep2": (
        "transformer_base_v1",
        "optimizer=multistep_adam,optimizer_multistep_accumulate_steps=2",
        250000,
    ),
    "legacy_piecewise": ("basic_1", "learning_rate_decay_scheme=piecewise", 250000),
    "rsqrt_decay_adafactor": (
        "transformer_base",
        "learning_rate_schedule=rsqrt_decay,learning_rate_warmup_steps=10000,optimizer=adafactor",
        250000,
    ),
    "rsqrt_normalized_decay": (
        "transformer_base",
        "learning_rate_schedule=constant*rsqrt_normalized_decay",
        250000,
    ),
    "linear_warmup_linear_decay": (
        "transformer_base",
        "learning_rate_schedule=constant*linear_warmup*linear_decay,"
        "learning_rate_decay_steps=200000",
        500000,
    ),
    "cosdecay": (
        "transformer_base",
        "learning_rate_schedule=constant*linear_warmup*cosdecay,learning_rate_decay_steps=300000",
        250000,
    ),
    "single_cycle_cos_decay": (
        "transformer_base",
        "learning_rate_schedule=constant*linear_warmup*single_cycle_cos_decay",
        300000,
    ),
    "multi_cycle_cos_decay": (
        "transformer_base",
        "learning_rate_schedule=constant*multi_cycle_cos_decay,learning_rate_decay_steps=30000",
        250000,
    ),
    "exp_decay": (
        "transformer_base",
        "learning_rate_schedule=constant*exp_decay,"
        "learning_rate_decay_rate=0.7,learning_rate_decay_steps=20000",
        250000,
    ),
    "exp_decay_staircase": (
        "transformer_base",
        "learning_rate_schedule=constant * exp_decay,"
        "learning_rate_decay_rate=0.7,learning_rate_decay_steps=20000,"
        "learning_rate_decay_staircase=true",
        250000,
    ),
    "legacy_factor_times_rsqrt": (
        "basic_1",
        "learning_rate_schedule=legacy*rsqrt_hidden_size",
        250000,
    ),
}


def build(set_name, overrides, train_steps):
    hparams = trainer_lib.create_hparams(set_name, overrides)
    hparams.add_hparam("train_steps", train_steps)
    if hparams.learning_rate_decay_scheme == "piecewise":
        hparams.add_hparam("learning_rate_boundaries", [1000, 8000, 100000])
        hparams.add_hparam("learning_rate_multiples", [0.5, 0.25, 0.1])
    return hparams


def main():
    out = {}
    for name, (set_name, overrides, train_steps) in sorted(CASES.items()):
        hparams = build(set_name, overrides, train_steps)
        graph = tf.Graph()
        with graph.as_default():
            step = tf.train.get_or_create_global_step()
            lr = learning_rate.learning_rate_schedule(hparams)
            value = tf.placeholder(tf.int64, [])
            assign = tf.assign(step, value)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                values = []
                for s in STEPS:
                    sess.run(assign, {value: s})
                    values.append(float(sess.run(lr)))
        used = {k: hparams.get(k) for k in KEYS if k in hparams.values()}
        out[name] = {
            "hparams_set": set_name,
            "overrides": overrides,
            "hparams": used,
            "steps": STEPS,
            "learning_rate": values,
        }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "learning_rate.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    print("wrote", path, len(out), "cases")


if __name__ == "__main__":
    main()
