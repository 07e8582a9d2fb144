"""Serving load test: t2t-serve on 127.0.0.1 under N concurrent clients for a fixed time.

    .venv/bin/python benchmarks/serving.py [--export_dir DIR] [--clients 8] [--seconds 20]
        [--backends t2t,ctranslate2] [--batching on,off] [--beam 4] [--threads 2]

For each backend (our model; the same export's CTranslate2 model) and with and without
dynamic batching, a `t2t-serve` process is started on a free port, warmed up, then
`--clients` threads each send `POST /v1/translate` (one sentence per request, sentences
from a fixed list) back to back for `--seconds`. Reported per configuration: requests/s,
p50 and p99 latency, the mean batch size the server decoded (from /metrics), the server's
resident memory after warm-up and at the end, and the number of failed requests (any
non-200 answer or connection error; it should be 0).

Without --export_dir, a transformer_tiny of algorithmic_reverse_decimal40 with random
weights is exported (t2t and ctranslate2 formats) into a temporary directory; its decodes
are nonsense but of bounded length (--extra_length), which is all a load test needs.
Needs the `serve` and `export` extras.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SENTENCES = ["1 2 3 4 5 6", "9 8 7", "4 4 2 0 1", "3 1 4 1 5 9 2 6", "7 7", "0 1 0 1 0 1 0"]


def tiny_export(directory: str) -> str:
    """A random-weight transformer_tiny export (t2t + ctranslate2) in `directory`."""
    import torch

    from t2t.decode.api import load
    from t2t.export import exporter
    from t2t.runs import build, checkpoints, run_files

    torch.manual_seed(0)
    run = os.path.join(directory, "run")
    names = dict(problem="algorithmic_reverse_decimal40", model="transformer",
                 hparams_set="transformer_tiny", hparams="", data_dir=run)  # fmt: skip
    exp = build.build_run(names["problem"], "transformer", "transformer_tiny", "", run)
    run_files.write_run_files(run, exp.hparams, names)
    checkpoints.save_checkpoint(run, 1, exp.model.eval(), {"step": 1})
    target = os.path.join(directory, "export")
    return exporter.export_loaded(load(run, device="cpu"), target, ["t2t", "ctranslate2"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def metric(url: str, name: str) -> float:
    for line in get(f"{url}/metrics").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def start_server(args: argparse.Namespace, backend: str, batching: bool) -> tuple:
    port = free_port()
    command = [
        sys.executable, "-m", "t2t.bin.t2t_serve", f"--export_dir={args.export_dir}",
        f"--port={port}", f"--backend={backend}", f"--threads={args.threads}",
        f"--max_batch_size={args.max_batch_size}", f"--batch_wait_ms={args.batch_wait_ms}",
        "--dynamic_batching" if batching else "--nodynamic_batching", "--servable_name=bench",
        "--noverify",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            get(f"{url}/health")
            return process, url
        except (urllib.error.URLError, OSError):
            if process.poll() is not None or time.time() > deadline:
                error = process.stderr.read().decode()
                raise SystemExit(f"t2t-serve did not start: {error}") from None
            time.sleep(0.2)


def translate(url: str, sentence: str, args: argparse.Namespace) -> bool:
    body = json.dumps({"inputs": [sentence], "beam_size": args.beam,
                       "extra_length": args.extra_length}).encode()  # fmt: skip
    request = urllib.request.Request(f"{url}/v1/translate", body,
                                      {"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def load_test(url: str, args: argparse.Namespace) -> dict:
    """`args.clients` threads sending requests back to back for `args.seconds`."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + args.seconds

    def client(index: int) -> None:
        k = index
        while time.perf_counter() < stop_at:
            start = time.perf_counter()
            ok = translate(url, SENTENCES[k % len(SENTENCES)], args)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                failures[0] += not ok
            k += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - begin
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    return {"requests": len(latencies), "failed": failures[0], "rps": len(latencies) / wall,
            "p50_ms": 1000 * percentile(0.50), "p99_ms": 1000 * percentile(0.99)}  # fmt: skip


def run_config(args: argparse.Namespace, backend: str, batching: bool) -> dict:
    process, url = start_server(args, backend, batching)
    try:
        for sentence in SENTENCES:  # warm-up: allocator, first-call costs
            translate(url, sentence, args)
        memory_start = metric(url, "process_resident_memory_bytes")
        batches_before = metric(url, "t2t_decode_batches_total")
        inputs_before = metric(url, "t2t_decoded_inputs_total")
        result = load_test(url, args)
        batches = metric(url, "t2t_decode_batches_total") - batches_before
        inputs = metric(url, "t2t_decoded_inputs_total") - inputs_before
        result.update(
            backend=backend, batching="on" if batching else "off",
            mean_batch=inputs / max(batches, 1),
            mem_start_mb=memory_start / 2**20,
            mem_end_mb=metric(url, "process_resident_memory_bytes") / 2**20,
        )  # fmt: skip
        return result
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--export_dir", default="")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backends", default="t2t,ctranslate2")
    parser.add_argument("--batching", default="on,off")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--extra_length", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max_batch_size", type=int, default=32)
    parser.add_argument("--batch_wait_ms", type=float, default=5.0)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if not args.export_dir:
        args.export_dir = tiny_export(tmp.name)
    print(f"export {args.export_dir}; {args.clients} clients x {args.seconds:g} s, beam "
          f"{args.beam}, {args.threads} threads, max batch {args.max_batch_size}, "
          f"wait {args.batch_wait_ms:g} ms")  # fmt: skip
    header = ("backend", "batching", "req/s", "p50 ms", "p99 ms", "batch", "MB start", "MB end",
              "requests", "failed")  # fmt: skip
    print("{:12s} {:8s} {:>8s} {:>8s} {:>8s} {:>6s} {:>9s} {:>8s} {:>9s} {:>6s}".format(*header))
    for backend in args.backends.split(","):
        for batching in args.batching.split(","):
            r = run_config(args, backend, batching == "on")
            print(f"{r['backend']:12s} {r['batching']:8s} {r['rps']:8.1f} {r['p50_ms']:8.1f} "
                  f"{r['p99_ms']:8.1f} {r['mean_batch']:6.1f} {r['mem_start_mb']:9.1f} "
                  f"{r['mem_end_mb']:8.1f} {r['requests']:9d} {r['failed']:6d}",
                  flush=True)  # fmt: skip
    tmp.cleanup()


if __name__ == "__main__":
    main()
