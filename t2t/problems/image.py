"""Image problems: T2T's `ImageProblem`, `Image2ClassProblem` and `Image2TextProblem`.

On disk (data spec 4.5), each example is a tf.Example with `image/encoded` (PNG bytes;
ImageNet's TFRecords hold JPEG), `image/format` ("png"), `image/class/label` (int64; a
list of ids for Image2Text) and `image/height` / `image/width` (T2T's generator writes the
image's shape[1] as height and shape[0] as width: equal for square images). Files are
T2T's shards: `<name>-train-000NN-of-000MM`, `<name>-dev-00000-of-00001`.

What the models receive (the contract with the image modalities):

- Reading decodes `image/encoded` with Pillow into "inputs": uint8 [H, W, C]
  (C = `num_channels`); Image2Class adds "targets": int64 [1] (the class id).
- `preprocess_example` follows each T2T problem: most standardise per image
  ((x - mean) / max(std, 1/sqrt(H*W*C)), float32 [H, W, C]); CIFAR's training mode first
  pads to 40x40, crops 32x32 at random and flips at random; ImageNet crops, resizes and
  normalises by channel mean/std (float32 [S, S, 3]); image_fashion_mnist (as T2T) and
  the `_plain_gen`/`_rev`/img2img variants keep integer pixels 0..255. T2T standardises
  here, in the data pipeline, and its image modality's bottom only converts to float: so
  does ours. (TF 1.15 made the installed original's standardised uint8 images uint8
  again, saturated: see `t2t.data.image_ops.per_image_standardization`; we return the
  float32 values T2T was written for.)
- Batches: "inputs" FloatTensor [B, H, W, C] (LongTensor for the integer-pixel ones),
  "targets" LongTensor [B, 1], plus the 0-d "input_space_id" (25, IMAGE) and
  "target_space_id" (1, IMAGE_LABEL). Shapes are fixed, so `batch_size` counts examples
  and no example is dropped for its size (T2T's rule for fully defined shapes).
- Problem hparams: modality inputs "image" (vocab 256), targets "class_label" (vocab
  `num_classes`); batch_size_multiplier 4 (small) or 256; loss_multiplier 3.0 (small, not
  reversed) or 1.0.

Random preprocessing draws from `t2t.data.example_rng.example_rng()`, which the input
pipeline seeds per record from the run's seed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from t2t.data import image_ops, text_encoder
from t2t.data.example_rng import example_rng
from t2t.errors import DataError
from t2t.modalities.names import ModalityType
from t2t.problems import generator_utils
from t2t.problems.problem import (
    FixedLenFeature,
    Metrics,
    Modes,
    Problem,
    SpaceID,
    VarLenFeature,
)

__all__ = [
    "Image2ClassProblem",
    "Image2TextProblem",
    "ImageProblem",
    "cifar_image_augmentation",
    "encode_images_as_png",
    "image_generator",
    "resize_by_area",
]

IMAGE_KEY, FORMAT_KEY, LABEL_KEY = "image/encoded", "image/format", "image/class/label"


class ImageDecoder:
    """Reading-spec decoder: the `image/encoded` bytes -> uint8 [H, W, channels].

    A class rather than a closure, so that problems travel to DataLoader workers.
    """

    def __init__(self, channels: int) -> None:
        self.channels = channels

    def __call__(self, fields: dict[str, Any]) -> np.ndarray:
        """fields -> uint8 [H, W, channels]."""
        encoded = fields[IMAGE_KEY]
        data = encoded.item() if isinstance(encoded, np.ndarray) else encoded
        if isinstance(data, list):
            data = data[0]
        return image_ops.decode_image(data, self.channels)


class FieldDecoder:
    """Reading-spec decoder that passes one field through (T2T's slim Tensor decoder)."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, fields: dict[str, Any]) -> Any:
        """fields -> fields[key]."""
        return fields[self.key]


def encode_images_as_png(images: Iterable[np.ndarray]) -> Iterator[bytes]:
    """PNG bytes of each uint8 [H, W, C] image."""
    for image in images:
        yield image_ops.encode_png(image)


def resize_by_area(img: np.ndarray, size: int) -> np.ndarray:
    """T2T's resize_by_area: AREA resize of [H, W, C] to [size, size, C], as int64."""
    return image_ops.resize_by_area(img, size)


def cifar_image_augmentation(images: np.ndarray) -> np.ndarray:
    """T2T's CIFAR augmentation of one [32, 32, C] image (pad 40, random crop, random flip),
    drawing from the current record's generator (`t2t.data.example_rng`)."""
    return image_ops.cifar_image_augmentation(images, example_rng())


def image_generator(images: Sequence[np.ndarray], labels: Sequence[int]) -> Iterator[dict]:
    """T2T's image examples: PNG `image/encoded`, "png" format, label, height and width.

    Raises:
        ValueError: no images.
    """
    if len(images) == 0:
        raise ValueError("Must provide some images for the generator.")
    width, height, _ = images[0].shape  # T2T's names, swapped: equal for square images
    for encoded, label in zip(encode_images_as_png(images), labels):
        yield {
            IMAGE_KEY: [encoded],
            FORMAT_KEY: ["png"],
            LABEL_KEY: [int(label)],
            "image/height": [height],
            "image/width": [width],
        }


class ImageProblem(Problem):
    """Problems with image inputs, read from `image/encoded` + `image/format`."""

    @property
    def num_channels(self) -> int:
        """Colour channels (3)."""
        return 3

    @property
    def image_size(self) -> int | None:
        """The height of the images the model sees when fixed (None: small or varying)."""
        return None

    @property
    def vocab_size(self) -> int:
        """Pixel values (256)."""
        return 256

    def example_reading_spec(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The encoded image and its format; "inputs" decodes the image."""
        fields = {
            IMAGE_KEY: FixedLenFeature((), object),
            FORMAT_KEY: FixedLenFeature((), object, default_value=b"png"),
        }
        return fields, {"inputs": ImageDecoder(self.num_channels)}

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> dict:
        """Per-image standardisation (not for `_rev`, whose targets are the pixels)."""
        if not self.was_reversed:
            example["inputs"] = image_ops.per_image_standardization(example["inputs"])
        return example

    def input_features_from_line(self, line: str, hparams: Any) -> np.ndarray:
        """The model input of an image file (t2t-decoder --decode_from_file lists paths).

        The file is decoded with Pillow to `num_channels` channels and preprocessed as a dev
        example (eval mode: no augmentation). Images of another size than the problem's are
        the user's to resize; a model with a fixed input size reports the mismatch.

        Raises:
            DataError: the file is missing or not an image.
        """
        path = os.path.expanduser(line.strip())
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            raise DataError(f"cannot read image {path!r}: {error.strerror}") from None
        try:
            image = image_ops.decode_image(data, self.num_channels)
        except Exception as error:  # Pillow raises several types for a damaged file
            raise DataError(f"{path!r} is not a readable image ({error})") from None
        example = self.preprocess_example({"inputs": image}, "eval", hparams)
        return np.asarray(example["inputs"])

    def eval_metrics(self) -> list[str]:
        """accuracy, accuracy_top5, accuracy_per_sequence, neg_log_perplexity."""
        return [Metrics.ACC, Metrics.ACC_TOP5, Metrics.ACC_PER_SEQ, Metrics.NEG_LOG_PERPLEXITY]

    def generator(self, data_dir: str, tmp_dir: str, is_training: bool) -> Iterator[dict]:
        """The examples of the train (is_training) or dev split."""
        raise NotImplementedError()

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Writes `train_shards` + `dev_shards` shards of `generator` (shuffled in place)."""
        generator_utils.generate_dataset_and_shuffle(
            self.generator(data_dir, tmp_dir, True),
            self.training_filepaths(data_dir, self.train_shards, shuffled=False),
            self.generator(data_dir, tmp_dir, False),
            self.dev_filepaths(data_dir, self.dev_shards, shuffled=False),
        )


class Image2ClassProblem(ImageProblem):
    """Image classification: one class label per image in `image/class/label`."""

    @property
    def is_small(self) -> bool:
        """Small images (MNIST, CIFAR): sets batch_size_multiplier and loss_multiplier."""
        raise NotImplementedError()

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        raise NotImplementedError()

    @property
    def train_shards(self) -> int:
        """Number of training shards."""
        raise NotImplementedError()

    @property
    def dev_shards(self) -> int:
        """Number of dev shards (1)."""
        return 1

    @property
    def class_labels(self) -> list[str]:
        """Label names by class id (default "ID_0", "ID_1", ...)."""
        return [f"ID_{i}" for i in range(self.num_classes)]

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """Image inputs, class-label targets."""
        del data_dir
        return {
            "inputs": text_encoder.ImageEncoder(channels=self.num_channels),
            "targets": text_encoder.ClassLabelEncoder(self.class_labels),
        }

    def example_reading_spec(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The image fields plus the label, decoded into "targets" int64 [1]."""
        fields, decoders = super().example_reading_spec()
        fields[LABEL_KEY] = FixedLenFeature((1,), np.int64)
        decoders["targets"] = FieldDecoder(LABEL_KEY)
        return fields, decoders

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """Image inputs (256), class-label targets, T2T's multipliers and space ids."""
        p = defaults
        p.modality = {"inputs": ModalityType.IMAGE, "targets": ModalityType.CLASS_LABEL}
        p.vocab_size = {"inputs": 256, "targets": self.num_classes}
        p.batch_size_multiplier = 4 if self.is_small else 256
        p.loss_multiplier = 3.0 if self.is_small and not self.was_reversed else 1.0
        p.input_space_id = SpaceID.IMAGE
        p.target_space_id = SpaceID.IMAGE_LABEL
        # PyTorch builds the first convolution before it sees a batch: the models read the
        # channel count (and, for xception's entry flow, the image height) from here.
        p.num_channels = self.num_channels
        if self.image_size:
            p.image_size = self.image_size


class Image2TextProblem(ImageProblem):
    """Images with a text target (captions, OCR): `image/class/label` holds the token ids."""

    @property
    def is_character_level(self) -> bool:
        """Byte-level targets (True) or a subword vocabulary (False)."""
        raise NotImplementedError()

    @property
    def vocab_problem(self) -> Any:
        """The problem whose vocabulary file the targets use (not for character level)."""
        raise NotImplementedError()

    @property
    def target_space_id(self) -> int:
        """The targets' space id."""
        raise NotImplementedError()

    @property
    def train_shards(self) -> int:
        """Number of training shards."""
        raise NotImplementedError()

    @property
    def dev_shards(self) -> int:
        """Number of dev shards."""
        raise NotImplementedError()

    def example_reading_spec(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The image fields plus variable-length target ids in `image/class/label`."""
        fields, decoders = super().example_reading_spec()
        fields[LABEL_KEY] = VarLenFeature(np.int64)
        decoders["targets"] = FieldDecoder(LABEL_KEY)
        return fields, decoders

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """Image inputs; byte or subword targets."""
        if self.is_character_level:
            encoder = text_encoder.ByteTextEncoder()
        else:
            if not data_dir:
                raise DataError(f"{self.name}: the subword vocabulary needs data_dir")
            path = os.path.join(data_dir, self.vocab_problem.vocab_filename)
            encoder = text_encoder.SubwordTextEncoder(path)
        return {"inputs": text_encoder.ImageEncoder(channels=self.num_channels), "targets": encoder}

    def hparams(self, defaults: Any, model_hparams: Any) -> None:
        """Image inputs (256), symbol targets of the target encoder's vocabulary."""
        p = defaults
        p.modality = {"inputs": ModalityType.IMAGE, "targets": ModalityType.SYMBOL}
        p.vocab_size = {"inputs": 256, "targets": self.get_feature_encoders()["targets"].vocab_size}
        p.batch_size_multiplier = 256
        p.loss_multiplier = 1.0
        p.input_space_id = SpaceID.IMAGE
        p.target_space_id = self.target_space_id
        p.num_channels = self.num_channels


def is_training(mode: str) -> bool:
    """Whether `mode` is training (augmentation applies only then)."""
    return mode == Modes.TRAIN
