"""Real handwritten digits in MNIST's four files, for running image_mnist offline.

This machine cannot download MNIST. scikit-learn ships the UCI "optical recognition of
handwritten digits" set (1,797 scans of digits by 43 writers, 8x8 pixels, 17 grey levels).
This script scales each scan to 28x28 (bilinear), spreads the grey levels over 0..255, and
writes the four idx .gz files image_mnist reads from --tmp_dir: the first 1,497 digits as
"train", the last 300 as "t10k" (writers differ between the two parts, as the UCI split).

    python benchmarks/digits_as_mnist.py /tmp/t2t_digits   # needs scikit-learn and Pillow
    t2t-trainer --generate_data --tmp_dir=/tmp/t2t_digits --problems=image_mnist ...
"""

from __future__ import annotations

import gzip
import os
import struct
import sys

import numpy as np

TRAIN = 1497


def _scaled(images: np.ndarray) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(images), 28, 28), np.uint8)
    for i, image in enumerate(images):
        grey = Image.fromarray((image * (255.0 / 16.0)).astype(np.float32), mode="F")
        out[i] = np.clip(np.asarray(grey.resize((28, 28), Image.BILINEAR)), 0, 255).round()
    return out


def _write(path: str, magic: int, array: np.ndarray) -> None:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def main(out_dir: str) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = _scaled(digits.images), digits.target.astype(np.uint8)
    os.makedirs(out_dir, exist_ok=True)
    parts = {"train": slice(0, TRAIN), "t10k": slice(TRAIN, None)}
    for name, part in parts.items():
        _write(os.path.join(out_dir, f"{name}-images-idx3-ubyte.gz"), 2051, images[part])
        _write(os.path.join(out_dir, f"{name}-labels-idx1-ubyte.gz"), 2049, labels[part])
    print(f"{out_dir}: {TRAIN} train and {len(labels) - TRAIN} test digits, 28x28")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/t2t_digits")
