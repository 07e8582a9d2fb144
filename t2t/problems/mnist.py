"""MNIST and Fashion-MNIST: image_mnist, image_mnist_tune, image_fashion_mnist (data spec 4.5).

The four idx .gz files are downloaded from T2T's URLs into --tmp_dir unless they are
there (Fashion-MNIST's are saved with the prefix "fashion-"). Each split's generator
shuffles the file's (image, label) pairs with Python's `random` (seeded by t2t-datagen)
before slicing, as T2T. The number of images is read from the idx header (T2T assumed
60000 / 10000; the real files say so too).
"""

from __future__ import annotations

import gzip
import os
import random
from collections.abc import Iterator
from typing import Any

import numpy as np

from t2t import registry
from t2t.data import image_ops
from t2t.errors import DataError
from t2t.problems import generator_utils
from t2t.problems.image import Image2ClassProblem, image_generator

MNIST_URL = "http://yann.lecun.com/exdb/mnist/"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_PREFIX = "fashion-"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
IMAGE_SIZE = 28

_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def _read_idx(path: str, magic: int) -> tuple[list[int], bytes]:
    """(dimensions, payload) of an idx file (big-endian header: magic, then the sizes)."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: not a readable .gz file ({error})") from None
    ndim = {_IMAGES_MAGIC: 3, _LABELS_MAGIC: 1}[magic]
    header = np.frombuffer(data[: 4 * (ndim + 1)], dtype=">i4")
    if len(header) != ndim + 1 or header[0] != magic:
        raise DataError(f"{path}: not an MNIST idx file (magic {magic} expected)")
    dims = [int(d) for d in header[1:]]
    payload = data[4 * (ndim + 1) :]
    if len(payload) < int(np.prod(dims)):
        raise DataError(f"{path}: truncated: {len(payload)} bytes for dimensions {dims}")
    return dims, payload


def extract_mnist_images(path: str) -> np.ndarray:
    """uint8 [N, 28, 28, 1] from an idx3 .gz file (16-byte header)."""
    (count, rows, cols), payload = _read_idx(path, _IMAGES_MAGIC)
    images = np.frombuffer(payload, dtype=np.uint8, count=count * rows * cols)
    return images.reshape(count, rows, cols, 1)


def extract_mnist_labels(path: str) -> np.ndarray:
    """int64 [N] from an idx1 .gz file (8-byte header)."""
    (count,), payload = _read_idx(path, _LABELS_MAGIC)
    return np.frombuffer(payload, dtype=np.uint8, count=count).astype(np.int64)


def _download(tmp_dir: str, url: str, prefix: str) -> None:
    for filename in (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS):
        generator_utils.maybe_download(tmp_dir, prefix + filename, url + filename)


def mnist_common_generator(
    tmp_dir: str,
    how_many: int,
    data_filename: str,
    label_filename: str,
    start_from: int = 0,
) -> Iterator[dict]:
    """Examples `start_from .. start_from + how_many` of a shuffle of one idx file pair."""
    images = extract_mnist_images(os.path.join(tmp_dir, data_filename))
    labels = extract_mnist_labels(os.path.join(tmp_dir, label_filename))
    if len(images) != len(labels):
        raise DataError(f"{data_filename}: {len(images)} images but {len(labels)} labels")
    pairs = list(zip(images, labels))
    random.shuffle(pairs)
    pairs = pairs[start_from : start_from + how_many]
    return image_generator([p[0] for p in pairs], [p[1] for p in pairs])


def mnist_generator(
    tmp_dir: str, training: bool, how_many: int, start_from: int = 0, fashion: bool = False
) -> Iterator[dict]:
    """Downloads (unless present) and reads the train or test files of (Fashion-)MNIST."""
    prefix = FASHION_PREFIX if fashion else ""
    _download(tmp_dir, FASHION_MNIST_URL if fashion else MNIST_URL, prefix)
    data = TRAIN_IMAGES if training else TEST_IMAGES
    labels = TRAIN_LABELS if training else TEST_LABELS
    return mnist_common_generator(tmp_dir, how_many, prefix + data, prefix + labels, start_from)


class _MnistLike(Image2ClassProblem):
    """28x28 grey images, 10 classes "0".."9", 10 train shards."""

    @property
    def num_channels(self) -> int:
        """One (grey)."""
        return 1

    @property
    def is_small(self) -> bool:
        """True."""
        return True

    @property
    def num_classes(self) -> int:
        """Ten digits (or clothes)."""
        return 10

    @property
    def class_labels(self) -> list[str]:
        """ "0" .. "9"."""
        return [str(c) for c in range(self.num_classes)]

    @property
    def train_shards(self) -> int:
        """10."""
        return 10

    def _checked(self, image: np.ndarray) -> np.ndarray:
        if image.shape != (IMAGE_SIZE, IMAGE_SIZE, 1):
            raise DataError(f"{self.name}: expected 28x28x1 images, got {image.shape}")
        return image


@registry.register_problem
class ImageMnistTune(_MnistLike):
    """MNIST for tuning: train = 55000 of the training file, dev = 5000 others."""

    tune_train_size = 55000
    tune_dev_size = 5000

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """Standardise (not for `_rev`); no augmentation."""
        image = self._checked(example["inputs"])
        if not self.was_reversed:
            image = image_ops.per_image_standardization(image)
        example["inputs"] = image
        return example

    def generator(self, data_dir: str, tmp_dir: str, is_training: bool) -> Iterator[dict]:
        """Train: the first 55000 of a shuffle; dev: 55000..59999 of another shuffle (T2T)."""
        if is_training:
            return mnist_generator(tmp_dir, True, self.tune_train_size)
        return mnist_generator(tmp_dir, True, self.tune_dev_size, self.tune_train_size)


@registry.register_problem
class ImageMnist(ImageMnistTune):
    """MNIST: train = the 60000 training images, dev = the 10000 test images."""

    def generator(self, data_dir: str, tmp_dir: str, is_training: bool) -> Iterator[dict]:
        """All of the train (is_training) or test file, shuffled."""
        return mnist_generator(tmp_dir, is_training, 60000 if is_training else 10000)


@registry.register_problem
class ImageFashionMnist(_MnistLike):
    """Fashion-MNIST (files saved as fashion-*.gz); not standardised, as T2T."""

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """The image unchanged (uint8 [28, 28, 1])."""
        example["inputs"] = self._checked(example["inputs"])
        return example

    def generator(self, data_dir: str, tmp_dir: str, is_training: bool) -> Iterator[dict]:
        """All of the train (is_training) or test file, shuffled."""
        how_many = 60000 if is_training else 10000
        return mnist_generator(tmp_dir, is_training, how_many, fashion=True)
