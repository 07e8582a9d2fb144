"""Our Neural GPUs with T2T's weights give T2T's logits and losses.

The goldens were made by tests/golden/models/make_neural_gpu_golden.py with T2T 1.15.7
(TRAIN mode, dropout 0): hidden 8, 2 layers, kernel 3x1, vocab 35, the second input row
ending in padding.
"""

import os

import numpy as np
import pytest
import torch

import t2t
from t2t.hparams import HParams

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "..", "golden", "models")


def _load(model, golden, name: str) -> None:
    """Copies T2T's variables into the model: symbol tables, then each cell's kernels
    [kh, kw, in, out] (torch [out, in, kh, kw]); reset and gate stacked as `gates`."""
    tf_vars = {k[4:].removesuffix(":0"): golden[k] for k in golden.files if k.startswith("var:")}
    cell_prefix = {"neural_gpu": "cgru", "diagonal_neural_gpu": "dcgru"}[name]

    def var(suffix: str) -> torch.Tensor:
        (key,) = [k for k in tf_vars if k.endswith(suffix)]
        return torch.from_numpy(tf_vars.pop(key))

    def kernel(suffix: str) -> torch.Tensor:
        return var(suffix).permute(3, 2, 0, 1)  # [kh, kw, in, out] -> [out, in, kh, kw]

    with torch.no_grad():
        for key, table in model.modality_weights.tables.items():
            part = next(p for p in ("input_emb", "target_emb", "softmax") if key.endswith(p))
            table.copy_(var(f"/{part}/weights_0"))
        for i, cell in enumerate(model.cells):
            scope = f"{cell_prefix}_{i}"
            cell.gates.weight.copy_(
                torch.cat(
                    [kernel(f"{scope}/reset_single/kernel"), kernel(f"{scope}/gate_single/kernel")]
                )
            )
            cell.gates.bias.copy_(
                torch.cat([var(f"{scope}/reset_single/bias"), var(f"{scope}/gate_single/bias")])
            )
            cell.candidate.weight.copy_(kernel(f"{scope}/candidate_single/kernel"))
            cell.candidate.bias.copy_(var(f"{scope}/candidate_single/bias"))
    assert not tf_vars, f"unused T2T variables: {sorted(tf_vars)}"


@pytest.mark.parametrize("name", ["neural_gpu", "diagonal_neural_gpu"])
def test_logits_and_losses_equal_original(name):
    golden = np.load(os.path.join(GOLDEN_DIR, f"neural_gpu_{name}.npz"))
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": 35, "targets": 35},
    )
    model = t2t.create_model(
        name,
        "neural_gpu",
        hparams="hidden_size=8,num_hidden_layers=2,dropout=0.0",
        problem_hparams=problem,
    )
    _load(model, golden, name)
    features = {
        "inputs": torch.from_numpy(golden["inputs"]).long(),
        "targets": torch.from_numpy(golden["targets"]).long(),
    }
    logits, losses = model.train()(features)
    torch.testing.assert_close(logits, torch.from_numpy(golden["logits"]), atol=1e-5, rtol=1e-4)
    assert losses["training"].item() == pytest.approx(float(golden["loss"]), rel=1e-5)
    extra = losses.get("extra", torch.tensor(0.0)).item()
    assert extra == pytest.approx(float(golden["extra"]), rel=1e-4, abs=1e-7)
