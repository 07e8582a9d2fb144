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
from t2t.layers import modalities as mod
from t2t.layers.common import initialize_module

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
        for feature, modality in self.modality_types.items():
            mod.check_modality_type(modality, feature)
        self._maybe_disable_shared_weights()
        self.modality_weights = mod.ModalityWeights(self.hparams.hidden_size)
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
        return self.modality_types.get(TARGETS)

    def _maybe_disable_shared_weights(self) -> None:
        hp = self.hparams
        if not getattr(hp, "shared_embedding_and_softmax_weights", False):
            return
        if "inputs" in self.vocab_sizes and TARGETS in self.vocab_sizes:
            if self.vocab_sizes["inputs"] != self.vocab_sizes[TARGETS]:
                # T2T silently switches sharing off when the vocabularies differ.
                hp.set_hparam("shared_embedding_and_softmax_weights", False)

    def _symbol_key(self, feature: str, part: str, depth: int | None = None) -> str:
        vocab = self.vocab_sizes[feature]
        scope = mod.modality_name(self.modality_types[feature], vocab, self.hparams.hidden_size)
        return self.modality_weights.table(scope, part, vocab, depth)

    def body_output_depth(self) -> int:
        """Depth of the body output, which the target top reads (default hidden_size)."""
        return self.hparams.hidden_size

    def _input_bottom(self, feature: str, modality: str) -> nn.Module:
        hp = self.hparams
        vocab = self.vocab_sizes.get(feature)
        if modality in (mod.SYMBOL, mod.SYMBOL_WEIGHTS_ALL):
            shared = hp.shared_embedding_and_softmax_weights or hp.get("shared_embedding")
            key = self._symbol_key(feature, "shared" if shared else "input_emb")
            return mod.SymbolBottom(
                self.modality_weights, key, hp.multiply_embedding_mode, hp.symbol_dropout
            )
        if modality == mod.CLASS_LABEL:
            return mod.ClassLabelBottom(vocab, hp.hidden_size, hp.multiply_embedding_mode)
        if modality == mod.SYMBOL_ONE_HOT:
            return mod.OneHotBottom(vocab)
        if modality in (mod.REAL, mod.REAL_L2_LOSS):
            return mod.RealBottom(getattr(self.problem_hparams, "num_channels", 1), hp.hidden_size)
        return mod.IdentityBottom()

    def _build_modalities(self) -> None:
        hp = self.hparams
        for feature, modality in sorted(self.modality_types.items()):
            if feature != TARGETS:
                self.bottoms[feature] = self._input_bottom(feature, modality)
        modality = self.target_modality
        if modality is None:
            return
        vocab = self.vocab_sizes.get(TARGETS)
        if modality in (mod.SYMBOL, mod.SYMBOL_WEIGHTS_ALL):
            shared = hp.shared_embedding_and_softmax_weights or hp.get("shared_embedding")
            key = self._symbol_key(TARGETS, "shared" if shared else "target_emb")
            self.target_bottom = mod.SymbolBottom(
                self.modality_weights, key, hp.multiply_embedding_mode, hp.symbol_dropout
            )
            softmax = "shared" if hp.shared_embedding_and_softmax_weights else "softmax"
            self.target_top = mod.SymbolTop(
                self.modality_weights, self._symbol_key(TARGETS, softmax, self.body_output_depth())
            )
        elif modality == mod.CLASS_LABEL:
            self.target_bottom = mod.ClassLabelTargetsBottom(hp.hidden_size)
            self.target_top = mod.ClassLabelTop(self.body_output_depth(), vocab)
        elif modality in (mod.REAL, mod.REAL_L2_LOSS):
            self.target_bottom = mod.RealBottom(
                getattr(self.problem_hparams, "num_channels", 1), hp.hidden_size
            )
            self.target_top = nn.Linear(self.body_output_depth(), vocab)
        elif modality == mod.SYMBOL_ONE_HOT:
            self.target_bottom = mod.OneHotBottom(vocab)
            self.target_top = mod.Identity()
        else:
            self.target_bottom = mod.IdentityBottom()
            self.target_top = mod.Identity()

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
        transformed = self.bottom(features)
        output = self.body(transformed)
        losses: Losses = {}
        if isinstance(output, tuple):
            output, losses = output
            losses = dict(losses)
        if "training" in losses:
            return output, losses
        logits = self.top(output, features)
        losses.update(self.loss(logits, features))
        return logits, losses

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
        return self.target_top(body_output)

    def weights_fn(self):
        """Loss weights for the targets (T2T: prepend modes weight only the target part)."""
        prepend = getattr(self.hparams, "prepend_mode", "none")
        symbol = self.target_modality in (mod.SYMBOL, mod.SYMBOL_WEIGHTS_ALL, mod.SYMBOL_ONE_HOT)
        if symbol and (
            prepend == "prepend_inputs_full_attention"
            or (prepend == "prepend_inputs_masked_attention" and not self.training)
        ):
            return mod.weights_prepend_inputs_to_targets
        return None

    def loss(self, logits: torch.Tensor, features: Features) -> Losses:
        """The target modality's loss: {"training", "training_num", "training_den"}."""
        if self.target_modality is None:
            raise HParamsError("the problem hparams have no 'targets' modality: no loss")
        label_smoothing = self.hparams.label_smoothing if self.training else 0.0
        num, den = mod.modality_loss(
            self.target_modality, logits, features[TARGETS], label_smoothing, self.weights_fn()
        )
        num = num * float(_problem_value(self.problem_hparams, "loss_multiplier", 1.0))
        return {
            "training": num / torch.clamp(den, min=1.0),
            "training_num": num,
            "training_den": den,
        }
