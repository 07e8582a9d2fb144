"""The `Modality` base class, the shared embedding tables, weights functions and the lookup.

A modality type is a `Modality` subclass registered under its `ModalityType` name:

    @registry.register_modality("my_type")
    class MyModality(Modality):
        def bottom(self, spec):  # an nn.Module: feature -> [B, T, H]
            return MyBottom(spec.vocab_size, spec.hparams.hidden_size)

The model base class builds every feature's parts from the registered type (or from the
per-feature overrides in `hparams.bottom` / `top` / `loss` / `weights_fn` / `name`), so a
new type plugs in without touching any model.

T2T's parts are functions that create TF variables inside variable scopes; here `bottom`,
`targets_bottom` and `top` return `nn.Module`s built once, and `loss` / `weights_fn` are
plain functions with T2T's arguments. Shapes drop T2T's singleton dims: ids [B, T],
embeddings [B, T, H], logits [B, T, V]; class labels [B] or [B, 1], their logits [B, 1, V].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from t2t import registry
from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers.initializers import own_init

WeightsFn = Callable[[torch.Tensor], torch.Tensor]


# ---- weights functions (T2T's common_layers.weights_*) ---------------------------------


def weights_nonzero(labels: torch.Tensor) -> torch.Tensor:
    """1.0 where the label is not PAD (0): [B, T] -> [B, T] float."""
    return (labels != 0).float()


def weights_all(labels: torch.Tensor) -> torch.Tensor:
    """1.0 everywhere: labels of any shape -> float ones of that shape."""
    return torch.ones_like(labels, dtype=torch.float32)


def weights_prepend_inputs_to_targets(labels: torch.Tensor) -> torch.Tensor:
    """1.0 on non-zero labels after the first 0 (the target part of [inputs 0 targets])."""
    past_first_zero = torch.cumsum((labels == 0).long(), dim=1) > 0  # [B, T]
    return (past_first_zero & (labels != 0)).float()


WEIGHTS_FNS: dict[str, WeightsFn] = {
    "weights_nonzero": weights_nonzero,
    "weights_all": weights_all,
    "weights_prepend_inputs_to_targets": weights_prepend_inputs_to_targets,
}


# ---- the tables symbol modalities share ------------------------------------------------


class ModalityWeights(nn.Module):
    """The embedding / softmax tables of all symbol modalities, keyed as T2T names them.

    T2T names modality variables by type, vocab size and depth (`symbol_modality_V_H/
    shared`), and that naming decides which features share an embedding: inputs and
    targets with the same vocab share one table under `shared_embedding_and_softmax_weights`
    (or `shared_embedding`), and the softmax reuses it under the first flag. Tables are kept
    under the same keys (`<scope>_<part>`), so sharing and parameter counts match T2T's.

    Args:
        hidden_size: the default table depth.
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.tables = nn.ParameterDict()

    def table(self, scope: str, part: str, vocab_size: int, depth: int | None = None) -> str:
        """Creates (once) the table `<scope>_<part>` [V, depth] ~ N(0, depth^-0.5).

        depth defaults to hidden_size (a softmax over a wider body output is wider).
        Returns the table's key.
        """
        key = f"{scope}_{part}"
        depth = depth or self.hidden_size
        if key not in self.tables:
            weight = torch.randn(vocab_size, depth) * depth**-0.5
            self.tables[key] = own_init(nn.Parameter(weight))
        return key

    def __getitem__(self, key: str) -> nn.Parameter:
        """The table stored under `key` ([V, depth])."""
        return self.tables[key]


# ---- what a modality builds from -------------------------------------------------------


@dataclass
class ModalitySpec:
    """What a modality's parts are built from, for one feature of one model.

    Attributes:
        feature: the feature name ("inputs", "targets", ...).
        vocab_size: the problem's vocab size of the feature, padded up to a multiple of
            `vocab_divisor` (None for features without a vocabulary).
        hparams: the model hparams.
        scope: T2T's variable scope of the feature's modality (`symbol_modality_V_H`).
        tables: the model's shared tables (symbol embeddings and softmax).
        body_output_depth: depth of the body output a top reads.
        problem_hparams: the problem hparams (e.g. `num_channels` of real inputs), or None.
    """

    feature: str
    vocab_size: int | None
    hparams: HParams
    scope: str
    tables: ModalityWeights
    body_output_depth: int
    problem_hparams: HParams | None = None

    def table(self, part: str, depth: int | None = None) -> str:
        """The key of the shared table `<scope>_<part>` [V, depth], created on first use."""
        return self.tables.table(self.scope, part, self.vocab_size, depth)


class IdentityBottom(nn.Module):
    """Casts to float; no variables (T2T's identity_bottom)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Any tensor -> the same values as float32."""
        return x.float()


class Identity(nn.Module):
    """Returns its input (T2T's identity_top)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Any tensor -> itself."""
        return x


class Modality:
    """A modality type: T2T's default bottom, targets bottom, top, loss, weights and name.

    Subclasses override the parts that differ and register with
    `@registry.register_modality(ModalityType.X)`; `REGISTERED_NAME` is set on
    registration. The defaults are T2T's fallbacks: float identity bottom and top,
    label-smoothed cross-entropy, weight 1.0 everywhere, scope `<name>_modality`.
    """

    REGISTERED_NAME = "modality"
    # Whether targets are token sequences that T2T's prepend modes weight only in their
    # target part (`prepend_mode`; T2T lists ctc_symbol, identity_symbol, symbol,
    # symbol_one_hot).
    sequence_targets = False

    def scope_name(self, hparams: HParams, vocab_size: int | None) -> str:
        """T2T's `get_name`: the variable scope (and our table-key prefix) of the modality."""
        del hparams, vocab_size
        return f"{self.REGISTERED_NAME}_modality"

    def bottom(self, spec: ModalitySpec) -> nn.Module:
        """The module that embeds an input feature: feature -> [B, T, H]."""
        del spec
        return IdentityBottom()

    def targets_bottom(self, spec: ModalitySpec) -> nn.Module:
        """The module that embeds the targets for the body (default: as `bottom`)."""
        return self.bottom(spec)

    def top(self, spec: ModalitySpec) -> nn.Module:
        """The module from body output [B, T, D] to logits (or predictions)."""
        del spec
        return Identity()

    def loss(
        self,
        logits: torch.Tensor,
        targets: torch.Tensor,
        hparams: HParams,
        vocab_size: int | None,
        weights_fn: WeightsFn,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """T2T's loss of the targets, as (numerator, denominator): loss = num / max(1, den).

        Args:
            logits: the top's output, e.g. [B, T, V] for symbols, [B, 1, V] for class labels,
                [B, T, C] for real values.
            targets: the raw targets feature, e.g. ids [B, T] or labels [B] / [B, 1].
            hparams: the model hparams as the mode sees them (label_smoothing is 0 in eval).
            vocab_size: the padded vocab size of the targets (None without a vocabulary).
            weights_fn: labels -> per-label weights of the same shape.

        Returns:
            (numerator, denominator), two 0-dim float tensors: for the default, the sum of
            weighted label-smoothed cross-entropies (nats) and the sum of the weights.
        """
        from t2t.modalities.losses import generic_loss

        return generic_loss(logits, targets, hparams, vocab_size, weights_fn)

    def weights_fn(self, labels: torch.Tensor) -> torch.Tensor:
        """T2T's default weights of the labels: 1.0 everywhere."""
        return weights_all(labels)


def is_modality(value: object) -> bool:
    """Whether `value` is a `Modality` subclass or instance."""
    return isinstance(value, Modality) or (isinstance(value, type) and issubclass(value, Modality))


def get_modality(value: str | Modality | type[Modality], feature: str = "") -> Modality:
    """The modality for a type name (looked up in the registry), class or instance.

    Raises:
        HParamsError: `value` names no registered modality (the message lists them).
    """
    if isinstance(value, Modality):
        return value
    if isinstance(value, type) and issubclass(value, Modality):
        return value()
    modalities = registry.Registries.modalities
    if not isinstance(value, str) or value not in modalities:
        names = sorted(modalities.keys())
        close = registry.close_matches(str(value), names)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        of = f" of feature {feature!r}" if feature else ""
        raise HParamsError(
            f"modality {value!r}{of} is not supported{hint}; registered: {', '.join(names)}"
        )
    registered = modalities.raw(value)
    if not is_modality(registered):
        raise HParamsError(f"registered modality {value!r} is not a Modality subclass")
    return get_modality(registered, feature)
