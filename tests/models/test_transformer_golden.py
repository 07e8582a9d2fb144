"""Our Transformer with T2T's weights gives T2T's logits and loss.

The goldens were made by tests/golden/models/make_transformer_golden.py with T2T 1.15.7
(TRAIN mode, dropouts 0, so label smoothing 0.1 is active in the loss): hidden 16,
filter 24, 2 heads, 2 layers, vocab 35 in 16 embedding shards, target_space_id 1.
"""

import os

import numpy as np
import pytest
import torch

from t2t import registry
from t2t.models import transformer
from t2t.models.tf_variables import load_tf_variables

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "..", "golden", "models")
CASES = {
    "base": ("transformer_base", True),
    "base_v1": ("transformer_base_v1", True),
    "relative": ("transformer_relative", True),
    "lm": ("transformer_base", False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_and_loss_equal_original(case, problem_hparams):
    hparams_set, has_inputs = CASES[case]
    golden = np.load(os.path.join(GOLDEN_DIR, f"transformer_{case}.npz"))
    hp = registry.hparams(hparams_set)
    for name, value in dict(
        hidden_size=16, filter_size=24, num_heads=2, num_hidden_layers=2
    ).items():
        hp.set_hparam(name, value)
    if hp.max_relative_position:
        hp.max_relative_position = 3
    for name in ("layer_prepostprocess_dropout", "attention_dropout", "relu_dropout"):
        hp.set_hparam(name, 0.0)
    php = problem_hparams(35, 35) if has_inputs else problem_hparams(vocab_out=35, inputs=None)
    model = transformer.Transformer(hp, php)
    variables = {k[len("var:") :]: golden[k] for k in golden.files if k.startswith("var:")}
    load_tf_variables(model, variables)
    assert sum(p.numel() for p in model.parameters()) == sum(v.size for v in variables.values())
    features = {
        "targets": torch.from_numpy(golden["targets"]).long(),
        "target_space_id": torch.tensor(1),
    }
    if has_inputs:
        features["inputs"] = torch.from_numpy(golden["inputs"]).long()
    model.train()  # label smoothing on; every dropout is 0
    logits, losses = model(features)
    torch.testing.assert_close(logits, torch.from_numpy(golden["logits"]), atol=1e-4, rtol=1e-4)
    assert losses["training"].item() == pytest.approx(float(golden["loss"]), rel=1e-5)
