"""The image modalities: shapes, values by hand from T2T's formulas, parameter counts, and
the class-label top on image bodies."""

import math

import pytest
import torch

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.modalities import ModalityType
from t2t.modalities.base import ModalitySpec, ModalityWeights, get_modality

from .conftest import tiny_hparams

IMAGE_TYPES = [
    ModalityType.IMAGE,
    ModalityType.IMAGE_CHANNEL_COMPRESS,
    ModalityType.IMAGE_CHANNEL_BOTTOM_IDENTITY,
    ModalityType.IMAGE_CHANNEL_EMBEDDINGS_BOTTOM,
]


def image_spec(type_name, channels=3, vocab_size=256, depth=4, **hparams):
    hp = tiny_hparams(**hparams)
    modality = get_modality(type_name)
    spec = ModalitySpec(
        feature="targets",
        vocab_size=vocab_size,
        hparams=hp,
        scope=modality.scope_name(hp, vocab_size),
        tables=ModalityWeights(hp.hidden_size),
        body_output_depth=depth,
        problem_hparams=HParams(num_channels=channels),
    )
    return modality, spec


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def pixels(*shape):
    return torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(0))


def test_image_types_are_registered_under_their_t2t_names():
    assert set(IMAGE_TYPES) <= set(registry.list_modalities())
    for name in IMAGE_TYPES:
        assert registry.modality(name).REGISTERED_NAME == name
    names = {name: get_modality(name).scope_name(tiny_hparams(), 256) for name in IMAGE_TYPES}
    assert names == {
        "image": "image_modality",
        "image_channel_compress": "image_channel_compress_modality",
        "image_channel_bottom_identity": "image_channel_bottom_identity_modality",
        "image_channel_embeddings_bottom": "image_channel_embeddings_bottom",
    }


def test_image_bottom_casts_and_has_no_parameters():
    modality, spec = image_spec(ModalityType.IMAGE)
    bottom = modality.bottom(spec)
    x = pixels(2, 5, 5, 3).to(torch.uint8)
    assert n_params(bottom) == 0
    assert torch.equal(bottom(x), x.float())


def test_image_targets_bottom_embeds_each_channel_value_then_merges():
    modality, spec = image_spec(ModalityType.IMAGE, channels=3)
    bottom = modality.targets_bottom(spec)
    assert n_params(bottom) == 256 * 64 + (3 * 64) * 4 + 4  # table, dense kernel, bias
    x = pixels(2, 5, 6, 3)
    out = bottom(x)
    assert out.shape == (2, 5, 6, 4)
    table = bottom.pixel_embedding
    by_hand = torch.cat([table[x[1, 2, 3, c]] for c in range(3)]) @ bottom.merge.weight.T
    torch.testing.assert_close(out[1, 2, 3], by_hand + bottom.merge.bias)
    with pytest.raises(HParamsError, match="height, width, channels"):
        bottom(pixels(2, 5, 3))


def test_image_top_and_generic_loss():
    modality, spec = image_spec(ModalityType.IMAGE, channels=3, depth=4)
    top = modality.top(spec)
    assert n_params(top) == 4 * 3 * 256 + 3 * 256
    assert top(torch.zeros(2, 5, 6, 4)).shape == (2, 5, 6, 3, 256)
    logits = torch.zeros(2, 5, 6, 3, 256)
    hp = tiny_hparams()
    weights = modality.weights_fn
    num, den = modality.loss(logits, pixels(2, 5, 6, 3), hp, 256, weights)
    # uniform logits: ln 256 per channel value; every value counts (weights_all)
    assert den == 2 * 5 * 6 * 3
    torch.testing.assert_close(num / den, torch.tensor(math.log(256.0)))


def test_channel_compress_bottom_is_a_per_pixel_map_of_the_rgb_triple():
    modality, spec = image_spec(ModalityType.IMAGE_CHANNEL_COMPRESS)
    bottom = modality.bottom(spec)
    assert n_params(bottom) == 1 * 3 * 4 + 4
    x = pixels(2, 5, 6, 3)
    out = bottom(x)
    assert out.shape == (2, 5, 6, 4)
    real = x[1, 4, 2].float() / 127.5 - 1.0  # T2T's convert_rgb_to_symmetric_real
    kernel = bottom.conv.weight[:, 0, 0, :]  # [D, 3]
    torch.testing.assert_close(out[1, 4, 2], torch.relu(kernel @ real + bottom.conv.bias))
    # inputs and targets have separate convolutions
    assert modality.targets_bottom(spec) is not bottom


def test_channel_compress_top_needs_img_len_and_gives_per_channel_logits():
    modality, spec = image_spec(ModalityType.IMAGE_CHANNEL_COMPRESS)
    with pytest.raises(HParamsError, match="img_len"):
        modality.top(spec)
    hp = tiny_hparams()
    hp.add_hparam("img_len", 5)
    hp.layer_preprocess_sequence = "n"
    spec.hparams = hp
    top = modality.top(spec)
    # 1x1 conv D -> 3D (+ bias), layer norm (layer_preprocess_sequence), dense D -> V
    assert n_params(top) == (4 * 12 + 12) + 2 * 4 + (4 * 256 + 256)
    assert top(torch.randn(2, 5, 5, 4)).shape == (2, 5, 5, 3, 256)


def test_channel_bottom_identity_has_the_compress_bottoms_and_an_identity_top():
    modality, spec = image_spec(ModalityType.IMAGE_CHANNEL_BOTTOM_IDENTITY)
    assert n_params(modality.bottom(spec)) == 16
    x = torch.randn(2, 5, 5, 3, 256)
    assert modality.top(spec)(x) is x


def test_channel_embeddings_bottom_and_top():
    modality, spec = image_spec(ModalityType.IMAGE_CHANNEL_EMBEDDINGS_BOTTOM, channels=3)
    assert torch.equal(modality.bottom(spec)(pixels(2, 3, 3, 3)), pixels(2, 3, 3, 3).float())
    bottom = modality.targets_bottom(spec)
    assert n_params(bottom) == 256 * 3 * 4
    x = pixels(2, 3, 4, 3)
    out = bottom(x)
    assert out.shape == (2, 3, 4 * 3, 4)  # [B, H, W·C, D]
    c = 2  # channel c of pixel (1, 2, 3) is row c·256 + value, times sqrt(D)
    by_hand = bottom.rgb_target_emb[c * 256 + x[1, 2, 3, c]] * 2.0
    torch.testing.assert_close(out[1, 2, 3 * 3 + c], by_hand)
    hp = tiny_hparams()
    hp.add_hparam("img_len", 3)
    spec.hparams = hp
    top = modality.top(spec)
    assert n_params(top) == 4 * 256 + 256
    assert top(torch.randn(2, 3, 9, 4)).shape == (2, 3, 3, 3, 256)


def test_class_label_top_averages_an_image_body_over_height_and_width():
    modality = get_modality(ModalityType.CLASS_LABEL)
    hp = tiny_hparams()
    spec = ModalitySpec("targets", 7, hp, "s", ModalityWeights(4), body_output_depth=6)
    top = modality.top(spec)
    body = torch.randn(2, 3, 5, 6)  # [B, H, W, D]
    expected = top.dense(body.mean(dim=(1, 2)))[:, None, :]  # T2T: mean over [1, 2], dense
    torch.testing.assert_close(top(body), expected)
    # image problems feed labels as [B, 1, 1, 1]
    num, den = modality.loss(
        torch.zeros(2, 1, 7), torch.tensor([3, 5]).reshape(2, 1, 1, 1), hp, 7, modality.weights_fn
    )
    torch.testing.assert_close(num / den, torch.tensor(math.log(7.0)))
