"""The one way to build a model for a run, from registered names.

`build_run` is what t2t-trainer, t2t-decoder and `t2t.load` use: it resolves the names
(with close-match errors), builds the hparams (set -> the run's hparams.json -> overrides),
attaches the problem's modalities and vocab sizes, builds the model and counts its
parameters. `create_model` is the same builder for applications and tests, returning only
the model (and accepting hand-made problem hparams instead of a registered problem):

    run = build_run("algorithmic_reverse_binary40", "transformer", "transformer_tiny",
                    overrides="", data_dir="~/t2t_data")
    model = create_model("transformer", "transformer_base",
                         problem="algorithmic_reverse_nlplike32k")
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import torch
from torch import nn

from t2t import registry
from t2t.errors import T2TError
from t2t.hparams import HParams, create_hparams
from t2t.runs import run_files, vocab_check
from t2t.value_checks import check_model_hparams

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Experiment:
    """The resolved pieces of a run (T2T's experiment, without the Estimator)."""

    problem_name: str
    model_name: str
    hparams_set: str
    overrides: str
    data_dir: str
    problem: Any
    hparams: Any
    model: torch.nn.Module
    num_parameters: int


def build_model(
    model: str,
    hparams_set: str,
    overrides: str = "",
    problem: str | None = None,
    problem_hparams: HParams | None = None,
    data_dir: str | None = None,
    hparams_path: str | None = None,
) -> tuple[nn.Module, HParams, Any]:
    """Builds a registered model: the one builder every run and application goes through.

    Args:
        model: registered model name ("transformer").
        hparams_set: registered hparams set ("transformer_base").
        overrides: hparams overrides ("hidden_size=256,num_heads=4").
        problem: registered problem name; its `get_hparams(model_hparams)` gives the
            modalities and vocab sizes (needs the problem's vocabulary in `data_dir` when
            it has one).
        problem_hparams: problem hparams built by hand (used when `problem` is None).
        data_dir: where the problem's vocabulary lives.
        hparams_path: a previous run's hparams.json, merged between the set and overrides.

    Returns:
        (the model in training mode, its hparams, the Problem instance or None).

    Raises:
        UnknownNameError: unknown model, hparams set or problem.
        HParamsError: a bad override.
        T2TError: neither `problem` nor `problem_hparams` given, or the problem's
            vocabulary is missing from data_dir.
    """
    model_cls = registry.model(model)
    problem_obj = registry.problem(problem) if problem is not None else None
    hparams = create_hparams(hparams_set, overrides, hparams_path=hparams_path, data_dir=data_dir)
    check_model_hparams(hparams)
    if problem_obj is not None:
        try:
            problem_hparams = problem_obj.get_hparams(hparams)
        except FileNotFoundError as error:
            raise T2TError(
                f"{error.filename or error}: the problem's vocabulary is missing; generate the "
                f"data first (t2t-datagen --problem={problem} --data_dir={data_dir}, "
                "or t2t-trainer --generate_data)"
            ) from None
        hparams.problem = problem_obj
        hparams.problem_hparams = problem_hparams
    if problem_hparams is None:
        raise T2TError(
            "create_model needs a problem (a registered name) or problem_hparams "
            "(an HParams with modality and vocab_size)"
        )
    return model_cls(hparams, problem_hparams), hparams, problem_obj


def build_run(
    problem_name: str,
    model_name: str,
    hparams_set: str,
    overrides: str,
    data_dir: str,
    output_dir: str | None = None,
) -> Experiment:
    """Builds the model of a run: hparams are the set, then output_dir's hparams.json, then
    `overrides`.

    Raises:
        UnknownNameError: an unknown problem, model or hparams set.
        HParamsError: a bad override.
        T2TError: the problem's vocabulary is missing from data_dir.
    """
    hparams_path = os.path.join(output_dir, run_files.HPARAMS_FILE) if output_dir else None
    if hparams_path and os.path.exists(hparams_path):
        log.info("merging the hparams of the previous run from %s", hparams_path)
    model, hparams, problem = build_model(
        model_name,
        hparams_set,
        overrides,
        problem=problem_name,
        data_dir=data_dir,
        hparams_path=hparams_path,
    )
    recorded = None
    if output_dir and os.path.exists(os.path.join(output_dir, run_files.RUN_FILE)):
        recorded = run_files.read_run(output_dir).get("vocab_sizes")
    vocab_check.check_vocabularies(problem, hparams.problem_hparams, data_dir, recorded)
    return Experiment(
        problem_name=problem_name,
        model_name=model_name,
        hparams_set=hparams_set,
        overrides=overrides,
        data_dir=data_dir,
        problem=problem,
        hparams=hparams,
        model=model,
        num_parameters=count_trainable_parameters(model),
    )


def create_model(
    model: str,
    hparams_set: str,
    problem: str | None = None,
    hparams: str = "",
    problem_hparams: HParams | None = None,
    data_dir: str | None = None,
) -> nn.Module:
    """Builds a registered model with a registered hparams set (`build_model`, model only).

    Args:
        model: registered model name ("transformer").
        hparams_set: registered hparams set ("transformer_base").
        problem: registered problem name (see `build_model`).
        hparams: overrides ("hidden_size=256,num_heads=4").
        problem_hparams: problem hparams built by hand (used when `problem` is None).
        data_dir: where the problem's vocabulary lives.

    Returns:
        The model in training mode.
    """
    return build_model(model, hparams_set, hparams, problem, problem_hparams, data_dir)[0]


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
