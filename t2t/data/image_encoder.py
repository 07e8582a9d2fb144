"""T2T's `ImageEncoder`: image files <-> flat pixel ids (vocabulary 256, no reserved ids)."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence

import numpy as np

from t2t.data import image_ops


class ImageEncoder:
    """Reads an image file into pixel ids; writes pixel ids to a temporary PNG file.

    Args:
        num_reserved_ids: must be 0 (pixels use all 256 ids).
        height, width: the image size `decode` expects (default: square, from the length).
        channels: colour channels (3: RGB, 1: grey).
    """

    def __init__(
        self,
        num_reserved_ids: int = 0,
        height: int | None = None,
        width: int | None = None,
        channels: int = 3,
    ) -> None:
        if num_reserved_ids != 0:
            raise ValueError("ImageEncoder has no reserved ids (num_reserved_ids=0)")
        self._height, self._width, self._channels = height, width, channels

    @property
    def num_reserved_ids(self) -> int:
        """0: every id is a pixel value."""
        return 0

    @property
    def vocab_size(self) -> int:
        """256 pixel values."""
        return 256

    def encode(self, s: str) -> np.ndarray:
        """The image file at path `s` -> uint8 [H, W, channels]."""
        with open(s, "rb") as f:
            return image_ops.decode_image(f.read(), self._channels)

    def decode(self, ids: Sequence[int], strip_extraneous: bool = False) -> str:
        """Pixel ids (H*W*C of them) -> the path of a temporary PNG file holding the image.

        Raises:
            ValueError: the number of ids does not fit the image size.
        """
        del strip_extraneous
        ids = np.asarray(ids).reshape(-1)
        if self._height is None or self._width is None:
            size = int(math.sqrt(len(ids) / self._channels))
            height = width = size
        else:
            height, width = self._height, self._width
        if len(ids) != height * width * self._channels:
            raise ValueError(
                f"{len(ids)} ids are not height ({height}) x width ({width}) x channels "
                f"({self._channels})"
            )
        image = ids.astype(np.uint8).reshape(height, width, self._channels)
        with tempfile.NamedTemporaryFile(suffix="_decode.png", delete=False) as f:
            f.write(image_ops.encode_png(image))
            return f.name

    def decode_list(self, ids: Sequence[int]) -> list[str]:
        """[decode(ids)]."""
        return [self.decode(ids)]
