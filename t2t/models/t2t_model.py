"""T2TModel: the small base every model builds on (bottom -> body -> top -> loss).

A model that writes only `body` gets its bottoms, top and loss from the problem's
modalities, as in T2T. What T2T's 58-method base also did (beam search, the training step,
checkpoints) lives in functions elsewhere (`t2t.decode`, `t2t.train`). A family gets fast
greedy, sampling and beam search by implementing the decoding protocol's two methods,
`init_decode_states` and `decode_step` (documented in `t2t.decode.protocol`); without them
`t2t.decode.protocol.infer` decodes through the slow path.

Modes: `module.train()` is T2T's TRAIN; `module.eval()` is EVAL/PREDICT, where every
dropout and label smoothing are off (T2T zeroes every hparam ending in "dropout" and
`label_smoothing` outside TRAIN).
"""

from typing import Any

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.hparams import HParams, copy_hparams
from t2t.layers.initializers import initialize_module
from t2t.modalities import multi_problem_loss, overrides
from t2t.modalities.base import (
    Modality,
    ModalitySpec,
    ModalityWeights,
    get_modality,
    weights_prepend_inputs_to_targets,
)

Features = dict[str, torch.Tensor]
Losses = dict[str, torch.Tensor]
TARGETS = "targets"


def _problem_value(problem_hparams: HParams | None, name: str, default: Any) -> Any:
    if problem_hparams is None:
        return default
    return getattr(problem_hparams, name, default)


def _padded_vocab(size: int | None, divisor: int) -> int | None:
    """T2T pads modality vocab sizes up to a multiple of `vocab_divisor`."""
    if size is None or divisor <= 1:
        return size
    return size + (-size) % divisor


class T2TModel(nn.Module):
    """Base of T2T models: modalities around a `body`.

    Subclasses build their body modules in `__init__` and end it with
    `self.initialize_parameters()` (T2T's initializer from `initializer` and
    `initializer_gain`).

    Args:
        hparams: model hparams (copied; the copy is `self.hparams`).
        problem_hparams: the problem's hparams (`modality`, `vocab_size`, `input_space_id`,
            `target_space_id`, `loss_multiplier`, ...); None for a bare body.

    Raises:
        HParamsError: an unsupported modality type.
    """

    REGISTERED_NAME = "t2t_model"

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__()
        self.hparams = copy_hparams(hparams)
        self.problem_hparams = problem_hparams
        divisor = getattr(self.hparams, "vocab_divisor", 1) or 1
        self.modality_types: dict[str, str] = dict(
            _problem_value(problem_hparams, "modality", {}) or {}
        )
        self.vocab_sizes = {
            name: _padded_vocab(size, divisor)
            for name, size in (_problem_value(problem_hparams, "vocab_size", {}) or {}).items()
        }
        # feature -> its registered modality (the type names stay in `modality_types`)
        self.modalities: dict[str, Modality] = {
            feature: get_modality(name, feature) for feature, name in self.modality_types.items()
        }
        self._maybe_disable_shared_weights()
        self.modality_weights = ModalityWeights(self.hparams.hidden_size)
        self.bottoms = nn.ModuleDict()
        self.target_bottom: nn.Module | None = None
        self.target_top: nn.Module | None = None
        if problem_hparams is not None:
            self._build_modalities()

    # ---- construction ---------------------------------------------------------------

    @property
    def has_input(self) -> bool:
        """Whether the problem has an "inputs" feature (False: a language model)."""
        return "inputs" in self.modality_types

    @property
    def target_modality(self) -> str | None:
        """The ModalityType name of the "targets" feature (e.g. "symbol"), or None if unknown."""
        return self.modality_types.get(TARGETS)

    def _maybe_disable_shared_weights(self) -> None:
        hp = self.hparams
        if not getattr(hp, "shared_embedding_and_softmax_weights", False):
            return
        if "inputs" in self.vocab_sizes and TARGETS in self.vocab_sizes:
            if self.vocab_sizes["inputs"] != self.vocab_sizes[TARGETS]:
                # T2T silently switches sharing off when the vocabularies differ.
                hp.set_hparam("shared_embedding_and_softmax_weights", False)

    def body_output_depth(self) -> int:
        """Depth of the body output, which the target top reads (default hidden_size)."""
        return self.hparams.hidden_size

    def modality_spec(self, feature: str) -> ModalitySpec:
        """What `feature`'s modality parts are built from (scope per `hparams.name`)."""
        vocab = self.vocab_sizes.get(feature)
        scope = overrides.resolve_scope(
            overrides.override(self.hparams, "name", feature),
            self.modalities[feature],
            self.hparams,
            vocab,
        )
        return ModalitySpec(
            feature=feature,
            vocab_size=vocab,
            hparams=self.hparams,
            scope=scope,
            tables=self.modality_weights,
            body_output_depth=self.body_output_depth(),
            problem_hparams=self.problem_hparams,
        )

    def _build_modalities(self) -> None:
        """Bottoms of every feature (sorted by name), then the targets' bottom and top."""
        for feature in sorted(self.modality_types):
            if feature != TARGETS:
                self.bottoms[feature] = self._bottom_module(feature, is_targets=False)
        if self.target_modality is None:
            return
        self.target_bottom = self._bottom_module(TARGETS, is_targets=True)
        spec = self.modality_spec(TARGETS)
        value = overrides.override(self.hparams, "top", TARGETS)
        self.target_top = overrides.resolve_top(value, self.modalities[TARGETS], spec)

    def _bottom_module(self, feature: str, is_targets: bool) -> nn.Module:
        value = overrides.override(self.hparams, "bottom", feature)
        spec = self.modality_spec(feature)
        return overrides.resolve_bottom(value, self.modalities[feature], spec, is_targets)

    def initialize_parameters(self) -> None:
        """T2T's variable initialization (call at the end of a subclass's __init__)."""
        initialize_module(self, self.hparams.initializer, self.hparams.initializer_gain)

    # ---- the forward flow -----------------------------------------------------------

    def forward(self, features: Features) -> tuple[torch.Tensor, Losses]:
        """bottom -> body -> top -> loss.

        Args:
            features: {"inputs": [B, S], "targets": [B, T], optional "target_space_id",
                "input_space_id" ([] or [B])}.

        Returns:
            (logits [B, T, V], losses). losses["training"] is the mean weighted token loss
            Σnum / max(1, Σden), with the parts in "training_num" / "training_den" so a
            trainer can combine batches exactly; other entries (e.g. "extra") are extra
            losses a trainer adds to "training".
        """
        self.auxiliary_losses()  # drops what a decoding pass may have left
        transformed = self.bottom(features)
        output = self.body(transformed)
        losses: Losses = {}
        if isinstance(output, tuple):
            output, losses = output
            losses = dict(losses)
        losses.update(self.auxiliary_losses())
        if "training" in losses:
            return output, losses
        logits = self.top(output, features)
        losses.update(self.loss(logits, features))
        return logits, losses

    def auxiliary_losses(self) -> Losses:
        """{"moe_loss": Σ} of the `aux_loss` that layers (mixtures of experts) left in this
        forward pass, each taken once; {} when none did. The trainer adds it to the loss."""
        parts = []
        for module in self.modules():
            if getattr(module, "aux_loss", None) is not None:
                parts.append(module.aux_loss)
                module.aux_loss = None
        return {"moe_loss": torch.stack(parts).sum()} if parts else {}

    def bottom(self, features: Features) -> Features:
        """Applies each feature's modality bottom; originals stay available as `<name>_raw`."""
        transformed = dict(features)
        for name, module in self.bottoms.items():
            if name in features:
                transformed[name] = module(features[name])
                transformed[f"{name}_raw"] = features[name]
        if TARGETS in features and self.target_bottom is not None:
            transformed[TARGETS] = self.target_bottom(features[TARGETS])
            transformed[f"{TARGETS}_raw"] = features[TARGETS]
        return transformed

    def body(self, features: Features) -> torch.Tensor | tuple[torch.Tensor, Losses]:
        """The model proper: transformed features -> [B, T, H] (and optional losses)."""
        raise NotImplementedError(f"{type(self).__name__} must implement body()")

    def top(self, body_output: torch.Tensor, features: Features) -> torch.Tensor:
        """The target modality's top: [B, T, H] -> logits [B, T, V]."""
        if self.target_top is None:
            return body_output
        if getattr(self.target_top, "takes_targets", False):  # an `hparams.top` function
            return self.target_top(body_output, features.get(TARGETS))
        return self.target_top(body_output)

    def weights_fn(self):
        """Loss weights of the targets as T2T picks them: a prepend mode's (for types with
        sequence targets: full attention always, masked attention outside training), else
        `metrics_weights_fn()`."""
        modality = self.modalities.get(TARGETS)
        if modality is None:
            return None
        prepend = getattr(self.hparams, "prepend_mode", "none")
        if modality.sequence_targets and (
            prepend == "prepend_inputs_full_attention"
            or (prepend == "prepend_inputs_masked_attention" and not self.training)
        ):
            return weights_prepend_inputs_to_targets
        return self.metrics_weights_fn()

    def metrics_weights_fn(self):
        """Weights of the targets for eval metrics (T2T's `create_evaluation_metrics`):
        `hparams.weights_fn["targets"]`, else the target modality's default."""
        modality = self.modalities.get(TARGETS)
        if modality is None:
            return None
        value = overrides.override(self.hparams, "weights_fn", TARGETS)
        return overrides.resolve_weights_fn(value, modality, TARGETS)

    def _mode_hparams(self) -> HParams:
        """The hparams a loss sees: outside training, every *dropout and label_smoothing
        are 0 (T2T's `set_mode`)."""
        if self.training:
            return self.hparams
        hparams = copy_hparams(self.hparams)
        for name, value in hparams.values().items():
            zeroed = name.endswith("dropout") or name == "label_smoothing"
            if zeroed and isinstance(value, (int, float)) and value:
                hparams.set_hparam(name, type(value)(0))
        return hparams

    def loss(self, logits: torch.Tensor, features: Features) -> Losses:
        """The target modality's loss (or `hparams.loss["targets"]`):
        {"training", "training_num", "training_den"}."""
        if self.target_modality is None:
            raise HParamsError("the problem hparams have no 'targets' modality: no loss")
        value = overrides.override(self.hparams, "loss", TARGETS)
        loss_fn = overrides.resolve_loss(value, self.modalities[TARGETS], TARGETS)
        tasks = _problem_value(self.problem_hparams, "multiproblem_tasks", None)
        if tasks:  # a MultiProblem: per-task losses (t2t.problems.multi_problem)
            return self._multi_problem_loss(loss_fn, logits, features, tasks)
        num, den = loss_fn(
            logits,
            features[TARGETS],
            self._mode_hparams(),
            self.vocab_sizes.get(TARGETS),
            self.weights_fn(),
        )
        num = num * float(_problem_value(self.problem_hparams, "loss_multiplier", 1.0))
        return {
            "training": num / torch.clamp(den, min=1.0),
            "training_num": num,
            "training_den": den,
        }

    def _multi_problem_loss(self, loss_fn, logits, features, tasks) -> Losses:
        """T2T's aggregate_task_losses. The per-task losses (detached) are kept in
        `self.multiproblem_summaries` ({"<task>_loss": value}); not in the returned dict,
        whose other entries a trainer adds to the loss."""
        num, den, summaries = multi_problem_loss.aggregate_task_losses(
            loss_fn,
            logits,
            features[TARGETS],
            self._mode_hparams(),
            self.vocab_sizes.get(TARGETS),
            tasks,
            float(_problem_value(self.problem_hparams, "loss_multiplier", 1.0)),
        )
        self.multiproblem_summaries = summaries
        den = torch.as_tensor(den, dtype=torch.float32, device=logits.device)
        return {
            "training": num / torch.clamp(den, min=1.0),
            "training_num": torch.as_tensor(num, device=logits.device),
            "training_den": den,
        }
