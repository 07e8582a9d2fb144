"""MultiModel: one body trained on a text task and an image task at once.

Tiny sizes (hidden 16, 1-2 layers, 4 experts). MultiModel left T2T before 1.15.7, so the
parameter counts come from its last version's body rebuilt out of the original 1.15.7's
building blocks in TF (tests/golden/models/make_multimodel_param_counts.py).
"""

import json
import pathlib

import pytest
import torch

import t2t
from t2t import registry
from t2t.hparams import HParams
from t2t.models.multimodel import MultiModel
from t2t.runs.build import create_model_on_meta

TINY = "hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=2,moe_num_experts=4"


def text_problem(vocab: int = 20) -> HParams:
    return HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": vocab, "targets": vocab},
        input_space_id=0,
        target_space_id=1,
        loss_multiplier=1.0,
    )


def image_problem(classes: int = 10, channels: int = 1) -> HParams:
    return HParams(
        modality={"inputs": "image", "targets": "class_label"},
        vocab_size={"inputs": 256, "targets": classes},
        input_space_id=0,
        target_space_id=2,
        loss_multiplier=1.0,
        num_channels=channels,
    )


TEXT = {
    "inputs": torch.tensor([[5, 6, 7, 8, 1], [8, 9, 1, 0, 0]]),
    "targets": torch.tensor([[8, 7, 6, 5, 1, 0], [9, 8, 1, 0, 0, 0]]),
    "target_space_id": torch.tensor(1),
}
IMAGE = {
    "inputs": torch.rand(2, 4, 4, 1) * 255,  # [B, H, W, C] standardised pixels
    "targets": torch.tensor([[3], [7]]),
    "target_space_id": torch.tensor(2),
}


def test_registered():
    assert "multi_model" in registry.list_models()
    assert {"multimodel_base", "multimodel_tiny"} <= set(registry.list_hparams("multimodel"))
    hp = registry.hparams("multimodel_tiny")
    assert (hp.hidden_size, hp.filter_size, hp.num_hidden_layers, hp.moe_layers) == (
        128, 512, 2, "0",
    )  # fmt: skip


def test_text_and_image_at_once_share_the_body():
    torch.manual_seed(0)
    text_model = t2t.create_model(
        "multi_model", "multimodel_tiny", hparams=TINY, problem_hparams=text_problem()
    )
    image_model = MultiModel(text_model.hparams, image_problem(), share_body_with=text_model)
    assert image_model.net is text_model.net
    text_logits, text_losses = text_model(TEXT)
    image_logits, image_losses = image_model(IMAGE)
    assert text_logits.shape == (2, 6, 20)
    assert image_logits.shape[0] == 2 and image_logits.shape[-1] == 10
    loss = sum(losses["training"] + losses["extra"] for losses in (text_losses, image_losses))
    assert torch.isfinite(loss)
    loss.backward()
    # The encoder learns from both tasks; the decoder from the text task only; each task
    # keeps its own bottom and top.
    shared_conv = text_model.net.encoder[0].conv1.convs[0]
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in shared_conv.parameters())
    assert image_model.project_inputs is not None
    assert all(p.grad is not None for p in image_model.project_inputs.parameters())
    assert text_model.net.decoder[0].self_attention.q.weight.grad.abs().sum() > 0


def test_image_gradient_reaches_the_shared_encoder_alone():
    torch.manual_seed(0)
    text_model = t2t.create_model(
        "multi_model", "multimodel_tiny", hparams=TINY, problem_hparams=text_problem()
    )
    image_model = MultiModel(text_model.hparams, image_problem(), share_body_with=text_model)
    _, losses = image_model(IMAGE)
    (losses["training"] + losses["extra"]).backward()
    encoder_grads = [p.grad for p in text_model.net.encoder.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in encoder_grads)
    assert all(p.grad is None for p in text_model.net.decoder.parameters())


def test_padding_is_masked_in_the_encoder():
    """An example's output does not depend on extra input padding (masked convs and
    encoder attention), in eval mode."""
    torch.manual_seed(0)
    model = t2t.create_model(
        "multi_model", "multimodel_tiny", hparams=TINY, problem_hparams=text_problem()
    ).eval()
    one = {"inputs": TEXT["inputs"][:1], "targets": TEXT["targets"][:1]}
    padded = {"inputs": torch.cat([one["inputs"], torch.zeros(1, 3).long()], 1),
              "targets": one["targets"]}  # fmt: skip
    with torch.no_grad():
        a, _ = model(one)
        b, _ = model(padded)
    # The conv blocks see zeros at padded positions (the mask), but the timing signal and
    # the MoE leave values there; the encoder attention ignores them through its bias.
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "models"


@pytest.mark.parametrize(
    "hparams_set,overrides",
    [("multimodel_base", ""), ("multimodel_tiny", ""), ("tiny_test", TINY)],
)
def test_body_parameter_count_matches_the_original_blocks(hparams_set, overrides):
    """The body's parameters (encoder, decoder, target-space embedding) against T2T's
    building blocks assembled as its MultiModel (make_multimodel_param_counts.py)."""
    set_name = "multimodel_tiny" if hparams_set == "tiny_test" else hparams_set
    model = create_model_on_meta(
        "multi_model", set_name, hparams=overrides, problem_hparams=text_problem(vocab=100)
    )
    counts = json.loads((GOLDEN / "multimodel_param_counts.json").read_text())["body_params"]
    assert sum(p.numel() for p in model.net.parameters()) == counts[hparams_set]
