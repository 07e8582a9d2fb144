"""ImageNet: image_imagenet, image_imagenet224 (+ _no_normalization), image_imagenet256,
image_imagenet64, image_imagenet32 and img2img_imagenet (data spec 4.5).

There is no download: these problems read the TFRecords T2T users prepared for the
original (TensorFlow's inception `build_imagenet_data` format: JPEG `image/encoded`,
`image/format`, `image/class/label`, ...) named `image_imagenet-train-*` and
`image_imagenet-dev-*` in --data_dir; every rescaled problem reads those same files.

Preprocessing, as T2T's `imagenet_preprocess_example`: training takes a random crop
(8-100 % of the area, aspect 3/4-4/3), resizes it bicubically to the problem's size,
normalises by ImageNet's channel mean/std and flips at random; eval scales the short side
to size + 32 and crops the centre. image_imagenet uses 299x299. image_imagenet32/64 keep
T2T's quirk: the normalised 299x299 image is bilinearly resized to 32x32 (64x64) and
truncated to int64 (their `_rev` variants: an int64 area resize of the raw image).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from t2t import registry
from t2t.data import image_ops
from t2t.data.example_rng import example_rng
from t2t.errors import DataError
from t2t.modalities.names import ModalityType
from t2t.problems.image import Image2ClassProblem, ImageProblem, is_training
from t2t.problems.problem import SpaceID

_INSTRUCTIONS = (
    "{name} has no download: prepare ImageNet's TFRecords as for the original T2T "
    "(https://github.com/tensorflow/models/tree/master/research/inception/README.md"
    "#getting-started) and name them image_imagenet-train-NNNNN-of-01024 and "
    "image_imagenet-dev-NNNNN-of-00128 in --data_dir"
)


def imagenet_preprocess_example(
    example: dict, mode: str, resize_size: int = 299, normalize: bool = True
) -> dict:
    """T2T's ImageNet preprocessing of example["inputs"] to float32 [size, size, 3]."""
    image = example["inputs"]
    if is_training(mode):
        image = image_ops.imagenet_preprocess_for_train(
            image, resize_size, example_rng(), normalize
        )
    else:
        image = image_ops.imagenet_preprocess_for_eval(image, resize_size, normalize)
    example["inputs"] = image
    return example


@registry.register_problem
class ImageImagenet(Image2ClassProblem):
    """ImageNet at 299x299, 1000 classes (labels as stored in the TFRecords)."""

    @property
    def is_small(self) -> bool:
        """False."""
        return False

    @property
    def num_classes(self) -> int:
        """1000."""
        return 1000

    @property
    def train_shards(self) -> int:
        """1024 (inception's layout)."""
        return 1024

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Not generated here: raises DataError with T2T's instructions.

        Raises:
            DataError: always.
        """
        raise DataError(_INSTRUCTIONS.format(name=self.name))

    @property
    def image_size(self) -> int | None:
        """299: the size preprocessing gives."""
        return 299

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """Random crop/flip (train) or centre crop (eval) at 299x299, normalised."""
        return imagenet_preprocess_example(example, mode)


class ImageImagenetRescaled(ImageImagenet):
    """ImageNet at `rescale_size`, reading image_imagenet's files."""

    @property
    def rescale_size(self) -> list[int]:
        """[size, size]."""
        raise NotImplementedError()

    @property
    def normalize_image(self) -> bool:
        """Whether preprocessing normalises the image (True)."""
        return True

    @property
    def image_size(self) -> int | None:
        """rescale_size's height."""
        return self.rescale_size[0]

    def dataset_filename(self) -> str:
        """image_imagenet: the rescaled problems reuse its files."""
        return "image_imagenet"

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """ImageNet's preprocessing at rescale_size."""
        return imagenet_preprocess_example(
            example, mode, self.rescale_size[0], normalize=self.normalize_image
        )


@registry.register_problem
class ImageImagenet224(ImageImagenetRescaled):
    """ImageNet at 224x224."""

    @property
    def rescale_size(self) -> list[int]:
        """[224, 224]."""
        return [224, 224]


@registry.register_problem
class ImageImagenet224NoNormalization(ImageImagenet224):
    """ImageNet at 224x224, pixels kept in 0..255 (as floats)."""

    @property
    def normalize_image(self) -> bool:
        """False."""
        return False


@registry.register_problem
class ImageImagenet256(ImageImagenetRescaled):
    """ImageNet at 256x256."""

    @property
    def rescale_size(self) -> list[int]:
        """[256, 256]."""
        return [256, 256]


@registry.register_problem
class ImageImagenet32(ImageImagenetRescaled):
    """ImageNet at 32x32 (small: CIFAR-like multipliers)."""

    @property
    def rescale_size(self) -> list[int]:
        """[32, 32]."""
        return [32, 32]

    @property
    def is_small(self) -> bool:
        """True."""
        return True

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """`_rev`: int64 area resize; else T2T's 299 preprocessing, resized, as int64."""
        size = self.rescale_size[0]
        if self.was_reversed:
            example["inputs"] = image_ops.resize_by_area(example["inputs"], size)
            return example
        example = imagenet_preprocess_example(example, mode)
        resized = image_ops.resize_bilinear(example["inputs"], size, size)
        example["inputs"] = resized.astype(np.int64)
        return example


@registry.register_problem
class ImageImagenet64(ImageImagenet32):
    """ImageNet at 64x64."""

    @property
    def rescale_size(self) -> list[int]:
        """[64, 64]."""
        return [64, 64]


@registry.register_problem
class Img2imgImagenet(ImageProblem):
    """ImageNet super-resolution: 8x8 inputs, 32x32 targets (int64 area resizes)."""

    def dataset_filename(self) -> str:
        """image_imagenet."""
        return "image_imagenet"

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Not generated here: raises DataError with T2T's instructions.

        Raises:
            DataError: always.
        """
        raise DataError(_INSTRUCTIONS.format(name=self.name))

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """inputs := 8x8, targets := 32x32 area resizes of the image."""
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
