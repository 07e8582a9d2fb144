"""Problem hparams: the defaults, the problem's `hparams` hook, then the `_rev`/`_copy` swaps.

`problem_hparams_to_features` gives the space-id features models read from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from t2t.hparams import HParams
from t2t.problems.constants import SpaceID
from t2t.problems.preprocess import default_model_hparams

if TYPE_CHECKING:
    from t2t.problems.problem import Problem


def _default_problem_hparams() -> HParams:
    return HParams(
        loss_multiplier=1.0,
        batch_size_multiplier=1,
        stop_at_eos=False,
        modality={},
        vocab_size={},
        input_space_id=SpaceID.GENERIC,
        target_space_id=SpaceID.GENERIC,
    )


def make_problem_hparams(problem: Problem, model_hparams: Any = None) -> HParams:
    """Builds problem hparams: defaults, the problem's `hparams` hook, then `_rev`/`_copy`.

    Raises:
        ValueError: the problem's `hparams` returned something instead of mutating in place.
    """
    if model_hparams is None:
        model_hparams = default_model_hparams()
    data_dir = getattr(model_hparams, "data_dir", None) or None
    encoders = problem.get_feature_encoders(data_dir)
    hp = _default_problem_hparams()
    if problem.hparams(hp, model_hparams) is not None:
        raise ValueError(
            "The Problem subclass hparams function should mutate the defaults passed in "
            "and return None."
        )
    # A copy: the _rev transform swaps entries, the problem's own encoders stay as on disk.
    hp.add_hparam("vocabulary", dict(encoders))
    hp.add_hparam("was_reversed", problem.was_reversed)
    hp.add_hparam("was_copy", problem.was_copy)
    if problem.was_reversed:
        _reverse_problem_hparams(hp)
    if problem.was_copy:
        _copy_problem_hparams(hp)
    return hp


def _swap_name(name: str) -> str:
    if "target" in name:
        return name.replace("target", "input")
    return name.replace("input", "target")


def _reverse_problem_hparams(p: HParams) -> None:
    # Modalities: names with "target" and "input" trade places; others are kept.
    p.modality = {
        (_swap_name(k) if ("target" in k or "input" in k) else k): v for k, v in p.modality.items()
    }
    # Vocab sizes: only (X-with-"target", its "input" twin) pairs survive, swapped (T2T).
    reversed_vocab = {}
    for name in p.vocab_size:
        twin = name.replace("target", "input")
        if "target" in name and twin in p.vocab_size:
            reversed_vocab[name] = p.vocab_size[twin]
            reversed_vocab[twin] = p.vocab_size[name]
    p.vocab_size = reversed_vocab
    inputs_vocab = p.vocabulary.pop("inputs", None)
    targets_vocab = p.vocabulary.pop("targets", None)
    if inputs_vocab is not None:
        p.vocabulary["targets"] = inputs_vocab
    if targets_vocab is not None:
        p.vocabulary["inputs"] = targets_vocab
    input_space, target_space = p.input_space_id, p.target_space_id
    p.target_space_id = SpaceID.GENERIC if input_space is None else input_space
    p.input_space_id = SpaceID.GENERIC if target_space is None else target_space
    p.was_reversed = True


def _copy_problem_hparams(p: HParams) -> None:
    p.modality["targets"] = p.modality["inputs"]
    p.vocab_size["targets"] = p.vocab_size["inputs"]
    p.vocabulary["targets"] = p.vocabulary["inputs"]
    p.target_space_id = p.input_space_id
    p.was_copy = True


def problem_hparams_to_features(problem_hparams: Any) -> dict[str, int]:
    """{"input_space_id", "target_space_id"} (GENERIC for None)."""
    input_space = getattr(problem_hparams, "input_space_id", None)
    target_space = getattr(problem_hparams, "target_space_id", None)
    return {
        "input_space_id": SpaceID.GENERIC if input_space is None else int(input_space),
        "target_space_id": SpaceID.GENERIC if target_space is None else int(target_space),
    }
