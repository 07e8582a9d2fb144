"""The self-contained export directory t2t-exporter writes and `t2t.load` / t2t-serve read.

    <export_dir>/
      manifest.json       format and version, t2t/torch versions, source checkpoint and
                          step, and the SHA-256 and size of every other file
      model.safetensors   the weights (the source checkpoint's file, copied)
      hparams.json        the model hparams, resolved (set + run + overrides)
      problem.json        what decoding needs of the problem: its name, the model name,
                          modalities, vocab sizes, space ids and, per feature, the kind of
                          its encoder and the vocabulary file it reads
      decode_hparams.json the decode hparams given to t2t-exporter (serving defaults)
      vocab/              the vocabularies, copied
      ctranslate2/ onnx/  other formats, when asked for (t2t.export)

Reading one needs no data_dir and no --t2t_usr_dir: the model class is looked up by its
registered name (a built-in), the hparams come from hparams.json alone, and the encoders
are rebuilt from their kind and vocabulary file, so a user-directory problem decodes too.
A directory is written under a temporary name and renamed when complete, so an
interrupted export never looks like a finished one. Every read checks the manifest's
digests (`verify=False` skips the hashing).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from typing import Any

from t2t.errors import DataError, T2TError
from t2t.hparams import HParams

FORMAT = "t2t-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "model.safetensors"
HPARAMS = "hparams.json"
PROBLEM = "problem.json"
DECODE_HPARAMS = "decode_hparams.json"
VOCAB_DIR = "vocab"

# The ctranslate2/ model's tokens: CTranslate2 speaks tokens, so id i is a token name.
CT2_PAD, CT2_EOS = "<pad>", "<EOS>"

# Problem hparams that decoding reads (the rest describe training data).
_PROBLEM_HPARAMS = (
    "modality",
    "vocab_size",
    "input_space_id",
    "target_space_id",
    "loss_multiplier",
    "stop_at_eos",
    "was_reversed",
    "was_copy",
    "multiproblem_tasks",  # a MultiProblem's [(name, task id, is_classification), ...]
)
# Per-feature hparams overrides that may hold functions, which JSON cannot carry.
_FUNCTION_HPARAMS = ("bottom", "loss", "top", "weights_fn")


def ct2_vocabulary(size: int) -> list[str]:
    """The CTranslate2 token of each id: "<pad>", "<EOS>", then "id<n>"."""
    return [CT2_PAD, CT2_EOS] + [f"id{i}" for i in range(2, size)]


def ct2_tokens(ids: list[int]) -> list[str]:
    """Our ids as the ctranslate2/ model's tokens."""
    return [CT2_PAD if i == 0 else CT2_EOS if i == 1 else f"id{i}" for i in ids]


def ct2_ids(tokens: list[str]) -> list[int]:
    """The ctranslate2/ model's tokens back to our ids."""
    return [0 if t == CT2_PAD else 1 if t == CT2_EOS else int(t[2:]) for t in tokens]


# ---- writing ------------------------------------------------------------------------------


def _write_json(path: str, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")


def file_sha256(path: str) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def exportable_hparams(hparams: Any) -> dict[str, Any]:
    """The model hparams as JSON values, for hparams.json.

    Raises:
        T2TError: a per-feature override (bottom, top, loss, weights_fn) is a function,
            which an export cannot carry (use a registered modality name instead).
    """
    for name in _FUNCTION_HPARAMS:
        value = getattr(hparams, name, None)
        if isinstance(value, dict) and any(callable(v) for v in value.values()):
            raise T2TError(
                f"hparams.{name} holds a function ({', '.join(sorted(value))}); an export "
                "stores values only: register the modality and name it instead"
            )
    from t2t.runs.run_files import hparams_values

    values = hparams_values(hparams)
    values.pop("data_dir", None)  # a path of the machine that trained; decoding needs none
    return values


def describe_encoder(feature: str, encoder: Any, directory: str) -> dict[str, Any]:
    """How to rebuild `encoder`; its vocabulary is copied into `directory`/vocab.

    Raises:
        T2TError: an encoder class the export format cannot rebuild.
    """
    from t2t.data import text_encoder as te

    kind = type(encoder).__name__
    vocab_dir = os.path.join(directory, VOCAB_DIR)
    if type(encoder) in (te.TextEncoder, te.ByteTextEncoder):
        return {"kind": kind, "num_reserved_ids": encoder.num_reserved_ids}
    if type(encoder) is te.SubwordTextEncoder:
        name = os.path.basename(encoder.filename or f"vocab.{feature}.subwords")
        os.makedirs(vocab_dir, exist_ok=True)
        target = os.path.join(vocab_dir, name)
        if encoder.filename and os.path.exists(encoder.filename):
            shutil.copyfile(encoder.filename, target)
        elif not os.path.exists(target):
            encoder.store_to_file(target)
        return {"kind": kind, "vocab_file": f"{VOCAB_DIR}/{name}"}
    if type(encoder) is te.TokenTextEncoder:
        name = f"vocab.{feature}.tokens"
        os.makedirs(vocab_dir, exist_ok=True)
        encoder.store_to_file(os.path.join(vocab_dir, name))
        return {
            "kind": kind,
            "vocab_file": f"{VOCAB_DIR}/{name}",
            "reverse": encoder._reverse,
            "replace_oov": encoder._replace_oov,
        }
    if type(encoder) in (te.ClassLabelEncoder, te.OneHotClassLabelEncoder):
        return {"kind": kind, "class_labels": list(encoder._class_labels)}
    if type(encoder) is te.RealEncoder:
        return {"kind": kind}
    raise T2TError(
        f"the {feature} encoder is a {type(encoder).__module__}.{kind}, which an export cannot "
        "rebuild without its code; supported: TextEncoder, ByteTextEncoder, "
        "SubwordTextEncoder, TokenTextEncoder, ClassLabelEncoder, RealEncoder"
    )


def write_files(
    directory: str,
    weights_file: str,
    hparams: Any,
    problem_hparams: Any,
    encoders: dict[str, Any],
    names: dict[str, Any],
    decode_hparams: dict[str, Any],
) -> None:
    """Writes weights, hparams, problem metadata and vocabularies into `directory`.

    Args:
        directory: a new, empty directory (the export's temporary name).
        weights_file: the checkpoint's .safetensors file (copied as model.safetensors).
        hparams: the model hparams.
        problem_hparams: the problem hparams the model was built with.
        encoders: the feature encoders decoding uses ("inputs", "targets").
        names: {"problem", "model", "hparams_set", "has_inputs"}.
        decode_hparams: decode hparams values (beam_size, alpha, ...).
    """
    os.makedirs(directory, exist_ok=True)
    shutil.copyfile(weights_file, os.path.join(directory, WEIGHTS))
    _write_json(os.path.join(directory, HPARAMS), exportable_hparams(hparams))
    problem = dict(names)
    for name in _PROBLEM_HPARAMS:
        if hasattr(problem_hparams, name):
            problem[name] = getattr(problem_hparams, name)
    problem["encoders"] = {
        feature: describe_encoder(feature, encoder, directory)
        for feature, encoder in sorted(encoders.items())
    }
    _write_json(os.path.join(directory, PROBLEM), problem)
    _write_json(os.path.join(directory, DECODE_HPARAMS), decode_hparams)


def write_manifest(directory: str, source: dict[str, Any]) -> dict[str, Any]:
    """Writes manifest.json: format, versions, `source` and a digest of every other file.

    Args:
        directory: the export, with all its other files written.
        source: {"output_dir", "checkpoint", "step"} of the exported checkpoint.

    Returns:
        The manifest.
    """
    import torch

    from t2t import __version__

    files = {}
    for root, _, names in os.walk(directory):
        for name in sorted(names):
            path = os.path.join(root, name)
            relative = os.path.relpath(path, directory).replace(os.sep, "/")
            if relative != MANIFEST:
                files[relative] = {"sha256": file_sha256(path), "bytes": os.path.getsize(path)}
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "t2t_version": __version__,
        "torch_version": torch.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "files": dict(sorted(files.items())),
    }
    _write_json(os.path.join(directory, MANIFEST), manifest)
    return manifest


def publish(temporary: str, export_dir: str) -> None:
    """Renames the finished `temporary` directory to `export_dir` (which must not exist)."""
    if os.path.exists(export_dir):
        raise T2TError(f"{export_dir} already exists: give another --export_dir")
    os.makedirs(os.path.dirname(os.path.abspath(export_dir)), exist_ok=True)
    os.replace(temporary, export_dir)


# ---- reading ------------------------------------------------------------------------------


def is_export_dir(path: str) -> bool:
    """Whether `path` is a directory with an export manifest."""
    return os.path.isfile(os.path.join(os.path.expanduser(path), MANIFEST))


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise DataError(f"{path} is missing: the export is incomplete ({what})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"{path} is not valid JSON ({error}); was the file edited?") from None


def read_manifest(export_dir: str, verify: bool = True) -> dict[str, Any]:
    """The manifest of `export_dir`, its format checked and (by default) every digest.

    Raises:
        DataError: not an export directory, an unknown format or version, or a file that
            is missing or whose size or SHA-256 differs from the manifest's.
    """
    export_dir = os.path.expanduser(export_dir)
    if not os.path.isdir(export_dir):
        raise DataError(f"{export_dir} does not exist or is not a directory")
    path = os.path.join(export_dir, MANIFEST)
    if not os.path.exists(path):
        raise DataError(
            f"{export_dir} has no {MANIFEST}: not an export directory (write one with t2t-exporter)"
        )
    manifest = _read_json(path, "manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path} is not a t2t export manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataError(
            f"{path}: export format version {version!r} is newer than this t2t reads "
            f"({FORMAT_VERSION}); upgrade t2t"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or WEIGHTS not in files:
        raise DataError(f"{path} lists no {WEIGHTS}: the manifest is damaged")
    for name, entry in files.items():
        _check_file(export_dir, name, entry, verify)
    return manifest


def _check_file(export_dir: str, name: str, entry: Any, verify: bool) -> None:
    path = os.path.join(export_dir, name)
    if not os.path.isfile(path):
        raise DataError(f"{path} is missing (listed in the export's {MANIFEST})")
    if not isinstance(entry, dict) or os.path.getsize(path) != entry.get("bytes"):
        raise DataError(f"{path} has another size than the manifest says: the export is damaged")
    if verify and file_sha256(path) != entry.get("sha256"):
        raise DataError(
            f"{path}: SHA-256 differs from the manifest's: the file was changed or damaged"
        )


def build_encoder(description: dict[str, Any], export_dir: str) -> Any:
    """The encoder a `describe_encoder` entry describes (vocabulary read from export_dir).

    Raises:
        DataError: an unknown encoder kind.
    """
    from t2t.data import text_encoder as te

    kind = description.get("kind")
    vocab = description.get("vocab_file")
    path = os.path.join(export_dir, vocab) if vocab else None
    if kind in ("TextEncoder", "ByteTextEncoder"):
        return getattr(te, kind)(num_reserved_ids=description.get("num_reserved_ids", 2))
    if kind == "SubwordTextEncoder":
        return te.SubwordTextEncoder(path)
    if kind == "TokenTextEncoder":
        return te.TokenTextEncoder(
            path, reverse=description.get("reverse", False),
            replace_oov=description.get("replace_oov"),
        )  # fmt: skip
    if kind in ("ClassLabelEncoder", "OneHotClassLabelEncoder"):
        return getattr(te, kind)(class_labels=description["class_labels"])
    if kind == "RealEncoder":
        return te.RealEncoder()
    raise DataError(f"{export_dir}/{PROBLEM}: unknown encoder kind {kind!r}")


def hparams_from_values(values: dict[str, Any]) -> HParams:
    """HParams holding exactly the JSON values of an hparams.json."""
    hparams = HParams()
    for name, value in values.items():
        if isinstance(value, list) and not value:
            setattr(hparams, name, [])  # an empty list has no element type: a plain attribute
        else:
            hparams.add_hparam(name, value)
    return hparams


class ExportedProblem:
    """The problem of an export: what decoding asks of a Problem, from problem.json.

    Attributes:
        name: the registered name of the problem that was exported.
        has_inputs: whether it has an "inputs" feature.
    """

    def __init__(self, metadata: dict[str, Any], export_dir: str) -> None:
        self.metadata = metadata
        self.name = metadata["problem"]
        self.has_inputs = bool(metadata["has_inputs"])
        self._encoders = {
            feature: build_encoder(description, export_dir)
            for feature, description in metadata["encoders"].items()
        }
        values = {k: metadata[k] for k in _PROBLEM_HPARAMS if k in metadata}
        self._hparams = HParams(**values)
        self._hparams.add_hparam("vocabulary", dict(self._encoders))

    def feature_encoders(self, data_dir: str | None = None) -> dict[str, Any]:
        """The feature encoders, rebuilt from the export's vocabularies (data_dir unused)."""
        del data_dir
        return dict(self._encoders)

    def get_feature_encoders(self, data_dir: str | None = None) -> dict[str, Any]:
        """Same as `feature_encoders`."""
        return self.feature_encoders(data_dir)

    def get_hparams(self, model_hparams: Any = None) -> HParams:
        """The problem hparams the model was built with."""
        del model_hparams
        return self._hparams


@dataclass
class Export:
    """An export directory, read: what `t2t.load` and t2t-serve build a model from."""

    directory: str
    manifest: dict[str, Any]
    hparams: HParams
    problem: ExportedProblem
    decode_hparams: dict[str, Any]

    @property
    def model_name(self) -> str:
        """The registered model name."""
        return self.problem.metadata["model"]

    @property
    def weights_path(self) -> str:
        """model.safetensors."""
        return os.path.join(self.directory, WEIGHTS)

    def run_record(self) -> dict[str, Any]:
        """A run.json-like record (problem, model, hparams_set, export_dir, source)."""
        meta = self.problem.metadata
        return {
            "problem": meta["problem"],
            "model": meta["model"],
            "hparams_set": meta.get("hparams_set", ""),
            "hparams": "",
            "export_dir": self.directory,
            "source": self.manifest.get("source", {}),
        }


def read_export(export_dir: str, verify: bool = True) -> Export:
    """Reads an export directory (manifest digests checked unless `verify` is False).

    Raises:
        DataError: not an export, damaged files, or an unknown encoder kind.
    """
    export_dir = os.path.abspath(os.path.expanduser(export_dir))
    manifest = read_manifest(export_dir, verify)
    values = _read_json(os.path.join(export_dir, HPARAMS), "hparams")
    metadata = _read_json(os.path.join(export_dir, PROBLEM), "problem metadata")
    for key in ("problem", "model", "has_inputs", "encoders"):
        if key not in metadata:
            raise DataError(f"{export_dir}/{PROBLEM} has no {key!r}: the export is damaged")
    decode = {}
    if os.path.exists(os.path.join(export_dir, DECODE_HPARAMS)):
        decode = _read_json(os.path.join(export_dir, DECODE_HPARAMS), "decode hparams")
    return Export(
        directory=export_dir,
        manifest=manifest,
        hparams=hparams_from_values(values),
        problem=ExportedProblem(metadata, export_dir),
        decode_hparams=decode,
    )


def build_model(export: Export, device: str = "cpu") -> Any:
    """The export's model with its weights, in eval mode on `device`.

    Raises:
        UnknownNameError: the model is not a registered (built-in) model.
        DataError: the weights do not fit the model.
    """
    from t2t import registry
    from t2t.runs import checkpoints
    from t2t.value_checks import check_model_hparams

    model_cls = registry.model(export.model_name)
    hparams = export.hparams
    check_model_hparams(hparams)
    model = model_cls(hparams, export.problem.get_hparams())
    checkpoints.load_weights(model, export.weights_path)
    return model.to(device).eval()
