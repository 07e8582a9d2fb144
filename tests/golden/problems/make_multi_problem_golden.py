# ruff: noqa: UP008, UP031 - runs under the original T2T's Python 3.7, in its style
"""Writes multi_problem_golden.json: T2T 1.15.7's MultiProblem task mixing, run for real.

Run with the original T2T's Python (TF 1.15):

    /tmp/t2t-original/bin/python tests/golden/problems/make_multi_problem_golden.py

It builds `multi_problem.MultiProblem.dataset(TRAIN)` over fake tasks whose datasets repeat
one constant example each, replaces `tf.random_uniform` with a fixed list of draws, and
records which task each mixed example came from (its `task_id` feature) for several
schedules. It also records `common_layers.inverse_exp_decay` (the exponential schedule)
at a few steps. tests/problems/test_multi_problem.py replays the same draws through
t2t.problems.multi_problem and compares.
"""

import json
import os
import sys

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.data_generators import multi_problem, problem, text_encoder
from tensor2tensor.layers import common_hparams, common_layers, modalities

tf.disable_v2_behavior()

DRAWS = [0.05, 0.95, 0.35, 0.65, 0.15, 0.55, 0.45, 0.25, 0.85, 0.75, 0.5, 0.02]


class FakeTask(problem.Problem):
    """A task whose dataset repeats {"targets": [index + 5]}."""

    def __init__(self, index):
        super(FakeTask, self).__init__()
        self.index = index

    @property
    def name(self):
        return "fake_task_%d" % self.index

    def feature_encoders(self, data_dir):
        return {"targets": text_encoder.ByteTextEncoder()}

    def hparams(self, defaults, model_hparams):
        defaults.modality = {"targets": modalities.ModalityType.SYMBOL}
        defaults.vocab_size = {"targets": 258}

    def dataset(self, mode, **kwargs):
        return tf.data.Dataset.from_tensors(
            {"targets": tf.constant([self.index + 5], dtype=tf.int64)}
        ).repeat()


class FakeMulti(multi_problem.MultiProblem):
    def __init__(self, num_tasks):
        super(FakeMulti, self).__init__()
        for i in range(num_tasks):
            self.task_list.append(FakeTask(i))

    @property
    def vocab_type(self):
        return "character"


def mixed_task_indices(num_tasks, overrides):
    """The task index of the first len(DRAWS) mixed examples under `overrides`."""
    tf.reset_default_graph()
    hparams = common_hparams.basic_params1()
    hparams.add_hparam("data_dir", "")
    for key, value in overrides.items():
        hparams.set_hparam(key, value)
    draws = iter(DRAWS)
    real_uniform = tf.random_uniform
    tf.random_uniform = lambda *a, **k: tf.py_func(
        lambda: np.float32(next(draws)), [], tf.float32, stateful=True
    )
    try:
        dataset = FakeMulti(num_tasks).dataset(
            tf.estimator.ModeKeys.TRAIN, data_dir="", hparams=hparams
        )
        task_id = dataset.make_initializable_iterator()
        init = task_id.initializer
        nxt = task_id.get_next()["task_id"]
        out = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(init)
            for _ in DRAWS:
                out.append(int(sess.run(nxt)[0]) - 258)
        return out
    finally:
        tf.random_uniform = real_uniform


CASES = [
    (
        "constant_2",
        2,
        {"multiproblem_mixing_schedule": "constant", "multiproblem_schedule_threshold": 0.5},
    ),
    (
        "constant_3_t03",
        3,
        {"multiproblem_mixing_schedule": "constant", "multiproblem_schedule_threshold": 0.3},
    ),
    (
        "constant_3_t09",
        3,
        {"multiproblem_mixing_schedule": "constant", "multiproblem_schedule_threshold": 0.9},
    ),
    (
        "per_task_3",
        3,
        {"multiproblem_mixing_schedule": "constant", "multiproblem_per_task_threshold": "1,2,1"},
    ),
    (
        "pretrain_2_max4",
        2,
        {"multiproblem_mixing_schedule": "pretrain", "multiproblem_schedule_max_examples": 4.0},
    ),
    (
        "exponential_2_max8",
        2,
        {
            "multiproblem_mixing_schedule": "exponential",
            "multiproblem_schedule_max_examples": 8.0,
            "multiproblem_schedule_threshold": 1.0,
        },
    ),
    (
        "exponential_3_max6",
        3,
        {
            "multiproblem_mixing_schedule": "exponential",
            "multiproblem_schedule_max_examples": 6.0,
            "multiproblem_schedule_threshold": 0.8,
        },
    ),
]


def exp_decay_values(max_step, steps):
    tf.reset_default_graph()
    step = tf.placeholder(tf.float32, [])
    value = common_layers.inverse_exp_decay(max_step, min_value=1e-4, step=step)
    with tf.Session() as sess:
        return [float(sess.run(value, {step: s})) for s in steps]


def main():
    golden = {"draws": DRAWS, "cases": []}
    for name, num_tasks, overrides in CASES:
        golden["cases"].append(
            {
                "name": name,
                "num_tasks": num_tasks,
                "hparams": overrides,
                "tasks": mixed_task_indices(num_tasks, overrides),
            }
        )
    steps = [0, 1, 10, 100, 1000, 5000, 9999, 10000, 20000]
    golden["inverse_exp_decay"] = {
        "max_step": 10000,
        "min_value": 1e-4,
        "steps": steps,
        "values": exp_decay_values(10000, steps),
    }
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "multi_problem_golden.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(golden["cases"]))


if __name__ == "__main__":
    sys.exit(main())
