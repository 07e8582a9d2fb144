"""Every image model with every one of its hparams sets, scaled down: a training step on
synthetic images (uint8 or standardised floats [B, H, W, C], class ids [B] or [B, 1, 1, 1],
as T2T's Image2ClassProblem feeds them) with the set's optimizer, learning rate and weight
decay, then an evaluation and a prediction."""

import pytest
import torch

from t2t import registry
from t2t.hparams import HParams
from t2t.train.learning_rate import learning_rate_schedule
from t2t.train.optimizers import add_weight_decay_gradient, decayed_parameters

IMAGE_MODELS = ("resnet", "xception", "shake_shake", "revnet")
SETS = {
    "resnet": registry.list_hparams("resnet_"),
    "xception": registry.list_hparams("xception_"),
    "shake_shake": registry.list_hparams("shake"),
    "revnet": registry.list_hparams("revnet_"),
}
CASES = [(model, name) for model, names in SETS.items() for name in names]


def image_problem(channels: int = 3, classes: int = 5, image_size: int = 16) -> HParams:
    """Problem hparams as an Image2ClassProblem gives them (plus the image's shape)."""
    return HParams(
        modality={"inputs": "image", "targets": "class_label"},
        vocab_size={"inputs": 256, "targets": classes},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
        num_channels=channels,
        image_size=image_size,
    )


def tiny(model: str, name: str) -> HParams:
    """The set with its structure kept (block types, strides, flags) and its sizes shrunk."""
    hp = registry.hparams(name)
    hp.add_hparam("train_steps", 10)
    if model == "resnet":
        layers = len(hp.layer_sizes)
        hp.layer_sizes = [1] * (layers - 1) + [2]  # the last layer has a "final" block
        hp.filter_sizes = [4, 4, 8, 8, 8][: layers + 1]
    elif model == "xception":
        hp.hidden_size, hp.num_hidden_layers = 8, 1
    elif model == "shake_shake":
        hp.hidden_size, hp.num_hidden_layers = 16, 8
    else:
        blocks = len(hp.num_layers_per_block)
        hp.num_channels = [2] * blocks if hp.bottleneck else [4] * blocks
        hp.num_layers_per_block = [1] * (blocks - 1) + [2]
        hp.num_channels_init_block = 8
    return hp


def features(channels: int, uint8: bool, label_shape: tuple[int, ...]) -> dict:
    g = torch.Generator().manual_seed(1)
    if uint8:
        images = torch.randint(0, 256, (4, 16, 16, channels), generator=g).to(torch.uint8)
    else:
        images = torch.randn(4, 16, 16, channels, generator=g)
    return {"inputs": images, "targets": torch.tensor([1, 3, 0, 4]).reshape(4, *label_shape)}


def test_every_model_file_set_is_covered():
    assert sorted(IMAGE_MODELS) == sorted(m for m in registry.list_models() if m in IMAGE_MODELS)
    assert len(SETS["resnet"]) == 16 and len(SETS["revnet"]) == 4
    assert len(SETS["xception"]) == 3 and len(SETS["shake_shake"]) == 4
    assert len(CASES) == 27


@pytest.mark.parametrize("model_name, set_name", CASES)
def test_trains_a_step_and_evaluates(model_name, set_name):
    torch.manual_seed(0)
    hp = tiny(model_name, set_name)
    index = CASES.index((model_name, set_name))
    channels = 1 if index % 3 == 0 else 3  # MNIST- and CIFAR-shaped images
    batch = features(channels, uint8=index % 2 == 0, label_shape=(1, 1, 1) if index % 2 else ())
    model = registry.model(model_name)(hp, image_problem(channels))
    optimizer = registry.optimizer(hp.optimizer)(list(model.parameters()), hp)
    for group in optimizer.param_groups:
        group["lr"] = learning_rate_schedule(hp)(0) or 1e-3
    before = [p.detach().clone() for p in model.parameters()]
    logits, losses = model(batch)
    assert logits.shape == (4, 1, 5)
    losses["training"].backward()
    assert all(p.grad is not None for p in model.parameters())
    add_weight_decay_gradient(decayed_parameters(model.named_parameters()), hp.weight_decay)
    optimizer.step()
    # every parameter with a gradient moved (a bottleneck layer's last block starts with
    # gamma 0, so the rest of that block has none at the first step, as in T2T)
    moved = [not torch.equal(b, p) for b, p in zip(before, model.parameters())]
    with_grad = [bool(p.grad.abs().sum() > 0) for p in model.parameters()]
    assert all(m for m, g in zip(moved, with_grad) if g) and sum(with_grad) > len(moved) // 2
    model.eval()
    with torch.no_grad():
        eval_logits, eval_losses = model(batch)
        again, _ = model(batch)
    assert torch.isfinite(eval_losses["training"])
    torch.testing.assert_close(eval_logits, again)  # evaluation is deterministic
    prediction = model.predict({"inputs": batch["inputs"]})
    assert prediction["outputs"].shape == (4, 1) and prediction["scores"].shape == (4,)
    assert torch.equal(prediction["outputs"][:, 0], eval_logits[:, 0].argmax(-1))


def test_xception_entry_flow_on_large_images():
    hp = tiny("xception", "xception_tiny")
    model = registry.model("xception")(hp, image_problem(3, image_size=224))
    assert hasattr(model, "entry") and not hasattr(model, "small_image_conv")
    logits, losses = model({"inputs": torch.randn(1, 208, 208, 3), "targets": torch.tensor([2])})
    assert logits.shape == (1, 1, 5)
    losses["training"].backward()
    with pytest.raises(Exception, match="image_size"):
        model({"inputs": torch.randn(1, 16, 16, 3), "targets": torch.tensor([2])})


def test_wrong_channel_count_is_a_clear_error():
    model = registry.model("shake_shake")(
        tiny("shake_shake", "shake_shake_quick"), image_problem(1)
    )
    with pytest.raises(Exception, match="num_channels"):
        model(features(3, uint8=True, label_shape=()))


def test_resnet_cifar_loss_is_plain_cross_entropy_of_its_logits():
    torch.manual_seed(0)
    model = registry.model("resnet")(tiny("resnet", "resnet_cifar_15"), image_problem(3))
    assert model.target_top is None  # the body computes the logits, as T2T's
    batch = features(3, uint8=False, label_shape=(1, 1, 1))
    logits, losses = model(batch)
    expected = torch.nn.functional.cross_entropy(logits[:, 0], batch["targets"].reshape(-1))
    torch.testing.assert_close(losses["training"], expected)


def test_use_nchw_changes_the_memory_layout_not_the_numbers():
    torch.manual_seed(0)
    hp = tiny("resnet", "resnet_18")
    model = registry.model("resnet")(hp, image_problem(3)).eval()
    other = registry.model("resnet")(tiny("resnet", "resnet_18"), image_problem(3)).eval()
    other.load_state_dict(model.state_dict())
    other.hparams.use_nchw = False
    batch = features(3, uint8=False, label_shape=())
    with torch.no_grad():
        torch.testing.assert_close(model(batch)[0], other(batch)[0], atol=1e-5, rtol=1e-5)


def test_channels_first_copy_has_standard_strides_even_for_one_channel():
    from t2t.models.image_classifier import to_channels_first

    x = to_channels_first(torch.zeros(2, 5, 4, 1, dtype=torch.uint8), 1)
    # contiguous() would keep the permuted strides of the size-1 channel dim, which CPU
    # convolution backward on one thread turned into heap corruption
    assert x.dtype == torch.float32 and x.stride() == (20, 20, 4, 1)
    assert to_channels_first(torch.zeros(2, 5, 4, 3), 3, True).is_contiguous(
        memory_format=torch.channels_last
    )
