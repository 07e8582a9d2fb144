"""Training steps/s of zoo models against the original T2T 1.15.7, same set, same batch.

Models: universal_transformer (universal_transformer_tiny) and transformer_moe (its
smallest set, transformer_moe_base). Both sides build the model for T2T's test problem
(symbol inputs and targets of `--vocab` ids), take one fixed random batch of `--batch`
sequences of `--length` tokens, and time `--steps` training steps (forward, loss, backward,
Adam update) after `--warmup` untimed ones, with `--threads` CPU threads each. Ours runs in
this process (torch); the original in a subprocess of /tmp/t2t-original/bin/python
(TF 1.15 graph mode, `sess.run(train_op)`), so the figures are step time only: no input
pipeline on either side. Dropout is on (TRAIN mode) on both sides.

    .venv/bin/python benchmarks/zoo_train_ut.py [--models universal_transformer,transformer_moe]
        [--steps 20] [--warmup 3] [--batch 16] [--length 24] [--threads 2]

Set T2T_ORIGINAL_PYTHON to another interpreter of T2T 1.15.7 (default
/tmp/t2t-original/bin/python); `--skip-original` times ours only.
"""

import argparse
import json
import os
import subprocess
import sys
import time

MODELS = {
    "universal_transformer": "universal_transformer_tiny",
    "transformer_moe": "transformer_moe_base",
}
ORIGINAL_PYTHON = os.environ.get("T2T_ORIGINAL_PYTHON", "/tmp/t2t-original/bin/python")

# Run by the original's interpreter: argv[1] is the JSON of the run's settings.
ORIGINAL_SCRIPT = r"""
import json, sys, time
import numpy as np
import tensorflow as tf
from tensor2tensor.data_generators import problem_hparams
from tensor2tensor.models.research import transformer_moe, universal_transformer  # noqa
from tensor2tensor.utils import registry

cfg = json.loads(sys.argv[1])
tf.set_random_seed(0)
hparams = registry.hparams(cfg["hparams_set"])
p_hparams = problem_hparams.test_problem_hparams(cfg["vocab"], cfg["vocab"], hparams)
hparams.problem_hparams = p_hparams
rng = np.random.RandomState(0)
shape = (cfg["batch"], cfg["length"], 1, 1)
features = {
    "inputs": tf.constant(rng.randint(1, cfg["vocab"], size=shape).astype(np.int32)),
    "targets": tf.constant(rng.randint(1, cfg["vocab"], size=shape).astype(np.int32)),
    "target_space_id": tf.constant(1, dtype=tf.int32),
}
model = registry.model(cfg["model"])(hparams, tf.estimator.ModeKeys.TRAIN, p_hparams)
_, losses = model(features)
loss = tf.add_n([tf.reduce_mean(v) for v in losses.values()])
train_op = tf.train.AdamOptimizer(1e-4).minimize(loss)
config = tf.ConfigProto(
    intra_op_parallelism_threads=cfg["threads"], inter_op_parallelism_threads=cfg["threads"]
)
with tf.Session(config=config) as sess:
    sess.run(tf.global_variables_initializer())
    for _ in range(cfg["warmup"]):
        sess.run(train_op)
    start = time.perf_counter()
    for _ in range(cfg["steps"]):
        sess.run(train_op)
    seconds = time.perf_counter() - start
print(json.dumps({"steps_per_second": cfg["steps"] / seconds}))
"""


def make_step(model_name: str, args):
    """One training step of t2t's model on the fixed batch (a function of no arguments)."""
    import torch

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from t2t import registry
    from t2t.hparams import HParams
    from t2t.train import distributed
    from t2t.train.trainer import training_loss

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": args.vocab, "targets": args.vocab},
        input_space_id=0,
        target_space_id=1,
    )
    model = registry.model(model_name)(registry.hparams(MODELS[model_name]), problem).train()
    g = torch.Generator().manual_seed(0)
    shape = (args.batch, args.length)
    features = {
        "inputs": torch.randint(1, args.vocab, shape, generator=g),
        "targets": torch.randint(1, args.vocab, shape, generator=g),
    }
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    context = distributed.DistributedContext()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        _, losses = model(features)
        loss, _ = training_loss(losses, context)
        loss.backward()
        optimizer.step()

    return step


def run_ours(model_name: str, args) -> float:
    """Steps/s of t2t's model on the fixed batch."""
    step = make_step(model_name, args)
    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    return args.steps / (time.perf_counter() - start)


def run_original(model_name: str, args) -> float:
    """Steps/s of T2T 1.15.7's model on the same kind of batch (a subprocess)."""
    cfg = dict(
        model=model_name,
        hparams_set=MODELS[model_name],
        vocab=args.vocab,
        batch=args.batch,
        length=args.length,
        steps=args.steps,
        warmup=args.warmup,
        threads=args.threads,
    )
    out = subprocess.run(
        [ORIGINAL_PYTHON, "-c", ORIGINAL_SCRIPT, json.dumps(cfg)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["steps_per_second"]


def parse_args(argv=None) -> argparse.Namespace:
    """The command line's settings (argv: a list of flags, None for sys.argv)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=24)
    parser.add_argument("--vocab", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-original", action="store_true")
    return parser.parse_args(argv)


def main() -> None:
    """Parses the flags, times each model on both sides and prints a table."""
    args = parse_args()
    print("| model | hparams set | t2t steps/s | T2T 1.15.7 steps/s | ratio |")
    print("|---|---|---|---|---|")
    for model_name in args.models.split(","):
        ours = run_ours(model_name, args)
        original = None if args.skip_original else run_original(model_name, args)
        ratio = f"{ours / original:.2f}x" if original else "-"
        orig = f"{original:.2f}" if original else "-"
        print(f"| {model_name} | {MODELS[model_name]} | {ours:.2f} | {orig} | {ratio} |")


if __name__ == "__main__":
    main()
