"""Image ops against TF 1.15's, on golden values from the original.

tests/golden/images/image_golden.npz was made by tests/golden/images/make_image_golden.py
in the original's venv (TF 1.15): tf.image.per_image_standardization, resize_images
(AREA, BILINEAR), resize_bicubic and resize_image_with_crop_or_pad on fixed images.
"""

import io
import os
import pickle

import numpy as np
import pytest

from t2t.data import image_ops
from t2t.data.image_encoder import ImageEncoder
from t2t.data.safe_pickle import UnsafePickleError, load_array_pickle
from t2t.errors import DataError

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "images", "image_golden.npz")


@pytest.fixture(scope="module")
def golden():
    return np.load(GOLDEN)


def test_standardization_equals_tf(golden):
    # TF on a float32 image: the formula T2T was written for (and what the problems use).
    out = image_ops.per_image_standardization(golden["std_image"])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, golden["std_image_float_out"], rtol=1e-5, atol=1e-5)
    # A constant image: std 0, so the divisor is 1/sqrt(N) and every value is 0.
    const = image_ops.per_image_standardization(golden["const_image"])
    np.testing.assert_allclose(const, golden["const_image_float_out"], atol=1e-6)
    # TF 1.15 on uint8 (what the installed original T2T feeds its models): uint8 back.
    kept = image_ops.per_image_standardization(golden["std_image"], keep_dtype=True)
    assert kept.dtype == np.uint8
    np.testing.assert_array_equal(kept, golden["std_image_out"])
    kept = image_ops.per_image_standardization(golden["const_image"], keep_dtype=True)
    np.testing.assert_array_equal(kept, golden["const_image_out"])


def test_standardization_formula():
    x = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    f = x.astype(np.float64)
    expected = (f - f.mean()) / max(f.std(), 1 / np.sqrt(f.size))
    np.testing.assert_allclose(image_ops.per_image_standardization(x), expected, rtol=1e-5)


def test_resizes_equal_tf(golden):
    area = image_ops.resize_by_area(golden["area_image"], 8)
    assert area.dtype == np.int64
    np.testing.assert_array_equal(area, golden["area_8"])
    odd = image_ops.resize_area(golden["area_odd"], 4, 3)
    np.testing.assert_allclose(odd, golden["area_odd_4x3"], rtol=1e-5, atol=1e-3)
    up = image_ops.resize_bicubic(golden["cubic_image"], 14, 20)
    np.testing.assert_allclose(up, golden["cubic_up"], atol=1e-5)
    down = image_ops.resize_bicubic(golden["cubic_image"], 5, 6)
    np.testing.assert_allclose(down, golden["cubic_down"], atol=1e-5)
    bilinear = image_ops.resize_bilinear(golden["bilinear_image"], 8, 4)
    np.testing.assert_allclose(bilinear, golden["bilinear_8x4"], atol=1e-5)


def test_crop_or_pad_equals_tf(golden):
    padded = image_ops.resize_with_crop_or_pad(golden["area_image"], 40, 40)
    np.testing.assert_array_equal(padded, golden["crop_or_pad_40"])
    cropped = image_ops.resize_with_crop_or_pad(padded, 32, 32)
    np.testing.assert_array_equal(cropped, golden["area_image"])


def test_cifar_augmentation_is_seeded_and_a_shifted_window():
    image = np.random.default_rng(0).integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
    a = image_ops.cifar_image_augmentation(image, np.random.default_rng(5))
    b = image_ops.cifar_image_augmentation(image, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    padded = np.pad(image, ((4, 4), (4, 4), (0, 0)))
    windows = set()
    for seed in range(40):
        out = image_ops.cifar_image_augmentation(image, np.random.default_rng(seed))
        assert out.shape == (32, 32, 3) and out.dtype == np.uint8
        found = [
            (top, left, flip)
            for top in range(9)
            for left in range(9)
            for flip in (False, True)
            if np.array_equal(
                out,
                padded[top : top + 32, left : left + 32][:, ::-1]
                if flip
                else padded[top : top + 32, left : left + 32],
            )
        ]
        assert found, "not a 32x32 window of the zero-padded 40x40 image"
        windows.add(found[0])
    assert len(windows) > 10
    assert any(flip for _, _, flip in windows) and not all(flip for _, _, flip in windows)


def test_imagenet_preprocessing_shapes_and_determinism():
    image = np.random.default_rng(1).integers(0, 256, size=(50, 70, 3), dtype=np.uint8)
    eval_out = image_ops.imagenet_preprocess_for_eval(image, 24)
    assert eval_out.shape == (24, 24, 3) and eval_out.dtype == np.float32
    # Eval: short side to 56 (bicubic), normalised, centre crop.
    scaled = image_ops.resize_bicubic(image.astype(np.float32) / 255, 56, 78)
    mean, std = np.array(image_ops.MEAN_RGB), np.array(image_ops.STDDEV_RGB)
    np.testing.assert_allclose(eval_out, ((scaled - mean) / std)[16:40, 27:51], atol=1e-5)
    a = image_ops.imagenet_preprocess_for_train(image, 24, np.random.default_rng(3))
    b = image_ops.imagenet_preprocess_for_train(image, 24, np.random.default_rng(3))
    assert a.shape == (24, 24, 3)
    np.testing.assert_array_equal(a, b)
    outs = {image_ops.imagenet_preprocess_for_train(image, 24, np.random.default_rng(s)).tobytes()
            for s in range(6)}  # fmt: skip
    assert len(outs) > 1
    raw = image_ops.imagenet_preprocess_for_eval(image, 24, normalize=False)
    # Without normalisation the same resize and crop, on 0..255 values (the ops commute).
    np.testing.assert_allclose((raw / 255 - mean) / std, eval_out, atol=1e-4)


def test_crop_window_respects_tf_bounds():
    rng = np.random.default_rng(0)
    got = 0
    for _ in range(300):
        window = image_ops._sample_crop_window(100, 80, rng)
        if window is None:
            continue
        got += 1
        top, left, h, w = window
        assert 0 <= top and top + h <= 100 and 0 <= left and left + w <= 80
        assert 0.1 * 8000 <= h * w <= 8000
        assert 0.7 < w / h < 1.4
    assert got > 100


def test_png_round_trip_and_channels():
    rgb = np.random.default_rng(2).integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(image_ops.decode_image(image_ops.encode_png(rgb), 3), rgb)
    grey = rgb[:, :, :1]
    decoded = image_ops.decode_image(image_ops.encode_png(grey), 1)
    assert decoded.shape == (5, 7, 1)
    np.testing.assert_array_equal(decoded, grey)
    with pytest.raises(DataError, match="undecodable"):
        image_ops.decode_image(b"not an image", 3)


def test_jpeg_decodes():
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((8, 6, 3), 128, dtype=np.uint8)).save(buf, format="JPEG")
    out = image_ops.decode_image(buf.getvalue(), 3)
    assert out.shape == (8, 6, 3) and abs(int(out.mean()) - 128) <= 2


def test_image_encoder(tmp_path):
    image = np.random.default_rng(3).integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    encoder = ImageEncoder()
    path = encoder.decode(image.reshape(-1).tolist())
    np.testing.assert_array_equal(encoder.encode(path), image)
    os.remove(path)
    with pytest.raises(ValueError, match="height"):
        ImageEncoder(height=3, width=3).decode([0] * 10)
    assert encoder.vocab_size == 256


# ----------------------------------------------------------------------------- pickles


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch " + _Evil.marker,))


def test_safe_pickle_loads_numpy_batches():
    batch = {"labels": [1, 2], "data": np.arange(6, dtype=np.uint8).reshape(2, 3), "n": 2.5}
    loaded = load_array_pickle(io.BytesIO(pickle.dumps(batch, protocol=2)))
    np.testing.assert_array_equal(loaded["data"], batch["data"])
    assert loaded["labels"] == [1, 2] and loaded["n"] == 2.5
    loaded = load_array_pickle(io.BytesIO(pickle.dumps(batch, protocol=4)))
    assert loaded["data"].dtype == np.uint8


def test_safe_pickle_refuses_code(tmp_path):
    _Evil.marker = str(tmp_path / "pwned")
    payload = pickle.dumps({"data": _Evil()}, protocol=2)
    with pytest.raises(UnsafePickleError, match="system"):
        load_array_pickle(io.BytesIO(payload), source="evil")
    assert not os.path.exists(_Evil.marker)
    objects = pickle.dumps(np.array([1, "a"], dtype=object), protocol=2)
    with pytest.raises(UnsafePickleError, match="objects"):
        load_array_pickle(io.BytesIO(objects))
    with pytest.raises(DataError, match="not a readable pickle"):
        load_array_pickle(io.BytesIO(b"garbage"))
