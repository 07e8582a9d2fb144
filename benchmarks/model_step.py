"""Training-step speed and peak memory of our Transformer against a peer of the same size.

For transformer_tiny / transformer_base (and transformer_big, meant for a GPU), one
forward + backward pass with the label-smoothed loss on a fixed batch, in training mode
(dropout on), against Hugging Face's MarianMTModel built from a config of the same size (no
weights downloaded). Marian is the same encoder-decoder: sinusoid positions, embeddings
tied with the softmax, ReLU FFN, and here the same dropouts as the T2T set (0.1 residual,
attention and ReLU dropout) and the same label smoothing. It is post-norm where T2T's v2
sets are pre-norm: the same number of layer norms, so the same work.

Speed: both models are built in one process per size and timed in alternating rounds
(ours, peer, ours, peer, ...), `--steps` steps per round; a model's figure is its best
round, so that load from other jobs on a shared machine hurts both alike. Tokens per
CPU-second (the process's CPU time, best round) is printed too: on a shared machine it is
the steadier figure when running single-threaded (`--threads 1`), as waiting for the CPU
does not count.
Peak memory on CPU: a fresh subprocess per model measures the resident-set high-water
mark (VmHWM) over a few steps, reset after the model is built (so it counts the weights,
gradients and activations, not the import of the libraries). On CUDA: the peak of
`torch.cuda.max_memory_allocated` over the model's rounds.

    .venv/bin/python benchmarks/model_step.py [--sizes tiny,base] [--steps 3] [--repeats 3]
    .venv/bin/python benchmarks/model_step.py --device cuda --sizes base,big --batch 64 \
        --length 128            # bf16 autocast; prints MFU against --peak-flops
    .venv/bin/python benchmarks/model_step.py --profile t2t base   # top ops of one step

MFU = 6 x trainable params x target tokens/s / peak FLOP/s. With equal source and target
lengths every parameter of the encoder-decoder sees one of the two token streams, so
6·N·T is the usual estimate of a training step's matmul FLOPs (attention scores ignored).

Needs `transformers` (a benchmark extra). Prints a table and the ratios t2t / peer.
"""

import argparse
import json
import os
import subprocess
import sys
import time

SIZES = {
    # name: (hparams set, d_model, layers, heads, ffn, vocab)
    "tiny": ("transformer_tiny", 128, 2, 4, 512, 8000),
    "base": ("transformer_base", 512, 6, 8, 2048, 32000),
    "big": ("transformer_big", 1024, 6, 16, 4096, 32000),
}
H100_BF16_DENSE_FLOPS = 989e12


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak_rss() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


def build_ours(size: str):
    """Our Transformer of `size` and its step(inputs, targets) -> loss (training loss)."""
    import t2t.models.transformer  # noqa: F401  (registers the model and its sets)
    from t2t.hparams import HParams
    from t2t.runs.build import create_model

    hparams_set, *_, vocab = SIZES[size]
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": vocab, "targets": vocab},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
    )
    model = create_model("transformer", hparams_set, problem_hparams=problem)
    label_smoothing = model.hparams.label_smoothing

    def step(inputs, targets):
        _, losses = model({"inputs": inputs, "targets": targets})
        return losses["training"]

    return model, step, label_smoothing


def build_peer(size: str, label_smoothing: float = 0.1):
    """Hugging Face MarianMTModel of the same size and its step(inputs, targets) -> loss."""
    import torch.nn.functional as F
    from transformers import MarianConfig, MarianMTModel

    _, d_model, layers, heads, ffn, vocab = SIZES[size]
    config = MarianConfig(
        vocab_size=vocab,
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=ffn,
        decoder_ffn_dim=ffn,
        dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.1,
        activation_function="relu",
        max_position_embeddings=1024,
        pad_token_id=0,
        decoder_start_token_id=0,
        scale_embedding=True,
    )
    model = MarianMTModel(config)

    def step(inputs, targets):
        # Decoder inputs = targets shifted right behind the start id, as T2T's shift_right.
        decoder_inputs = F.pad(targets, (1, 0))[:, :-1]
        out = model(
            input_ids=inputs,
            attention_mask=(inputs != 0).long(),
            decoder_input_ids=decoder_inputs,
        )
        return F.cross_entropy(
            out.logits.float().reshape(-1, vocab),
            targets.reshape(-1),
            ignore_index=0,
            label_smoothing=label_smoothing,
        )

    return model, step


def _setup(args):
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return torch, device


def _batch(torch, size: str, args, device):
    vocab = SIZES[size][-1]
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randint(2, vocab, (args.batch, args.length), generator=generator)
    targets = torch.randint(2, vocab, (args.batch, args.length), generator=generator)
    return inputs.to(device), targets.to(device)


def _autocast(torch, device, args):
    from contextlib import nullcontext

    if device.type == "cuda" and args.dtype == "bfloat16":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


def _models(size: str, device):
    """{"t2t": (model, step), "marian": (model, step)} on device, in training mode."""
    ours, our_step, label_smoothing = build_ours(size)
    peer, peer_step = build_peer(size, label_smoothing)
    models = {"t2t": (ours, our_step), "marian": (peer, peer_step)}
    for model, _ in models.values():
        model.to(device).train()
    return models


def _run_steps(torch, model, step, batch, count: int, device, args) -> tuple[float, float]:
    """Runs `count` forward+backward steps; returns (wall, process CPU) seconds per step."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(count):
        model.zero_grad(set_to_none=True)
        with _autocast(torch, device, args):
            loss = step(*batch)
        loss.backward()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / count, (time.process_time() - cpu_start) / count


def speed(size: str, args) -> dict:
    """Alternating rounds of both models of `size`; best seconds per step of each."""
    torch, device = _setup(args)
    models = _models(size, device)
    batch = _batch(torch, size, args, device)
    best = {name: float("inf") for name in models}
    best_cpu = dict(best)
    cuda_peak_mb = {name: 0.0 for name in models}
    for model, step in models.values():
        _run_steps(torch, model, step, batch, args.warmup, device, args)
    param_mb = {
        name: sum(p.numel() * p.element_size() for p in model.parameters()) / 2**20
        for name, (model, _) in models.items()
    }
    for _ in range(args.repeats):
        for name, (model, step) in models.items():
            if device.type == "cuda":
                # Only the other model's weights stay allocated (its gradients are freed), so
                # its share is subtracted from the peak.
                for other, _ in models.values():
                    other.zero_grad(set_to_none=True)
                torch.cuda.reset_peak_memory_stats()
            seconds, cpu_seconds = _run_steps(torch, model, step, batch, args.steps, device, args)
            best[name] = min(best[name], seconds)
            best_cpu[name] = min(best_cpu[name], cpu_seconds)
            if device.type == "cuda":
                others = sum(mb for other, mb in param_mb.items() if other != name)
                peak = torch.cuda.max_memory_allocated() / 2**20 - others
                cuda_peak_mb[name] = max(cuda_peak_mb[name], peak)
    tokens = args.batch * args.length
    rows = {}
    for name, (model, _) in models.items():
        params = sum(p.numel() for p in model.parameters() if p.requires_grad)
        tokens_per_s = tokens / best[name]
        rows[name] = {
            "params": params,
            "step_s": best[name],
            "tokens_per_s": tokens_per_s,
            "tokens_per_cpu_s": tokens / best_cpu[name],
            "mfu": 6 * params * tokens_per_s / args.peak_flops,
            "peak_mb": cuda_peak_mb[name] if device.type == "cuda" else None,
        }
    return {"threads": torch.get_num_threads(), "rows": rows}


def cpu_memory(which: str, size: str, args) -> float:
    """Peak resident MB over a few steps of one model, in this (fresh) process."""
    torch, device = _setup(args)
    if which == "t2t":
        model, step, _ = build_ours(size)
    else:
        model, step = build_peer(size)
    model.train()
    batch = _batch(torch, size, args, device)
    _run_steps(torch, model, step, batch, 1, device, args)
    _reset_peak_rss()
    _run_steps(torch, model, step, batch, 2, device, args)
    return _rss_mb("VmHWM")


def profile(which: str, size: str, args) -> None:
    """Prints the ops that take the most time in one step (torch.profiler)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    torch, device = _setup(args)
    if which == "t2t":
        model, step, _ = build_ours(size)
    else:
        model, step = build_peer(size)
    model.to(device).train()
    batch = _batch(torch, size, args, device)
    _run_steps(torch, model, step, batch, 2, device, args)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with torch_profile(activities=activities) as prof:
        _run_steps(torch, model, step, batch, args.steps, device, args)
    sort = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=30))


def _child(args, *extra: str) -> dict:
    """Runs this script in a fresh process with the same settings; returns its JSON line."""
    cmd = [sys.executable, os.path.abspath(__file__), *extra]
    for flag in ("steps", "repeats", "warmup", "batch", "length", "threads", "device", "dtype"):
        cmd += [f"--{flag}", str(getattr(args, flag))]
    cmd += ["--peak-flops", str(args.peak_flops)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _versions() -> str:
    import torch
    import transformers

    return f"torch {torch.__version__}, transformers {transformers.__version__}"


def report(results: dict, args) -> None:
    """Prints the table and the t2t / peer ratios."""
    cuda = args.device.startswith("cuda")
    print(
        f"{args.device}{' ' + args.dtype + ' autocast' if cuda else ''}, {_versions()}, "
        f"threads {results[next(iter(results))]['threads']}; batch {args.batch} x length "
        f"{args.length} ({args.batch * args.length} target tokens per step); forward+backward"
        f" with label-smoothed loss, train mode; best of {args.repeats} alternating rounds "
        f"of {args.steps} steps"
    )
    mfu_header = f" {'MFU':>6}" if cuda else ""
    print(
        f"{'size':5} {'model':7} {'params':>12} {'step s':>8} {'tokens/s':>10} "
        f"{'tok/CPU-s':>10} {'peak MB':>9}{mfu_header}"
    )
    for size, result in results.items():
        for name, r in result["rows"].items():
            mfu = f" {r['mfu']:>6.1%}" if cuda else ""
            print(
                f"{size:5} {name:7} {r['params']:>12,} {r['step_s']:>8.3f} "
                f"{r['tokens_per_s']:>10,.0f} {r['tokens_per_cpu_s']:>10,.0f} "
                f"{r['peak_mb']:>9,.0f}{mfu}"
            )
    for size, result in results.items():
        ours, peer = result["rows"]["t2t"], result["rows"]["marian"]
        print(
            f"{size}: speed t2t/marian = {ours['tokens_per_s'] / peer['tokens_per_s']:.2f}x, "
            f"per CPU-second {ours['tokens_per_cpu_s'] / peer['tokens_per_cpu_s']:.2f}x, "
            f"peak memory t2t/marian = {ours['peak_mb'] / peer['peak_mb']:.2f}x"
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,base", help="comma list of tiny, base, big")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument("--repeats", type=int, default=3, help="alternating rounds")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per model")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=32, help="input and target length")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--dtype", default="bfloat16", help="CUDA autocast dtype, or float32")
    parser.add_argument(
        "--peak-flops",
        type=float,
        default=H100_BF16_DENSE_FLOPS,
        help="peak FLOP/s for MFU (default: H100 SXM bf16 dense)",
    )
    parser.add_argument("--profile", nargs=2, metavar=("WHICH", "SIZE"))
    parser.add_argument("--speed-of", metavar="SIZE", help=argparse.SUPPRESS)
    parser.add_argument("--memory-of", nargs=2, metavar=("WHICH", "SIZE"), help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.profile:
        profile(*args.profile, args)
        return
    if args.speed_of:
        print(json.dumps(speed(args.speed_of, args)))
        return
    if args.memory_of:
        print(json.dumps(cpu_memory(*args.memory_of, args)))
        return
    results = {}
    for size in args.sizes.split(","):
        results[size] = _child(args, "--speed-of", size)
        if not args.device.startswith("cuda"):
            for name, row in results[size]["rows"].items():
                row["peak_mb"] = _child(args, "--memory-of", name, size)
    report(results, args)


if __name__ == "__main__":
    main()
