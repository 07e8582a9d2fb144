"""The random generator preprocessing uses for the record being read (data augmentation).

T2T's random preprocessing (CIFAR crops and flips, ImageNet crops) drew from TensorFlow's
op seeds. Here the input pipeline names the record it is about to preprocess with a key,
(seed, epoch, reader, record index), and `example_rng()` returns a generator seeded from
that key: the same run seed gives the same augmented images, in any process, and a
resumed pipeline replays them. The generator is made only when preprocessing asks for one,
so pipelines that do not augment pay one assignment per record.

    set_example_key((seed, epoch, reader, index))   # the pipeline, before preprocessing
    rng = example_rng()                              # a problem's preprocess_example

Outside a pipeline (no key set), `example_rng()` returns an unseeded generator.
"""

from __future__ import annotations

import numpy as np

_key: tuple[int, ...] | None = None
_rng: np.random.Generator | None = None


def set_example_key(key: tuple[int, ...] | None) -> None:
    """Names the record about to be preprocessed (None: no key, unseeded generators)."""
    global _key, _rng
    _key, _rng = key, None


def example_rng() -> np.random.Generator:
    """The generator of the current record: seeded from its key, made once per record."""
    global _rng
    if _rng is None:
        if _key is None:
            return np.random.default_rng()
        _rng = np.random.default_rng(np.random.SeedSequence([int(k) & (2**63 - 1) for k in _key]))
    return _rng
