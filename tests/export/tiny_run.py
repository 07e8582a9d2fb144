"""A tiny trained run and its export, made once per test session (tests/export, tests/serving).

A 32-wide, 2-layer Transformer learns algorithmic_reverse_decimal40 (reverse 2-6 digits)
for 300 Adam steps in this process (~10-30 s), saved as t2t-trainer saves a run (run.json,
hparams.json, a checkpoint), then exported with every format. A trained model makes the
decodes confident, so beam search has few near-ties.
"""

from __future__ import annotations

import os

import torch

PROBLEM = "algorithmic_reverse_decimal40"
HPARAMS = (
    "hidden_size=32,filter_size=64,num_heads=4,num_hidden_layers=2,"
    "layer_prepostprocess_dropout=0.0,attention_dropout=0.0,relu_dropout=0.0"
)
STEPS = 300
SYMBOLS = 10  # ids 2..11


def random_batch(generator: torch.Generator, size: int = 32) -> dict[str, torch.Tensor]:
    lengths = torch.randint(2, 7, (size,), generator=generator).tolist()
    width = max(lengths) + 1
    inputs = torch.zeros(size, width, dtype=torch.long)
    targets = torch.zeros(size, width, dtype=torch.long)
    for row, length in enumerate(lengths):
        ids = torch.randint(2, 2 + SYMBOLS, (length,), generator=generator)
        inputs[row, : length + 1] = torch.cat([ids, torch.tensor([1])])
        targets[row, : length + 1] = torch.cat([ids.flip(0), torch.tensor([1])])
    return {"inputs": inputs, "targets": targets}


def train(output_dir: str) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only contend (10x slower here)
    try:
        _train(output_dir)
    finally:
        torch.set_num_threads(threads)


def _train(output_dir: str) -> None:
    from t2t.runs import build, checkpoints, run_files

    torch.manual_seed(0)
    exp = build.build_run(PROBLEM, "transformer", "transformer_tiny", HPARAMS, output_dir)
    model = exp.model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(STEPS):
        loss = model(random_batch(generator))[1]["training"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    run = {
        "problem": PROBLEM,
        "model": "transformer",
        "hparams_set": "transformer_tiny",
        "hparams": HPARAMS,
        "data_dir": output_dir,
        "seed": 0,
        "train_steps": STEPS,
    }
    run_files.write_run_files(output_dir, exp.hparams, run)
    checkpoints.save_checkpoint(output_dir, STEPS, model.eval(), {"step": STEPS})


def trained_export(base: str) -> tuple[str, str]:
    """(run output dir, its export dir with every format), made under `base` once."""
    output_dir = os.path.join(base, "tiny_run")
    export = os.path.join(base, "tiny_export")
    if not os.path.exists(os.path.join(export, "manifest.json")):
        train(output_dir)
        from t2t.decode.api import load
        from t2t.export import exporter

        loaded = load(output_dir, device="cpu")
        exporter.export_loaded(
            loaded,
            export,
            ["t2t", "ctranslate2", "onnx"],
            {"beam_size": 4, "alpha": 0.6, "extra_length": 10, "return_beams": False},
            output_dir,
        )
    return output_dir, export
