"""Reading speed of TFRecord files of tf.Examples: t2t.data against TensorFlow 1.15.

Writes 100,000 translate-like examples (int64 `inputs` and `targets`, lengths uniform in
10..100, ids in [2, 32000), written with t2t.data), then times one process reading and
decoding them (each variant best of --repeats runs):

* t2t.data: `read_records` + `decode_example` per record, with each CRC32C back end
  (google-crc32c, the NumPy fallback), with verify=False, and reading without decoding;
* TensorFlow 1.15 in the original's venv (a subprocess; skipped if --tf_python is
  missing): TFRecordDataset -> map(parse_single_example) -> batch(1000) in a graph
  session (T2T's per-record decode_example pattern), with 1 thread and with TF's default
  threads; batch(1000) -> map(parse_example) (vectorised parsing, 1 thread); and raw
  TFRecordDataset reading;
* the CRC32C options alone on the file's records: google-crc32c, the `crc32c` package,
  the NumPy batch fallback, and a byte-at-a-time Python loop (timed on a subset).

Usage:
    .venv/bin/python benchmarks/tfrecord_io.py [--num_examples=100000]
        [--tf_python=/tmp/t2t-original/bin/python] [--repeats=3]
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

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from t2t.data import crc32c, tfrecord  # noqa: E402
from t2t.data.example_codec import decode_example, encode_example  # noqa: E402

TF_SCRIPT = r"""
import json, sys, time
import tensorflow as tf
path, repeats = sys.argv[1], int(sys.argv[2])
spec = {"inputs": tf.io.VarLenFeature(tf.int64), "targets": tf.io.VarLenFeature(tf.int64)}

def timed(make_dataset, threads):
    best = None
    for _ in range(repeats):
        with tf.Graph().as_default():
            batch = tf.compat.v1.data.make_one_shot_iterator(make_dataset()).get_next()
            config = tf.compat.v1.ConfigProto(
                intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
            with tf.compat.v1.Session(config=config) as sess:
                start, n, tokens = time.perf_counter(), 0, 0
                try:
                    while True:
                        out = sess.run(batch)
                        if isinstance(out, dict):
                            n += int(out["targets"].dense_shape[0])
                            tokens += len(out["targets"].values)
                        else:
                            n += len(out)
                except tf.errors.OutOfRangeError:
                    pass
                seconds = time.perf_counter() - start
        if best is None or seconds < best[0]:
            best = (seconds, n, tokens)
    return {"seconds": best[0], "records": best[1], "target_tokens": best[2]}

parse = lambda r: tf.io.parse_single_example(r, spec)
results = {
    "tf_parse_1thread": timed(
        lambda: tf.data.TFRecordDataset(path).map(parse).batch(1000), 1),
    "tf_parse_default_threads": timed(
        lambda: tf.data.TFRecordDataset(path).map(parse).batch(1000), 0),
    "tf_batch_parse_1thread": timed(
        lambda: tf.data.TFRecordDataset(path).batch(1000).map(
            lambda b: tf.io.parse_example(b, spec)), 1),
    "tf_read_only_1thread": timed(lambda: tf.data.TFRecordDataset(path).batch(1000), 1),
}
results["tf_version"] = tf.__version__
print(json.dumps(results))
"""


def make_examples(num: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Translate-like examples: int64 ids in [2, 32000), lengths 10..100, EOS=1 last."""
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(num):
        example = {}
        for key in ("inputs", "targets"):
            ids = rng.integers(2, 32000, rng.integers(9, 100))
            example[key] = np.append(ids, 1)
        examples.append(example)
    return examples


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def read_decode(path: str, verify: bool = True) -> tuple[int, int]:
    n, tokens = 0, 0
    for record in tfrecord.read_records(path, verify=verify):
        tokens += len(decode_example(record)["targets"])
        n += 1
    return n, tokens


def read_only(path: str, verify: bool = True) -> tuple[int, int]:
    return sum(1 for _ in tfrecord.read_records(path, verify=verify)), 0


def ours(path: str, repeats: int) -> dict[str, dict]:
    """Times our reader in each configuration; the CRC back end is switched in place."""
    installed = crc32c._google_crc32c
    variants = [
        ("t2t_decode_google_crc32c", installed, read_decode, True),
        ("t2t_decode_numpy_crc", None, read_decode, True),
        ("t2t_decode_no_verify", None, read_decode, False),
        ("t2t_read_only_google_crc32c", installed, read_only, True),
        ("t2t_read_only_numpy_crc", None, read_only, True),
    ]
    results = {}
    try:
        for name, backend, fn, verify in variants:
            if name.endswith("google_crc32c") and installed is None:
                continue
            crc32c._google_crc32c = backend
            seconds, (n, tokens) = best_of(lambda fn=fn, v=verify: fn(path, v), repeats)
            results[name] = {"seconds": seconds, "records": n, "target_tokens": tokens}
    finally:
        crc32c._google_crc32c = installed
    return results


def crc_options(path: str, repeats: int) -> dict[str, float]:
    """MB/s of each CRC32C option over the data of every record in the file."""
    records = list(tfrecord.read_records(path, verify=False))
    buf = b"".join(records)
    lengths = np.array([len(r) for r in records], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    options = {
        "numpy batch fallback (t2t.data.crc32c)": lambda: crc32c._numpy_many(
            np.frombuffer(buf, np.uint8), starts, lengths
        ),
        "python byte loop (10% subset, scaled)": lambda: [
            crc32c._crc32c_small(r) for r in records[: len(records) // 10]
        ],
    }
    try:
        import google_crc32c

        options["google-crc32c (C), per record"] = lambda: [google_crc32c.value(r) for r in records]
    except ImportError:
        pass
    try:
        import crc32c as crc32c_pkg  # the ICRAR `crc32c` package

        options["crc32c package (C), per record"] = lambda: [crc32c_pkg.crc32c(r) for r in records]
    except ImportError:
        pass
    results = {}
    for name, fn in options.items():
        seconds, _ = best_of(fn, repeats)
        scale = 10 if "subset" in name else 1
        results[name] = len(buf) / (seconds * scale) / 1e6
    return results


def tensorflow(path: str, tf_python: str, repeats: int) -> dict | None:
    if not os.path.exists(tf_python):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(TF_SCRIPT)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    try:
        out = subprocess.run(
            [tf_python, f.name, path, str(repeats)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
    finally:
        os.remove(f.name)
    return json.loads(out.stdout.strip().splitlines()[-1])


def report(results: dict, file_bytes: int) -> None:
    print(f"{'variant':32s} {'records/s':>10s} {'MB/s':>7s} {'tgt tok/s':>11s}")
    for name, r in results.items():
        if not isinstance(r, dict):
            continue
        rate = r["records"] / r["seconds"]
        mbs = file_bytes / r["seconds"] / 1e6
        tok = f"{r['target_tokens'] / r['seconds']:11,.0f}" if r["target_tokens"] else " " * 11
        print(f"{name:32s} {rate:10,.0f} {mbs:7.1f} {tok}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_examples", type=int, default=100_000)
    parser.add_argument("--tf_python", default="/tmp/t2t-original/bin/python")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "translate.tfrecord")
        examples = make_examples(args.num_examples)
        seconds, _ = best_of(
            lambda: tfrecord.write_records(path, (encode_example(ex) for ex in examples)), 1
        )
        file_bytes = os.path.getsize(path)
        print(
            f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"Python {platform.python_version()}, CRC back end installed: {crc32c.BACKEND}"
        )
        print(
            f"file: {args.num_examples:,} examples, {file_bytes / 1e6:.1f} MB; "
            f"t2t.data encode+write {args.num_examples / seconds:,.0f} records/s"
        )
        results = ours(path, args.repeats)
        tf_results = tensorflow(path, args.tf_python, args.repeats)
        if tf_results:
            print("TensorFlow", tf_results.pop("tf_version"))
            results.update(tf_results)
        report(results, file_bytes)
        if tf_results:
            for mine, theirs in (
                ("t2t_decode_google_crc32c", "tf_parse_1thread"),
                ("t2t_decode_numpy_crc", "tf_parse_1thread"),
                ("t2t_decode_google_crc32c", "tf_parse_default_threads"),
                ("t2t_decode_google_crc32c", "tf_batch_parse_1thread"),
                ("t2t_read_only_google_crc32c", "tf_read_only_1thread"),
            ):
                if mine in results:
                    ratio = results[theirs]["seconds"] / results[mine]["seconds"]
                    print(f"speed ratio {mine} / {theirs}: {ratio:.2f}x")
        print("CRC32C options over the file's record data (MB/s):")
        for name, mbs in crc_options(path, args.repeats).items():
            print(f"  {name:42s} {mbs:8.1f}")


if __name__ == "__main__":
    main()
