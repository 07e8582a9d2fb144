"""Trainable parameter counts of every image hparams set equal the original T2T's.

tests/golden/models/image_param_counts.json was written by
tests/golden/models/make_image_param_counts.py, run with T2T 1.15.7 / TF 1.15: it builds each
model's training graph with the problem's hparams on images of the problem's shape and counts
`tf.trainable_variables()`. Our models are built on the meta device (no memory, no init) with
the same problem hparams (classes, channels, image size).

One difference, kept on purpose: T2T's non-bottleneck RevNet residual function builds a batch
norm and a 3x3 convolution whose outputs it throws away (it normalises its input a second
time instead); their variables are trainable but get no gradient. We do not build them, so
for revnet_38_cifar and revnet_110_cifar our count equals the original's "live" count: the
variables the training loss has a gradient for, measured by the same script.
"""

import json
import pathlib

import pytest
import torch

from t2t import registry
from t2t.hparams import HParams

GOLDEN = pathlib.Path(__file__).parents[1] / "golden" / "models" / "image_param_counts.json"
DATA = json.loads(GOLDEN.read_text())
DEAD_PARAMETERS = {"revnet_38_cifar", "revnet_110_cifar"}  # see the module doc


def count(model_name: str, set_name: str, problem: dict) -> int:
    problem_hparams = HParams(
        modality={"inputs": "image", "targets": "class_label"},
        vocab_size={"inputs": 256, "targets": problem["num_classes"]},
        num_channels=problem["num_channels"],
        image_size=problem["image_size"],
    )
    with torch.device("meta"):
        model = registry.model(model_name)(registry.hparams(set_name), problem_hparams)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def test_every_image_set_is_measured():
    measured = {row["hparams_set"] for row in DATA["counts"]}
    for prefix in ("resnet_", "xception_", "shake", "revnet_"):
        assert set(registry.list_hparams(prefix)) <= measured
    assert len(DATA["counts"]) >= 34


@pytest.mark.parametrize("row", DATA["counts"], ids=lambda r: f"{r['hparams_set']}-{r['problem']}")
def test_count_equals_the_original(row):
    ours = count(row["model"], row["hparams_set"], DATA["problems"][row["problem"]])
    if row["hparams_set"] in DEAD_PARAMETERS:
        assert row["live"] < row["trainable"]
        assert ours == row["live"]
    else:
        assert ours == row["trainable"]
        assert row.get("live", ours) == ours
