"""Input pipeline speed: read + decode + bucket + batch + pad a translate-like dataset.

Writes (once; reused when --data_dir already holds it) a synthetic Text2Text dataset of
--num_examples sentence pairs through t2t's own writer (`Problem.generate_data`: 10 train
shards, shuffled): int64 `inputs`/`targets` with WMT-like subword lengths (target length
log-normal, median 25 tokens, clipped to 1..250; source length = target length x a
log-normal ratio; ids Zipf-distributed in [2, 32000), EOS last). Then it times the real
training pipeline, `t2t.problems.pipeline.make_batches(problem, "train", hparams, ...)` (what
t2t-trainer uses), with T2T's transformer_base batching (batch_size=4096 tokens,
max_length=256, length buckets), for each number of DataLoader workers, over one pass of
the data's worth of examples after the first batch (start-up and the initial filling
of the shuffle buffers are not counted).

Reported: examples/s, target tokens/s (non-padding), tokens/s including inputs, and
target tokens/s per worker (workers=0 counts as one reader in the main process).

With --tf_python (the original T2T's venv; skipped if missing) the same files also go
through T2T 1.15.7's own training input pipeline (`Problem.input_fn`), alternating with
ours, for the ratio.

Usage:
    .venv/bin/python benchmarks/input_pipeline.py [--num_examples=200000]
        [--workers=0,1,2] [--repeats=2] [--data_dir=/tmp/t2t_bench_pipeline]
        [--tf_python=/tmp/t2t-original/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from t2t.data import text_encoder  # noqa: E402
from t2t.hparams import create_hparams  # noqa: E402
from t2t.problems import (
    pipeline,  # noqa: E402
    text_problems,  # noqa: E402
)
from t2t.problems.problem import DatasetSplit  # noqa: E402

VOCAB_SIZE = 32000

# The original's training input pipeline on the same files: T2T 1.15.7's Problem.input_fn
# (TFRecordDataset, parse, T2T's bucketing with transformer_base's batching hparams,
# cpu_count() reader threads), timed the same way (one epoch's worth after the first batch).
TF_SCRIPT = r"""
import json, sys, time
import tensorflow as tf
tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
from tensor2tensor.data_generators import text_encoder, text_problems
from tensor2tensor.models import transformer  # noqa: registers transformer_base
from tensor2tensor.utils import registry, trainer_lib

data_dir, num_examples = sys.argv[1], int(sys.argv[2])

class _IdsEncoder(text_encoder.TextEncoder):
    @property
    def vocab_size(self):
        return 32000

@registry.register_problem
class BenchTranslate(text_problems.Text2TextProblem):
    @property
    def is_generate_per_split(self):
        return True

    def feature_encoders(self, data_dir):
        return {"inputs": _IdsEncoder(), "targets": _IdsEncoder()}

def one_pass():
    with tf.Graph().as_default():
        hp = trainer_lib.create_hparams("transformer_base", data_dir=data_dir,
                                        problem_name="bench_translate")
        problem = registry.problem("bench_translate")
        dataset = problem.input_fn(tf.estimator.ModeKeys.TRAIN, hp, data_dir=data_dir)
        features = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
        if isinstance(features, tuple):
            features = features[0]
        fetch = {"inputs": features["inputs"], "targets": features["targets"]}
        with tf.compat.v1.Session() as sess:
            sess.run(fetch)  # start-up, shuffle buffers filled
            start = time.perf_counter()
            examples = target_tokens = input_tokens = 0
            while examples < num_examples:
                out = sess.run(fetch)
                examples += out["targets"].shape[0]
                target_tokens += int((out["targets"] != 0).sum())
                input_tokens += int((out["inputs"] != 0).sum())
            seconds = time.perf_counter() - start
    return {"seconds": seconds, "examples_per_s": examples / seconds,
            "target_tokens_per_s": target_tokens / seconds,
            "tokens_per_s": (target_tokens + input_tokens) / seconds}

result = one_pass()
result["tf_version"] = tf.__version__
print(json.dumps(result))
"""


class _IdsEncoder(text_encoder.TextEncoder):
    """Ids are already ids: only the vocab size matters to the problem hparams."""

    @property
    def vocab_size(self) -> int:
        return VOCAB_SIZE


class BenchTranslate(text_problems.Text2TextProblem):
    """A translate-like Text2Text problem whose samples are synthetic id lists."""

    num_examples = 200_000

    @property
    def is_generate_per_split(self) -> bool:
        return True

    @property
    def dataset_splits(self) -> list[dict]:
        return [
            {"split": DatasetSplit.TRAIN, "shards": 10},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]

    def generate_encoded_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict]:
        train = dataset_split == DatasetSplit.TRAIN
        return synthetic_pairs(self.num_examples if train else 1000, seed=0 if train else 1)

    def feature_encoders(self, data_dir):
        return {"inputs": _IdsEncoder(), "targets": _IdsEncoder()}


def synthetic_pairs(num: int, seed: int) -> Iterator[dict[str, list[int]]]:
    """WMT-like (inputs, targets) id lists; see the module docstring."""
    rng = np.random.default_rng(seed)
    target_lengths = np.clip(np.round(rng.lognormal(np.log(25), 0.6, num)), 1, 250)
    ratios = rng.lognormal(0.0, 0.15, num)
    input_lengths = np.clip(np.round(target_lengths * ratios), 1, 250).astype(int)
    for target_length, input_length in zip(target_lengths.astype(int), input_lengths):
        ids = 2 + (rng.zipf(1.3, input_length + target_length) % (VOCAB_SIZE - 2))
        yield {
            "inputs": ids[:input_length].tolist() + [1],
            "targets": ids[input_length:].tolist() + [1],
        }


def ensure_data(data_dir: str, num_examples: int) -> BenchTranslate:
    problem = BenchTranslate()
    problem.num_examples = num_examples
    marker = os.path.join(data_dir, f"num_examples={num_examples}")
    if not os.path.exists(marker):
        for name in os.listdir(data_dir) if os.path.isdir(data_dir) else []:
            os.remove(os.path.join(data_dir, name))
        start = time.perf_counter()
        problem.generate_data(data_dir, data_dir)
        open(marker, "w").close()
        print(f"wrote {num_examples} examples in {time.perf_counter() - start:.1f} s")
    return problem


def model_hparams():
    """transformer_base's hparams (batch_size 4096 tokens, max_length 256, buckets)."""
    return create_hparams("transformer_base", "")


def one_pass(problem, data_dir: str, num_workers: int, num_examples: int) -> dict[str, float]:
    """Times `num_examples` examples (one epoch's worth) after the first batch.

    The first batch comes only when the 1024-example and 512-batch shuffle buffers are
    full (about 50k examples at these settings); the timed part then runs into the next
    epoch (training repeats), so it measures the steady state, buffer refills included.
    """
    batches = pipeline.make_batches(
        problem, "train", model_hparams(), data_dir, num_workers=num_workers, seed=0
    )
    iterator = iter(batches)
    next(iterator)  # start-up: workers forked, shuffle buffers filled
    start = time.perf_counter()
    examples = target_tokens = input_tokens = 0
    for batch in iterator:
        examples += batch["targets"].shape[0]
        target_tokens += int((batch["targets"] != 0).sum())
        input_tokens += int((batch["inputs"] != 0).sum())
        if examples >= num_examples:
            break
    seconds = time.perf_counter() - start
    del iterator  # shuts the workers down
    return {
        "seconds": seconds,
        "examples_per_s": examples / seconds,
        "target_tokens_per_s": target_tokens / seconds,
        "tokens_per_s": (target_tokens + input_tokens) / seconds,
    }


def original_pass(tf_python: str, data_dir: str, num_examples: int) -> dict[str, float]:
    """One timed pass of T2T 1.15.7's input_fn, in the original's venv (a subprocess)."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(TF_SCRIPT)
    try:
        out = subprocess.run(
            [tf_python, f.name, data_dir, str(num_examples)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.remove(f.name)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_examples", type=int, default=200_000)
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data_dir", default="/tmp/t2t_bench_pipeline")
    parser.add_argument("--tf_python", default="/tmp/t2t-original/bin/python",
                        help="the original T2T's python ('' or missing: skip it)")  # fmt: skip
    args = parser.parse_args()
    problem = ensure_data(args.data_dir, args.num_examples)
    configs: list = [int(w) for w in args.workers.split(",")]
    if args.tf_python and os.path.exists(args.tf_python):
        configs.append("T2T 1.15.7 input_fn")
    best: dict = {}
    for _ in range(args.repeats):  # alternate the configurations, keep each one's best
        for config in configs:
            if isinstance(config, int):
                result = one_pass(problem, args.data_dir, config, args.num_examples)
            else:
                result = original_pass(args.tf_python, args.data_dir, args.num_examples)
            if config not in best or result["seconds"] < best[config]["seconds"]:
                best[config] = result
    load = os.getloadavg()[0]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {load:.1f}; "
        f"{args.num_examples} examples, best of {args.repeats}"
    )
    print("| pipeline | examples/s | target tokens/s | all tokens/s | "
          "target tokens/s per worker |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for config in configs:
        r = best[config]
        if isinstance(config, int):
            name, per_worker = f"t2t make_batches, {config} DataLoader workers", max(config, 1)
        else:
            name, per_worker = config, os.cpu_count()  # T2T reads with cpu_count() threads
        print(
            f"| {name} | {r['examples_per_s']:,.0f} | {r['target_tokens_per_s']:,.0f} | "
            f"{r['tokens_per_s']:,.0f} | {r['target_tokens_per_s'] / per_worker:,.0f} |"
        )


if __name__ == "__main__":
    main()
