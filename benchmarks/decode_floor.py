"""How fast can a float32 decoder of this size be here? The matrix products alone, timed.

    .venv/bin/python benchmarks/decode_floor.py [--sizes tiny,base] [--batch 32] [--beam 4]
        [--source_length 32] [--decode_length 32] [--repeat 3] [--threads 1]

A Transformer decode multiplies activations by weight matrices: the encoder's projections
and feed-forward layers over every source token, the memory keys and values of every
decoder layer, then at each step the decoder layers' projections and the output layer
over the vocabulary. This script runs only those products, in a decode's order, with
separate random weights per layer (so the weights move through the caches as in a real
decode), on exactly the shapes our decoder multiplies in `decode_speed.py`'s decode
(tests/decode/test_decode_floor.py checks them against a real decode). Nothing else runs:
no attention over positions, softmax, layer norm, search or Python model code. Each
sequence runs with plain `torch.nn.functional.linear` and with MKL-packed weights (what
`t2t-decoder` uses on x86 CPUs); the faster is the floor.

So the floor is a lower bound on the time of any float32 decoder of this model whose
products run at MKL's speed on this machine, and Hugging Face's time over the floor is
the most any such decoder can be faster than Hugging Face. The same run times Hugging
Face `generate` and ours on the same batch (models and settings of `decode_speed.py`),
alternating the four (ours, Hugging Face, plain floor, packed floor). Columns: seconds a
batch of the floor, ours and Hugging Face's; hf/floor, the most any such decoder can
reach; hf/t2t, ours; hf/2-floor, the seconds left for everything but the products in a
decoder twice as fast as Hugging Face (negative: not possible).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import decode_speed as speed  # noqa: E402  (this folder is not a package)

from t2t.decode.malloc import keep_freed_memory  # noqa: E402
from t2t.layers.packed_linear import packing_available  # noqa: E402


def product_shapes(size: str, batch: int, beam: int, source: int, length: int):
    """The decode's products in order: a list of (weight name, rows, in, out).

    Step 0 of a beam search runs on one row per example (ours does; fewer rows only lower
    the floor), the other steps on batch * beam rows. Every step reuses the same weights.
    """
    _, d, layers, _, ffn, vocab = speed.SIZES[size]
    tokens = batch * source
    square = ("q", "k", "v", "o")
    shapes = []
    for n in range(layers):  # encoder: attention projections, feed-forward
        shapes += [(f"enc{n}.{p}", tokens, d, d) for p in square]
        shapes += [(f"enc{n}.ffn1", tokens, d, ffn), (f"enc{n}.ffn2", tokens, ffn, d)]
    for n in range(layers):  # every decoder layer's memory keys and values
        shapes += [(f"dec{n}.mem_k", tokens, d, d), (f"dec{n}.mem_v", tokens, d, d)]
    for step in range(length):
        rows = batch if step == 0 else batch * beam
        for n in range(layers):  # self-attention, memory attention's q and o, feed-forward
            names = [f"dec{n}.{p}" for p in square] + [f"dec{n}.mem_q", f"dec{n}.mem_o"]
            shapes += [(name, rows, d, d) for name in names]
            shapes += [(f"dec{n}.ffn1", rows, d, ffn), (f"dec{n}.ffn2", rows, ffn, d)]
        shapes.append(("softmax", rows, d, vocab))
    return shapes


def build_products(shapes, packed: bool) -> list[Callable[[], torch.Tensor]]:
    """One closure per product; a weight per name (packed per height if asked)."""
    weights, packs, inputs, calls = {}, {}, {}, []
    for name, rows, n_in, n_out in shapes:
        if name not in weights:
            weights[name] = torch.randn(n_out, n_in) * n_in**-0.5
        weight = weights[name]
        if (rows, n_in) not in inputs:
            inputs[rows, n_in] = torch.randn(rows, n_in)
        x = inputs[rows, n_in]
        if packed:
            if (name, rows) not in packs:
                packs[name, rows] = torch.ops.mkl._mkl_reorder_linear_weight(weight, rows)
            pack = packs[name, rows]
            calls.append(lambda x=x, p=pack, w=weight, r=rows: torch.ops.mkl._mkl_linear(
                x, p, w, None, r))  # fmt: skip
        else:
            calls.append(lambda x=x, w=weight: F.linear(x, w))
    return calls


def run_all(calls) -> None:
    for call in calls:
        call()


def best_seconds(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Best of `repeat` runs of each function, alternating them (A B C A B C ...) after a
    warm-up: process CPU time with one thread (steadier on a shared machine), wall clock
    with more (CPU time would add up the threads)."""
    clock = time.process_time if torch.get_num_threads() == 1 else time.perf_counter
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeat):
        for name, fn in fns.items():
            start = clock()
            fn()
            best[name] = min(best[name], clock() - start)
    return best


def compare(size: str, args: argparse.Namespace) -> None:
    """Prints the floor, our time and Hugging Face's for beam search and greedy."""
    vocab = speed.SIZES[size][-1]
    torch.manual_seed(1)
    inputs = torch.randint(2, vocab - 1, (args.batch, args.source_length))
    ours = speed.build_ours(size, "cpu")
    speed.suppress_eos(ours)
    hf = speed.build_hf(size, "cpu")
    length = args.decode_length
    for search, beam in (("beam", args.beam), ("greedy", 1)):
        shapes = product_shapes(size, args.batch, beam, args.source_length, length)
        fns = {
            "t2t": lambda b=beam: speed.run_ours(ours, inputs, b, args.alpha, length),
            "hf": lambda b=beam: speed.run_hf(hf, inputs, b, args.alpha, length),
        }
        for packed in (False, True) if packing_available() else (False,):
            calls = build_products(shapes, packed)
            fns[f"floor_{packed}"] = lambda calls=calls: run_all(calls)
        best = best_seconds(fns, args.repeat)
        floor = min(t for name, t in best.items() if name.startswith("floor"))
        t2t, theirs = best["t2t"], best["hf"]
        print(
            f"{size:5s} {search:7s} {floor:7.3f} {t2t:7.3f} {theirs:7.3f} "
            f"{theirs / floor:8.2f}x {theirs / t2t:6.2f}x {theirs / 2 - floor:11.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    speed.add_decode_arguments(parser, threads=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()
    print(
        f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, beam "
        f"{args.beam}, source {args.source_length} tokens, {args.decode_length} generated; "
        f"{'process CPU' if args.threads == 1 else 'wall-clock'} seconds per batch, best of "
        f"{args.repeat}"
    )
    print(f"\n{'size':5s} {'search':7s} {'floor':>7s} {'t2t':>7s} {'hf':>7s} "
          f"{'hf/floor':>9s} {'hf/t2t':>7s} {'hf/2-floor':>11s}")  # fmt: skip
    for size in args.sizes.split(","):
        compare(size, args)


if __name__ == "__main__":
    main()
