"""BLEU and decoding time of a trained translation model in float32 and in int8, side by side.

Decodes the same test inputs with `t2t-decoder --quantize=none` and `--quantize=int8`
(alternating, `--repeat` rounds, one decode per process so neither inherits the other's
caches), then scores each output against the references with sacreBLEU and with t2t-bleu's
formula (cased and uncased), and prints a table with the BLEU difference and the speed ratio.

    python benchmarks/quantize_bleu.py --output_dir=$RUNS/fr/t2t/seed1/train \\
        --data_dir=$RUNS/fr/t2t/data --inputs=$RUNS/corpus_fr/inputs.test.txt \\
        --references=$RUNS/corpus_fr/targets.test.txt --threads 2

The decodes land in --work_dir (default: next to the run, `quantize_bleu/`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

CHOICES = ("none", "int8")


def decoder_command(args: argparse.Namespace, choice: str, out_path: str) -> list[str]:
    """The t2t-decoder command line that decodes --inputs with quantization `choice`."""
    decoder = shutil.which("t2t-decoder") or os.path.join(
        os.path.dirname(sys.executable), "t2t-decoder"
    )
    command = [
        decoder,
        f"--output_dir={args.output_dir}",
        f"--decode_hparams={args.decode_hparams}",
        f"--decode_from_file={args.inputs}",
        f"--decode_to_file={out_path}",
        "--device=cpu",
        f"--quantize={choice}",
    ]
    if args.data_dir:
        command.append(f"--data_dir={args.data_dir}")
    return command


def decode(args: argparse.Namespace, choice: str, out_path: str) -> float:
    """Runs one decode; returns its wall-clock seconds (process start-up included)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    start = time.perf_counter()
    done = subprocess.run(
        decoder_command(args, choice, out_path), env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"t2t-decoder --quantize={choice} failed:\n{done.stderr[-2000:]}")
    return seconds


def scores(decoded: str, references: str) -> dict[str, float]:
    """sacreBLEU (13a) and t2t-bleu cased/uncased of one decode against the references."""
    import sacrebleu

    from t2t.metrics import bleu

    with open(decoded, encoding="utf-8") as f:
        hyps = [line.rstrip("\n") for line in f]
    with open(references, encoding="utf-8") as f:
        refs = [line.rstrip("\n") for line in f]
    return {
        "sacrebleu": sacrebleu.corpus_bleu(hyps, [refs]).score,
        "t2t_bleu_cased": 100 * bleu.bleu_wrapper(references, decoded, case_sensitive=True),
        "t2t_bleu_uncased": 100 * bleu.bleu_wrapper(references, decoded, case_sensitive=False),
    }


def agreement(a: str, b: str) -> float:
    """The fraction of lines two decodes agree on exactly."""
    with open(a, encoding="utf-8") as f, open(b, encoding="utf-8") as g:
        pairs = list(zip(f, g, strict=True))
    return sum(x == y for x, y in pairs) / max(len(pairs), 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output_dir", required=True, help="the trained run's directory")
    parser.add_argument("--data_dir", default="", help="the run's data dir (vocabulary)")
    parser.add_argument("--inputs", required=True, help="source sentences, one a line")
    parser.add_argument("--references", required=True, help="reference translations")
    parser.add_argument("--decode_hparams", default="beam_size=4,alpha=0.6")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of (float32, int8)")
    parser.add_argument("--work_dir", default="")
    args = parser.parse_args(argv)
    run_parent = os.path.dirname(args.output_dir.rstrip("/"))
    work = args.work_dir or os.path.join(run_parent, "quantize_bleu")
    os.makedirs(work, exist_ok=True)

    seconds: dict[str, list[float]] = {c: [] for c in CHOICES}
    for round_ in range(args.repeat):
        for choice in CHOICES:
            path = os.path.join(work, f"decode.{choice}.txt")
            seconds[choice].append(decode(args, choice, path))
            took = seconds[choice][-1]
            print(f"round {round_ + 1}: --quantize={choice} {took:.1f} s", flush=True)

    paths = {c: os.path.join(work, f"decode.{c}.txt") for c in CHOICES}
    result = {c: scores(paths[c], args.references) for c in CHOICES}
    for c in CHOICES:
        result[c]["best_seconds"] = min(seconds[c])
    result["same_lines"] = agreement(paths["none"], paths["int8"])
    with open(os.path.join(work, "result.json"), "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)

    print(
        "\n| quantize | sacreBLEU | t2t-bleu cased | t2t-bleu uncased "
        f"| best s ({args.threads} thr) |"
    )
    print("|---|---:|---:|---:|---:|")
    for c in CHOICES:
        r = result[c]
        print(
            f"| {c} | {r['sacrebleu']:.2f} | {r['t2t_bleu_cased']:.2f} | "
            f"{r['t2t_bleu_uncased']:.2f} | {r['best_seconds']:.1f} |"
        )
    delta = result["int8"]["t2t_bleu_cased"] - result["none"]["t2t_bleu_cased"]
    speed = result["none"]["best_seconds"] / result["int8"]["best_seconds"]
    print(
        f"\nint8 - float32: t2t-bleu cased {delta:+.2f}, sacreBLEU "
        f"{result['int8']['sacrebleu'] - result['none']['sacrebleu']:+.2f}; "
        f"identical lines {100 * result['same_lines']:.1f} %; int8 speed {speed:.2f}x float32"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
