"""One-call model construction from registered names, without data on disk."""

import torch
from torch import nn

from t2t import registry
from t2t.errors import T2TError
from t2t.hparams import HParams, create_hparams


def create_model(
    model: str,
    hparams_set: str,
    problem: str | None = None,
    hparams: str = "",
    problem_hparams: HParams | None = None,
    data_dir: str | None = None,
) -> nn.Module:
    """Builds a registered model with a registered hparams set.

    Args:
        model: registered model name ("transformer").
        hparams_set: registered hparams set ("transformer_base").
        problem: registered problem name; its `get_hparams(model_hparams)` gives the
            modalities and vocab sizes (needs the problem's vocabulary in `data_dir` when
            it has one).
        hparams: overrides ("hidden_size=256,num_heads=4").
        problem_hparams: problem hparams built by hand (used when `problem` is None).
        data_dir: where the problem's vocabulary lives.

    Returns:
        The model in training mode.

    Raises:
        UnknownNameError: unknown model, hparams set or problem.
        T2TError: neither `problem` nor `problem_hparams` given.
    """
    model_cls = registry.model(model)
    model_hparams = create_hparams(hparams_set, hparams, data_dir=data_dir)
    if problem is not None:
        problem_obj = registry.problem(problem)
        problem_hparams = problem_obj.get_hparams(model_hparams)
        model_hparams.problem = problem_obj
        model_hparams.problem_hparams = problem_hparams
    if problem_hparams is None:
        raise T2TError(
            "create_model needs a problem (a registered name) or problem_hparams "
            "(an HParams with modality and vocab_size)"
        )
    return model_cls(model_hparams, problem_hparams)


def count_trainable_parameters(module: nn.Module) -> int:
    """Number of trainable parameter elements (shared tensors counted once)."""
    seen: set[int] = set()
    total = 0
    for param in module.parameters():
        if param.requires_grad and id(param) not in seen:
            seen.add(id(param))
            total += param.numel()
    return total


def create_model_on_meta(*args, **kwargs) -> nn.Module:
    """`create_model` on the meta device: shapes without memory (for parameter counts)."""
    with torch.device("meta"):
        return create_model(*args, **kwargs)
