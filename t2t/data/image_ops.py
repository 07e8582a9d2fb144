"""Image operations of T2T's input pipeline, on NumPy arrays [H, W, C] (data spec 4.5).

Decoding and PNG encoding use Pillow (the `images` extra: `pip install t2t[images]`). The
rest is NumPy and follows the TensorFlow 1.15 ops T2T calls, numerically:

- `per_image_standardization`: (x - mean) / max(std, 1 / sqrt(H*W*C)), float32 (TF 1.15's
  dtype-keeping variant, which the installed original runs, with `keep_dtype=True`).
- `resize_with_crop_or_pad`, `random_crop`, `random_flip_left_right` and
  `cifar_image_augmentation` (pad to 40x40, random 32x32 crop, random flip).
- `resize_area` (tf.image.resize_images AREA), `resize_bilinear` and `resize_bicubic`
  (TF 1.x's default corner-aligned-at-0 sampling, no half-pixel centres; bicubic with
  a = -0.75 and TF's 1024-step coefficient table), separably, a few taps per pixel.
- ImageNet's preprocessing (`imagenet_preprocess_for_train` / `_for_eval`): TF's
  sample_distorted_bounding_box crop (area 8-100 %, aspect 3/4-4/3, one attempt),
  bicubic resize, mean/std normalisation, flip; eval scales the short side to size + 32
  and crops the centre.

Randomness comes from the `rng` argument (a `numpy.random.Generator`); the pipeline hands
each record a generator derived from the run's seed (`t2t.data.example_rng`).
"""

from __future__ import annotations

import functools
import io
import math

import numpy as np

from t2t.errors import DataError

# ImageNet's channel means and standard deviations (of pixels scaled to [0, 1]), as T2T.
MEAN_RGB = (0.485, 0.456, 0.406)
STDDEV_RGB = (0.229, 0.224, 0.225)

_CUBIC_TABLE_SIZE = 1024  # TF quantises the bicubic offset to 1/1024 of a pixel
_CUBIC_A = -0.75


def _pil():
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover (the extra is installed in tests)
        raise DataError(
            "image problems decode PNG/JPEG with Pillow: pip install 't2t[images]'"
        ) from None
    return Image


# ----------------------------------------------------------------------------- codecs


def decode_image(data: bytes, channels: int) -> np.ndarray:
    """PNG, JPEG (or any Pillow format) bytes -> uint8 [H, W, channels].

    Raises:
        DataError: the bytes are not an image Pillow can read.
    """
    image_module = _pil()
    try:
        with image_module.open(io.BytesIO(data)) as image:
            if channels == 1:
                image = image.convert("L") if image.mode != "L" else image
            elif channels == 3:
                image = image.convert("RGB") if image.mode != "RGB" else image
            elif channels == 4:
                image = image.convert("RGBA") if image.mode != "RGBA" else image
            else:
                raise DataError(f"images have 1, 3 or 4 channels, not {channels}")
            array = np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError) as error:
        raise DataError(f"undecodable image ({error})") from None
    return array.reshape(array.shape[0], array.shape[1], channels)


def encode_png(image: np.ndarray) -> bytes:
    """uint8 [H, W, C] (C = 1, 3 or 4) -> PNG bytes."""
    image_module = _pil()
    image = np.asarray(image, dtype=np.uint8)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    out = io.BytesIO()
    image_module.fromarray(image).save(out, format="PNG")
    return out.getvalue()


# ----------------------------------------------------------------------------- pixels


def per_image_standardization(image: np.ndarray, keep_dtype: bool = False) -> np.ndarray:
    """T2T's standardisation: (x - mean) / max(std, 1/sqrt(N)), N = H*W*C; float32 [H, W, C].

    This is what T2T was written for and what TensorFlow up to 1.13 returned. TF 1.14+
    (so the original T2T 1.15.7 on TF 1.15) returns the input's dtype instead: a uint8
    image is scaled to [0, 1], standardised, multiplied by 255.5 and saturated to 0..255,
    which zeroes every pixel below the mean. `keep_dtype=True` reproduces that (for
    comparisons with the installed original); the problems use the float result.
    """
    x = np.asarray(image)
    integer = keep_dtype and x.dtype.kind in "ui"
    f = x.astype(np.float32)
    if integer:
        f = f * np.float32(1.0 / np.iinfo(x.dtype).max)
    mean = f.mean(dtype=np.float32)
    centred = f - mean
    std = np.float32(math.sqrt(np.square(centred).mean(dtype=np.float32)))
    adjusted = max(std, np.float32(1.0 / math.sqrt(f.size)))
    out = centred / np.float32(adjusted)
    if integer:
        top = np.iinfo(x.dtype).max
        out = np.clip(out * np.float32(top + 0.5), 0, top).astype(x.dtype)
    return out


def resize_with_crop_or_pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Centre crop or zero-pad [H, W, C] to [height, width, C] (tf.image's rule)."""
    h, w = image.shape[:2]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    cropped = image[top : top + min(h, height), left : left + min(w, width)]
    pad_top, pad_left = max(0, (height - h) // 2), max(0, (width - w) // 2)
    out = np.zeros((height, width) + image.shape[2:], dtype=image.dtype)
    out[pad_top : pad_top + cropped.shape[0], pad_left : pad_left + cropped.shape[1]] = cropped
    return out


def random_crop(image: np.ndarray, height: int, width: int, rng: np.random.Generator):
    """A uniformly placed [height, width] window of [H, W, C].

    Raises:
        DataError: the image is smaller than the window.
    """
    h, w = image.shape[:2]
    if h < height or w < width:
        raise DataError(f"cannot crop {height}x{width} from a {h}x{w} image")
    top = int(rng.integers(0, h - height + 1))
    left = int(rng.integers(0, w - width + 1))
    return image[top : top + height, left : left + width]


def random_flip_left_right(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """[H, W, C] mirrored left-right with probability 1/2."""
    return image[:, ::-1] if rng.random() < 0.5 else image


def cifar_image_augmentation(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """T2T's CIFAR augmentation: zero-pad [32, 32, C] to 40x40, random 32x32 crop, random flip."""
    padded = resize_with_crop_or_pad(image, 40, 40)
    cropped = random_crop(padded, 32, 32, rng)
    return np.ascontiguousarray(random_flip_left_right(cropped, rng))


# ----------------------------------------------------------------------------- resizing


# A resize along one axis is a weighted sum of a few input rows per output row: "taps",
# (indices [out, K], weights [out, K]), applied as K gathers (K = 2 bilinear, 4 bicubic,
# about in/out + 1 for area), much cheaper than a dense [out, in] matrix product.
Taps = tuple[np.ndarray, np.ndarray]


def _frozen_taps(indices: np.ndarray, weights: np.ndarray) -> Taps:
    """Read-only taps: they are cached and shared."""
    weights = weights.astype(np.float32)
    indices.flags.writeable = False
    weights.flags.writeable = False
    return indices, weights


@functools.lru_cache(maxsize=512)
def _area_taps(in_size: int, out_size: int) -> Taps:
    """TF's AREA: the fraction of each input cell under output cell i's span, / scale."""
    scale = in_size / out_size
    width = int(math.ceil(scale)) + 1
    indices = np.zeros((out_size, width), dtype=np.int64)
    weights = np.zeros((out_size, width), dtype=np.float64)
    for i in range(out_size):
        start, end = i * scale, (i + 1) * scale
        for k, j in enumerate(range(int(math.floor(start)), int(math.ceil(end)))):
            indices[i, k] = min(j, in_size - 1)
            weights[i, k] = (min(j + 1, end) - max(j, start)) / scale
    return _frozen_taps(indices, weights)


@functools.lru_cache(maxsize=512)
def _linear_taps(in_size: int, out_size: int) -> Taps:
    """TF 1.x bilinear: source = i * in/out (no half-pixel offset), two neighbours."""
    source = np.arange(out_size, dtype=np.float32) * np.float32(in_size / out_size)
    low = np.floor(source).astype(np.int64)
    high = np.minimum(low + 1, in_size - 1)
    frac = (source - low).astype(np.float64)
    return _frozen_taps(np.stack([low, high], 1), np.stack([1.0 - frac, frac], 1))


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic kernel with a = -0.75 (TF's), for |x| <= 2."""
    a = _CUBIC_A
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x <= 1, near, far)


@functools.lru_cache(maxsize=512)
def _cubic_taps(in_size: int, out_size: int) -> Taps:
    """TF 1.x bicubic: 4 neighbours of source = i * in/out, indices clamped to the image."""
    source = np.arange(out_size, dtype=np.float32) * np.float32(in_size / out_size)
    base = np.floor(source).astype(np.int64)
    # TF reads the weights from a table at the offset rounded to 1/1024.
    delta = np.round((source - base) * _CUBIC_TABLE_SIZE) / _CUBIC_TABLE_SIZE
    taps = np.arange(-1, 3)
    indices = np.clip(base[:, None] + taps, 0, in_size - 1)
    return _frozen_taps(indices, _cubic(taps - delta[:, None].astype(np.float64)))


def _resize_axis0(x: np.ndarray, taps: Taps) -> np.ndarray:
    """[H, ...] -> [out, ...]: each output row the weighted sum of its taps' input rows."""
    indices, weights = taps
    shape = (-1,) + (1,) * (x.ndim - 1)
    out = weights[:, 0].reshape(shape) * x[indices[:, 0]]
    for k in range(1, indices.shape[1]):
        out += weights[:, k].reshape(shape) * x[indices[:, k]]
    return out


def _separable(image: np.ndarray, rows: Taps, cols: Taps) -> np.ndarray:
    """Resize [H, W, C] along H with `rows`, then along W with `cols`: float32 [h, w, C]."""
    # float32 arithmetic, as TF's kernels.
    x = np.asarray(image, dtype=np.float32)
    out = _resize_axis0(x, rows)  # [h, W, C]
    out = _resize_axis0(np.ascontiguousarray(out.transpose(1, 0, 2)), cols)  # [w, h, C]
    return np.ascontiguousarray(out.transpose(1, 0, 2))  # [h, w, C]


def resize_area(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """tf.image.resize_images(..., AREA): float32 [height, width, C]."""
    h, w = image.shape[:2]
    return _separable(image, _area_taps(h, height), _area_taps(w, width))


def resize_by_area(image: np.ndarray, size: int) -> np.ndarray:
    """T2T's resize_by_area: AREA resize to [size, size], truncated to int64."""
    return resize_area(image, size, size).astype(np.int64)


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """tf.image.resize_images(...) (BILINEAR, TF 1.x sampling): float32 [height, width, C]."""
    h, w = image.shape[:2]
    return _separable(image, _linear_taps(h, height), _linear_taps(w, width))


def resize_bicubic(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """tf.image.resize_bicubic (TF 1.x sampling): float32 [height, width, C]."""
    h, w = image.shape[:2]
    return _separable(image, _cubic_taps(h, height), _cubic_taps(w, width))


# ----------------------------------------------------------------------------- ImageNet


def _scale_short_side(image: np.ndarray, size: int) -> np.ndarray:
    """Bicubic resize so that the shorter side is `size` (T2T's _do_scale)."""
    h, w = (np.float32(n) for n in image.shape[:2])
    if h > w:
        new_h, new_w = int(np.float32(h / w) * np.float32(size)), size
    else:
        new_h, new_w = size, int(np.float32(w / h) * np.float32(size))
    return resize_bicubic(image, new_h, new_w)


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central [size, size] window (offsets rounded down from (H - size + 1) / 2).

    Raises:
        DataError: the image is smaller than the window.
    """
    h, w = image.shape[:2]
    if h < size or w < size:
        raise DataError(f"cannot crop {size}x{size} from a {h}x{w} image")
    top, left = (h - size + 1) // 2, (w - size + 1) // 2
    return image[top : top + size, left : left + size]


def _sample_crop_window(
    height: int, width: int, rng: np.random.Generator
) -> tuple[int, int, int, int] | None:
    """One attempt of TF's sample_distorted_bounding_box (area 0.08-1, aspect 3/4-4/3,
    min_object_covered 0.1 of the whole image): (top, left, h, w), or None if it fails."""
    aspect = float(np.float32(rng.random() * (4 / 3 - 3 / 4) + 3 / 4))
    min_area, max_area = 0.08 * width * height, 1.0 * width * height
    crop_h = int(round(math.sqrt(min_area / aspect)))
    max_h = int(round(math.sqrt(max_area / aspect)))
    if round(max_h * aspect) > width:
        max_h = int((width + 0.5 - 1e-7) / aspect)
    max_h = min(max_h, height)
    crop_h = min(crop_h, max_h)
    if crop_h < max_h:
        crop_h += int(rng.integers(0, max_h - crop_h + 1))
    crop_w = int(round(crop_h * aspect))
    area = crop_w * crop_h
    if area < min_area:
        crop_h += 1
        crop_w = int(round(crop_h * aspect))
        area = crop_w * crop_h
    if area > max_area:
        crop_h -= 1
        crop_w = int(round(crop_h * aspect))
        area = crop_w * crop_h
    bad = area < min_area or area > max_area or crop_w > width or crop_h > height
    if bad or crop_w <= 0 or crop_h <= 0 or area < 0.1 * width * height:
        return None
    top = int(rng.integers(0, height - crop_h + 1))
    left = int(rng.integers(0, width - crop_w + 1))
    return top, left, crop_h, crop_w


def _normalize(image: np.ndarray) -> np.ndarray:
    mean = np.asarray(MEAN_RGB, dtype=np.float32)
    std = np.asarray(STDDEV_RGB, dtype=np.float32)
    return ((image - mean) / std).astype(np.float32)


def imagenet_preprocess_for_train(
    image: np.ndarray, size: int, rng: np.random.Generator, normalize: bool = True
) -> np.ndarray:
    """T2T's ImageNet training preprocessing: uint8 [H, W, 3] -> float32 [size, size, 3].

    Scale to [0, 1] (if `normalize`), random distorted crop resized bicubically to `size`
    (the whole image, scaled and centre-cropped, when the sampled window fails), channel
    normalisation (if `normalize`), random left-right flip.
    """
    x = np.asarray(image, dtype=np.float32)
    if normalize:
        x = x / np.float32(255.0)
    window = _sample_crop_window(x.shape[0], x.shape[1], rng)
    # T2T also takes the fallback when the sampled window is the whole image.
    if window is None or window[2:] == x.shape[:2]:
        x = center_crop(_scale_short_side(x, size), size)
    else:
        top, left, h, w = window
        x = resize_bicubic(x[top : top + h, left : left + w], size, size)
    if normalize:
        x = _normalize(x)
    return np.ascontiguousarray(random_flip_left_right(x, rng)).reshape(size, size, 3)


def imagenet_preprocess_for_eval(
    image: np.ndarray, size: int, normalize: bool = True
) -> np.ndarray:
    """T2T's ImageNet eval preprocessing: uint8 [H, W, 3] -> float32 [size, size, 3].

    Scale to [0, 1] (if `normalize`), bicubic resize of the short side to size + 32,
    channel normalisation (if `normalize`), centre crop.
    """
    x = np.asarray(image, dtype=np.float32)
    if normalize:
        x = x / np.float32(255.0)
    x = _scale_short_side(x, size + 32)
    if normalize:
        x = _normalize(x)
    return np.ascontiguousarray(center_crop(x, size)).reshape(size, size, 3)
