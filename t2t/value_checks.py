"""Checks that hyperparameter and flag values make sense, as one-line errors.

Kept apart from the hparams definitions: `check_model_hparams` runs on the resolved model
hparams before the model is built, `check_decode_hparams` on the decode hparams before a
checkpoint is loaded, `check_train_steps` on --train_steps before any work. Each impossible
value (a size of zero or less, a dropout rate outside [0, 1)) raises `HParamsError` naming
the hparam, its value and what is allowed.
"""

from __future__ import annotations

from typing import Any

from t2t.errors import HParamsError

# Model hparams that are sizes or counts: must be > 0 when the set defines them.
_POSITIVE = ("hidden_size", "batch_size", "num_heads", "filter_size")
# Rates: must be in [0, 1).
_RATES = ("dropout", "attention_dropout", "relu_dropout", "layer_prepostprocess_dropout")
# Counts that may be 0 but not negative.
_NON_NEGATIVE = ("num_hidden_layers", "num_encoder_layers", "num_decoder_layers", "max_length")


def _get(hparams: Any, name: str) -> Any:
    values = hparams.values() if hasattr(hparams, "values") else dict(hparams)
    return values.get(name)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_model_hparams(hparams: Any) -> None:
    """Raises HParamsError for model hparams that no model can use.

    Raises:
        HParamsError: e.g. "hparams hidden_size=-3: must be a positive number".
    """
    for name in _POSITIVE:
        value = _get(hparams, name)
        if _is_number(value) and value <= 0:
            raise HParamsError(f"hparams {name}={value}: must be a positive number")
    for name in _NON_NEGATIVE:
        value = _get(hparams, name)
        if _is_number(value) and value < 0:
            raise HParamsError(f"hparams {name}={value}: must be 0 or more")
    for name in _RATES:
        value = _get(hparams, name)
        if _is_number(value) and not 0 <= value < 1:
            raise HParamsError(f"hparams {name}={value}: a rate must be in [0, 1)")


def check_decode_hparams(hparams: Any) -> None:
    """Raises HParamsError for decode hparams that make no sense (beam_size < 1, ...)."""
    beam_size = _get(hparams, "beam_size")
    if _is_number(beam_size) and beam_size < 1:
        raise HParamsError(f"decode_hparams beam_size={beam_size}: must be 1 or more")
    batch_size = _get(hparams, "batch_size")
    if _is_number(batch_size) and batch_size < 0:
        raise HParamsError(
            f"decode_hparams batch_size={batch_size}: must be positive (0: the default)"
        )
    num_decodes = _get(hparams, "num_decodes")
    if _is_number(num_decodes) and num_decodes < 1:
        raise HParamsError(f"decode_hparams num_decodes={num_decodes}: must be 1 or more")


def check_train_steps(train_steps: int) -> None:
    """Raises HParamsError unless train_steps > 0."""
    if train_steps <= 0:
        raise HParamsError(f"--train_steps={train_steps}: must be a positive number of steps")
