"""Mixture of experts against dense feed-forwards of equal compute: expert load and LM loss.

Three attention_lm_moe models (t2t.models.research.attention_lm_moe, its
attention_lm_moe_small set shrunk to `--hidden_size` and `--num_layers`) train on the same
data, for the same steps and batches, from the same seed. They differ only in their
feed-forward sublayers:

- moe: every layer's feed-forward is a LocalMoE (noisy top-k gating, T2T's importance and
  load balancing losses with `--moe_loss_coef`): `--experts` experts with one hidden layer
  of `--expert_hidden`, `--k` of them per token;
- dense_active: a dense ReLU feed-forward of filter size k * expert_hidden, the MoE's
  active width, so its feed-forward FLOPs per token equal the MoE's (the gate's own
  2 * hidden * experts multiply-adds aside);
- dense_params: a dense feed-forward of filter size experts * expert_hidden, the MoE's
  total expert width, so its parameter count about equals the MoE's (at experts / k times
  the feed-forward compute).

Data (offline, deterministic for a Python version): Python's own documentation shipped
with the interpreter, English prose with some code, about 1.9 MB of text. The docstrings
of the standard library's modules, classes and functions (test packages and
site-packages excluded) and the pydoc topics (`pydoc_data.topics`, the Language
Reference text behind `help()`). Each docstring or topic is split into paragraphs,
whitespace collapsed; paragraphs under 40 characters are dropped and consecutive ones are
joined into samples of up to 600 characters. Modules are split by a hash of their path:
1 in 20 (and 1 in 20 topics) is held out as the dev set, so the dev loss is on text from
unseen modules. Registered as the problem `languagemodel_python_docs` (subwords,
~2**12 vocabulary) and generated into `--work_dir`/data on the first run.

Measured per model: trainable parameters, feed-forward width and multiply-adds per token,
the mean training cross-entropy over windows of `--window` steps, the dev loss (per
subword token, the whole dev set, token-weighted) and perplexity at every evaluation,
wall and CPU time. For the MoE, per layer: the load (share of the token-to-expert assignments
each expert received, pads excluded; 1 / experts is even) and its coefficient of
variation (std / mean) over the first and the last `--window` training steps (with the
gate's noise, as trained) and on the dev set before and after training (no noise; the
gate weights start at zero as in T2T, so before training every token ties and goes to
the same k experts); and the balancing loss (the model's "moe_loss") over those windows.
Output: markdown tables on stdout and the records in `--work_dir`/moe_vs_dense.json.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/moe_vs_dense.py [--train_steps 800]
        [--work_dir /tmp/moelm] [--models moe,dense_active,dense_params] [--seed 1]

The defaults (800 steps of 2,048-token batches each, 5 dev evaluations) cost about 0.55,
0.4 and 0.8 CPU seconds a step for moe, dense_active and dense_params on one thread of the
project's 2-core machine: about 16-18 minutes for all three with 2 threads on an idle
machine, about 25 with one. (A smoke run: `--train_steps 20 --eval_every 10 --window 5
--dev_batches 3`.)
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import os
import re
import shutil
import sys
import sysconfig
import time
from collections.abc import Iterator

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from t2t import registry  # noqa: E402
from t2t.layers.mixture_of_experts import LocalMoE  # noqa: E402
from t2t.problems.constants import DatasetSplit  # noqa: E402
from t2t.problems.pipeline import make_batches  # noqa: E402
from t2t.problems.text_problems import Text2SelfProblem  # noqa: E402
from t2t.train import experiment, trainer  # noqa: E402

PROBLEM = "languagemodel_python_docs"
HPARAMS_SET = "attention_lm_moe_small"
MODELS = ("moe", "dense_active", "dense_params")
MIN_PARAGRAPH_CHARS = 40
SAMPLE_CHARS = 600
DEV_ONE_IN = 20

# ---- the data --------------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    """Paragraphs of a docstring, whitespace collapsed, the short ones dropped."""
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", text))
    return [p for p in paragraphs if len(p) >= MIN_PARAGRAPH_CHARS]


def _samples(text: str) -> Iterator[str]:
    """Consecutive paragraphs of one text joined into samples of up to SAMPLE_CHARS."""
    sample = ""
    for paragraph in _paragraphs(text):
        if sample and len(sample) + 1 + len(paragraph) > SAMPLE_CHARS:
            yield sample
            sample = ""
        sample = f"{sample} {paragraph}" if sample else paragraph
    if sample:
        yield sample


def _is_dev(name: str) -> bool:
    return int(hashlib.sha1(name.encode("utf-8")).hexdigest()[:8], 16) % DEV_ONE_IN == 0


def _module_docstrings(path: str) -> Iterator[str]:
    """The docstrings of a source file's module, classes and functions (ast.walk order)."""
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read())
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return  # a file that does not parse (Python 2 data files) is skipped
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstring = ast.get_docstring(node)
            if docstring:
                yield docstring


def python_docs(split: str) -> Iterator[str]:
    """Samples of the split: stdlib docstrings (by module) then pydoc topics (by name)."""
    want_dev = split == DatasetSplit.EVAL
    root = sysconfig.get_paths()["stdlib"]
    skip = {"site-packages", "dist-packages", "test", "tests", "__pycache__"}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for filename in sorted(f for f in filenames if f.endswith(".py")):
            path = os.path.join(dirpath, filename)
            if _is_dev(os.path.relpath(path, root)) != want_dev:
                continue
            for docstring in _module_docstrings(path):
                yield from _samples(docstring)
    from pydoc_data.topics import topics

    for name in sorted(topics):
        if _is_dev("pydoc_data.topics:" + name) == want_dev:
            yield from _samples(topics[name])


class LanguagemodelPythonDocs(Text2SelfProblem):
    """Language model over Python's documentation shipped with the interpreter (see the
    module docstring): one train and one dev shard, ~2**12 subwords."""

    @property
    def approx_vocab_size(self) -> int:
        """2**12 subwords: the corpus is small (about 1.9 MB)."""
        return 2**12

    @property
    def is_generate_per_split(self) -> bool:
        """True: the dev set is held-out modules and topics."""
        return True

    @property
    def dataset_splits(self) -> list[dict]:
        """One train and one dev shard."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 1},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]

    def generate_samples(self, data_dir: str, tmp_dir: str, dataset_split: str):
        """{"targets": text} for every sample of the split."""
        del data_dir, tmp_dir
        for text in python_docs(dataset_split):
            yield {"targets": text}


def generate_data(data_dir: str) -> dict:
    """Registers the problem, writes its vocabulary and shards into data_dir unless they
    are there, and returns {split: {"samples", "tokens"}} of the files."""
    if PROBLEM not in registry.list_problems():
        registry.register_problem(PROBLEM)(LanguagemodelPythonDocs)
    problem = registry.problem(PROBLEM)
    existing = os.listdir(data_dir) if os.path.isdir(data_dir) else []
    if not any("-dev-" in name for name in existing):
        os.makedirs(data_dir, exist_ok=True)
        problem.generate_data(data_dir, os.path.join(data_dir, "tmp"))
    sizes = {}
    for mode in ("train", "eval"):
        lengths = [len(ex["targets"]) for ex in problem.dataset(mode, data_dir=data_dir)]
        sizes[mode] = {"samples": len(lengths), "tokens": sum(lengths)}
    return sizes


# ---- the models ------------------------------------------------------------------------------


def ffn_width(name: str, args: argparse.Namespace) -> int:
    """Active feed-forward width: k * expert_hidden (moe, dense_active) or
    experts * expert_hidden (dense_params)."""
    if name == "dense_params":
        return args.experts * args.expert_hidden
    return args.k * args.expert_hidden


def model_hparams(name: str, args: argparse.Namespace):
    """HPARAMS_SET shrunk to the flags' sizes, with model `name`'s feed-forwards.

    (A registered set rather than an overrides string: the overrides syntax splits values
    at commas, so it cannot carry `moe_layers="0,1,2,3"`.)
    """
    hp = registry.hparams(HPARAMS_SET)
    values = dict(
        hidden_size=args.hidden_size,
        num_heads=args.num_heads,
        num_hidden_layers=args.num_layers,
        batch_size=args.batch_size,
        max_length=args.max_length,
        layer_prepostprocess_dropout=args.dropout,
        learning_rate_schedule="constant*linear_warmup*single_cycle_cos_decay",
        learning_rate_constant=args.learning_rate,
        learning_rate_warmup_steps=max(1, args.train_steps // 10),
        clip_grad_norm=1.0,
        filter_size=ffn_width(name, args),
        moe_layers=",".join(str(i) for i in range(args.num_layers)) if name == "moe" else "",
        moe_num_experts=args.experts,
        moe_k=args.k,
        moe_hidden_sizes=str(args.expert_hidden),
        moe_loss_coef=args.moe_loss_coef,
    )
    for key, value in values.items():
        hp.set_hparam(key, value)
    return hp


def register_hparams_sets(args: argparse.Namespace) -> dict[str, str]:
    """Registers one set per model ("moe_vs_dense_<model>"); returns model -> set name."""
    names = {}
    for name in MODELS:
        names[name] = f"moe_vs_dense_{name}"
        registry.register_hparams(names[name])(lambda name=name: model_hparams(name, args))
    return names


def ffn_macs_per_token(name: str, args: argparse.Namespace) -> int:
    """Multiply-adds per token of all feed-forward sublayers (the MoE's gate included)."""
    per_layer = 2 * args.hidden_size * ffn_width(name, args)
    if name == "moe":
        per_layer += 2 * args.hidden_size * args.experts  # w_gate and w_noise
    return per_layer * args.num_layers


# ---- the measurements ------------------------------------------------------------------------


class Recorder:
    """Reads every forward pass of a model through a forward hook.

    Training passes: the cross-entropy and the balancing loss of each step. Evaluation
    passes: the dev loss's numerator and denominator, keyed by the training step. Both:
    per MoE layer, how many non-pad tokens went to each expert, summed per phase
    ("train_first", "train_last": the first and last `window` steps; "dev@<step>").

    Args:
        model: a T2TModel (`logits, losses = model(features)`).
        train_steps: the steps the run will train.
        window: steps in each of the two training phases.
    """

    def __init__(self, model: torch.nn.Module, train_steps: int, window: int) -> None:
        self.moe_layers = [m for m in model.modules() if isinstance(m, LocalMoE)]
        self.train_steps, self.window = train_steps, window
        self.step = 0
        self.train_loss: list[float] = []
        self.moe_loss: list[float] = []
        self.dev: dict[int, list[float]] = {}  # step -> [sum of loss numerators, denominators]
        self.counts: dict[str, torch.Tensor] = {}  # phase -> [layers, experts]
        self.handle = model.register_forward_hook(self._record)

    def _phase(self, training: bool) -> str | None:
        if not training:
            return f"dev@{self.step}"
        if self.step < self.window:
            return "train_first"
        if self.step >= self.train_steps - self.window:
            return "train_last"
        return None

    def _record(self, model: torch.nn.Module, args: tuple, output: tuple) -> None:
        features, (_, losses) = args[0], output
        phase = self._phase(model.training)
        if model.training:
            self.train_loss.append(losses["training"].item())
            self.moe_loss.append(float(losses["moe_loss"].item()) if "moe_loss" in losses else 0.0)
            self.step += 1
        else:
            sums = self.dev.setdefault(self.step, [0.0, 0.0])
            sums[0] += losses["training_num"].item()
            sums[1] += losses["training_den"].item()
        if phase is None or not self.moe_layers:
            return
        keep = (features["targets"] != 0).reshape(-1)  # the MoE saw [B * T] tokens
        counts = torch.stack(
            [
                torch.bincount(m.last_expert_ids[keep].reshape(-1), minlength=m.gating.num_experts)
                for m in self.moe_layers
            ]
        )  # [layers, experts]
        self.counts[phase] = self.counts.get(phase, 0) + counts


def load_summary(counts: torch.Tensor) -> dict:
    """Per layer: each expert's share of the assignments and their coefficient of variation.

    Args:
        counts: [layers, experts] assignment counts.

    Returns:
        {"share": [layers][experts] (rows sum to 1), "cv": [layers] (population std / mean),
        "max_over_even": [layers] (the busiest expert's share times the expert count)}.
    """
    share = counts.double() / counts.sum(-1, keepdim=True).clamp(min=1)  # [L, E]
    cv = share.std(-1, unbiased=False) / share.mean(-1)
    return {
        "share": [[round(v, 4) for v in row] for row in share.tolist()],
        "cv": [round(v, 4) for v in cv.tolist()],
        "max_over_even": [round(v, 3) for v in (share.max(-1).values * share.shape[-1]).tolist()],
    }


def _mean(values: list[float]) -> float:
    return sum(values) / max(1, len(values))


def curve(values: list[float], window: int, points: int = 4) -> dict[int, float]:
    """Mean of `values` over the `window` steps ending at the first window and at each
    1/points of training: {end step: mean}."""
    steps = len(values)
    ends = sorted({min(steps, window), *(round(steps * i / points) for i in range(1, points + 1))})
    return {end: round(_mean(values[max(0, end - window) : end]), 4) for end in ends if end > 0}


def summarize(name: str, args, exp, recorder: Recorder, seconds: tuple[float, float]) -> dict:
    """The JSON record of one model's run (seconds: its wall and CPU time)."""
    dev = {step: num / max(den, 1.0) for step, (num, den) in sorted(recorder.dev.items())}
    final_dev = dev[max(dev)]
    record = {
        "model": name,
        "hparams": {k: exp.hparams.get(k) for k in HPARAMS_KEYS},
        "parameters": exp.num_parameters,
        "ffn_width": ffn_width(name, args),
        "ffn_macs_per_token": ffn_macs_per_token(name, args),
        "train_steps": len(recorder.train_loss),
        "seconds": round(seconds[0], 1),
        "cpu_seconds": round(seconds[1], 1),
        "train_loss_curve": curve(recorder.train_loss, args.window),
        "dev_loss": {step: round(v, 4) for step, v in dev.items()},
        "final_dev_loss": round(final_dev, 4),
        "final_dev_perplexity": round(math.exp(final_dev), 2),
        "train_loss": [round(v, 4) for v in recorder.train_loss],
    }
    if recorder.moe_layers:
        first, last = min(dev), max(dev)
        record["moe_loss"] = {
            "first_window": round(_mean(recorder.moe_loss[: args.window]), 5),
            "last_window": round(_mean(recorder.moe_loss[-args.window :]), 5),
        }
        phases = {
            "train_first": "train_first",
            "train_last": "train_last",
            "dev_start": f"dev@{first}",
            "dev_end": f"dev@{last}",
        }
        record["load"] = {
            key: load_summary(recorder.counts[phase])
            for key, phase in phases.items()
            if phase in recorder.counts
        }
    return record


HPARAMS_KEYS = (
    "hidden_size",
    "num_heads",
    "num_hidden_layers",
    "filter_size",
    "moe_layers",
    "moe_num_experts",
    "moe_k",
    "moe_hidden_sizes",
    "moe_loss_coef",
    "batch_size",
    "max_length",
    "layer_prepostprocess_dropout",
    "learning_rate_schedule",
    "learning_rate_constant",
    "learning_rate_warmup_steps",
    "clip_grad_norm",
)


# ---- the runs --------------------------------------------------------------------------------


def run_model(name: str, set_name: str, args: argparse.Namespace, data_dir: str) -> dict:
    """Builds, evaluates (step 0), trains and evaluates one model; returns its record."""
    trainer.seed_everything(args.seed)
    exp = experiment.build_experiment(PROBLEM, "attention_lm_moe", set_name, "", data_dir)
    recorder = Recorder(exp.model, args.train_steps, args.window)
    dev_batches = args.dev_batches or None
    start, cpu_start = time.perf_counter(), time.process_time()
    trainer.evaluate(exp.model, make_batches(exp.problem, "eval", exp.hparams, data_dir), None,
                     dev_batches)  # fmt: skip
    output_dir = os.path.join(args.work_dir, "runs", name)
    shutil.rmtree(output_dir, ignore_errors=True)  # a fresh run, never a resumed one
    options = experiment.RunOptions(
        output_dir=output_dir,
        train_steps=args.train_steps,
        eval_steps=dev_batches,
        local_eval_frequency=args.eval_every,
        save_checkpoints_steps=args.train_steps,
        log_every_steps=args.log_every,
        seed=args.seed,
        progress_bar=False,
    )
    experiment.train_and_evaluate(exp, options)
    recorder.handle.remove()
    seconds = (time.perf_counter() - start, time.process_time() - cpu_start)
    return summarize(name, args, exp, recorder, seconds)


def print_tables(records: list[dict]) -> None:
    """The records as markdown: one row per model, then the MoE's load per layer."""
    print("| model | parameters | FFN width (active) | FFN MACs/token | train CE first / last "
          "window | dev loss | dev perplexity | wall s |")  # fmt: skip
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for r in records:
        values = list(r["train_loss_curve"].values())
        print(
            f"| {r['model']} | {r['parameters']:,} | {r['ffn_width']} | "
            f"{r['ffn_macs_per_token']:,} | {values[0]:.3f} / {values[-1]:.3f} | "
            f"{r['final_dev_loss']:.3f} | {r['final_dev_perplexity']:.1f} | {r['seconds']:.0f} |"
        )
    for r in (r for r in records if "load" in r):
        print(f"\n{r['model']}: balancing loss (moe_loss) {r['moe_loss']['first_window']} in the "
              f"first window, {r['moe_loss']['last_window']} in the last\n")  # fmt: skip
        print("| phase | layer | CV of the load | busiest / even | share per expert |")
        print("|---|---:|---:|---:|---|")
        for phase, summary in r["load"].items():
            for layer, (cv, top, share) in enumerate(
                zip(summary["cv"], summary["max_over_even"], summary["share"], strict=True)
            ):
                shares = " ".join(f"{v:.3f}" for v in share)
                print(f"| {phase} | {layer} | {cv:.3f} | {top:.2f} | {shares} |")


def _commit() -> str:
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    result = subprocess.run(
        ["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def parse_args() -> argparse.Namespace:
    """The command line (defaults: the full run)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--models", default=",".join(MODELS), help=f"comma-separated, of {MODELS}")
    add("--work_dir", default="/tmp/moelm", help="data/, runs/<model>/ and the JSON go here")
    add("--train_steps", type=int, default=800, help="the same for every model")
    add("--batch_size", type=int, default=2048, help="tokens per batch")
    add("--max_length", type=int, default=256, help="longer training samples are dropped")
    add("--hidden_size", type=int, default=128)
    add("--num_heads", type=int, default=4)
    add("--num_layers", type=int, default=4, help="every layer's feed-forward is a MoE")
    add("--experts", type=int, default=8, help="moe_num_experts")
    add("--k", type=int, default=2, help="moe_k: experts per token")
    add("--expert_hidden", type=int, default=256, help="moe_hidden_sizes")
    add("--moe_loss_coef", type=float, default=1e-2)
    add("--dropout", type=float, default=0.1, help="layer_prepostprocess_dropout")
    add("--learning_rate", type=float, default=2e-3, help="peak; 10%% warmup, cosine to 0")
    add("--window", type=int, default=50, help="steps averaged per curve point / load phase")
    add("--eval_every", type=int, default=200, help="dev evaluation every N steps (and last)")
    add("--dev_batches", type=int, default=0, help="dev batches per evaluation (0: all)")
    add("--log_every", type=int, default=100)
    add("--seed", type=int, default=1)
    add("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    return parser.parse_args()


def main() -> None:
    """Generates the data if needed, runs every model, prints the tables, writes the JSON."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    data_dir = os.path.join(args.work_dir, "data")
    corpus = generate_data(data_dir)
    set_names = register_hparams_sets(args)
    records = [run_model(name, set_names[name], args, data_dir) for name in args.models.split(",")]
    print_tables(records)
    out = {
        "problem": PROBLEM,
        "model": "attention_lm_moe",
        "hparams_set": HPARAMS_SET,
        "corpus": corpus,
        "python": sys.version.split()[0],
        "args": vars(args),
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "records": records,
    }
    path = os.path.join(args.work_dir, "moe_vs_dense.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    print(f"\nrecords: {path}")


if __name__ == "__main__":
    main()
