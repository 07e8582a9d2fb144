"""Training steps/s of the Neural GPU: t2t against the original T2T 1.15.7, on CPU.

Both train `neural_gpu` with the `neural_gpu` hparams set (plus `--hparams`) on the problem
`algorithmic_reverse_binary40`'s vocabulary (4 ids: PAD, EOS, the bits 0 and 1 as 2 and 3)
and on the SAME fixed batch: `--batch` random bit strings of `--length` bits and EOS,
targets the bits reversed and EOS. A step is forward, loss (the problem's symbol modality),
backward, global-norm clipping (`clip_grad_norm`) and the set's Adam update, at a constant
learning rate (the schedule costs nothing measurable). The input pipeline is not timed on
either side: the batch is already in memory.

Ours runs in this process. The original runs in a subprocess with its own interpreter
(`--original-python`, default /tmp/t2t-original/bin/python), which runs this file with
`--as-original`: T2T's `NeuralGPU` in TRAIN mode built on the problem's hparams, trained by
T2T's `optimize.optimize` (its Adam, clipping and weight decay) in a TF session fed with the
batch. Each side does `--warmup` untimed steps, then `--repeats` rounds of `--steps` steps;
its figure is its best round (other jobs on a shared machine slow both alike). Both use
`--threads` CPU threads.

    .venv/bin/python benchmarks/zoo_train_conv.py [--steps 20] [--batch 32] [--length 40] \
        [--hparams hidden_size=256] [--threads 1]

Prints steps/s and tokens/s (targets) of each and the ratio t2t / T2T. This file must stay
importable by Python 3.7 (the original's interpreter): no newer syntax.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

PROBLEM = "algorithmic_reverse_binary40"
VOCAB = 4  # 2 reserved ids (PAD 0, EOS 1) + the bits 0 and 1


def make_batch(batch, length, seed=0):
    """(inputs, targets) int arrays [batch, length + 1]: random bits as 2/3, then EOS."""
    rng = np.random.RandomState(seed)
    bits = rng.randint(2, 4, size=(batch, length))
    eos = np.ones((batch, 1), dtype=np.int64)
    inputs = np.concatenate([bits, eos], axis=1).astype(np.int64)
    targets = np.concatenate([bits[:, ::-1], eos], axis=1).astype(np.int64)
    return inputs, targets


def best_rate(run_steps, args):
    """Warm up, then the best steps/s over the rounds."""
    run_steps(args.warmup)
    best = 0.0
    for _ in range(args.repeats):
        start = time.perf_counter()
        run_steps(args.steps)
        best = max(best, args.steps / (time.perf_counter() - start))
    return best


def make_steps(args):
    """(run_steps(count), trainable parameter count) of t2t's neural_gpu on the fixed batch."""
    import torch

    from t2t import registry
    from t2t.hparams import HParams
    from t2t.train.optimizers import build_optimizer

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    hparams = registry.hparams("neural_gpu")
    if args.hparams:
        hparams.parse(args.hparams)
    problem_hparams = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": VOCAB, "targets": VOCAB},
        input_space_id=0,
        target_space_id=0,
    )
    model = registry.model("neural_gpu")(hparams, problem_hparams).train()
    optimizer = build_optimizer(model, hparams)
    for group in optimizer.param_groups:
        group["lr"] = 1e-3
    inputs, targets = make_batch(args.batch, args.length)
    features = {"inputs": torch.from_numpy(inputs), "targets": torch.from_numpy(targets)}
    params = [p for p in model.parameters() if p.requires_grad]

    def run_steps(count):
        for _ in range(count):
            optimizer.zero_grad(set_to_none=True)
            _, losses = model(features)
            losses["training"].backward()
            torch.nn.utils.clip_grad_norm_(params, hparams.clip_grad_norm)
            optimizer.step()

    return run_steps, sum(p.numel() for p in params)


def run_ours(args):
    """Steps/s of t2t's neural_gpu, in this process."""
    run_steps, params = make_steps(args)
    return {"steps_per_sec": best_rate(run_steps, args), "params": params}


def run_as_original(args):
    """Steps/s of T2T 1.15.7's neural_gpu (run by the original's interpreter)."""
    import tensorflow as tf
    from tensor2tensor.data_generators import algorithmic  # noqa: F401  (registers the problem)
    from tensor2tensor.models import neural_gpu
    from tensor2tensor.utils import optimize, registry

    hparams = neural_gpu.neural_gpu()
    if args.hparams:
        hparams.parse(args.hparams)
    problem = registry.problem(PROBLEM)
    problem_hparams = problem.get_hparams(hparams)
    hparams.problem_hparams = problem_hparams
    inputs, targets = make_batch(args.batch, args.length)
    features = {
        "inputs": tf.placeholder(tf.int32, [None, None, 1, 1]),
        "targets": tf.placeholder(tf.int32, [None, None, 1, 1]),
        "target_space_id": tf.constant(problem_hparams.target_space_id, dtype=tf.int32),
    }
    model = neural_gpu.NeuralGPU(hparams, tf.estimator.ModeKeys.TRAIN, problem_hparams)
    _, losses = model(features)
    loss = losses["training"] + sum(v for k, v in losses.items() if k != "training")
    train_op = optimize.optimize(loss, tf.constant(1e-3), hparams)
    config = tf.ConfigProto(
        intra_op_parallelism_threads=args.threads, inter_op_parallelism_threads=args.threads
    )
    feed = {
        features["inputs"]: inputs[:, :, None, None],
        features["targets"]: targets[:, :, None, None],
    }
    with tf.Session(config=config) as sess:
        sess.run(tf.global_variables_initializer())

        def run_steps(count):
            for _ in range(count):
                sess.run(train_op, feed)

        rate = best_rate(run_steps, args)
        params = int(sum(np.prod(v.shape.as_list()) for v in tf.trainable_variables()))
    print(json.dumps({"steps_per_sec": rate, "params": params}))


def run_original(args):
    """Runs this file under the original's interpreter; its result."""
    cmd = [args.original_python, os.path.abspath(__file__), "--as-original"]
    for name in ("steps", "warmup", "repeats", "batch", "length", "threads"):
        cmd += ["--" + name, str(getattr(args, name))]
    cmd += ["--hparams", args.hparams]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode:
        sys.exit("the original failed:\n" + out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds; the best counts")
    parser.add_argument("--batch", type=int, default=32, help="sequences per batch")
    parser.add_argument("--length", type=int, default=40, help="bits per sequence (then EOS)")
    parser.add_argument("--hparams", default="", help="overrides of the neural_gpu set")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of each side")
    parser.add_argument("--original-python", default="/tmp/t2t-original/bin/python")
    parser.add_argument("--only", choices=("ours", "original"), help="run one side only")
    parser.add_argument("--as-original", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main():
    args = parse_args()
    if args.as_original:
        run_as_original(args)
        return
    results = {}
    if args.only != "original":
        results["t2t"] = run_ours(args)
    if args.only != "ours":
        results["T2T 1.15.7"] = run_original(args)
    tokens = args.batch * (args.length + 1)
    print(
        f"neural_gpu on {PROBLEM}'s vocabulary, batch {args.batch} x {args.length + 1}, "
        f"hparams '{args.hparams}', {args.threads} thread(s), CPU"
    )
    for name, result in results.items():
        rate = result["steps_per_sec"]
        print(
            f"  {name:12s} {rate:8.2f} steps/s {rate * tokens:10.0f} tokens/s "
            f"({result['params']:,} parameters)"
        )
    if len(results) == 2:
        ratio = results["t2t"]["steps_per_sec"] / results["T2T 1.15.7"]["steps_per_sec"]
        print(f"  t2t / T2T: {ratio:.2f}x")


if __name__ == "__main__":
    main()
