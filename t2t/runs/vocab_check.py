"""Vocabulary problems reported as such, not as "checkpoint does not fit the model".

An empty or cut-short vocabulary file gives a model with smaller embeddings, so loading
the run's checkpoint fails with a shape mismatch that blames the hparams. t2t-trainer
records the vocabulary sizes in run.json (`vocab_sizes`); `check_vocabularies` compares the
vocabularies read now with them (and refuses empty ones) before any weights are loaded.
"""

from __future__ import annotations

import os
from typing import Any

from t2t.errors import DataError


def vocab_sizes(problem_hparams: Any) -> dict[str, int]:
    """{feature: vocab_size} of the problem's text encoders."""
    vocabulary = getattr(problem_hparams, "vocabulary", None) or {}
    sizes = {}
    for name, encoder in sorted(vocabulary.items()):
        try:  # T2T's base TextEncoder (ids as text) has no vocab_size of its own
            size = getattr(encoder, "vocab_size", None)
        except NotImplementedError:
            continue
        if isinstance(size, int):
            sizes[name] = size
    return sizes


def _vocab_file(problem: Any, data_dir: str) -> str:
    name = getattr(problem, "vocab_filename", None)
    return os.path.join(data_dir, name) if isinstance(name, str) and data_dir else "the vocabulary"


def check_vocabularies(
    problem: Any, problem_hparams: Any, data_dir: str, recorded: dict[str, int] | None = None
) -> None:
    """Raises DataError for an empty vocabulary, or one whose size differs from `recorded`.

    Args:
        problem: the problem (for the vocabulary file name).
        problem_hparams: its hparams, with the encoders under `vocabulary`.
        data_dir: where the vocabulary was read from.
        recorded: run.json's `vocab_sizes` of the run being resumed or decoded, if any.
    """
    sizes = vocab_sizes(problem_hparams)
    for name, size in sizes.items():
        if size <= 0:
            raise DataError(
                f"{_vocab_file(problem, data_dir)} is empty: the {name} vocabulary has no "
                "entries (regenerate it with t2t-datagen)"
            )
    for name, size in sizes.items():
        want = (recorded or {}).get(name)
        if want is not None and want != size:
            raise DataError(
                f"{_vocab_file(problem, data_dir)} has {size} {name} entries, but the run was "
                f"trained with {want}: the file is truncated or not the run's vocabulary"
            )
