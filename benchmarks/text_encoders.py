"""Side-by-side speed and output check: t2t's SubwordTextEncoder against the original T2T.

Each measurement runs in a fresh process (cold caches), once per implementation, on the
synthetic corpus of `benchmarks/corpus.py`:

* build: token counts of the corpus (tokenizer.corpus_token_counts), then
  `SubwordTextEncoder.build_to_target_size(target, counts, 1, 1e3)` (the whole bisection,
  as `build_from_generator` calls it), then `store_to_file`.
* encode: load the vocab file, then `encode(line)` for every corpus line (lines/s). t2t uses
  its C extension when built ("native": true in the output); T2T_PURE_PYTHON=1 times the
  Python path.

The driver compares the vocab files and the encoded ids byte for byte. The worker half of this
script also runs under the original's Python 3.7, so it avoids newer syntax.

    .venv/bin/python benchmarks/text_encoders.py --original_python /tmp/t2t-original/bin/python
"""

# ruff: noqa: UP031  (the worker half also runs under Python 3.7; %-formatting kept)
import argparse
import filecmp
import json
import os
import subprocess
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(_HERE)


def _import(impl):
    if impl == "original":
        import logging

        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        from tensor2tensor.data_generators import text_encoder, tokenizer
    else:
        sys.path.insert(0, _ROOT)
        from t2t.data import text_encoder, tokenizer
    return text_encoder, tokenizer


def _worker_build(args):
    text_encoder, tokenizer = _import(args.impl)
    start = time.time()
    counts = tokenizer.corpus_token_counts(args.corpus, 0, split_on_newlines=True)
    count_seconds = time.time() - start
    start, cpu = time.time(), time.process_time()
    encoder = text_encoder.SubwordTextEncoder.build_to_target_size(args.target_size, counts, 1, 1e3)
    build_seconds, build_cpu = time.time() - start, time.process_time() - cpu
    encoder.store_to_file(args.vocab)
    return {
        "count_seconds": count_seconds,
        "build_seconds": build_seconds,
        "build_cpu_seconds": build_cpu,
        "vocab_size": encoder.vocab_size,
        "distinct_tokens": len(counts),
    }


def _worker_encode(args):
    text_encoder, _ = _import(args.impl)
    with open(args.corpus, encoding="utf-8") as f:
        lines = f.read().split("\n")[:-1]
    start, cpu = time.time(), time.process_time()
    encoder = text_encoder.SubwordTextEncoder(args.vocab)
    encoded = [encoder.encode(line) for line in lines]
    seconds, encode_cpu = time.time() - start, time.process_time() - cpu
    with open(args.ids, "w") as f:
        for ids in encoded:
            f.write(" ".join(map(str, ids)) + "\n")
    start = time.time()
    for ids in encoded:
        encoder.decode(ids)
    decode_seconds = time.time() - start
    return {
        # t2t: whether encode ran in the C extension (t2t.data._subword) or in Python.
        "native": bool(getattr(encoder, "_native", False)),
        "encode_seconds": seconds,
        "lines": len(lines),
        "lines_per_s": len(lines) / seconds,
        "cpu_lines_per_s": len(lines) / encode_cpu,
        "decode_lines_per_s": len(lines) / decode_seconds,
    }


def _run_worker(python, impl, *worker_args):
    command = [python, os.path.abspath(__file__), "--worker", "--impl", impl] + list(worker_args)
    output = subprocess.run(command, check=True, stdout=subprocess.PIPE).stdout.decode()
    return json.loads(output.strip().split("\n")[-1])


def _drive(args):
    os.makedirs(args.workdir, exist_ok=True)
    corpus = os.path.join(args.workdir, "corpus.txt")
    if not os.path.exists(corpus):
        subprocess.run(
            [
                sys.executable,
                os.path.join(_HERE, "corpus.py"),
                "--lines",
                str(args.lines),
                "--out",
                corpus,
            ],
            check=True,
        )
    pythons = {"t2t": sys.executable, "original": args.original_python}
    impls = [i for i in ("t2t", "original") if pythons[i]]
    for target in args.targets:
        results = {}
        for impl in impls:
            vocab = os.path.join(args.workdir, "vocab.%s.%d" % (impl, target))
            ids = os.path.join(args.workdir, "ids.%s.%d" % (impl, target))
            result = _run_worker(
                pythons[impl],
                impl,
                "--mode",
                "build",
                "--corpus",
                corpus,
                "--target_size",
                str(target),
                "--vocab",
                vocab,
            )
            result.update(
                _run_worker(
                    pythons[impl],
                    impl,
                    "--mode",
                    "encode",
                    "--corpus",
                    corpus,
                    "--vocab",
                    vocab,
                    "--ids",
                    ids,
                )
            )
            results[impl] = result
            print("target %d %-8s %s" % (target, impl, json.dumps(result)), flush=True)
        if len(results) == 2:
            same_vocab = filecmp.cmp(
                *(os.path.join(args.workdir, "vocab.%s.%d" % (i, target)) for i in impls),
                shallow=False,
            )
            same_ids = filecmp.cmp(
                *(os.path.join(args.workdir, "ids.%s.%d" % (i, target)) for i in impls),
                shallow=False,
            )
            ours, orig = results["t2t"], results["original"]
            print(
                "target %d: build %.1fs vs %.1fs wall (%.1fx), %.1fs vs %.1fs cpu (%.1fx); "
                "encode %.0f vs %.0f lines/s wall (%.1fx), %.0f vs %.0f lines/s cpu (%.1fx); "
                "identical vocab %s, identical ids %s"
                % (
                    target,
                    ours["build_seconds"],
                    orig["build_seconds"],
                    orig["build_seconds"] / ours["build_seconds"],
                    ours["build_cpu_seconds"],
                    orig["build_cpu_seconds"],
                    orig["build_cpu_seconds"] / ours["build_cpu_seconds"],
                    ours["lines_per_s"],
                    orig["lines_per_s"],
                    ours["lines_per_s"] / orig["lines_per_s"],
                    ours["cpu_lines_per_s"],
                    orig["cpu_lines_per_s"],
                    ours["cpu_lines_per_s"] / orig["cpu_lines_per_s"],
                    same_vocab,
                    same_ids,
                ),
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--impl", choices=["t2t", "original"], default="t2t")
    parser.add_argument("--mode", choices=["build", "encode"])
    parser.add_argument("--corpus")
    parser.add_argument("--vocab")
    parser.add_argument("--ids")
    parser.add_argument("--target_size", type=int)
    parser.add_argument(
        "--original_python",
        default="",
        help="Python of a venv with tensor2tensor installed; empty: t2t only.",
    )
    parser.add_argument("--workdir", default="/tmp/t2t_bench_text")
    parser.add_argument("--lines", type=int, default=100000)
    parser.add_argument("--targets", type=int, nargs="+", default=[8192, 32768])
    args = parser.parse_args()
    if args.worker:
        result = _worker_build(args) if args.mode == "build" else _worker_encode(args)
        print(json.dumps(result))
    else:
        _drive(args)


if __name__ == "__main__":
    main()
