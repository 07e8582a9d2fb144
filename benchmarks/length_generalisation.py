"""Length generalisation: Neural GPU, Transformer and Universal Transformer, same budget.

T2T's algorithmic `*40` problems train on inputs of length 1..40 and keep a dev set of
lengths up to 400. This script trains each model on each problem for the same wall-clock
budget and reports, per input-length bucket of the dev set (1-40, 41-100, 101-200,
201-400), the per-sequence (exact-match) accuracy and the token accuracy.

Problems: algorithmic_reverse_binary40, algorithmic_addition_binary40. Models (hparams
set): neural_gpu (neural_gpu), transformer (transformer_tiny), universal_transformer
(universal_transformer_tiny), with dropout 0 (the usual choice for these tasks), the same
tokens per batch and learning-rate schedule (constant * linear_warmup *
single_cycle_cos_decay), and per-model overrides (`--<model>_hparams`; the Neural GPU
defaults to hidden_size 64: with T2T's 256 a CPU step takes seconds, see below).

Everything goes through the library's own entry points: the data is written by
`t2t-datagen` (a subprocess, T2T's default seed), training runs `t2t.train.experiment`
(what t2t-trainer runs; the JSON records the equivalent t2t-trainer command) and the models
are loaded back with `t2t.load` (what t2t-decoder uses).

Budget. t2t-trainer stops at a step count, not at a time, and the cosine schedule needs
the step count in advance. So with `--train_seconds` each run first times `--probe_steps`
training steps (a scratch run of `--probe_warmup` + probe_steps steps minus one of
probe_warmup steps, so that start-up cancels) and trains for train_seconds / step time
steps; the JSON records the probe's step time, the steps and the measured training time
(batches differ in length, so it lands within some 20 % of the budget). `--train_steps`
fixes the steps instead. Run it on an idle machine: under load the probe and the run see
different speeds.

Evaluation, per bucket (input length without EOS) on its first dev examples:
- teacher_forced (`--eval_examples`): one forward pass with the true targets, argmax per
  position; exact match = every target position (EOS included) right. For the
  Transformers this is an upper bound of greedy exact match (a greedy decode can drift
  after one error).
- greedy (`--greedy_examples`): `LoadedModel.decode_batch_fn` with beam_size 1
  (t2t-decoder's path), the output cut after EOS (and at input length + 2); exact match =
  the whole target with its EOS; token accuracy = target positions (EOS included) where
  the decode has the same id, positions the decode does not reach counting as wrong. A
  model without cached decoding (the Universal Transformer: T2T's slow path re-runs the
  whole model per step, about 20 s per length-300 example on one core) decodes only
  `--slow_greedy_examples`. The Neural GPU is not autoregressive: its decode reads the
  argmax of one forward pass, so greedy and teacher-forced differ only in where EOS ends
  the decode.
Examples are sorted by length and batched (`--eval_batch_size`); the Neural GPU's batches
hold one length only, because its state flows into padded positions (as in T2T), so
padding would change its predictions.

    python benchmarks/length_generalisation.py --train_seconds 600 --threads 2 \\
        [--problems algorithmic_reverse_binary40,algorithmic_addition_binary40] \\
        [--models neural_gpu,transformer,universal_transformer] [--eval_examples 200] \\
        [--greedy_examples 50] [--slow_greedy_examples 20] [--work_dir /tmp/lengen] \\
        [--json results.json] [--reuse]

Prints a markdown table (problem x model x evaluation: steps, training seconds,
parameters, "exact % / token %" per bucket) and writes the records to `--json` (default
<work_dir>/length_generalisation.json). `--reuse` evaluates finished runs again without
retraining them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

PROBLEMS = ("algorithmic_reverse_binary40", "algorithmic_addition_binary40")
HPARAMS_SETS = {
    "neural_gpu": "neural_gpu",
    "transformer": "transformer_tiny",
    "universal_transformer": "universal_transformer_tiny",
}
TRANSFORMER_NO_DROPOUT = "layer_prepostprocess_dropout=0,attention_dropout=0,relu_dropout=0"
MODEL_HPARAMS = {
    "neural_gpu": "dropout=0,hidden_size=64",
    "transformer": TRANSFORMER_NO_DROPOUT,
    "universal_transformer": TRANSFORMER_NO_DROPOUT,
}
BUCKETS = ((1, 40), (41, 100), (101, 200), (201, 400))
EVAL_MODES = ("greedy", "teacher_forced")
# Padding changes these models' predictions (see the module docstring): batch equal lengths.
SAME_LENGTH_MODELS = {"neural_gpu", "diagonal_neural_gpu"}
EOS_ID = 1


# ---- settings ------------------------------------------------------------------------------


def parse_overrides(text: str) -> dict[str, str]:
    """ "a=1,b=x" -> {"a": "1", "b": "x"} (values hold no commas here)."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    return {name.strip(): value.strip() for name, value in pairs}


def run_overrides(model: str, args: argparse.Namespace, train_steps: int) -> str:
    """The run's --hparams: shared batch and schedule, then the model's own overrides.

    The warmup is at most a tenth of the steps (at least 1): single_cycle_cos_decay needs
    train_steps > warmup, so a run needs 2 steps or more.
    """
    warmup = max(1, min(args.warmup_steps, train_steps // 10))
    values = {
        "batch_size": str(args.batch_size),
        "learning_rate_schedule": "constant*linear_warmup*single_cycle_cos_decay",
        "learning_rate_constant": str(args.learning_rate),
        "learning_rate_warmup_steps": str(warmup),
    }
    values.update(parse_overrides(getattr(args, f"{model}_hparams")))
    return ",".join(f"{name}={value}" for name, value in values.items())


def bucket_of(length: int) -> str | None:
    """The name ("41-100") of the bucket holding an input length; None past the last."""
    for low, high in BUCKETS:
        if low <= length <= high:
            return f"{low}-{high}"
    return None


# ---- data and training ---------------------------------------------------------------------


def generate_data(problem: str, data_dir: str, tmp_dir: str) -> None:
    """Runs t2t-datagen for `problem` unless its dev file is already there."""
    if os.path.isdir(data_dir) and any(
        name.startswith(f"{problem}-dev") for name in os.listdir(data_dir)
    ):
        return
    command = [sys.executable, "-m", "t2t.bin.t2t_datagen", f"--problem={problem}",
               f"--data_dir={data_dir}", f"--tmp_dir={tmp_dir}"]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def train_run(
    problem: str, model: str, overrides: str, data_dir: str, output_dir: str, steps: int, seed: int
) -> dict[str, Any]:
    """Trains one run from scratch to `steps` (t2t-trainer's schedule=train) and times it.

    Returns:
        {"seconds": wall-clock of the training call, "loss": the last logged loss,
        "params": trainable parameters}.
    """
    from t2t.train import experiment, trainer

    trainer.seed_everything(seed)  # before the model: seeded initial weights, as t2t-trainer
    exp = experiment.build_experiment(
        problem, model, HPARAMS_SETS[model], overrides, data_dir, output_dir
    )
    options = experiment.RunOptions(
        output_dir=output_dir,
        train_steps=steps,
        eval_steps=None,
        local_eval_frequency=steps,
        save_checkpoints_steps=steps,
        keep_checkpoint_max=1,
        log_every_steps=max(1, min(100, steps // 10)),
        seed=seed,
        device="cpu",
        progress_bar=False,
    )
    start = time.perf_counter()
    result = experiment.train_and_evaluate(exp, options, evaluate=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "loss": result["loss"], "params": exp.num_parameters}


def probe_step_seconds(problem: str, model: str, args: argparse.Namespace, data_dir: str) -> float:
    """Seconds per training step: (time of probe_warmup + probe_steps steps - time of
    probe_warmup steps) / probe_steps, each run from scratch, so start-up cancels out."""
    warmup = max(2, args.probe_warmup)  # the schedule's warmup (1 step) must end before
    overrides = run_overrides(model, args, warmup)  # the learning rate does not change the time
    seconds = []
    for steps in (warmup, warmup + args.probe_steps):
        probe_dir = os.path.join(args.work_dir, "probe", problem, model)
        shutil.rmtree(probe_dir, ignore_errors=True)
        result = train_run(problem, model, overrides, data_dir, probe_dir, steps, args.seed)
        seconds.append(result["seconds"])
        shutil.rmtree(probe_dir, ignore_errors=True)
    return max(seconds[1] - seconds[0], 1e-3) / args.probe_steps


def trainer_command(record: dict[str, Any], data_dir: str, output_dir: str) -> str:
    """The t2t-trainer command line equivalent to the run of `record`."""
    return (
        f"t2t-trainer --problem={record['problem']} --model={record['model']} "
        f"--hparams_set={record['hparams_set']} --hparams='{record['hparams']}' "
        f"--data_dir={data_dir} --output_dir={output_dir} --train_steps={record['train_steps']} "
        f"--schedule=train --random_seed={record['seed']}"
    )


def train_model(problem: str, model: str, args: argparse.Namespace, data_dir: str) -> dict:
    """Probes the step time (unless --train_steps), trains, and returns the run's record."""
    output_dir = os.path.join(args.work_dir, "train", problem, model)
    record_path = os.path.join(output_dir, "train_record.json")
    if args.reuse and os.path.exists(record_path):
        with open(record_path, encoding="utf-8") as f:
            return json.load(f)
    step_seconds = None
    steps = args.train_steps
    if not steps:
        step_seconds = probe_step_seconds(problem, model, args, data_dir)
        steps = int(args.train_seconds / step_seconds)
    steps = max(2, steps)
    shutil.rmtree(output_dir, ignore_errors=True)
    overrides = run_overrides(model, args, steps)
    print(f"training {model} on {problem}: {steps} steps", flush=True)
    result = train_run(problem, model, overrides, data_dir, output_dir, steps, args.seed)
    record = {
        "problem": problem,
        "model": model,
        "hparams_set": HPARAMS_SETS[model],
        "hparams": overrides,
        "seed": args.seed,
        "train_steps": steps,
        "budget_seconds": None if args.train_steps else args.train_seconds,
        "probe_step_seconds": step_seconds,
        "train_seconds": round(result["seconds"], 1),
        "final_train_loss": result["loss"],
        "params": result["params"],
        "output_dir": output_dir,
    }
    record["command"] = trainer_command(record, data_dir, output_dir)
    with open(record_path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
    return record


# ---- evaluation ----------------------------------------------------------------------------


def dev_examples(loaded: Any, data_dir: str, per_bucket: int) -> dict[str, list[tuple]]:
    """The first `per_bucket` dev examples of each bucket: {bucket: [(inputs, targets)]},
    ids as lists with EOS, bucketed by input length without EOS."""
    chosen: dict[str, list[tuple]] = {f"{low}-{high}": [] for low, high in BUCKETS}
    for example in loaded.problem.dataset("eval", data_dir, hparams=loaded.hparams):
        inputs, targets = list(example["inputs"]), list(example["targets"])
        bucket = bucket_of(len(inputs) - 1)
        if bucket is not None and len(chosen[bucket]) < per_bucket:
            chosen[bucket].append(([int(i) for i in inputs], [int(i) for i in targets]))
        if all(len(v) >= per_bucket for v in chosen.values()):
            break
    return chosen


def eval_batches(examples: list[tuple], batch_size: int, same_length: bool) -> list[list[tuple]]:
    """Batches of <= batch_size examples sorted by length; with `same_length`, each batch
    holds one (input length, target length) only, so that nothing is padded."""
    ordered = sorted(examples, key=lambda example: (len(example[0]), len(example[1])))
    batches: list[list[tuple]] = []
    for example in ordered:
        last = batches[-1] if batches else None
        same = last is not None and (len(last[0][0]), len(last[0][1])) == (
            len(example[0]),
            len(example[1]),
        )
        if last is not None and len(last) < batch_size and (same or not same_length):
            last.append(example)
        else:
            batches.append([example])
    return batches


def score(predicted: list[int], target: list[int]) -> tuple[int, int]:
    """(exact match 0/1, matching positions) of predicted ids against target ids (both with
    EOS; positions past the prediction's end count as wrong)."""
    right = sum(1 for p, t in zip(predicted, target) if p == t)
    return int(predicted == target), right


def padded(rows: list[list[int]]) -> Any:
    """Id lists -> a LongTensor [B, max length], zero (PAD) padded."""
    import torch

    width = max(len(row) for row in rows)
    return torch.tensor([row + [0] * (width - len(row)) for row in rows])


def predict_teacher_forced(loaded: Any, batch: list[tuple]) -> list[list[int]]:
    """Argmax per target position of one forward pass with the true targets."""
    import torch

    inputs = padded([example[0] for example in batch])  # [B, S]
    targets = padded([example[1] for example in batch])  # [B, T]
    with torch.no_grad():
        logits, _ = loaded.model({"inputs": inputs, "targets": targets})  # [B, T, V]
    argmax = logits.argmax(dim=-1).reshape(len(batch), -1).tolist()  # [B, T]
    return [row[: len(example[1])] for row, example in zip(argmax, batch)]


def predict_greedy(loaded: Any, batch: list[tuple], extra_length: int) -> list[list[int]]:
    """Greedy decodes (t2t-decoder's path, beam_size 1), cut after the first EOS and to the
    input's length + extra_length (the decode of a padded batch runs longer)."""
    decode = loaded.decode_batch_fn(1, 0.0, 1, extra_length)
    inputs = padded([example[0] for example in batch])  # [B, S], EOS included
    predictions = []
    for beams, (source, _) in zip(decode(inputs), batch):
        ids = [int(i) for i in beams[0][0]][: len(source) + extra_length]
        predictions.append(ids[: ids.index(EOS_ID) + 1] if EOS_ID in ids else ids)
    return predictions


def evaluate_bucket(loaded: Any, examples: list[tuple], mode: str, batch_size: int) -> dict:
    """{"n", "exact", "token", "seconds"} of one bucket's examples under `mode`."""
    loaded.model.eval()
    start = time.perf_counter()
    exact = right = total = 0
    same_length = loaded.run["model"] in SAME_LENGTH_MODELS
    for batch in eval_batches(examples, batch_size, same_length):
        if mode == "greedy":
            predictions = predict_greedy(loaded, batch, extra_length=2)
        else:
            predictions = predict_teacher_forced(loaded, batch)
        for predicted, (_, target) in zip(predictions, batch):
            match, matching = score(predicted, target)
            exact, right, total = exact + match, right + matching, total + len(target)
    n = len(examples)
    return {
        "n": n,
        "exact": exact / n if n else None,
        "token": right / total if total else None,
        "seconds": round(time.perf_counter() - start, 1),
    }


def evaluate_run(record: dict[str, Any], data_dir: str, args: argparse.Namespace) -> dict:
    """{mode: {bucket: figures}} of a trained run (loaded with t2t.load)."""
    import t2t

    loaded = t2t.load(record["output_dir"], device="cpu")
    per_bucket = max(args.eval_examples, args.greedy_examples)
    examples = dev_examples(loaded, data_dir, per_bucket)
    from t2t.decode import protocol

    greedy = args.greedy_examples
    if not protocol.implements_protocol(loaded.model):  # slow decoding: the whole model per step
        greedy = min(greedy, args.slow_greedy_examples)
    caps = {"teacher_forced": args.eval_examples, "greedy": greedy}
    results: dict[str, dict] = {}
    for mode in EVAL_MODES:
        if caps[mode] <= 0:
            continue
        results[mode] = {
            bucket: evaluate_bucket(loaded, chosen[: caps[mode]], mode, args.eval_batch_size)
            for bucket, chosen in examples.items()
        }
        print(f"  {mode}: {format_cells(results[mode])}", flush=True)
    return results


# ---- report --------------------------------------------------------------------------------


def format_cells(figures: dict[str, dict]) -> str:
    """ "exact % / token %" per bucket, joined with " | "."""
    cells = []
    for low, high in BUCKETS:
        cell = figures.get(f"{low}-{high}", {})
        if not cell.get("n"):
            cells.append("-")
        else:
            cells.append(f"{100 * cell['exact']:.1f} / {100 * cell['token']:.1f}")
    return " | ".join(cells)


def markdown_table(records: list[dict[str, Any]]) -> str:
    """One row per problem x model x evaluation mode."""
    buckets = " | ".join(f"{low}-{high}" for low, high in BUCKETS)
    lines = [
        f"| problem | model (set) | steps | train s | params | eval | {buckets} |",
        "|---|---|---:|---:|---:|---|" + "---:|" * len(BUCKETS),
    ]
    for r in records:
        for mode, figures in r["eval"].items():
            lines.append(
                f"| {r['problem']} | {r['model']} ({r['hparams_set']}) | {r['train_steps']:,} "
                f"| {r['train_seconds']:.0f} | {r['params']:,} | {mode} | {format_cells(figures)} |"
            )
    return "\n".join(lines)


def environment(args: argparse.Namespace) -> dict[str, Any]:
    """Date, commit, machine and the script's settings, for the JSON."""
    import torch

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    commit = subprocess.run(
        ["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "torch": torch.__version__,
        "settings": vars(args),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The script's flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--models", default=",".join(HPARAMS_SETS))
    parser.add_argument("--train_seconds", type=float, default=600.0)
    parser.add_argument("--train_steps", type=int, default=0, help="fixed steps (no probe)")
    parser.add_argument("--probe_steps", type=int, default=20)
    parser.add_argument("--probe_warmup", type=int, default=3)
    parser.add_argument("--batch_size", type=int, default=1024, help="tokens per batch")
    parser.add_argument("--learning_rate", type=float, default=0.004)
    parser.add_argument("--warmup_steps", type=int, default=300)
    for model, overrides in MODEL_HPARAMS.items():
        parser.add_argument(f"--{model}_hparams", default=overrides)
    parser.add_argument("--eval_examples", type=int, default=200, help="per bucket")
    parser.add_argument("--greedy_examples", type=int, default=50, help="per bucket")
    parser.add_argument(
        "--slow_greedy_examples", type=int, default=20, help="per bucket, uncached decoders"
    )
    parser.add_argument("--eval_batch_size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work_dir", default="/tmp/lengen")
    parser.add_argument("--json", default="")
    parser.add_argument("--reuse", action="store_true", help="do not retrain finished runs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Trains and evaluates every problem x model, prints the table and writes the JSON."""
    import torch

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    records = []
    for problem in args.problems.split(","):
        data_dir = os.path.join(args.work_dir, "data")
        generate_data(problem, data_dir, os.path.join(args.work_dir, "tmp"))
        for model in args.models.split(","):
            record = train_model(problem, model, args, data_dir)
            start = time.perf_counter()
            record["eval"] = evaluate_run(record, data_dir, args)
            record["eval_seconds"] = round(time.perf_counter() - start, 1)
            records.append(record)
    table = markdown_table(records)
    print(table)
    path = args.json or os.path.join(args.work_dir, "length_generalisation.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"environment": environment(args), "runs": records, "table": table}, f, indent=1)
    print(f"records: {path}")


if __name__ == "__main__":
    main()
