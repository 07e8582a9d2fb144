"""Results parity: the same command lines trained with the original T2T 1.15.7 and with t2t.

For each task and seed, both systems run T2T's walkthrough command lines:

    t2t-trainer --generate_data --problem=P --model=transformer --hparams_set=transformer_tiny \\
        --hparams=H --train_steps=N --data_dir=D --tmp_dir=T --output_dir=O --random_seed=S
    t2t-decoder --problem=P --model=transformer --hparams_set=transformer_tiny --hparams=H \\
        --data_dir=D --output_dir=O --decode_hparams="beam_size=4,alpha=0.6" \\
        --decode_from_file=T/inputs.test.txt --decode_to_file=O/../decode.txt   (text tasks)

`orig` runs /tmp/t2t-original/bin/t2t-* (T2T 1.15.7 on TF 1.15; see
/work/shared/t2t-original.md), `t2t` runs this checkout's t2t-* (PYTHONPATH=<repo>). Each
system generates its own data (vocabulary included) once into `<runs>/<task>/<system>/data`;
later seeds find it there. Decodes are scored against the held-out references with sacreBLEU
(`sacrebleu` package, default 13a tokenisation) and with t2t-bleu (T2T's bleu_hook, cased and
uncased), the same scorer for both systems' outputs.

Runs are resumable: a step whose output exists (train.rc == 0, decode.txt with a line per
input) is skipped; runs happen one at a time, since each system uses every core.

Each finished run leaves a small record in the repository,
`benchmarks/parity_results/<task>/<system>/seed<S>.json` (its loss curve, dev metrics, BLEU,
wall time and the machine it ran on; `PARITY_RECORDS` moves the folder). The report reads
those records, so seeds measured in different sessions (the run folders are scratch, hours
of CPU each) add up to one table.

Compared per task, as mean ± std [min, max] over seeds: the training loss every 100 steps
(one batch's loss, as both systems log it), the final evaluation's dev metrics, and BLEU.
A difference of the means counts as inside the seed noise when Welch's t-test gives p >= 0.05
AND |mean difference| <= the larger of the two systems' max-min spreads (both rules stated in
the table; with 3 seeds the t-test alone is weak, the range rule is the stricter).

    python benchmarks/parity.py run --tasks fr,reverse --seeds 1,2,3 --systems orig,t2t
    python benchmarks/parity.py report --tasks fr,reverse --seeds 1,2,3 [--markdown]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = os.environ.get("PARITY_RUNS", "/work/parity-runs")
ORIG_BIN = os.environ.get("T2T_ORIGINAL_BIN", "/tmp/t2t-original/bin")
OURS_BIN = os.environ.get("T2T_BIN", os.path.dirname(sys.executable))
RECORDS = os.environ.get("PARITY_RECORDS", os.path.join(REPO, "benchmarks", "parity_results"))

TASKS = {
    "fr": {
        "problem": "text2text_tmpdir",
        "tmp_dir": os.path.join(RUNS, "corpus_fr"),
        "hparams": "learning_rate_warmup_steps=1000,batch_size=2048",
        "train_steps": 2000,
        "decode": True,
    },
    "es": {
        "problem": "text2text_tmpdir",
        "tmp_dir": os.path.join(RUNS, "corpus_es"),
        "hparams": "learning_rate_warmup_steps=1000,batch_size=2048",
        "train_steps": 2000,
        "decode": True,
    },
    "reverse": {
        "problem": "algorithmic_reverse_binary40_test",
        "tmp_dir": os.path.join(RUNS, "tmp_algorithmic"),
        "hparams": "",
        "train_steps": 300,
        "decode": False,
    },
}
SYSTEMS = ("orig", "t2t")
DECODE_HPARAMS = "beam_size=4,alpha=0.6"


def _bin(system: str, name: str) -> str:
    return os.path.join(ORIG_BIN if system == "orig" else OURS_BIN, name)


def _env(system: str) -> dict[str, str]:
    env = dict(os.environ)
    if system == "t2t":
        env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
        if os.environ.get("PARITY_T2T_THREADS"):
            # torch's OpenMP threads spin at every small op's barrier: on a CPU shared with
            # other jobs, one thread can be several times faster than two.
            env["OMP_NUM_THREADS"] = os.environ["PARITY_T2T_THREADS"]
    else:
        env.pop("PYTHONPATH", None)
    return env


def run_dir(task: str, system: str, seed: int) -> str:
    """Where one run's files go: train/ (output_dir), train.log, decode.txt, ..."""
    return os.path.join(RUNS, task, system, f"seed{seed}")


def _common(task: str, system: str) -> list[str]:
    spec = TASKS[task]
    return [
        f"--problem={spec['problem']}",
        "--model=transformer",
        "--hparams_set=transformer_tiny",
        f"--hparams={spec['hparams']}",
        f"--data_dir={os.path.join(RUNS, task, system, 'data')}",
    ]


def train_command(task: str, system: str, seed: int) -> list[str]:
    """The t2t-trainer command line of one run."""
    spec = TASKS[task]
    return [
        _bin(system, "t2t-trainer"),
        "--generate_data",
        *_common(task, system),
        f"--train_steps={spec['train_steps']}",
        f"--tmp_dir={spec['tmp_dir']}",
        f"--output_dir={os.path.join(run_dir(task, system, seed), 'train')}",
        f"--random_seed={seed}",
    ]


def decode_command(task: str, system: str, seed: int) -> list[str]:
    """The t2t-decoder command line of one run (the held-out test inputs, beam 4, alpha 0.6)."""
    spec = TASKS[task]
    where = run_dir(task, system, seed)
    return [
        _bin(system, "t2t-decoder"),
        *_common(task, system),
        f"--output_dir={os.path.join(where, 'train')}",
        f"--decode_hparams={DECODE_HPARAMS}",
        f"--decode_from_file={os.path.join(spec['tmp_dir'], 'inputs.test.txt')}",
        f"--decode_to_file={os.path.join(where, 'decode.txt')}",
    ]


def _count_lines(path: str) -> int:
    if not os.path.exists(path):
        return -1
    with open(path, encoding="utf-8") as f:
        return sum(1 for _ in f)


def _step(where: str, name: str, command: list[str], env: dict[str, str]) -> bool:
    """Runs one command with its log in `where/name.log`; True on success."""
    os.makedirs(where, exist_ok=True)
    with open(os.path.join(where, f"{name}.cmd"), "w", encoding="utf-8") as f:
        f.write(shlex.join(command) + "\n")
    start = time.time()
    print(f"[{time.strftime('%H:%M:%S')}] {where}: {name}", flush=True)
    with open(os.path.join(where, f"{name}.log"), "w", encoding="utf-8") as log:
        rc = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    seconds = time.time() - start
    with open(os.path.join(where, f"{name}.rc"), "w", encoding="utf-8") as f:
        f.write(f"{rc} {seconds:.1f}\n")
    print(f"[{time.strftime('%H:%M:%S')}]   rc={rc} in {seconds:.0f} s", flush=True)
    return rc == 0


def _done(where: str, name: str) -> bool:
    path = os.path.join(where, f"{name}.rc")
    if not os.path.exists(path):
        return False
    with open(path, encoding="utf-8") as f:
        return f.read().split()[0] == "0"


def run_one(task: str, system: str, seed: int) -> None:
    """Trains (and decodes and scores) one seed, skipping the steps already done."""
    where = run_dir(task, system, seed)
    env = _env(system)
    if not _done(where, "train") and not _step(
        where, "train", train_command(task, system, seed), env
    ):
        return
    if not TASKS[task]["decode"]:
        write_record(task, system, seed)
        return
    test_inputs = os.path.join(TASKS[task]["tmp_dir"], "inputs.test.txt")
    decoded = os.path.join(where, "decode.txt")
    if _count_lines(decoded) != _count_lines(test_inputs) or not _done(where, "decode"):
        if not _step(where, "decode", decode_command(task, system, seed), env):
            return
    score(task, system, seed)
    write_record(task, system, seed)


def score(task: str, system: str, seed: int) -> dict[str, float]:
    """BLEU of one run's decode.txt (sacreBLEU, t2t-bleu cased/uncased); cached in bleu.json."""
    where = run_dir(task, system, seed)
    path = os.path.join(where, "bleu.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    import sacrebleu

    from t2t.metrics import bleu

    reference = os.path.join(TASKS[task]["tmp_dir"], "targets.test.txt")
    decoded = os.path.join(where, "decode.txt")
    with open(decoded, encoding="utf-8") as f:
        hyps = [line.rstrip("\n") for line in f]
    with open(reference, encoding="utf-8") as f:
        refs = [line.rstrip("\n") for line in f]
    result = {
        "sacrebleu": sacrebleu.corpus_bleu(hyps, [refs]).score,
        "t2t_bleu_cased": 100 * bleu.bleu_wrapper(reference, decoded, case_sensitive=True),
        "t2t_bleu_uncased": 100 * bleu.bleu_wrapper(reference, decoded, case_sensitive=False),
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    return result


# ----------------------------------------------------------------------------- parsing logs

_TF_LOSS = re.compile(r"loss = ([0-9.eE+-]+|nan|inf), step = (\d+)")
_TF_EVAL = re.compile(r"Saving dict for global step (\d+): (.*)$")


def training_curve(task: str, system: str, seed: int) -> dict[int, float]:
    """{step: loss} of one run, at the steps both systems log (every 100).

    The original logs `loss = X, step = S` for batches S = 1, 101, 201, ... (its logging
    hook fires on the first step, then every 100); t2t logs batches 100, 200, ... Both are
    keyed here by the hundred they fall in: the original's batch S as S - 1, t2t's as S
    (one batch apart, the same point of the curve).
    """
    where = run_dir(task, system, seed)
    curve: dict[int, float] = {}
    if not _done(where, "train"):
        return curve  # unfinished runs are left out
    if system == "orig":
        with open(os.path.join(where, "train.log"), encoding="utf-8", errors="replace") as f:
            for line in f:
                match = _TF_LOSS.search(line)
                if match:
                    curve[int(match.group(2)) - 1] = float(match.group(1))
    else:
        path = os.path.join(where, "train", "log.jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    if "split" not in record and "loss" in record:
                        curve[int(record["step"])] = float(record["loss"])
    return curve


def dev_metrics(task: str, system: str, seed: int) -> dict[str, float]:
    """The last evaluation's metrics, with T2T's names shortened (`accuracy_per_sequence`)."""
    where = run_dir(task, system, seed)
    metrics: dict[str, float] = {}
    if not _done(where, "train"):
        return metrics
    if system == "orig":
        with open(os.path.join(where, "train.log"), encoding="utf-8", errors="replace") as f:
            for line in f:
                match = _TF_EVAL.search(line)
                if match:
                    metrics = {}
                    for item in match.group(2).split(", "):
                        name, _, value = item.partition(" = ")
                        try:
                            metrics[name.split("/")[-1]] = float(value)
                        except ValueError:
                            pass
    else:
        path = os.path.join(where, "train", "log.jsonl")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    record = json.loads(line)
                    if record.get("split") == "eval":
                        metrics = {
                            k.split("/")[-1]: float(v)
                            for k, v in record.items()
                            if k not in ("split",) and isinstance(v, (int, float))
                        }
    metrics.pop("global_step", None)
    metrics.pop("step", None)
    return metrics


def train_seconds(task: str, system: str, seed: int) -> float | None:
    path = os.path.join(run_dir(task, system, seed), "train.rc")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        parts = f.read().split()
    return float(parts[1]) if parts[0] == "0" else None


# ----------------------------------------------------------------------------- records


def record_path(task: str, system: str, seed: int) -> str:
    return os.path.join(RECORDS, task, system, f"seed{seed}.json")


def write_record(task: str, system: str, seed: int) -> str:
    """Saves one finished run's figures (curve, dev metrics, BLEU, wall time) as JSON."""
    where = run_dir(task, system, seed)
    record = {
        "task": task,
        "system": system,
        "seed": seed,
        "command": train_command(task, system, seed)[1:],
        "train_loss": {str(k): v for k, v in sorted(training_curve(task, system, seed).items())},
        "dev": dev_metrics(task, system, seed),
        "bleu": score(task, system, seed) if TASKS[task]["decode"] else {},
        "train_seconds": train_seconds(task, system, seed),
        "finished": time.strftime(
            "%Y-%m-%d %H:%M", time.gmtime(os.path.getmtime(os.path.join(where, "train.rc")))
        ),
        "machine": f"{os.cpu_count()} CPUs",
        "corpus_sha1": corpus_fingerprint(task),
    }
    if system == "t2t":
        record["t2t_threads"] = os.environ.get("PARITY_T2T_THREADS", "default")
    path = record_path(task, system, seed)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"  record: {path}", flush=True)
    return path


def corpus_fingerprint(task: str) -> str:
    """SHA-1 of the task's tmp_dir text files: records of different corpora must not mix."""
    import hashlib

    digest = hashlib.sha1()
    folder = TASKS[task]["tmp_dir"]
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
        if name.endswith(".txt") and name != "catalogs.txt":
            digest.update(name.encode())
            with open(os.path.join(folder, name), "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()


def load_record(task: str, system: str, seed: int) -> dict | None:
    """One run's record: the saved file, else built from a finished run folder, else None."""
    path = record_path(task, system, seed)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    if not _done(run_dir(task, system, seed), "train"):
        return None
    bleu = {}
    if TASKS[task]["decode"] and os.path.exists(
        os.path.join(run_dir(task, system, seed), "bleu.json")
    ):
        bleu = score(task, system, seed)
    return {
        "train_loss": {str(k): v for k, v in training_curve(task, system, seed).items()},
        "dev": dev_metrics(task, system, seed),
        "bleu": bleu,
        "train_seconds": train_seconds(task, system, seed),
    }


# ----------------------------------------------------------------------------- statistics


def summary(values: list[float]) -> dict[str, float]:
    """n, mean, sample std, min, max."""
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"n": n, "mean": mean, "std": std, "min": min(values), "max": max(values)}


def welch_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of Welch's t-test (nan when a side has < 2 values)."""
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    sa, sb = summary(a), summary(b)
    va, vb = sa["std"] ** 2 / len(a), sb["std"] ** 2 / len(b)
    if va + vb == 0:
        return 1.0 if sa["mean"] == sb["mean"] else 0.0
    t = (sa["mean"] - sb["mean"]) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return _student_two_sided(abs(t), df)


def _student_two_sided(t: float, df: float) -> float:
    """P(|T| >= t) for Student's t with df degrees of freedom (regularised incomplete beta)."""
    x = df / (df + t * t)
    return _betainc(df / 2, 0.5, x)


def _betainc(a: float, b: float, x: float) -> float:
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    # Lentz's continued fraction.
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    f = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            f *= c * d
        if abs(c * d - 1.0) < 1e-12:
            break
    return front * f / a


def verdict(a: list[float], b: list[float]) -> str:
    """'same' when the means differ by no more than the seed noise (both rules), else 'DIFF'."""
    if len(a) < 2 or len(b) < 2:
        return "n<2"  # no spread to compare with
    sa, sb = summary(a), summary(b)
    diff = abs(sa["mean"] - sb["mean"])
    spread = max(sa["max"] - sa["min"], sb["max"] - sb["min"])
    p = welch_p(a, b)
    inside = diff <= spread and (math.isnan(p) or p >= 0.05)
    return "same" if inside else "DIFF"


def _fmt(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    s = summary(values)
    return (
        f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f} "
        f"[{s['min']:.{digits}f}, {s['max']:.{digits}f}] (n={s['n']})"
    )


def report(tasks: list[str], seeds: list[int], markdown: bool) -> str:
    """The comparison table of the finished runs."""
    lines = []
    sep = " | "
    for task in tasks:
        rows: list[tuple[str, list[float], list[float], int]] = []
        records = {
            s: [r for r in (load_record(task, s, seed) for seed in seeds) if r] for s in SYSTEMS
        }
        corpora = {r.get("corpus_sha1") for s in SYSTEMS for r in records[s]} - {None}
        if len(corpora) > 1:
            lines.append(f"WARNING: {task}'s records come from {len(corpora)} different corpora")
        curves = {
            s: [{int(k): v for k, v in r["train_loss"].items()} for r in records[s]]
            for s in SYSTEMS
        }
        curve_steps = sorted(
            set.intersection(*[set(c) for s in SYSTEMS for c in curves[s] if c] or [set()])
        )
        for step in curve_steps:
            if step % 100 == 0:
                vals = [[c[step] for c in curves[s] if step in c] for s in SYSTEMS]
                rows.append((f"train loss @{step}", vals[0], vals[1], 3))
        metrics: dict[str, dict[str, list[float]]] = {s: {} for s in SYSTEMS}
        bleus: dict[str, dict[str, list[float]]] = {s: {} for s in SYSTEMS}
        for s in SYSTEMS:
            for r in records[s]:
                for name, value in r["dev"].items():
                    metrics[s].setdefault(name, []).append(value)
                for name, value in r["bleu"].items():
                    bleus[s].setdefault(name, []).append(value)
        for name in sorted(set(metrics["orig"]) & set(metrics["t2t"])):
            rows.append((f"dev {name}", metrics["orig"][name], metrics["t2t"][name], 4))
        if TASKS[task]["decode"]:
            for name in ("sacrebleu", "t2t_bleu_cased", "t2t_bleu_uncased"):
                rows.append(
                    (
                        f"test BLEU {name}",
                        bleus["orig"].get(name, []),
                        bleus["t2t"].get(name, []),
                        2,
                    )
                )
        times = {
            s: [r["train_seconds"] for r in records[s] if r.get("train_seconds") is not None]
            for s in SYSTEMS
        }
        rows.append(("train+datagen wall s", times["orig"], times["t2t"], 0))
        spec = TASKS[task]
        header = f'{task}: {spec["problem"]}, transformer_tiny, --hparams="{spec["hparams"]}", '
        header += f"--train_steps={spec['train_steps']}, seeds {','.join(map(str, seeds))}"
        if markdown:
            lines.append(f"### {header}\n")
            lines.append(
                "| quantity | T2T 1.15.7 (orig) | t2t | diff (t2t-orig) | Welch p | verdict |"
            )
            lines.append("|---|---|---|---|---|---|")
        else:
            lines.append(header)
        for label, a, b, digits in rows:
            if a and b:
                diff = f"{summary(b)['mean'] - summary(a)['mean']:+.{digits}f}"
                p = welch_p(a, b)
                p_text = "-" if math.isnan(p) else f"{p:.2f}"
                v = verdict(a, b) if not label.startswith("train+datagen") else ""
            else:
                diff = p_text = v = "-"
            cells = [label, _fmt(a, digits), _fmt(b, digits), diff, p_text, v]
            lines.append(("| " + sep.join(cells) + " |") if markdown else "  " + sep.join(cells))
        lines.append("")
    lines.append(
        "verdict 'same': |mean diff| <= the larger max-min spread of the two systems and "
        "Welch's t-test p >= 0.05; 'DIFF' otherwise."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=("run", "report", "commands", "record"))
    parser.add_argument("--tasks", default="fr,reverse")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--systems", default="orig,t2t")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    tasks = args.tasks.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    systems = args.systems.split(",")
    for task in tasks:
        if task not in TASKS:
            parser.error(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    if args.action == "run":
        for seed in seeds:
            for task in tasks:
                for system in systems:
                    run_one(task, system, seed)
    elif args.action == "record":
        for task in tasks:
            for system in systems:
                for seed in seeds:
                    if load_record(task, system, seed) is not None:
                        write_record(task, system, seed)
    elif args.action == "commands":
        for task in tasks:
            for system in systems:
                print(shlex.join(train_command(task, system, seeds[0])))
                if TASKS[task]["decode"]:
                    print(shlex.join(decode_command(task, system, seeds[0])))
    else:
        print(report(tasks, seeds, args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
