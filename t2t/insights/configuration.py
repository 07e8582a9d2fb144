"""T2T's Insights configuration file: which models the server offers, and the languages.

    {"configuration": [{"source_language": "en", "target_language": "de",
                        "label": "transformers_wmt32k",
                        "transformer": {"model": "transformer", "model_dir": "/tmp/t2t/train",
                                        "data_dir": "/tmp/t2t/data", "hparams": "",
                                        "hparams_set": "transformer_base_single_gpu",
                                        "problem": "translate_ende_wmt32k"}}],
     "language": [{"code": "en", "name": "English"}, {"code": "de", "name": "German"}]}

T2T read exactly these keys (and took --t2t_usr_dir and the decode settings from flags).
Here a "transformer" block may also give "t2t_usr_dir" and "decode_hparams" (e.g.
"beam_size=4,alpha=0.6"), which win over the flags for that model. Other keys are
ignored with a warning, as T2T ignored them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any

from t2t.errors import T2TError

log = logging.getLogger(__name__)

MODEL_KEYS = ("model", "model_dir", "data_dir", "hparams", "hparams_set", "problem")
OPTIONAL_MODEL_KEYS = ("hparams", "model", "data_dir", "hparams_set", "problem")
EXTRA_MODEL_KEYS = ("t2t_usr_dir", "decode_hparams")
ENTRY_KEYS = ("source_language", "target_language", "label", "transformer")


@dataclasses.dataclass
class ModelEntry:
    """One model the server offers (an item of "configuration").

    Attributes:
        label: the model's id in the API.
        source_language, target_language: language codes.
        transformer: the "transformer" block: model, model_dir, data_dir, hparams,
            hparams_set, problem (names may be empty when model_dir has run.json), and
            optionally t2t_usr_dir and decode_hparams.
    """

    label: str
    source_language: str
    target_language: str
    transformer: dict[str, str]


@dataclasses.dataclass
class Configuration:
    """The parsed file: the models, in file order, and the languages by code."""

    models: list[ModelEntry]
    languages: dict[str, dict[str, str]]


def read(path: str) -> Configuration:
    """Reads and checks a configuration file.

    Raises:
        T2TError: the file is missing or not JSON, or lacks a required key, or a model's
            language is not in "language", or two models share a label (one line each).
    """
    path = os.path.expanduser(path)
    if not path:
        raise T2TError("--configuration is required: a JSON file naming the models to serve")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise T2TError(f"configuration file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise T2TError(f"cannot read configuration file {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise T2TError(f"configuration file {path} is not valid JSON: {error}") from None
    return parse(data, path)


def parse(data: Any, where: str = "configuration") -> Configuration:
    """Checks the JSON object of a configuration file (see `read`)."""
    if not isinstance(data, dict):
        raise T2TError(f"{where}: expected a JSON object with 'configuration' and 'language'")
    languages = {}
    for i, language in enumerate(_list(data, "language", where)):
        code = _text(language, "code", f"{where}: language[{i}]")
        name = _text(language, "name", f"{where}: language[{i}]")
        languages[code] = {"code": code, "name": name}
    models: list[ModelEntry] = []
    for i, item in enumerate(_list(data, "configuration", where)):
        entry = _entry(item, f"{where}: configuration[{i}]")
        for code in (entry.source_language, entry.target_language):
            if code not in languages:
                raise T2TError(
                    f"{where}: model {entry.label!r} uses language {code!r}, which is not in "
                    f"'language' (known: {', '.join(sorted(languages)) or 'none'})"
                )
        if any(m.label == entry.label for m in models):
            raise T2TError(f"{where}: two models are labelled {entry.label!r}")
        models.append(entry)
    if not models:
        raise T2TError(f"{where}: 'configuration' lists no model")
    return Configuration(models, languages)


def _entry(item: Any, where: str) -> ModelEntry:
    if not isinstance(item, dict):
        raise T2TError(f"{where}: expected an object with {', '.join(ENTRY_KEYS)}")
    _warn_unknown(item, ENTRY_KEYS, where)
    label = _text(item, "label", where)
    block = item.get("transformer")
    if not isinstance(block, dict):
        raise T2TError(f"{where} ({label!r}): missing the 'transformer' object")
    _warn_unknown(block, MODEL_KEYS + EXTRA_MODEL_KEYS, f"{where}.transformer")
    transformer = {}
    for key in MODEL_KEYS + EXTRA_MODEL_KEYS:
        optional = key in OPTIONAL_MODEL_KEYS or key in EXTRA_MODEL_KEYS
        value = block.get(key, "" if optional else None)
        if value is None:
            raise T2TError(f"{where}.transformer ({label!r}): missing {key!r}")
        if not isinstance(value, str):
            raise T2TError(f"{where}.transformer ({label!r}): {key!r} must be a string")
        transformer[key] = value
    if not transformer["model_dir"]:
        raise T2TError(f"{where}.transformer ({label!r}): 'model_dir' is empty")
    return ModelEntry(
        label,
        _text(item, "source_language", where),
        _text(item, "target_language", where),
        transformer,
    )


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key)
    if not isinstance(value, list):
        raise T2TError(f"{where}: {key!r} must be a list")
    return value


def _text(item: Any, key: str, where: str) -> str:
    value = item.get(key) if isinstance(item, dict) else None
    if not isinstance(value, str) or not value:
        raise T2TError(f"{where}: {key!r} must be a non-empty string")
    return value


def _warn_unknown(item: dict, known: tuple[str, ...], where: str) -> None:
    for key in item:
        if key not in known:
            log.warning("%s: ignoring unknown key %r", where, key)
