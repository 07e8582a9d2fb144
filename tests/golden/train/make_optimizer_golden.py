"""Generates optimizers.json with the ORIGINAL tensor2tensor 1.15.7 (TensorFlow 1.15).

Run with the original's interpreter (Python 3.7):
    /tmp/t2t-original/bin/python tests/golden/train/make_optimizer_golden.py

Variables of shapes [], [5], [3, 4] and [2, 3, 4] start from fixed values (NumPy seed 0);
for 4 steps fixed gradients (seed 1, scaled by 0.1 / 1 / 10 per variable so update
clipping and parameter scaling both matter) are applied with `opt.apply_gradients(...,
global_step)`, exactly as T2T's optimize_loss does. The values after every step are stored.
Optimizers: T2T's AdafactorOptimizer through `adafactor_optimizer_from_hparams` (transformer
hparams with overrides) or constructed directly (default learning rate); the registered
"adam" (LazyAdam), "multistep_adam" (n=3) and "momentum" (Nesterov) from
`tensor2tensor.utils.optimize`. The learning rate is a per-step value fed through a
placeholder (0 = the optimizer's default, for Adafactor only).
"""

import json
import os

import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor.models import transformer  # noqa: F401
from tensor2tensor.utils import (
    adafactor,
    optimize,  # noqa: F401 (registers T2T optimizers)
    registry,
    trainer_lib,
)

SHAPES = {"scalar": [], "vector": [5], "matrix": [3, 4], "tensor3": [2, 3, 4]}
GRAD_SCALE = {"scalar": 1.0, "vector": 0.1, "matrix": 10.0, "tensor3": 1.0}
STEPS = 4
LRS = [0.01, 0.02, 0.005, 0.01]

# name -> (builder, hparams overrides, use placeholder lr)
CASES = {
    "adafactor_default_hparams": ("adafactor", "", True),
    "adafactor_beta1": ("adafactor", "optimizer_adafactor_beta1=0.9", True),
    "adafactor_decay_adam": ("adafactor", "optimizer_adafactor_decay_type=adam", True),
    "adafactor_no_param_scale": (
        "adafactor",
        "optimizer_adafactor_multiply_by_parameter_scale=false",
        True,
    ),
    "adafactor_unfactored": ("adafactor", "optimizer_adafactor_factored=false", True),
    "adafactor_memory_exponent_0.5": (
        "adafactor",
        "optimizer_adafactor_memory_exponent=0.5,optimizer_adafactor_clipping_threshold=2.0",
        True,
    ),
    "adafactor_default_lr": ("adafactor_direct", "", False),
    "adam_transformer": ("adam", "", True),
    "adam_basic_1": ("adam_basic", "", True),
    "multistep_adam_3": (
        "multistep_adam",
        "optimizer=multistep_adam,optimizer_multistep_accumulate_steps=3",
        True,
    ),
    "momentum_nesterov": ("momentum", "optimizer_momentum_nesterov=true", True),
}


def initial_values():
    rng = np.random.RandomState(0)
    return {k: np.asarray(rng.randn(*s), np.float32) for k, s in SHAPES.items()}


def gradients():
    rng = np.random.RandomState(1)
    return [
        {k: np.asarray(rng.randn(*s) * GRAD_SCALE[k], np.float32) for k, s in SHAPES.items()}
        for _ in range(STEPS)
    ]


def make_optimizer(kind, hparams, lr):
    if kind == "adafactor_direct":
        return adafactor.AdafactorOptimizer()
    if kind == "adafactor":
        return adafactor.adafactor_optimizer_from_hparams(hparams, lr)
    name = "adam" if kind == "adam_basic" else kind
    return registry.optimizer(name)(lr, hparams)


def run_case(kind, overrides):
    set_name = "basic_1" if kind == "adam_basic" else "transformer_base"
    hparams = trainer_lib.create_hparams(set_name, overrides)
    init, grads = initial_values(), gradients()
    graph = tf.Graph()
    with graph.as_default():
        step = tf.train.get_or_create_global_step()
        lr = tf.placeholder(tf.float32, [])
        variables = {k: tf.get_variable(k, initializer=v) for k, v in init.items()}
        grad_in = {k: tf.placeholder(tf.float32, s) for k, s in SHAPES.items()}
        opt = make_optimizer(kind, hparams, lr)
        train_op = opt.apply_gradients(
            [(grad_in[k], variables[k]) for k in SHAPES], global_step=step
        )
        history = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for i in range(STEPS):
                feed = {grad_in[k]: grads[i][k] for k in SHAPES}
                feed[lr] = LRS[i]
                sess.run(train_op, feed)
                history.append({k: sess.run(v).tolist() for k, v in variables.items()})
    used = {
        k: v
        for k, v in hparams.values().items()
        if k.startswith("optimizer") or k == "weight_dtype"
    }
    return used, history


def main():
    init, grads = initial_values(), gradients()
    out = {
        "initial": {k: v.tolist() for k, v in init.items()},
        "gradients": [{k: v.tolist() for k, v in g.items()} for g in grads],
        "learning_rates": LRS,
        "cases": {},
    }
    for name, (kind, overrides, _) in sorted(CASES.items()):
        used, history = run_case(kind, overrides)
        out["cases"][name] = {
            "kind": kind,
            "overrides": overrides,
            "hparams": used,
            "values": history,
        }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optimizers.json")
    with open(path, "w") as f:
        json.dump(out, f, sort_keys=True)
    print("wrote", path, len(out["cases"]), "cases")


if __name__ == "__main__":
    main()
