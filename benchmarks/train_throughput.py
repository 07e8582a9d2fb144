"""Training throughput of the whole trainer (input pipeline + step) against a peer trainer.

Ours: `t2t.train.trainer.train` on a synthetic translate-like problem written as a TFRecord
shard of `tf.Example`s (source lengths log-normal around 20 tokens, target about as long,
Zipf-distributed ids, EOS-terminated), read by `t2t.problems.pipeline.make_batches` (T2T's
length buckets, batches of about `--batch-size` tokens, shuffling), with the hparams set's
own optimizer (T2T's Adam) and learning-rate schedule.

Peer: Hugging Face `Seq2SeqTrainer` on `MarianMTModel` of the same size (built from a
config, no weights), with the same label smoothing, Adam betas/epsilon, no gradient
clipping (as transformer_base), and the SAME token batches: the batches our pipeline
yields (same seed) are recorded once, unpadded, and the peer reads them from an in-memory
dataset through a DataLoader with a batch sampler and a padding collator (the usual HF
set-up: a tokenized dataset in memory and a collator). `get_train_dataloader` is overridden
for that (Trainer itself batches by a fixed number of examples, not by tokens). So the peer
does no record decoding or bucketing in the timed loop, which favours it.

Timing: steady-state tokens/s = non-padding target tokens of the timed steps / their wall
time (data loading included), after `--warmup` untimed steps; ours is timed between the
trainer's requests for batches, the peer's between Trainer callbacks at each step's end.
The final checkpoint ours writes at the last step (and the set-up of either trainer) is not
timed. Runs alternate ours / peer, `--repeats` times, each a fresh training run from
initialisation; a trainer's figure is its best run. Tokens per CPU-second of the process
(best run) is printed too: with `--threads 1` on a shared machine it is the steadier figure.

    .venv/bin/python benchmarks/train_throughput.py [--sizes tiny,base] [--steps 8]
    .venv/bin/python benchmarks/train_throughput.py --device cuda --sizes base,big \
        --batch-size 8192 --steps 50     # bf16 autocast both sides; prints MFU

MFU = 6 x trainable params x target tokens/s / --peak-flops (default: H100 bf16 dense).
Needs `transformers` and `accelerate` (benchmark extras).
"""

import argparse
import math
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_step  # noqa: E402  (the shared model sizes and the peer's config)

H100_BF16_DENSE_FLOPS = model_step.H100_BF16_DENSE_FLOPS
SIZES = model_step.SIZES
NUM_EXAMPLES = 20000


# ---- the synthetic problem and its data ------------------------------------------------------


def synthetic_problem(vocab_size: int):
    """An (unregistered) translate-like Problem with symbol inputs/targets of vocab_size."""
    from t2t.problems import problem as problem_lib

    class SyntheticTranslate(problem_lib.Problem):
        @property
        def batch_size_means_tokens(self) -> bool:
            return True

        def hparams(self, defaults, model_hparams) -> None:
            defaults.modality = {"inputs": "symbol", "targets": "symbol"}
            defaults.vocab_size = {"inputs": vocab_size, "targets": vocab_size}
            defaults.input_space_id = problem_lib.SpaceID.EN_TOK
            defaults.target_space_id = problem_lib.SpaceID.DE_TOK

    return SyntheticTranslate()


def _sentence(rng: np.random.Generator, length: int, vocab_size: int) -> list[int]:
    ids = 2 + (rng.zipf(1.3, size=length) - 1) % (vocab_size - 2)
    return ids.tolist() + [1]  # EOS


def write_data(problem, data_dir: str, vocab_size: int, seed: int = 0) -> None:
    """One training shard of NUM_EXAMPLES translate-like examples, T2T's file naming."""
    from t2t.data import example_codec

    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(NUM_EXAMPLES):
        source = int(np.clip(rng.lognormal(math.log(20), 0.5), 2, 120))
        target = int(np.clip(round(source * rng.uniform(0.8, 1.25)), 2, 120))
        examples.append(
            {
                "inputs": _sentence(rng, source, vocab_size),
                "targets": _sentence(rng, target, vocab_size),
            }
        )
    [path] = problem.training_filepaths(data_dir, 1, shuffled=True)
    example_codec.write_examples(path, examples)


# ---- ours ---------------------------------------------------------------------------------


class TimedBatches:
    """Passes batches through, recording the time at which each one is asked for.

    On CUDA the device is synchronised before the timestamps in `sync_at` (the window's
    ends), so that queued kernels are counted and the steps in between are not slowed.
    """

    def __init__(self, batches, sync_at: tuple[int, ...] = ()) -> None:
        self.batches = batches
        self.sync_at = set(sync_at)
        self.times: list[tuple[float, float]] = []
        self.tokens: list[int] = []

    def __iter__(self):
        import torch

        for batch in self.batches:
            if len(self.times) in self.sync_at:
                torch.cuda.synchronize()
            self.times.append(_now())
            self.tokens.append(int((batch["targets"] != 0).sum()))
            yield batch

    def state_dict(self):
        return self.batches.state_dict()

    def load_state_dict(self, state) -> None:
        self.batches.load_state_dict(state)


def _our_hparams(size: str, args):
    from t2t import registry

    hparams = registry.hparams(SIZES[size][0])
    hparams.batch_size = args.batch_size
    return hparams


def record_batches(size: str, args, data_dir: str, count: int) -> list[dict]:
    """The first `count` training batches our pipeline yields, as unpadded id lists."""
    from t2t.problems.pipeline import make_batches

    problem = synthetic_problem(SIZES[size][-1])
    batches = make_batches(problem, "train", _our_hparams(size, args), data_dir, seed=1)
    recorded = []
    for batch, _ in zip(batches, range(count)):
        recorded.append(
            {
                name: [[int(i) for i in row if i != 0] for row in batch[name].tolist()]
                for name in ("inputs", "targets")
            }
        )
    return recorded


def run_ours(size: str, args, data_dir: str) -> dict:
    """One fresh training run; returns steady-state figures."""
    from t2t import registry
    from t2t.problems.pipeline import make_batches
    from t2t.train import trainer
    from t2t.train.learning_rate import learning_rate_schedule

    hparams = _our_hparams(size, args)
    problem = synthetic_problem(SIZES[size][-1])
    cuda = args.device.startswith("cuda")
    first, last = args.warmup, args.warmup + args.steps
    batches = TimedBatches(
        make_batches(problem, "train", hparams, data_dir, seed=1),
        sync_at=(first, last) if cuda else (),
    )
    model = registry.model("transformer")(hparams, problem.get_hparams(hparams))
    with tempfile.TemporaryDirectory() as output_dir:
        config = trainer.TrainConfig.from_hparams(
            hparams,
            output_dir=output_dir,
            train_steps=args.warmup + args.steps + 1,
            save_checkpoints_steps=10**9,
            log_every_steps=10**9,
            seed=1,
            device=args.device,
            autocast_dtype="bfloat16" if cuda else None,
            progress_bar=False,
            tensorboard=False,
        )
        trainer.train(
            model,
            lambda params: registry.optimizer(hparams.optimizer)(params, hparams),
            learning_rate_schedule(hparams),
            batches,
            config,
        )
    # times[i]: batch i requested = steps 0..i-1 done. Timed: steps warmup .. warmup+steps-1.
    window = (batches.times[first], batches.times[last])
    return _figures(model, sum(batches.tokens[first:last]), window, args)


# ---- the peer -----------------------------------------------------------------------------


class _RecordedDataset:
    """Examples in the order of the recorded batches (an in-memory tokenized dataset)."""

    def __init__(self, recorded: list[dict]) -> None:
        self.examples = [
            {"input_ids": src, "labels": tgt}
            for batch in recorded
            for src, tgt in zip(batch["inputs"], batch["targets"])
        ]
        self.batch_indices, start = [], 0
        for batch in recorded:
            self.batch_indices.append(list(range(start, start + len(batch["inputs"]))))
            start += len(batch["inputs"])

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int) -> dict:
        return self.examples[index]


def _collate(examples: list[dict]) -> dict:
    """Pads to the longest row: input_ids/attention_mask, labels (-100), decoder_input_ids."""
    import torch

    def pad(rows, value):
        width = max(len(r) for r in rows)
        return torch.tensor([r + [value] * (width - len(r)) for r in rows], dtype=torch.long)

    input_ids = pad([e["input_ids"] for e in examples], 0)
    labels = pad([e["labels"] for e in examples], -100)
    decoder_input_ids = torch.nn.functional.pad(labels.clamp(min=0), (1, 0))[:, :-1]
    return {
        "input_ids": input_ids,
        "attention_mask": (input_ids != 0).long(),
        "decoder_input_ids": decoder_input_ids,
        "labels": labels,
    }


def run_peer(size: str, args, recorded: list[dict]) -> dict:
    """One fresh Seq2SeqTrainer run on the recorded batches; returns steady-state figures."""
    import torch
    from transformers import (
        PrinterCallback,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        TrainerCallback,
    )

    dataset = _RecordedDataset(recorded)
    model, _ = model_step.build_peer(size)
    times: list[tuple[float, float]] = []

    first, last = args.warmup - 1, args.warmup + args.steps - 1

    class StepTimes(TrainerCallback):
        def on_step_end(self, *_, **__):
            # On CUDA, synchronise only at the window's ends, as for ours.
            if args.device.startswith("cuda") and len(times) in (first, last):
                torch.cuda.synchronize()
            times.append(_now())

    class TokenBatchTrainer(Seq2SeqTrainer):
        def get_train_dataloader(self):
            return torch.utils.data.DataLoader(
                dataset, batch_sampler=dataset.batch_indices, collate_fn=_collate
            )

    with tempfile.TemporaryDirectory() as output_dir:
        training_args = Seq2SeqTrainingArguments(
            output_dir=output_dir,
            max_steps=args.warmup + args.steps + 1,
            learning_rate=2e-4,
            warmup_steps=100,
            adam_beta1=0.9,
            adam_beta2=0.997,
            adam_epsilon=1e-9,
            weight_decay=0.0,
            max_grad_norm=0.0,
            label_smoothing_factor=0.1,
            logging_strategy="no",
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            use_cpu=not args.device.startswith("cuda"),
            bf16=args.device.startswith("cuda"),
            dataloader_num_workers=0,
            seed=1,
        )
        peer = TokenBatchTrainer(model=model, args=training_args, callbacks=[StepTimes()])
        peer.remove_callback(PrinterCallback)  # it prints the final metrics dict
        peer.train()
    # times[i]: end of step i. Timed: steps warmup .. warmup+steps-1 (as ours).
    tokens = sum(
        sum(len(row) for row in batch["targets"]) for batch in recorded[args.warmup : last + 1]
    )
    return _figures(model, tokens, (times[first], times[last]), args)


def _now() -> tuple[float, float]:
    """(wall clock, CPU time of this process) in seconds."""
    return time.perf_counter(), time.process_time()


def _figures(model, tokens: int, window, args) -> dict:
    """Figures of `tokens` trained between the (wall, cpu) timestamps window[0], window[1]."""
    (wall_start, cpu_start), (wall_end, cpu_end) = window
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    tokens_per_s = tokens / (wall_end - wall_start)
    return {
        "params": params,
        "tokens": tokens,
        "seconds": wall_end - wall_start,
        "tokens_per_s": tokens_per_s,
        "tokens_per_cpu_s": tokens / (cpu_end - cpu_start),
        "mfu": 6 * params * tokens_per_s / args.peak_flops,
    }


# ---- main -----------------------------------------------------------------------------------


def benchmark(size: str, args, root: str) -> dict:
    """Alternating runs of both trainers on `size`; the best of each."""
    import torch

    data_dir = os.path.join(root, size)
    os.makedirs(data_dir, exist_ok=True)
    write_data(synthetic_problem(SIZES[size][-1]), data_dir, SIZES[size][-1])
    recorded = record_batches(size, args, data_dir, args.warmup + args.steps + 1)
    best: dict[str, dict] = {}
    for _ in range(args.repeats):
        for name, run in (("t2t", run_ours), ("hf", run_peer)):
            torch.manual_seed(0)
            result = run(size, args, recorded if name == "hf" else data_dir)
            every = best.get(name, {}).get("every", []) + [result["tokens_per_s"]]
            best_cpu = max(
                best.get(name, {}).get("tokens_per_cpu_s", 0), result["tokens_per_cpu_s"]
            )
            if name not in best or result["tokens_per_s"] > best[name]["tokens_per_s"]:
                best[name] = result
            best[name]["every"] = every
            best[name]["tokens_per_cpu_s"] = best_cpu
            print(
                f"  {size} {name}: {result['tokens_per_s']:,.0f} tokens/s, "
                f"{result['tokens_per_cpu_s']:,.0f} tokens per CPU-second",
                flush=True,
            )
    padded = sum(
        len(b["targets"]) * max(len(r) for r in b["targets"]) for b in recorded[args.warmup :]
    )
    real = sum(sum(len(r) for r in b["targets"]) for b in recorded[args.warmup :])
    return {"runs": best, "target_fill": real / padded, "batch_rows": len(recorded[-1]["targets"])}


def report(results: dict, args) -> None:
    cuda = args.device.startswith("cuda")
    print(
        f"{args.device}{' bf16 autocast' if cuda else ''}, {model_step._versions()}, torch "
        f"threads {args.threads_used}; batch_size {args.batch_size} tokens (T2T buckets), "
        f"{args.warmup} warm-up + {args.steps} timed steps, best of {args.repeats} "
        "alternating runs; tokens = non-padding target tokens"
    )
    mfu_header = f" {'MFU':>6}" if cuda else ""
    print(
        f"{'size':5} {'trainer':18} {'params':>12} {'tokens/s':>10} {'tok/CPU-s':>10}"
        f"{mfu_header}  tokens/s of every run"
    )
    labels = {"t2t": "t2t train()", "hf": "HF Seq2SeqTrainer"}
    for size, result in results.items():
        for name, r in result["runs"].items():
            mfu = f" {r['mfu']:>6.1%}" if cuda else ""
            every = ", ".join(f"{x:,.0f}" for x in r["every"])
            print(
                f"{size:5} {labels[name]:18} {r['params']:>12,} {r['tokens_per_s']:>10,.0f} "
                f"{r['tokens_per_cpu_s']:>10,.0f}{mfu}  {every}"
            )
    for size, result in results.items():
        ours, peer = result["runs"]["t2t"], result["runs"]["hf"]
        print(
            f"{size}: tokens/s t2t/HF = {ours['tokens_per_s'] / peer['tokens_per_s']:.2f}x, "
            f"per CPU-second {ours['tokens_per_cpu_s'] / peer['tokens_per_cpu_s']:.2f}x "
            f"(target tokens are {result['target_fill']:.0%} of the padded target batch)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,base", help="comma list of tiny, base, big")
    parser.add_argument("--batch-size", type=int, default=2048, help="tokens (T2T batch_size)")
    parser.add_argument("--steps", type=int, default=8, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per run")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs per trainer")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--peak-flops", type=float, default=H100_BF16_DENSE_FLOPS)
    args = parser.parse_args()
    if args.warmup < 1:
        parser.error("--warmup must be at least 1 (the peer's window starts at a step's end)")
    import logging

    import torch
    import transformers

    logging.disable(logging.WARNING)
    transformers.logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.threads_used = torch.get_num_threads()
    with tempfile.TemporaryDirectory() as root:
        results = {size: benchmark(size, args, root) for size in args.sizes.split(",")}
    report(results, args)


if __name__ == "__main__":
    main()
