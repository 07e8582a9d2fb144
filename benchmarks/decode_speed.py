"""Decoding speed: our beam search and greedy decoding against Hugging Face and CTranslate2.

    .venv/bin/python benchmarks/decode_speed.py [--sizes tiny,base] [--batch 32] [--beam 4]
        [--alpha 0.6] [--source_length 32] [--decode_length 32] [--repeat 3]
        [--threads 2] [--device cpu|cuda] [--systems t2t,hf,ct2]
        [--step_mode module|static|compiled[,...]]

For each model size, three systems decode the same random source batch (no padding):

* ``t2t``: our Transformer (`transformer_tiny` / `transformer_base`, random init), the fast
  cached path `t2t.decode.protocol.infer` takes (encoder once, `decode_step`, `run_search`);
* ``hf``: Hugging Face `MarianMTModel` built from a config of the same size (no weights
  downloaded), ``generate(num_beams=..., length_penalty=alpha)``;
* ``ct2``: that same Marian model converted with CTranslate2's Transformers converter,
  ``Translator.translate_batch(beam_size=...)`` in float32;
* ``t2t:static``, ``t2t:compiled`` (with ``--step_mode``): ours with the static-shape
  decoding step, eager or compiled (`t2t.decode.fast_step`); the compile happens in the
  warm-up run, which is not timed;
* ``ct2ours`` (not in the default list): our Transformer itself, converted by t2t-exporter's
  converter (`t2t.export.ctranslate2_export`), so CTranslate2 runs the very same weights.

Equal work: every system generates exactly ``--decode_length`` tokens per sentence. The
EOS logit is suppressed at every step (HF: ``min_new_tokens = max_new_tokens``; CT2:
``min_decoding_length = max_decoding_length``; ours: the step function sets the EOS logit
to -1e9, the same kind of mask). With random weights EOS would otherwise end sentences at
arbitrary, system-dependent steps, and a beam search that stops early is not comparable.
The cost of the mask is a few element-wise ops per step in every system.

Runs alternate the systems (t2t, hf, ct2, t2t, hf, ct2, ...) and keep the best of
``--repeat`` runs, since the machine may be shared. The process first applies the glibc
malloc settings that `t2t-decoder` applies (`t2t.decode.malloc.keep_freed_memory`; all
three systems share the process, so all run with them; ``--no_keep_freed_memory`` skips).
Reports sentences/s and ratios.
Needs the benchmark extras `transformers`, `ctranslate2` and `sentencepiece`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable

import torch

from t2t.decode.malloc import keep_freed_memory

SIZES = {
    # name: (hparams set, d_model, layers, heads, ffn, vocab); vocabularies as model_step.py
    "tiny": ("transformer_tiny", 128, 2, 4, 512, 8000),
    "base": ("transformer_base", 512, 6, 8, 2048, 32000),
}
EOS_ID = 1  # ours
SUPPRESSED = -1.0e9


def build_ours(size: str, device: str) -> torch.nn.Module:
    """Our Transformer of `size` with random weights, in eval mode."""
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
    return create_model("transformer", hparams_set, problem_hparams=problem).to(device).eval()


def build_hf(size: str, device: str):
    """MarianMTModel of the same size (post-norm, sinusoids, tied embeddings), random init."""
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
        activation_function="relu",
        max_position_embeddings=512,
        # Marian's ids: EOS 0, pad = decoder start = last id (the converter drops it).
        eos_token_id=0,
        pad_token_id=vocab - 1,
        decoder_start_token_id=vocab - 1,
        forced_eos_token_id=None,
        scale_embedding=True,
    )
    torch.manual_seed(0)
    return MarianMTModel(config).to(device).eval()


class _Vocabulary:
    """What CTranslate2's Marian loader reads from a tokenizer: the vocabulary and 2 tokens."""

    eos_token = "</s>"
    unk_token = "<unk>"

    def __init__(self, size: int) -> None:
        names = [self.eos_token, self.unk_token] + [f"w{i}" for i in range(2, size - 1)]
        self.vocab = {name: i for i, name in enumerate(names + ["<pad>"])}

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)


def build_ct2(hf_model, size: str, directory: str, device: str, threads: int):
    """Converts the Marian model with CTranslate2's converter; returns (translator, tokens)."""
    import ctranslate2
    from ctranslate2.converters import TransformersConverter

    vocab = SIZES[size][-1]

    class _Converter(TransformersConverter):
        # No tokenizer files exist for a random model: hand the loader our vocabulary.
        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return _Vocabulary(vocab)

    hf_dir, ct2_dir = os.path.join(directory, "hf"), os.path.join(directory, "ct2")
    hf_model.save_pretrained(hf_dir)
    _Converter(hf_dir).convert(ct2_dir, quantization="float32", force=True)
    translator = ctranslate2.Translator(
        ct2_dir, device=device, compute_type="float32", intra_threads=threads, inter_threads=1
    )
    names = sorted(_Vocabulary(vocab).vocab, key=_Vocabulary(vocab).vocab.get)
    return translator, names


def build_ct2_ours(model, directory: str, device: str, threads: int):
    """Our model through t2t-exporter's CTranslate2 converter; returns the translator."""
    import ctranslate2

    from t2t.export import ctranslate2_export

    path = ctranslate2_export.convert(model, os.path.join(directory, "ct2ours"))
    return ctranslate2.Translator(
        path, device=device, compute_type="float32", intra_threads=threads, inter_threads=1
    )


def suppress_eos(model) -> None:
    """Wraps the model's `decode_step` so the EOS logit is -1e9 at every step."""
    decode_step = model.decode_step

    def step(ids, i, states):
        logits, states = decode_step(ids, i, states)
        logits[:, EOS_ID] = SUPPRESSED
        return logits, states

    model.decode_step = step


def run_ours(
    model, inputs: torch.Tensor, beam: int, alpha: float, length: int, step_mode: str = "module"
) -> torch.Tensor:
    """`t2t.decode.protocol.infer` (T2T's fast decoding); decode length counts past the source."""
    from t2t.decode import protocol

    result = protocol.infer(
        model,
        {"inputs": inputs},
        decode_length=length - inputs.shape[1],
        beam_size=beam,
        alpha=alpha,
        step_mode=step_mode,
    )
    return result["outputs"]


def run_hf(model, inputs: torch.Tensor, beam: int, alpha: float, length: int) -> torch.Tensor:
    # Greedy takes no length penalty (generate warns when given one).
    beam_args = dict(length_penalty=alpha, early_stopping=False) if beam > 1 else {}
    with torch.inference_mode():
        out = model.generate(
            input_ids=inputs,
            attention_mask=torch.ones_like(inputs),
            num_beams=beam,
            do_sample=False,
            min_new_tokens=length,
            max_new_tokens=length,
            num_return_sequences=1,
            **beam_args,
        )
    return out[:, 1:]  # drop the decoder start token


def run_ct2(translator, names, sources: list[list[str]], beam: int, alpha: float, length: int):
    results = translator.translate_batch(
        sources,
        beam_size=beam,
        length_penalty=alpha,
        max_batch_size=len(sources),
        min_decoding_length=length,
        max_decoding_length=length,
        return_scores=False,
    )
    return [r.hypotheses[0] for r in results]


def _time(fn: Callable[[], object], sync: Callable[[], None]) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of the whole process, fn's result)."""
    start, start_cpu = time.perf_counter(), time.process_time()
    out = fn()
    sync()
    return time.perf_counter() - start, time.process_time() - start_cpu, out


def bench_size(size: str, args: argparse.Namespace) -> list[dict]:
    """Times every system on one size; returns rows {size, search, system, sent_s, length}."""
    vocab = SIZES[size][-1]
    torch.manual_seed(1)
    # Our ids 2.. are words; the Marian model gets the same ids (its EOS 0 and pad vocab-1
    # never occur in the source). Sources have no EOS: equal inputs for all three systems.
    inputs = torch.randint(2, vocab - 1, (args.batch, args.source_length), device=args.device)
    systems = args.systems.split(",")
    runners: dict[str, Callable[[int], object]] = {}
    tmp = tempfile.TemporaryDirectory()
    if "t2t" in systems or "ct2ours" in systems:
        ours = build_ours(size, args.device)
    if "ct2ours" in systems:
        from t2t.runs.export_dir import ct2_tokens

        ours_translator = build_ct2_ours(ours, tmp.name, args.device, args.threads)
        ours_sources = [ct2_tokens(row) for row in inputs.tolist()]
        runners["ct2ours"] = lambda b: run_ct2(
            ours_translator, None, ours_sources, b, args.alpha, args.decode_length
        )
    if "t2t" in systems:
        suppress_eos(ours)
        for mode in args.step_mode.split(","):
            name = "t2t" if mode == "module" else f"t2t:{mode}"
            runners[name] = lambda b, mode=mode: run_ours(
                ours, inputs, b, args.alpha, args.decode_length, mode
            )
    if "hf" in systems or "ct2" in systems:
        hf = build_hf(size, args.device)
        runners["hf"] = lambda b: run_hf(hf, inputs, b, args.alpha, args.decode_length)
    if "ct2" in systems:
        translator, names = build_ct2(hf, size, tmp.name, args.device, args.threads)
        sources = [[names[i] for i in row] for row in inputs.tolist()]
        runners["ct2"] = lambda b: run_ct2(
            translator, names, sources, b, args.alpha, args.decode_length
        )
    if "hf" not in systems:
        runners.pop("hf", None)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    rows = []
    for search, beam in (("beam", args.beam), ("greedy", 1)):
        for fn in runners.values():
            fn(beam)  # warm-up: allocator, one-off kernels
        best = {name: [float("inf"), float("inf")] for name in runners}  # wall, CPU
        lengths = {}
        for _ in range(args.repeat):
            for name, fn in runners.items():  # alternating A B C A B C
                wall, cpu, out = _time(lambda fn=fn, beam=beam: fn(beam), sync)
                best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
                lengths[name] = _generated_length(out)
        for name, (wall, cpu) in best.items():
            rows.append(
                dict(size=size, search=search, system=name, seconds=wall, cpu_seconds=cpu,
                     sent_s=args.batch / wall, sent_cpu_s=args.batch / cpu,
                     length=lengths[name])
            )  # fmt: skip
    tmp.cleanup()
    return rows


def _generated_length(out) -> int:
    """Tokens per sentence of a system's output (a [B, L] tensor or CT2's token lists)."""
    if isinstance(out, torch.Tensor):
        return int(out.shape[-1])
    return max(len(hyp) for hyp in out)


def print_table(rows: list[dict], key: str, title: str) -> None:
    """One line per (size, search, system): rows[key] (sentences per second) and ratios."""
    seconds = "cpu_seconds" if key == "sent_cpu_s" else "seconds"
    print(f"\n{title}")
    print(f"{'size':5s} {'search':7s} {'system':12s} {'sent/s':>9s} {'s/batch':>8s} "
          f"{'tokens':>6s} {'vs hf':>6s} {'vs ct2':>7s}")  # fmt: skip
    for row in rows:
        peers = {
            r["system"]: r[key]
            for r in rows
            if (r["size"], r["search"]) == (row["size"], row["search"])
        }
        ratios = [f"{row[key] / peers[p]:.2f}x" if p in peers else "-" for p in ("hf", "ct2")]
        print(
            f"{row['size']:5s} {row['search']:7s} {row['system']:12s} {row[key]:9.1f} "
            f"{row[seconds]:8.3f} {row['length']:6d} {ratios[0]:>6s} {ratios[1]:>7s}"
        )


def add_decode_arguments(parser: argparse.ArgumentParser, threads: int) -> None:
    """The flags that set what is decoded and how often (shared with decode_floor.py)."""
    parser.add_argument("--sizes", default="tiny,base")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--alpha", type=float, default=0.6)
    parser.add_argument("--source_length", type=int, default=32)
    parser.add_argument("--decode_length", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_decode_arguments(parser, threads=2)
    parser.add_argument("--systems", default="t2t,hf,ct2")
    parser.add_argument(
        "--step_mode",
        default="module",
        help="ours: comma-separated decoding step modes, each timed as a system "
        "(module, static, compiled; see t2t/decode/fast_step.py)",
    )
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--no_keep_freed_memory",
        action="store_true",
        help="skip the glibc malloc settings t2t-decoder applies (see t2t/decode/malloc.py)",
    )
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device visible to torch")
    torch.set_num_threads(args.threads)
    # What t2t-decoder does at start. It is process-wide, so all three systems run with it.
    kept = False if args.no_keep_freed_memory else keep_freed_memory()
    print(
        f"torch {torch.__version__}, {args.threads} threads, device {args.device}, "
        f"batch {args.batch}, beam {args.beam}, alpha {args.alpha}, "
        f"source {args.source_length} tokens, exactly {args.decode_length} generated, "
        f"keep_freed_memory {kept}"
    )
    rows = []
    for size in args.sizes.split(","):
        rows += bench_size(size, args)
    print_table(rows, "sent_s", "Wall clock (best of --repeat): sentences per second")
    # On a shared machine a process may wait for a core; its CPU time does not count the
    # wait, so with --threads 1 it is the steadier measure of the work each system does.
    print_table(rows, "sent_cpu_s", "Process CPU time (best of --repeat): sentences per CPU-second")


if __name__ == "__main__":
    main()
