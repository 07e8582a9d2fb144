"""Training images/s of T2T's image models: t2t, the same network in a plain PyTorch loop,
and the original T2T (TF 1.15), side by side in one run, with peak memory.

Cases (the issue's): shake_shake_quick on image_mnist-shaped data (28x28x1, 10 classes),
resnet_18 and resnet_cifar_32 on image_cifar10-shaped data (32x32x3, 10 classes). Every
variant trains on the same kind of synthetic batch (standardised float images, class ids),
`--batch-size` images per step (default: the set's batch_size), with the set's optimizer,
learning-rate schedule and weight decay:

- t2t: the registered model called as t2t's trainer calls it (bottom -> body -> top ->
  loss), then `training_loss`, backward, T2T's L2 weight-decay gradient, the registered
  optimizer with the schedule's learning rate (the same calls as `t2t.train.trainer`).
- plain: the same network (t2t's body modules, so the same layers and initialisation) in a
  hand-written loop: mean-pool, a linear layer, `F.cross_entropy`, `torch.optim` SGD
  (Nesterov momentum, coupled weight decay) or Adam. No modalities, no hparams plumbing.
- original: T2T 1.15.7 in /tmp/t2t-original, run in a subprocess: the model's graph is
  built from `trainer_lib.create_hparams(set, problem_name=...)` on constant synthetic
  tensors of the same shapes, trained with T2T's own `model.optimize` (its optimizer,
  schedule and weight decay), one `session.run` per step. On CPU resnet runs with
  use_nchw=False there (TF's CPU convolution gradients support NHWC only), and so it does
  on both torch sides (torch's channels_last memory format). (No input pipeline on any
  side, so the comparison is of the model step.)

Each variant runs in its own process; images/s = batch x timed steps / wall time after
`--warmup` untimed steps. Peak memory: on CUDA `torch.cuda.max_memory_allocated` (TF:
`MaxBytesInUse`); on CPU the process's peak RSS (ru_maxrss; includes the framework itself).

    .venv/bin/python benchmarks/image_train.py --steps 20 --warmup 3
    .venv/bin/python benchmarks/image_train.py --device cuda --steps 100
    .venv/bin/python benchmarks/image_train.py --cases resnet_18 --variants t2t,plain --steps 2
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORIGINAL_PYTHON = "/tmp/t2t-original/bin/python"
CASES = {
    "shake_shake_quick": ("shake_shake", "shake_shake_quick", "image_mnist", 28, 1),
    "resnet_18": ("resnet", "resnet_18", "image_cifar10", 32, 3),
    "resnet_cifar_32": ("resnet", "resnet_cifar_32", "image_cifar10", 32, 3),
}
NUM_CLASSES = 10


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---- the PyTorch variants (run in a child process) -------------------------------------


def _torch_setup(case: str, batch: int, device: str):
    import torch

    from t2t import registry
    from t2t.hparams import HParams

    model_name, set_name, _, size, channels = CASES[case]
    hparams = registry.hparams(set_name)
    if not device.startswith("cuda") and "use_nchw" in hparams:
        hparams.use_nchw = False  # NHWC (channels_last) on CPU, as the original runs there
    problem = HParams(
        modality={"inputs": "image", "targets": "class_label"},
        vocab_size={"inputs": 256, "targets": NUM_CLASSES},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
        num_channels=channels,
        image_size=size,
    )
    torch.manual_seed(0)
    model = registry.model(model_name)(hparams, problem).to(device).train()
    features = {
        "inputs": torch.randn(batch, size, size, channels, device=device),
        "targets": torch.randint(0, NUM_CLASSES, (batch, 1, 1, 1), device=device),
    }
    return model, hparams, features


def _t2t_step_fn(model, hparams, features):
    from t2t import registry
    from t2t.train import distributed
    from t2t.train.learning_rate import learning_rate_schedule
    from t2t.train.optimizers import add_weight_decay_gradient, decayed_parameters
    from t2t.train.trainer import training_loss

    if "train_steps" not in hparams:
        hparams.add_hparam("train_steps", 1000)
    optimizer = registry.optimizer(hparams.optimizer)(list(model.parameters()), hparams)
    lr_fn = learning_rate_schedule(hparams)
    decayed = decayed_parameters(model.named_parameters())
    context = distributed.DistributedContext()
    state = {"step": 0}

    def step():
        for group in optimizer.param_groups:
            group["lr"] = lr_fn(state["step"])
        _, losses = model(features)
        loss, _ = training_loss(losses, context)
        loss.backward()
        add_weight_decay_gradient(decayed, hparams.weight_decay)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] += 1

    return step


def _plain_step_fn(model, hparams, features):
    import torch
    import torch.nn.functional as F

    body_output = model.body(model.bottom({"inputs": features["inputs"]}))
    is_logits = isinstance(body_output, tuple)  # resnet's CIFAR sets end in their own dense
    head = None if is_logits else torch.nn.Linear(model.body_output_depth(), NUM_CLASSES)
    params = list(model.parameters()) + (
        list(head.to(features["inputs"].device).parameters()) if head else []
    )
    if hparams.optimizer == "Momentum":
        optimizer = torch.optim.SGD(
            params, lr=0.01, momentum=0.9, nesterov=hparams.optimizer_momentum_nesterov,
            weight_decay=hparams.weight_decay,
        )  # fmt: skip
    else:
        optimizer = torch.optim.Adam(params, lr=1e-3, weight_decay=hparams.weight_decay)
    images, labels = features["inputs"], features["targets"].reshape(-1)

    def step():
        if is_logits:
            logits = model.body({"inputs": images, "targets_raw": labels})[0][:, 0]
        else:
            logits = head(model.body({"inputs": images}).mean(dim=(1, 2)))
        F.cross_entropy(logits, labels).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def torch_worker(variant: str, case: str, batch: int, steps: int, warmup: int, device: str):
    """Times `steps` training steps of one PyTorch variant; prints a JSON line."""
    import torch

    model, hparams, features = _torch_setup(case, batch, device)
    make = _t2t_step_fn if variant == "t2t" else _plain_step_fn
    step = make(model, hparams, features)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        step()
    sync()
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    elapsed = time.perf_counter() - start
    peak = torch.cuda.max_memory_allocated() if device.startswith("cuda") else _peak_rss_bytes()
    return {"images_per_sec": batch * steps / elapsed, "peak_bytes": peak}


# ---- the original T2T (its own Python 3.7 + TF 1.15) -----------------------------------

ORIGINAL_WORKER = r"""
import json, resource, sys, time
import numpy as np
import tensorflow.compat.v1 as tf
from tensor2tensor import problems
from tensor2tensor.models import resnet, shake_shake
from tensor2tensor.utils import registry, trainer_lib
tf.logging.set_verbosity(tf.logging.ERROR)
model_name, set_name, problem_name, size, channels, batch, steps, warmup, gpu = sys.argv[1:]
size, channels, batch, steps, warmup = int(size), int(channels), int(batch), int(steps), int(warmup)
hparams = trainer_lib.create_hparams(set_name, problem_name=problem_name)
if gpu != "1" and hasattr(hparams, "use_nchw"):
    hparams.use_nchw = False  # TF's CPU convolution gradients support NHWC only
rng = np.random.RandomState(0)
with tf.Graph().as_default():
    tf.train.get_or_create_global_step()
    model = registry.model(model_name)(hparams, tf.estimator.ModeKeys.TRAIN)
    features = {
        "inputs": tf.constant(rng.randn(batch, size, size, channels).astype("float32")),
        "targets": tf.constant(rng.randint(0, 10, (batch, 1, 1, 1)).astype("int64")),
    }
    logits, losses = model(features)
    loss = losses["training"]
    train_op = model.optimize(loss)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    train_op = tf.group(train_op, *update_ops)
    peak = None
    if gpu == "1":
        peak = tf.contrib.memory_stats.MaxBytesInUse()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for _ in range(warmup):
            sess.run(train_op)
        start = time.time()
        for _ in range(steps):
            sess.run(train_op)
        elapsed = time.time() - start
        peak_bytes = int(sess.run(peak)) if peak is not None else (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
print(json.dumps({"images_per_sec": batch * steps / elapsed, "peak_bytes": peak_bytes}))
"""


def original_worker(case: str, batch: int, steps: int, warmup: int, device: str) -> dict:
    """Runs ORIGINAL_WORKER under the original's Python; returns its JSON line."""
    model_name, set_name, problem_name, size, channels = CASES[case]
    env = dict(os.environ)
    if not device.startswith("cuda"):
        env["CUDA_VISIBLE_DEVICES"] = ""
    args = [model_name, set_name, problem_name, size, channels, batch, steps, warmup]
    command = [ORIGINAL_PYTHON, "-c", ORIGINAL_WORKER, *map(str, args)]
    command.append("1" if device.startswith("cuda") else "0")
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- driver ----------------------------------------------------------------------------


def run_variant(variant: str, case: str, args: argparse.Namespace) -> dict:
    """One variant of one case, in a fresh process."""
    from t2t import registry

    batch = args.batch_size or registry.hparams(CASES[case][1]).batch_size
    if variant == "original":
        return original_worker(case, batch, args.steps, args.warmup, args.device)
    command = [sys.executable, os.path.abspath(__file__), "--worker", variant, "--cases", case]
    command += ["--batch-size", str(batch), "--steps", str(args.steps)]
    command += ["--warmup", str(args.warmup), "--device", args.device]
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Parses the flags; a worker times one variant, the driver runs them all and reports."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--variants", default="t2t,plain,original")
    parser.add_argument("--batch-size", type=int, default=0, help="0: the set's batch_size")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = torch_worker(
            args.worker, args.cases, args.batch_size, args.steps, args.warmup, args.device
        )
        print(json.dumps(result))
        return
    print(f"device {args.device}, {args.steps} timed steps after {args.warmup} warm-up steps")
    print(f"{'case':<20} {'variant':<9} {'images/s':>10} {'peak MiB':>9} {'t2t / this':>10}")
    for case in args.cases.split(","):
        results = {v: run_variant(v, case, args) for v in args.variants.split(",")}
        ours = results.get("t2t", {}).get("images_per_sec")
        for variant, result in results.items():
            if "error" in result:
                print(f"{case:<20} {variant:<9} error: {result['error']}")
                continue
            speed = result["images_per_sec"]
            ratio = f"{ours / speed:.2f}x" if ours else ""
            mib = result["peak_bytes"] / 2**20
            print(f"{case:<20} {variant:<9} {speed:>10.1f} {mib:>9.0f} {ratio:>10}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
