"""HParams with T2T's semantics, strict overrides, and the base hparams set `basic_params1`.

T2T user code relies on HParams behaving like `tf.contrib.training.HParams`: attribute
access, `add_hparam`, `set_hparam`, `parse("a=1,b=[1,2]")`, json. We keep that, and make
mistakes loud: an override of an unknown name or of the wrong type raises `HParamsError`
naming the key and the closest known names (T2T's message did not help find a typo).
"""

import difflib
import json
import logging
import os
import re
from typing import Any

from t2t import inert, registry
from t2t.errors import HParamsError

log = logging.getLogger(__name__)


class UnknownHParamError(HParamsError, KeyError):
    """An hyperparameter name that the HParams object does not have."""


def _unknown(name: str, known: list[str]) -> UnknownHParamError:
    matches = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(matches)}?" if matches else ""
    return UnknownHParamError(f"Unknown hyperparameter {name!r}.{hint}")


# name, optional [index], '=', then a scalar (no ',' or '[') or a [list], then end or ','.
_PARAM_RE = re.compile(
    r"(?P<name>[a-zA-Z][\w\.]*)\s*(\[\s*(?P<index>\d+)\s*\])?\s*=\s*"
    r"((?P<val>[^,\[]*)|\[(?P<vals>[^\]]*)\])($|,\s*)"
)


def _parse_bool(text: str) -> bool:
    if text in ("true", "True"):
        return True
    if text in ("false", "False"):
        return False
    return bool(int(text))


def _parse_untyped(text: str) -> Any:
    """Parses a value for an hparam declared as None: int, float, bool, 'None' or str.

    T2T crashed here (it called `NoneType(text)`); we guess the type from the text.
    """
    for parse in (int, float, _parse_bool):
        try:
            return parse(text)
        except ValueError:
            pass
    return None if text == "None" else text


def _parse_one(name: str, text: str, param_type: type, whole: str) -> Any:
    if param_type is type(None):
        return _parse_untyped(text)
    parse = _parse_bool if param_type is bool else param_type
    try:
        return parse(text)
    except (ValueError, TypeError):
        raise HParamsError(
            f"Could not parse hparam {name!r} of type {param_type.__name__!r} "
            f"with value {text!r} in {whole!r}"
        ) from None


def parse_values(
    values: str, type_map: dict[str, type], ignore_unknown: bool = False
) -> dict[str, Any]:
    """Parses an override string such as "a=1,b=[1,2],c=x" into {name: typed value}.

    Args:
        values: comma-separated `name=value` pairs; a value is a scalar or `[a,b,...]`;
            `name[i]=v` assigns one element of a list.
        type_map: the scalar type of each known name.
        ignore_unknown: skip names missing from `type_map` instead of raising.

    Returns:
        {name: value}; for the `name[i]=v` form {name: {i: v}}.

    Raises:
        HParamsError: malformed string, unknown name, value not of the declared type,
            or the same name assigned twice.
    """
    results: dict[str, Any] = {}
    pos = 0
    while pos < len(values):
        match = _PARAM_RE.match(values, pos)
        if not match:
            raise HParamsError(f"Malformed hyperparameter value: {values[pos:]!r}")
        pos = match.end()
        name, index = match.group("name"), match.group("index")
        if name not in type_map:
            if ignore_unknown:
                continue
            raise _unknown(name, list(type_map))
        param_type = type_map[name]
        if match.group("vals") is not None:
            if index is not None:
                raise HParamsError("Assignment of a list to a list index.")
            items = [v for v in re.split(r"[ ,]", match.group("vals")) if v]
            value: Any = [_parse_one(name, v, param_type, values) for v in items]
        else:
            value = _parse_one(name, match.group("val"), param_type, values)
        if index is not None:
            slot = results.setdefault(name, {})
            if not isinstance(slot, dict) or int(index) in slot:
                raise HParamsError(
                    f"Multiple assignments to variable '{name}[{index}]' in {values}"
                )
            slot[int(index)] = value
            continue
        if name in results:
            raise HParamsError(f"Multiple assignments to variable '{name}' in {values}")
        results[name] = value
    return results


def _assignments(values: str) -> list[tuple[str, str]] | None:
    """The (name, text) assignments of an override string; None when it is malformed."""
    found, pos = [], 0
    while pos < len(values):
        match = _PARAM_RE.match(values, pos)
        if not match:
            return None
        found.append((match.group("name"), values[pos : match.end()].rstrip().rstrip(",")))
        pos = match.end()
    return found


def join_overrides(saved: str, given: str) -> str:
    """A run's saved override string with a later one applied over it, as one string.

    T2T's decoder applies the command line's `--hparams` over the run's saved hparams, so
    repeating the trainer's own overrides is harmless and a different value wins. Saved
    assignments to a name that `given` assigns (whole or by index) are dropped; a changed
    value is logged.
    """
    saved_parts, given_parts = _assignments(saved), _assignments(given)
    if not saved or saved_parts is None or given_parts is None:
        return ",".join(part for part in (saved, given) if part)
    given_names = {name for name, _ in given_parts}
    kept = [text for name, text in saved_parts if name not in given_names]
    changed = sorted(
        {text for name, text in saved_parts if name in given_names}
        - {text for _, text in given_parts}
    )
    if changed:
        log.warning("--hparams %s overrides the run's saved %s", given, ",".join(changed))
    return ",".join(kept + [text for _, text in given_parts])


def _cast(name: str, param_type: type, value: Any) -> Any:
    """T2T's `_cast_to_type_if_compatible`: the declared type wins, lossy casts fail."""
    if param_type is type(None) or value is None:
        return value
    fail = HParamsError(
        f"Could not cast hparam {name!r} of type {param_type.__name__!r} from value {value!r}"
    )
    if param_type is str and not isinstance(value, str):
        raise fail
    if (param_type is bool) != isinstance(value, bool):
        raise fail
    if param_type is int and isinstance(value, float) and not value.is_integer():
        raise fail
    if param_type in (int, float) and not isinstance(value, (int, float)):
        raise fail
    return param_type(value)


def _drop_callables(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_callables(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, (list, tuple)):
        return [_drop_callables(v) for v in value if not callable(v)]
    return value


class HParams:
    """A set of named, typed hyperparameters (T2T / tf.contrib semantics).

    Each hparam has a declared type, taken from its first value (for lists, from the first
    element). `set_hparam` and `parse` cast to that type and refuse lossy casts. A plain
    attribute assignment (`hp.problem = p`) is allowed and not an hparam, as in T2T.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._hparam_types: dict[str, tuple[type, bool]] = {}
        for name, value in kwargs.items():
            self.add_hparam(name, value)

    def add_hparam(self, name: str, value: Any) -> None:
        """Adds a new hyperparameter; its type is taken from `value`."""
        if getattr(self, name, None) is not None:
            raise HParamsError(f"Hyperparameter name is reserved: {name}")
        if isinstance(value, (list, tuple)):
            if not value:
                raise HParamsError(f"Multi-valued hyperparameters cannot be empty: {name}")
            self._hparam_types[name] = (type(value[0]), True)
        else:
            self._hparam_types[name] = (type(value), False)
        setattr(self, name, value)

    def set_hparam(self, name: str, value: Any) -> None:
        """Sets an existing hyperparameter, cast to its declared type."""
        if name not in self._hparam_types:
            raise _unknown(name, list(self._hparam_types))
        param_type, is_list = self._hparam_types[name]
        if isinstance(value, (list, tuple)):
            if not is_list:
                raise HParamsError(f"Must not pass a list for single-valued parameter: {name}")
            setattr(self, name, [_cast(name, param_type, v) for v in value])
        else:
            if is_list:
                raise HParamsError(f"Must pass a list for multi-valued parameter: {name}.")
            setattr(self, name, _cast(name, param_type, value))

    def del_hparam(self, name: str) -> None:
        """Removes a hyperparameter; no error if it does not exist."""
        if name in self._hparam_types:
            del self._hparam_types[name]
            delattr(self, name)

    def parse(self, values: str) -> "HParams":
        """Overrides hyperparameters from a string like "a=1,b=[1,2],c=x". Returns self."""
        type_map = {name: t for name, (t, _) in self._hparam_types.items()}
        return self.override_from_dict(parse_values(values, type_map))

    def override_from_dict(self, values: dict[str, Any]) -> "HParams":
        """Sets each (name, value); unknown names raise. Returns self."""
        for name, value in values.items():
            self.set_hparam(name, value)
        return self

    def parse_json(self, values_json: str) -> "HParams":
        """Overrides hyperparameters from a JSON object string. Returns self."""
        return self.override_from_dict(json.loads(values_json))

    def values(self) -> dict[str, Any]:
        """The hyperparameters as {name: value}, in the order they were added."""
        return {name: getattr(self, name) for name in self._hparam_types}

    def get(self, key: str, default: Any = None) -> Any:
        """The value of `key`, or `default` when it is not an hparam."""
        if key not in self._hparam_types:
            return default
        if default is not None:
            param_type, is_list = self._hparam_types[key]
            if isinstance(default, (list, tuple)) != is_list:
                raise HParamsError(
                    f"Hparam '{key}' of type '{param_type.__name__}' is incompatible "
                    f"with default={default}"
                )
        return getattr(self, key)

    def to_json(
        self,
        indent: int | None = None,
        separators: tuple[str, str] | None = None,
        sort_keys: bool = False,
    ) -> str:
        """The hyperparameters as JSON; callables are dropped (they cannot be serialised)."""
        return json.dumps(
            _drop_callables(self.values()),
            indent=indent,
            separators=separators,
            sort_keys=sort_keys,
        )

    def __contains__(self, key: str) -> bool:
        return key in self._hparam_types

    def __str__(self) -> str:
        return str(sorted(self.values().items()))

    def __repr__(self) -> str:
        return f"HParams({self})"


def copy_hparams(hparams: HParams) -> HParams:
    """A copy of the hparams, keeping the `problem` / `problem_hparams` attributes."""
    copied = HParams()
    for name, value in hparams.values().items():
        copied.add_hparam(name, value)
        copied._hparam_types[name] = hparams._hparam_types[name]
    for attr in ("problem", "problem_hparams"):
        if hasattr(hparams, attr):
            setattr(copied, attr, getattr(hparams, attr))
    return copied


# ---- ranged hparams (hyperparameter search spaces) ----------------------------------

LINEAR_SCALE = 1
LOG_SCALE = 2
REVERSE_LOG_SCALE = 3
_SCALE_NAMES = {
    LINEAR_SCALE: "UNIT_LINEAR_SCALE",
    LOG_SCALE: "UNIT_LOG_SCALE",
    REVERSE_LOG_SCALE: "UNIT_REVERSE_LOG_SCALE",
}


class RangedHParams:
    """A search space: each name is categorical, discrete, float or int with a range."""

    LINEAR_SCALE = LINEAR_SCALE
    LOG_SCALE = LOG_SCALE
    REVERSE_LOG_SCALE = REVERSE_LOG_SCALE

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}
        self.specs: dict[str, dict[str, Any]] = {}

    def _set(self, name: str, kind: str, spec: dict[str, Any]) -> None:
        if name in self._kinds and self._kinds[name] != kind:
            raise ValueError(f"Setting {name} as {kind}, but it was already {self._kinds[name]}")
        if name in self._kinds:
            log.warning("Overwriting ranged hparam %s", name)
        self._kinds[name] = kind
        self.specs[name] = spec

    def set_categorical(self, name: str, categories: list[Any], length: int | None = None) -> None:
        """Declares `name` as one of `categories` (Cloud ML's CATEGORICAL).

        `length` is accepted for T2T's signature; the parameter specs do not use it.
        """
        self._set(name, "CATEGORICAL", {"categoricalValues": list(categories)})

    def set_discrete(self, name: str, feasible_points: list[Any], scale: int | None = None) -> None:
        """Declares `name` as one of the numeric `feasible_points` (DISCRETE).

        Args:
            name: hparam name.
            feasible_points: the allowed values.
            scale: LINEAR_SCALE, LOG_SCALE, REVERSE_LOG_SCALE, or None for no scale type.
        """
        spec: dict[str, Any] = {"discreteValues": list(feasible_points)}
        if scale:
            spec["scaleType"] = _SCALE_NAMES[scale]
        self._set(name, "DISCRETE", spec)

    def set_float(self, name: str, low: float, high: float, scale: int | None = None) -> None:
        """Declares `name` as a float in [low, high] (DOUBLE), optionally with a scale type."""
        spec: dict[str, Any] = {"minValue": low, "maxValue": high}
        if scale:
            spec["scaleType"] = _SCALE_NAMES[scale]
        self._set(name, "DOUBLE", spec)

    def set_int(self, name: str, low: int, high: int, scale: int | None = None) -> None:
        """Declares `name` as an integer in [low, high] (INTEGER), optionally with a scale type."""
        spec: dict[str, Any] = {"minValue": low, "maxValue": high}
        if scale:
            spec["scaleType"] = _SCALE_NAMES[scale]
        self._set(name, "INTEGER", spec)

    def to_parameter_specs(self, name_prefix: str = "") -> list[dict[str, Any]]:
        """Cloud-ML-Engine-style parameter specs, one per name."""
        return [
            {"parameterName": name_prefix + name, "type": self._kinds[name], **spec}
            for name, spec in self.specs.items()
        ]


# ---- basic_params1 -------------------------------------------------------------------

_BASIC_PARAMS1: list[tuple[str, Any]] = [
    ("batch_size", 4096),
    ("batch_shuffle_size", 512),
    ("use_fixed_batch_size", False),
    ("num_hidden_layers", 4),
    ("kernel_height", 3),
    ("kernel_width", 1),
    ("hidden_size", 64),
    ("compress_steps", 0),
    ("dropout", 0.2),
    ("clip_grad_norm", 2.0),
    ("grad_noise_scale", 0.0),
    ("summarize_grads", False),
    ("mlperf_mode", False),
    ("summarize_vars", False),
    ("initializer", "orthogonal"),
    ("initializer_gain", 1.5),
    ("label_smoothing", 0.1),
    ("optimizer", "adam"),
    ("optimizer_adam_epsilon", 1e-6),
    ("optimizer_adam_beta1", 0.85),
    ("optimizer_adam_beta2", 0.997),
    ("optimizer_momentum_momentum", 0.9),
    ("optimizer_momentum_nesterov", False),
    ("optimizer_adafactor_beta1", 0.0),
    ("optimizer_adafactor_beta2", 0.999),
    ("optimizer_adafactor_factored", True),
    ("optimizer_adafactor_decay_type", "pow"),
    ("optimizer_adafactor_memory_exponent", 0.8),
    ("optimizer_adafactor_clipping_threshold", 1.0),
    ("optimizer_adafactor_multiply_by_parameter_scale", True),
    ("optimizer_multistep_accumulate_steps", 0),
    ("mixed_precision_optimizer_loss_scaler", "exponential"),
    ("mixed_precision_optimizer_init_loss_scale", 2**15),
    ("optimizer_zero_grads", False),
    ("weight_decay", 1e-6),
    ("weight_noise", 0.0),
    ("learning_rate_schedule", "legacy"),
    ("learning_rate_constant", 1.0),
    ("learning_rate_decay_scheme", "none"),
    ("learning_rate_decay_steps", 5000),
    ("learning_rate_decay_staircase", False),
    ("learning_rate_minimum", None),
    ("learning_rate_decay_rate", 1.0),
    ("learning_rate_warmup_steps", 100),
    ("learning_rate_cosine_cycle_steps", 250000),
    ("learning_rate", 0.1),
    ("sampling_method", "argmax"),
    ("sampling_temp", 1.0),
    ("sampling_keep_top_k", -1),
    ("factored_logits", False),
    ("multiply_embedding_mode", "sqrt_depth"),
    ("moe_hidden_sizes", "2048"),
    ("moe_num_experts", 64),
    ("moe_k", 2),
    ("moe_loss_coef", 1e-2),
    ("layer_preprocess_sequence", "none"),
    ("layer_postprocess_sequence", "dan"),
    ("layer_prepostprocess_dropout", 0.1),
    ("layer_prepostprocess_dropout_broadcast_dims", ""),
    ("symbol_dropout", 0.0),
    ("norm_type", "layer"),
    ("norm_epsilon", 1e-6),
    ("vocab_divisor", 1),
    ("min_length", 0),
    ("max_length", 0),
    ("pack_dataset", False),
    ("use_custom_ops", True),
    ("split_targets_chunk_length", 0),
    ("split_targets_max_chunks", 100),
    ("split_targets_strided_training", False),
    ("min_length_bucket", 8),
    ("length_bucket_step", 1.1),
    ("eval_drop_long_sequences", False),
    ("eval_run_autoregressive", False),
    ("shared_embedding_and_softmax_weights", False),
    ("shared_embedding", False),
    ("symbol_modality_num_shards", 1),
    ("bottom", {}),
    ("loss", {}),
    ("name", {}),
    ("top", {}),
    ("weights_fn", {}),
    ("max_input_seq_length", 0),
    ("max_target_seq_length", 0),
    ("split_to_length", 0),
    ("video_num_input_frames", 1),
    ("video_num_target_frames", 1),
    ("prepend_mode", "none"),
    ("scheduled_sampling_prob", 0.0),
    ("scheduled_sampling_method", "parallel"),
    ("scheduled_sampling_warmup_steps", 50000),
    ("scheduled_sampling_gold_mixin_prob", 0.5),
    ("scheduled_sampling_num_passes", 1),
    ("scheduled_sampling_warmup_schedule", "exp"),
    ("daisy_chain_variables", True),
    ("force_full_predict", False),
    ("no_data_parallelism", False),
    ("activation_dtype", "float32"),
    ("weight_dtype", "float32"),
    ("pretrained_model_dir", ""),
    ("multiproblem_schedule_threshold", 0.5),
    ("multiproblem_per_task_threshold", ""),
    ("multiproblem_schedule_max_examples", 1e7),
    ("multiproblem_mixing_schedule", "constant"),
    ("multiproblem_reweight_label_loss", False),
    ("multiproblem_label_weight", 0.5),
    ("max_relative_position", 0),
    ("heads_share_relative_embedding", False),
    ("add_relative_to_values", False),
    ("tpu_enable_host_call", False),
    ("pad_batch", False),
    ("multiproblem_target_eval_only", False),
    ("multiproblem_vocab_size", -1),
    ("multiproblem_max_input_length", -1),
    ("multiproblem_max_target_length", -1),
    ("multiproblem_fixed_train_length", -1),
    ("warm_start_from_second", ""),
    ("area_value_mode", "none"),
    ("area_key_mode", "none"),
    ("num_area_layers", 0),
    ("max_area_width", 1),
    ("max_area_height", 1),
    ("memory_height", 1),
    ("gpu_automatic_mixed_precision", False),
]


@registry.register_hparams("basic_1")
def basic_params1() -> HParams:
    """T2T's base hparams set: all 124 keys of the original, in its order, with its defaults.

    Every key is kept so that hparams strings, hparams.json files and user hparams sets
    written for T2T keep working. Keys that configure machinery we do not have are accepted
    and have no effect; they are listed, with the reason, in `t2t.inert.INERT_HPARAMS`, and
    setting one in an override string logs a warning.
    """
    return HParams(**dict(_BASIC_PARAMS1))


@registry.register_ranged_hparams("basic1")
def basic_range1(ranged_hparams: RangedHParams) -> None:
    """T2T's search space over `basic_params1`."""
    rhp = ranged_hparams
    rhp.set_discrete("batch_size", [1024, 2048, 4096])
    rhp.set_discrete("num_hidden_layers", [1, 2, 3, 4, 5, 6])
    rhp.set_discrete("hidden_size", [32, 64, 128, 256, 512], scale=LOG_SCALE)
    rhp.set_discrete("kernel_height", [1, 3, 5, 7])
    rhp.set_discrete("kernel_width", [1, 3, 5, 7])
    rhp.set_discrete("compress_steps", [0, 1, 2])
    rhp.set_float("dropout", 0.0, 0.5)
    rhp.set_float("weight_decay", 1e-4, 10.0, scale=LOG_SCALE)
    rhp.set_float("label_smoothing", 0.0, 0.2)
    rhp.set_float("clip_grad_norm", 0.01, 50.0, scale=LOG_SCALE)
    rhp.set_float("learning_rate", 0.005, 2.0, scale=LOG_SCALE)
    rhp.set_categorical("initializer", ["uniform", "orthogonal", "uniform_unit_scaling"])
    rhp.set_float("initializer_gain", 0.5, 3.5)
    rhp.set_categorical("learning_rate_decay_scheme", ["none", "sqrt", "noam", "exp"])
    rhp.set_float("optimizer_adam_epsilon", 1e-7, 1e-2, scale=LOG_SCALE)
    rhp.set_float("optimizer_adam_beta1", 0.8, 0.9)
    rhp.set_float("optimizer_adam_beta2", 0.995, 0.999)
    rhp.set_categorical(
        "optimizer", ["adam", "adagrad", "momentum", "rms_prop", "sgd", "yellow_fin"]
    )


@registry.register_ranged_hparams("basic_moe_range")
def basic_moe_range(rhp: RangedHParams) -> None:
    """T2T's search space for mixture-of-experts loss weight."""
    rhp.set_float("moe_loss_coef", 0.01, 0.02)


def create_hparams(
    hparams_set: str,
    overrides: str = "",
    hparams_path: str | None = None,
    data_dir: str | None = None,
) -> HParams:
    """Builds hparams the T2T way: registered set, then saved hparams.json, then overrides.

    Args:
        hparams_set: a registered hparams set name.
        overrides: an hparams string ("a=1,b=2"), applied last.
        hparams_path: an `hparams.json` of a previous run; its values for keys of the set
            win over the set's (so a restarted run keeps its hparams).
        data_dir: stored as `hparams.data_dir` when given.

    Raises:
        UnknownNameError: unknown set. HParamsError: bad override string.
    """
    hparams = registry.hparams(hparams_set)
    if hparams_path:
        merge_json_file(hparams, hparams_path)
    if data_dir:
        hparams.add_hparam("data_dir", data_dir)
    before = hparams.values()
    hparams.parse(overrides)
    inert.warn_changed("hparam", before, hparams.values())  # once per process and name
    return hparams


_NOT_FROM_JSON = ("bottom", "loss", "name", "top", "weights_fn")


def merge_json_file(hparams: HParams, path: str) -> None:
    """Overwrites hparams that exist in both `hparams` and the JSON file at `path`."""
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        try:
            saved = json.load(f)
        except json.JSONDecodeError as error:
            raise HParamsError(f"{path} is not valid JSON: {error}") from None
    for key, value in saved.items():
        if key in _NOT_FROM_JSON or key not in hparams:
            continue
        if getattr(hparams, key) != value:
            log.info("Overwrite key %s: %s -> %s", key, getattr(hparams, key), value)
        setattr(hparams, key, value)
