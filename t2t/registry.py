"""The registry: problems, models, hparams sets and the rest, looked up by name.

T2T users register things with decorators (`@registry.register_problem`, ...) and name
them on the command line. We keep the decorator names, the default names (CamelCase
class name -> snake_case) and the errors on duplicates; lookups of unknown names raise
`UnknownNameError` (a `KeyError`) listing the closest registered names.

Built-in modules are imported lazily: `import t2t` imports none of them. A lookup or a
listing first imports the built-in modules of that kind (see `_BUILTIN_MODULES`). A
built-in module that fails to import raises; T2T skipped such modules silently.
"""

import difflib
import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

from t2t.errors import UnknownNameError

# Built-in modules per registry kind, imported on the first lookup or listing of that kind.
# Listing a module here is how a built-in model or problem becomes visible.
_PROBLEM_MODULES = tuple(
    f"t2t.problems.{name}"
    for name in (
        "algorithmic",
        "cipher",
        "transduction",
        "text_problems",
        "lm",
        "translate_ende",
        "translate_wmt",
        "imdb",
        "lm1b_imdb",
        "cnn_dailymail",
        "mnist",
        "cifar",
        "imagenet",
        "librispeech",
    )
)
_IMAGE_MODELS = ("resnet", "xception", "shake_shake", "revnet")
_MODEL_MODULES = (
    "t2t.models.transformer",
    "t2t.models.lstm",
    *(f"t2t.models.{name}" for name in _IMAGE_MODELS),
    "t2t.models.research.universal_transformer",
    "t2t.models.research.attention_lm",
    "t2t.models.research.transformer_moe",
    "t2t.models.research.attention_lm_moe",
    "t2t.models.neural_gpu",
    "t2t.models.bytenet",
    "t2t.models.slicenet",
    "t2t.models.evolved_transformer",
    "t2t.models.multimodel",
    "t2t.models.transformer_memory",
)
# Each model's hparams sets sit beside it in `<model>_hparams.py`.
_HPARAMS_MODULES = (
    "t2t.models.transformer_hparams",
    "t2t.models.transformer_librispeech_hparams",
    "t2t.models.transformer_more_hparams",
    "t2t.models.lstm_hparams",
    "t2t.models.lstm_area_hparams",
    *(f"t2t.models.{name}_hparams" for name in _IMAGE_MODELS),
    "t2t.models.research.universal_transformer_hparams",
    "t2t.models.research.attention_lm_hparams",
    "t2t.models.research.transformer_moe_hparams",
    "t2t.models.research.attention_lm_moe_hparams",
    "t2t.models.neural_gpu_hparams",
    "t2t.models.bytenet_hparams",
    "t2t.models.slicenet_hparams",
    "t2t.models.evolved_transformer_hparams",
    "t2t.models.multimodel_hparams",
    "t2t.models.transformer_memory_hparams",
)
_MODALITY_MODULES = tuple(
    f"t2t.modalities.{name}"
    for name in (
        "symbol",
        "ctc_symbol",
        "class_label",
        "pooling_class_label",
        "real",
        "identity",
        "image",
        "speech_recognition",
    )
)

_BUILTIN_MODULES: dict[str, tuple[str, ...]] = {
    "problems": _PROBLEM_MODULES,
    "models": _MODEL_MODULES,
    "hparams": ("t2t.hparams", *_HPARAMS_MODULES),
    "ranged_hparams": ("t2t.hparams", "t2t.models.revnet_hparams", "t2t.models.slicenet_hparams"),
    "modalities": _MODALITY_MODULES,
    "optimizers": ("t2t.train.optimizers",),
    "learning_rate_schedules": ("t2t.train.learning_rate",),
}


def add_builtin_modules(kind: str, *modules: str) -> None:
    """Adds modules that register built-ins of `kind`; they load on first use of `kind`."""
    _BUILTIN_MODULES[kind] = _BUILTIN_MODULES[kind] + tuple(modules)
    _loaded_kinds.discard(kind)


_loaded_kinds: set[str] = set()


def _load_builtins(kind: str) -> None:
    if kind in _loaded_kinds:
        return
    _loaded_kinds.add(kind)
    for module in _BUILTIN_MODULES.get(kind, ()):
        importlib.import_module(module)  # an import error propagates: never skip silently


def camelcase_to_snakecase(name: str) -> str:
    """T2T's default registered name: `LSTMSeq2seq` -> `lstm_seq2seq`."""
    name = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def snakecase_to_camelcase(name: str) -> str:
    """Inverse of `camelcase_to_snakecase` for simple names: `lstm_seq2_seq` -> `LstmSeq2Seq`."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def display_list_by_prefix(names: list[str], starting_spaces: int = 0) -> str:
    """Formats names grouped by the part before the first "_", as `--registry_help` does."""
    lines = []
    prefix = None
    indent = " " * starting_spaces
    for name in names:
        head = name.split("_", 1)[0]
        if head != prefix:
            lines.append(f"{indent}{head}:")
            prefix = head
        lines.append(f"{indent}  * {name}")
    return "\n".join(lines)


def close_matches(name: str, candidates: list[str], n: int = 5) -> list[str]:
    """The registered names closest to `name` (difflib ratio), best first."""
    return difflib.get_close_matches(name, candidates, n=n, cutoff=0.6)


_NOUNS = {
    "models": "model",
    "hparams": "hparams set",
    "ranged_hparams": "ranged hparams set",
    "problems": "problem",
    "modalities": "modality",
    "optimizers": "optimizer",
    "learning_rate_schedules": "learning-rate schedule factor",
}


class Registry:
    """A name -> callable table with T2T's registration rules.

    Args:
        name: what is registered, for messages ("problems", "models", ...).
        kind: the key of `_BUILTIN_MODULES` whose modules load before any lookup.
        validator: called as validator(key, value) before storing; raises on bad values.
        on_set: called as on_set(key, value) after storing.
        value_transformer: what a lookup returns, from (key, value).
    """

    def __init__(
        self,
        name: str,
        kind: str | None = None,
        validator: Callable[[str, Any], None] | None = None,
        on_set: Callable[[str, Any], None] | None = None,
        value_transformer: Callable[[str, Any], Any] = lambda key, value: value,
    ) -> None:
        self.name = name
        self.kind = kind or name
        self._validator = validator
        self._on_set = on_set
        self._transform = value_transformer
        self._entries: dict[str, Any] = {}

    def _entries_loaded(self) -> dict[str, Any]:
        _load_builtins(self.kind)
        return self._entries

    def register(self, key_or_value: Any = None) -> Any:
        """Decorator: `@r.register`, `@r.register()` or `@r.register("name")`."""
        if callable(key_or_value):
            self[None] = key_or_value
            return key_or_value

        def decorator(value: Any) -> Any:
            """Registers `value` under the name given to `register` and returns it unchanged."""
            self[key_or_value] = value
            return value

        return decorator

    def __setitem__(self, key: str | None, value: Any) -> None:
        if not callable(value):
            raise ValueError("value must be callable")
        if key is None:
            key = camelcase_to_snakecase(value.__name__)
        if key in self._entries:
            raise KeyError(f"key {key} already registered in registry {self.name}")
        if self._validator:
            self._validator(key, value)
        self._entries[key] = value
        if self._on_set:
            self._on_set(key, value)

    def raw(self, key: str) -> Any:
        """The registered object itself (the class or function), without transformation."""
        entries = self._entries_loaded()
        if key not in entries:
            raise self._unknown(key)
        return entries[key]

    def __getitem__(self, key: str) -> Any:
        return self._transform(key, self.raw(key))

    def _unknown(self, key: str) -> UnknownNameError:
        matches = close_matches(str(key), list(self._entries))
        hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
        noun = _NOUNS.get(self.name, self.name)
        return UnknownNameError(
            f"{key!r} is not a registered {noun}.{hint} (Run with --registry_help to list all.)"
        )

    def __contains__(self, key: str) -> bool:
        return key in self._entries_loaded()

    def keys(self) -> list[str]:
        """The registered names, in registration order (built-ins loaded first)."""
        return list(self._entries_loaded())

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._entries_loaded())

    def values(self) -> list[Any]:
        """What a lookup of each name returns (for hparams: a fresh HParams per set)."""
        return [self[key] for key in self.keys()]

    def items(self) -> list[tuple[str, Any]]:
        """(name, lookup result) pairs, as `values()`."""
        return [(key, self[key]) for key in self.keys()]

    def get(self, key: str, default: Any = None) -> Any:
        """`self[key]` if `key` is registered, else `default`."""
        return self[key] if key in self else default

    def _clear(self) -> None:
        self._entries.clear()


def _set_model_name(key: str, cls: Any) -> None:
    cls.REGISTERED_NAME = key


def _set_problem_name(key: str, cls: Any) -> None:
    cls.name = key


def _call_hparams_fn(key: str, fn: Callable[[], Any]) -> Any:
    hparams = fn()
    if hparams is None:
        raise TypeError(
            f"HParams {key} is None. Make sure the registered function returns the HParams object"
        )
    return hparams


def _check_positional_args(count: int, message: str) -> Callable[[str, Any], None]:
    def validate(key: str, fn: Any) -> None:
        params = inspect.signature(fn).parameters.values()
        kinds = [p.kind for p in params]
        variadic = (
            inspect.Parameter.VAR_POSITIONAL in kinds or inspect.Parameter.VAR_KEYWORD in kinds
        )
        if variadic or len(kinds) != count:
            raise ValueError(message)

    return validate


def _check_problem_name(key: str, value: Any) -> None:
    if key.endswith("_rev") or key.endswith("_copy"):
        raise KeyError("Invalid problem name: cannot end in _rev or _copy")


class Registries:
    """All registries, as T2T's `registry.Registries` exposes them."""

    models = Registry("models", on_set=_set_model_name)
    hparams = Registry("hparams", value_transformer=_call_hparams_fn)
    ranged_hparams = Registry(
        "ranged_hparams",
        validator=_check_positional_args(
            1,
            "Registered ranged_hparams functions must take a single argument, "
            "the RangedHParams object.",
        ),
    )
    problems = Registry("problems", validator=_check_problem_name, on_set=_set_problem_name)
    modalities = Registry("modalities", on_set=_set_model_name)
    optimizers = Registry(
        "optimizers",
        validator=_check_positional_args(
            2,
            "Registered optimizer functions must take exactly two arguments: "
            "params (the model's parameters or parameter groups) and hparams (HParams).",
        ),
    )
    learning_rate_schedules = Registry("learning_rate_schedules")


# ---- T2T's function API -------------------------------------------------------------

register_model = Registries.models.register
register_hparams = Registries.hparams.register
register_ranged_hparams = Registries.ranged_hparams.register
register_problem = Registries.problems.register
register_base_problem = Registries.problems.register
register_modality = Registries.modalities.register
register_optimizer = Registries.optimizers.register
register_learning_rate_schedule = Registries.learning_rate_schedules.register


def model(name: str) -> Any:
    """The registered model class `name`."""
    return Registries.models[name]


def hparams(name: str) -> Any:
    """A fresh HParams object from the registered hparams set `name`."""
    return Registries.hparams[name]


def ranged_hparams(name: str) -> Any:
    """The registered ranged-hparams function `name`."""
    return Registries.ranged_hparams[name]


def modality(name: str) -> Any:
    """The registered modality `name`."""
    return Registries.modalities[name]


def optimizer(name: str) -> Any:
    """The registered optimizer `name`; T2T's CamelCase names ("Adam", "SGD") still work."""
    if name not in Registries.optimizers:
        name = "sgd" if name == "SGD" else camelcase_to_snakecase(name)
    return Registries.optimizers[name]


def learning_rate_schedule(name: str) -> Any:
    """The registered learning-rate schedule factor `name`."""
    return Registries.learning_rate_schedules[name]


def parse_problem_name(name: str) -> tuple[str, bool, bool]:
    """Splits `name` into (base name, was_reversed, was_copy), as T2T does.

    `algorithmic_reverse_binary40_rev` -> ("algorithmic_reverse_binary40", True, False).

    Raises:
        ValueError: for a second `_rev` or `_copy` suffix.
    """
    if name.endswith("_rev"):
        base, was_reversed, was_copy = parse_problem_name(name[: -len("_rev")])
        if was_reversed:
            raise ValueError(f"Invalid problem name {name}: multiple '_rev' instances")
        return base, True, was_copy
    if name.endswith("_copy"):
        base, was_reversed, was_copy = parse_problem_name(name[: -len("_copy")])
        if was_copy:
            raise ValueError(f"Invalid problem name {name}: multiple '_copy' instances")
        return base, was_reversed, True
    return name, False, False


def get_problem_name(base_name: str, was_reversed: bool = False, was_copy: bool = False) -> str:
    """Builds `base[_copy][_rev]`, the inverse of `parse_problem_name`."""
    if any(base_name.endswith(suffix) for suffix in ("_rev", "_copy")):
        raise ValueError(f"base_name {base_name} cannot end in '_rev' or '_copy'")
    return base_name + ("_copy" if was_copy else "") + ("_rev" if was_reversed else "")


def problem(name: str, **kwargs: Any) -> Any:
    """An instance of the registered problem, with `_rev` / `_copy` variants applied."""
    base, was_reversed, was_copy = parse_problem_name(name)
    cls = Registries.problems.raw(base)
    return cls(was_reversed=was_reversed, was_copy=was_copy, **kwargs)


def list_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(Registries.models.keys())


def list_hparams(prefix: str | None = None) -> list[str]:
    """Registered hparams set names, sorted; only those starting with `prefix` if given."""
    names = sorted(Registries.hparams.keys())
    return [n for n in names if n.startswith(prefix)] if prefix else names


def list_ranged_hparams() -> list[str]:
    """Registered ranged-hparams (search space) names, sorted."""
    return sorted(Registries.ranged_hparams.keys())


def list_problems() -> list[str]:
    """Registered base problem names, sorted (without `_rev` / `_copy` variants)."""
    return sorted(Registries.problems.keys())


list_base_problems = list_problems


def list_modalities() -> list[str]:
    """Registered modality names (T2T's ModalityType values), sorted."""
    return sorted(Registries.modalities.keys())


def list_optimizers() -> list[str]:
    """Registered optimizer names, sorted."""
    return sorted(Registries.optimizers.keys())


def list_learning_rate_schedules() -> list[str]:
    """Registered learning-rate schedule names, sorted."""
    return sorted(Registries.learning_rate_schedules.keys())


def help_string() -> str:
    """The `--registry_help` report: every registry, sorted and grouped by name prefix."""
    sections = [
        ("Models", list_models()),
        ("HParams", list_hparams()),
        ("RangedHParams", list_ranged_hparams()),
        ("Problems", list_problems()),
        ("Modalities", list_modalities()),
        ("Optimizers", list_optimizers()),
        ("Learning rate schedules", list_learning_rate_schedules()),
    ]
    parts = ["", "Registry contents:", "------------------", ""]
    for title, names in sections:
        parts += [f"  {title}:", display_list_by_prefix(names, starting_spaces=4), ""]
    return "\n".join(parts)
