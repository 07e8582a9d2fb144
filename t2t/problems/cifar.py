"""CIFAR-10, CIFAR-100 and CIFAR-20 (CIFAR-100's coarse labels) image problems (data spec 4.5).

The "python" archives are downloaded from T2T's URLs into --tmp_dir unless present,
extracted safely (`t2t.problems.safe_extract`) and their batches unpickled WITHOUT
running code (`t2t.data.safe_pickle`: only NumPy arrays and plain containers load).
Train = the training batches in file order (not shuffled at generation), dev = the test
batch; the `_tune` problems use the first 48000 training images for training and the next
2000 for dev. Each row of `data` (3072 bytes, channel-major) becomes a [32, 32, 3] image.

Preprocessing, as T2T: `image_cifar10` (and _100, _20): training pads to 40x40, crops
32x32 at random and flips at random, then every mode standardises; `_plain`: standardise
only; `_plain_gen`: int64 pixels, reading `image_cifar10_plain`'s files (`_plain_gen_flat`: as
one sequence of 3072, without targets); `_plain8`: an 8x8
area-resized, standardised input; `img2img_cifar10`: 8x8 inputs and 32x32 targets
(int64 pixels, identity modalities).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from t2t import registry
from t2t.data import image_ops
from t2t.data.example_rng import example_rng
from t2t.data.safe_pickle import load_array_pickle
from t2t.errors import DataError
from t2t.modalities.names import ModalityType
from t2t.problems import generator_utils
from t2t.problems.cifar_labels import CIFAR10_LABELS, CIFAR20_LABELS, CIFAR100_LABELS
from t2t.problems.image import Image2ClassProblem, image_generator, is_training
from t2t.problems.problem import SpaceID

IMAGE_SIZE = 32

# version -> (url, directory in the archive, train files, test files, label key)
_SOURCES = {
    "cifar10": (
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "cifar-10-batches-py",
        [f"data_batch_{i}" for i in range(1, 6)],
        ["test_batch"],
        "labels",
    ),
    "cifar100": (
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "cifar-100-python",
        ["train"],
        ["test"],
        "fine_labels",
    ),
}
_SOURCES["cifar20"] = _SOURCES["cifar100"][:4] + ("coarse_labels",)


def _get_cifar(tmp_dir: str, url: str, directory: str, files: list[str]) -> None:
    """Downloads the archive unless present; extracts it unless its files are there."""
    archive = generator_utils.maybe_download(tmp_dir, os.path.basename(url), url)
    if not all(os.path.exists(os.path.join(tmp_dir, directory, f)) for f in files):
        generator_utils.extract_tar(archive, tmp_dir)


def _read_batch(path: str, label_key: str) -> tuple[np.ndarray, list[int]]:
    """(uint8 [N, 32, 32, 3] images, labels) of one pickled batch."""
    try:
        with open(path, "rb") as f:
            batch = load_array_pickle(f, encoding="latin1", source=path)
    except FileNotFoundError:
        raise DataError(f"{path} is missing from the extracted CIFAR archive") from None
    if not isinstance(batch, dict) or "data" not in batch or label_key not in batch:
        raise DataError(f"{path}: not a CIFAR batch (no 'data' and {label_key!r})")
    data = np.asarray(batch["data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * IMAGE_SIZE * IMAGE_SIZE:
        raise DataError(f"{path}: 'data' has shape {data.shape}, not [N, 3072]")
    images = data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 3, 1)  # [N, H, W, C]
    labels = [int(x) for x in batch[label_key]]
    if len(labels) != len(images):
        raise DataError(f"{path}: {len(images)} images but {len(labels)} labels")
    return images, labels


def cifar_generator(
    cifar_version: str, tmp_dir: str, training: bool, how_many: int, start_from: int = 0
) -> Iterator[dict]:
    """Examples start_from .. start_from + how_many of the train (training) or test batches.

    Args:
        cifar_version: "cifar10", "cifar100" (fine labels) or "cifar20" (coarse labels).
    """
    url, directory, train_files, test_files, label_key = _SOURCES[cifar_version]
    files = train_files if training else test_files
    _get_cifar(tmp_dir, url, directory, files)
    images: list[np.ndarray] = []
    labels: list[int] = []
    for name in files:
        batch_images, batch_labels = _read_batch(os.path.join(tmp_dir, directory, name), label_key)
        images.extend(batch_images)
        labels.extend(batch_labels)
    end = start_from + how_many
    return image_generator(images[start_from:end], labels[start_from:end])


def _checked(problem: Any, image: np.ndarray) -> np.ndarray:
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
        raise DataError(f"{problem.name}: expected 32x32x3 images, got {image.shape}")
    return image


class _CifarTune(Image2ClassProblem):
    """The CIFAR family's shared part: 32x32 RGB, small, 10 train shards; augmentation in
    training, then standardisation. Subclasses set `cifar_version` and the labels."""

    cifar_version = "cifar10"
    tune_train_size = 48000
    tune_dev_size = 2000

    @property
    def is_small(self) -> bool:
        """True."""
        return True

    @property
    def num_classes(self) -> int:
        """len(class_labels)."""
        return len(self.class_labels)

    @property
    def train_shards(self) -> int:
        """10."""
        return 10

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """Training: pad-40 random crop + flip; then standardise (not for `_rev`)."""
        image = _checked(self, example["inputs"])
        if is_training(mode):
            image = image_ops.cifar_image_augmentation(image, example_rng())
        if not self.was_reversed:
            image = image_ops.per_image_standardization(image)
        example["inputs"] = image
        return example

    def generator(self, data_dir: str, tmp_dir: str, is_training: bool) -> Iterator[dict]:
        """Train: the first 48000 training images; dev: the next 2000."""
        if is_training:
            return cifar_generator(self.cifar_version, tmp_dir, True, self.tune_train_size)
        return cifar_generator(
            self.cifar_version, tmp_dir, True, self.tune_dev_size, self.tune_train_size
        )


class _CifarFull:
    """Mixin: train = all training images, dev = the test batch."""

    def generator(self, data_dir: str, tmp_dir: str, is_training: bool) -> Iterator[dict]:
        """All training images (is_training) or all test images, in file order."""
        return cifar_generator(
            self.cifar_version, tmp_dir, is_training, 50000 if is_training else 10000
        )


class _Plain:
    """Mixin: standardise only, no augmentation."""

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """Standardise (not for `_rev`)."""
        image = _checked(self, example["inputs"])
        if not self.was_reversed:
            image = image_ops.per_image_standardization(image)
        example["inputs"] = image
        return example


class _PlainGen:
    """Mixin: int64 pixels (no standardisation), reading the `_plain` problem's files."""

    def dataset_filename(self) -> str:
        """`image_<version>_plain`: the plain problem's files."""
        return f"image_{self.cifar_version}_plain"

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """int64 [32, 32, 3] pixels."""
        example["inputs"] = _checked(self, example["inputs"]).astype(np.int64)
        return example


class _Plain8:
    """Mixin: an 8x8 area-resized input, standardised; reads the `_plain` files."""

    def dataset_filename(self) -> str:
        """`image_<version>_plain`."""
        return f"image_{self.cifar_version}_plain"

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """int64 8x8 area resize, then standardise (not for `_rev`)."""
        image = image_ops.resize_by_area(example["inputs"], 8)
        if not self.was_reversed:
            image = image_ops.per_image_standardization(image)
        example["inputs"] = image
        return example


class _Img2img:
    """Mixin: inputs 8x8 and targets 32x32 area resizes (int64), identity modalities."""

    def dataset_filename(self) -> str:
        """`image_<version>_plain`."""
        return f"image_{self.cifar_version}_plain"

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """inputs := 8x8, targets := 32x32 area resizes of the image (int64)."""
        image = example["inputs"]
        example["inputs"] = image_ops.resize_by_area(image, 8)
        example["targets"] = image_ops.resize_by_area(image, 32)
        return example

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """Identity modalities of 256 values, space ids 1/1."""
        p = defaults
        p.modality = {"inputs": ModalityType.IDENTITY, "targets": ModalityType.IDENTITY}
        p.vocab_size = {"inputs": 256, "targets": 256}
        p.batch_size_multiplier = 256
        p.input_space_id = SpaceID.IMAGE_LABEL
        p.target_space_id = SpaceID.IMAGE_LABEL


# ----------------------------------------------------------------------------- CIFAR-10


@registry.register_problem
class ImageCifar10Tune(_CifarTune):
    """CIFAR-10 for tuning (48000 train / 2000 dev of the training batches)."""

    @property
    def class_labels(self) -> list[str]:
        """airplane .. truck."""
        return list(CIFAR10_LABELS)


@registry.register_problem
class ImageCifar10(_CifarFull, ImageCifar10Tune):
    """CIFAR-10: 50000 train, 10000 dev (the test batch); augmented in training."""


@registry.register_problem
class ImageCifar10Plain(_Plain, ImageCifar10):
    """CIFAR-10 without augmentation."""


@registry.register_problem
class ImageCifar10PlainGen(_PlainGen, ImageCifar10Plain):
    """CIFAR-10 for image generation: int64 pixels, image_cifar10_plain's files."""


@registry.register_problem
class ImageCifar10PlainGenFlat(ImageCifar10PlainGen):
    """Unconditional generation: the 3072 pixels as one int64 sequence, no targets."""

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """inputs := int64 [3072] (row-major HWC); the label is dropped."""
        example["inputs"] = _checked(self, example["inputs"]).astype(np.int64).reshape(-1)
        example.pop("targets", None)
        return example

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """As image_cifar10, with symbol_weights_all inputs in the GENERIC space."""
        super().hparams(defaults, model_hparams)
        defaults.modality["inputs"] = ModalityType.SYMBOL_WEIGHTS_ALL
        defaults.input_space_id = SpaceID.GENERIC


@registry.register_problem
class ImageCifar10Plain8(_Plain8, ImageCifar10):
    """CIFAR-10 as standardised 8x8 inputs (image_cifar10_plain's files)."""


@registry.register_problem
class Img2imgCifar10(_Img2img, ImageCifar10):
    """CIFAR-10 super-resolution: 8x8 inputs, 32x32 targets."""


# ----------------------------------------------------------------------------- CIFAR-100


@registry.register_problem
class ImageCifar100Tune(_CifarTune):
    """CIFAR-100 (fine labels) for tuning."""

    cifar_version = "cifar100"

    @property
    def class_labels(self) -> list[str]:
        """T2T's 100 names (grouped by superclass, as T2T lists them)."""
        return list(CIFAR100_LABELS)


@registry.register_problem
class ImageCifar100(_CifarFull, ImageCifar100Tune):
    """CIFAR-100: 50000 train, 10000 dev; augmented in training."""


@registry.register_problem
class ImageCifar100Plain(_Plain, ImageCifar100):
    """CIFAR-100 without augmentation."""


@registry.register_problem
class ImageCifar100PlainGen(_PlainGen, ImageCifar100Plain):
    """CIFAR-100 for image generation: int64 pixels, image_cifar100_plain's files."""


@registry.register_problem
class ImageCifar100Plain8(_Plain8, ImageCifar100):
    """CIFAR-100 as standardised 8x8 inputs."""


@registry.register_problem
class Img2imgCifar100(_Img2img, ImageCifar100):
    """CIFAR-100 super-resolution: 8x8 inputs, 32x32 targets."""

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """As img2img_cifar10, plus T2T's max_expected_batch_size_per_shard = 4."""
        super().hparams(defaults, model_hparams)
        defaults.add_hparam("max_expected_batch_size_per_shard", 4)


# ----------------------------------------------------------------------------- CIFAR-20


@registry.register_problem
class ImageCifar20Tune(_CifarTune):
    """CIFAR-100's 20 coarse classes, for tuning."""

    cifar_version = "cifar20"

    @property
    def class_labels(self) -> list[str]:
        """The 20 superclass names."""
        return list(CIFAR20_LABELS)


@registry.register_problem
class ImageCifar20(_CifarFull, ImageCifar20Tune):
    """CIFAR-20: 50000 train, 10000 dev; augmented in training."""


@registry.register_problem
class ImageCifar20Plain(_Plain, ImageCifar20):
    """CIFAR-20 without augmentation."""


@registry.register_problem
class ImageCifar20PlainGen(_PlainGen, ImageCifar20Plain):
    """CIFAR-20 for image generation: int64 pixels, image_cifar20_plain's files."""


@registry.register_problem
class ImageCifar20Plain8(_Plain8, ImageCifar20):
    """CIFAR-20 as standardised 8x8 inputs."""
