"""Input pipeline speed: read + decode + bucket + batch + pad a translate-like dataset.

Writes (once; reused when --data_dir already holds it) a synthetic Text2Text dataset of
--num_examples sentence pairs through t2t's own writer (`Problem.generate_data`: 10 train
shards, shuffled): int64 `inputs`/`targets` with WMT-like subword lengths (target length
log-normal, median 25 tokens, clipped to 1..250; source length = target length x a
log-normal ratio; ids Zipf-distributed in [2, 32000), EOS last). Then it times the real
training pipeline, `t2t.data.pipeline.make_batches(problem, "train", hparams, ...)` (what
t2t-trainer uses), with T2T's transformer_base batching (batch_size=4096 tokens,
max_length=256, length buckets), for each number of DataLoader workers, over one pass of
the data's worth of examples after the first batch (start-up and the initial filling
of the shuffle buffers are not counted).

Reported: examples/s, target tokens/s (non-padding), tokens/s including inputs, and
target tokens/s per worker (workers=0 counts as one reader in the main process).

Usage:
    .venv/bin/python benchmarks/input_pipeline.py [--num_examples=200000]
        [--workers=0,1,2] [--repeats=2] [--data_dir=/tmp/t2t_bench_pipeline]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Iterator

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from t2t.data import pipeline, text_encoder  # noqa: E402
from t2t.hparams import basic_params1  # noqa: E402
from t2t.problems import text_problems  # noqa: E402
from t2t.problems.problem import DatasetSplit  # noqa: E402

VOCAB_SIZE = 32000


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
    hp = basic_params1()
    hp.batch_size = 4096  # transformer_base
    hp.max_length = 256
    return hp


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num_examples", type=int, default=200_000)
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data_dir", default="/tmp/t2t_bench_pipeline")
    args = parser.parse_args()
    problem = ensure_data(args.data_dir, args.num_examples)
    workers = [int(w) for w in args.workers.split(",")]
    best: dict[int, dict[str, float]] = {}
    for _ in range(args.repeats):  # alternate the configurations, keep each one's best
        for w in workers:
            result = one_pass(problem, args.data_dir, w, args.num_examples)
            if w not in best or result["seconds"] < best[w]["seconds"]:
                best[w] = result
    load = os.getloadavg()[0]
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {load:.1f}; "
        f"{args.num_examples} examples, best of {args.repeats}"
    )
    print("| DataLoader workers | examples/s | target tokens/s | all tokens/s | "
          "target tokens/s per worker |")  # fmt: skip
    print("|---:|---:|---:|---:|---:|")
    for w in workers:
        r = best[w]
        per_worker = r["target_tokens_per_s"] / max(w, 1)
        print(
            f"| {w} | {r['examples_per_s']:,.0f} | {r['target_tokens_per_s']:,.0f} | "
            f"{r['tokens_per_s']:,.0f} | {per_worker:,.0f} |"
        )


if __name__ == "__main__":
    main()
