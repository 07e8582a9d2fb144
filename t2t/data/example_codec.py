"""`tf.Example` protos encoded and decoded on the protobuf runtime, without TensorFlow.

The message classes are built at import time from a descriptor written here in Python
(same package, names, field numbers and types as TensorFlow's `example.proto` and
`feature.proto`), so no protoc step and no TensorFlow are needed. With protobuf's
default C back end (upb) this decodes about 3x faster than a hand-written wire-format
parser in Python (measured: ~45k vs ~14k translate-like examples/s on one core).

Map order. TensorFlow serialises the `Features.feature` map in hash order, which changes
from run to run (measured with TF 1.15: 26 different byte strings for the same 5-key
example over 2000 serialisations), so "byte-identical to TF" is only defined for TF's
deterministic serialisation, which sorts the keys. `encode_example` always writes sorted
keys, matching `SerializeToString(deterministic=True)` byte for byte; any order decodes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

from t2t.data import tfrecord
from t2t.errors import DataError

FeatureValue = Sequence[int] | Sequence[float] | Sequence[bytes] | Sequence[str] | np.ndarray
DecodedValue = np.ndarray | list

_F = descriptor_pb2.FieldDescriptorProto


def _file_descriptor() -> descriptor_pb2.FileDescriptorProto:
    """The descriptor of TF's Example/Features/Feature messages, written out by hand."""
    fdp = descriptor_pb2.FileDescriptorProto(
        name="t2t/tensorflow_example.proto", package="tensorflow", syntax="proto3"
    )
    for name, kind in (
        ("BytesList", _F.TYPE_BYTES),
        ("FloatList", _F.TYPE_FLOAT),
        ("Int64List", _F.TYPE_INT64),
    ):
        msg = fdp.message_type.add(name=name)
        field = msg.field.add(name="value", number=1, type=kind, label=_F.LABEL_REPEATED)
        if kind != _F.TYPE_BYTES:
            field.options.packed = True  # as in TF's feature.proto
    feature = fdp.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for name, number, type_name in (
        ("bytes_list", 1, ".tensorflow.BytesList"),
        ("float_list", 2, ".tensorflow.FloatList"),
        ("int64_list", 3, ".tensorflow.Int64List"),
    ):
        feature.field.add(
            name=name,
            number=number,
            type=_F.TYPE_MESSAGE,
            type_name=type_name,
            label=_F.LABEL_OPTIONAL,
            oneof_index=0,
        )
    features = fdp.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    entry.field.add(
        name="value",
        number=2,
        type=_F.TYPE_MESSAGE,
        type_name=".tensorflow.Feature",
        label=_F.LABEL_OPTIONAL,
    )
    features.field.add(
        name="feature",
        number=1,
        type=_F.TYPE_MESSAGE,
        type_name=".tensorflow.Features.FeatureEntry",
        label=_F.LABEL_REPEATED,
    )
    example = fdp.message_type.add(name="Example")
    example.field.add(
        name="features",
        number=1,
        type=_F.TYPE_MESSAGE,
        type_name=".tensorflow.Features",
        label=_F.LABEL_OPTIONAL,
    )
    return fdp


# A private pool: TensorFlow or TensorBoard may register "tensorflow.Example" in the
# default pool of the same process, and two definitions there would clash.
_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file_descriptor())
_EXAMPLE_DESCRIPTOR = _POOL.FindMessageTypeByName("tensorflow.Example")
if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.21
    Example = message_factory.GetMessageClass(_EXAMPLE_DESCRIPTOR)
else:  # pragma: no cover - protobuf 3.20
    Example = message_factory.MessageFactory(_POOL).GetPrototype(_EXAMPLE_DESCRIPTOR)


def _kind_of(name: str, values: FeatureValue) -> str:
    """Which list a value goes to, following T2T's `to_example` (decided by element type)."""
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":  # object: by element
        if values.dtype.kind in "iub":
            return "int64_list"
        if values.dtype.kind == "f":
            return "float_list"
        if values.dtype.kind in "SU":
            return "bytes_list"
        raise ValueError(f"feature {name!r}: unsupported array dtype {values.dtype}")
    if len(values) == 0:
        # T2T's to_example rejects empty lists; TF itself stores them. Without an element
        # the type is unknown: int64 is what T2T's readers expect for most features.
        return "int64_list"
    first = values[0]
    if isinstance(first, (int, np.integer)):  # bool is an int, as in T2T
        return "int64_list"
    if isinstance(first, (float, np.floating)):
        return "float_list"
    if isinstance(first, (str, bytes)):
        return "bytes_list"
    raise ValueError(f"feature {name!r}: unsupported value type {type(first).__name__}")


def _as_bytes(value: str | bytes) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    # bytes(5) would silently give five zero bytes.
    raise ValueError(f"not str or bytes: {type(value).__name__}")


def _to_int64_list(name: str, values: FeatureValue) -> list[int]:
    """Checks and converts int values; TF's proto rejects the same cases."""
    try:
        arr = np.asarray(values)
        if arr.dtype.kind == "O":  # an object array of Python ints: let NumPy type it
            arr = np.asarray(arr.tolist())
    except (OverflowError, ValueError) as e:
        raise ValueError(f"feature {name!r}: not a list of int64 values: {e}") from e
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "iub":  # e.g. object dtype for ints beyond 64 bits, or mixed
        raise ValueError(f"feature {name!r}: not a list of int64 values (dtype {arr.dtype})")
    if arr.dtype.kind == "u" and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"feature {name!r}: value {int(arr.max())} above the int64 range")
    return arr.astype(np.int64).tolist()


def _fill(feature, name: str, values: FeatureValue) -> None:
    kind = _kind_of(name, values)
    if kind == "int64_list":
        feature.int64_list.value.extend(_to_int64_list(name, values))
    elif kind == "float_list":
        feature.float_list.value.extend(np.asarray(values, dtype=np.float32).tolist())
    else:
        try:
            feature.bytes_list.value.extend([_as_bytes(v) for v in values])
        except ValueError as e:
            raise ValueError(f"feature {name!r}: {e}") from None
    if not feature.HasField(kind):  # an empty list still records its kind
        getattr(feature, kind).SetInParent()


def encode_example(features: Mapping[str, FeatureValue]) -> bytes:
    """Serialises a feature dict as a `tf.Example`.

    Types follow T2T's `to_example`: ints (incl. NumPy integers and bool) go to
    `int64_list`, floats to `float_list` (stored as float32), str (UTF-8 encoded) and
    bytes to `bytes_list`; NumPy arrays by dtype. Unlike `to_example`, an empty list is
    allowed (stored as an empty `int64_list`, or by dtype for an array).

    Args:
        features: feature name -> 1-D list or array of values.

    Returns:
        The serialised proto, keys in sorted order: the same bytes as TF's
        `Example.SerializeToString(deterministic=True)` for the same example.

    Raises:
        ValueError: a value of an unsupported type, or an int outside int64.
    """
    example = Example()
    # Touch `features` even for an empty dict: T2T's to_example always sets it (b"\n\x00").
    example.features.SetInParent()
    feature_map = example.features.feature
    for name, values in features.items():
        if isinstance(values, np.ndarray):
            values = values.reshape(-1)
        elif not isinstance(values, (list, tuple)):
            values = list(values)  # e.g. a `map` object, which T2T's to_example accepts too
        _fill(feature_map[name], name, values)
    return example.SerializeToString(deterministic=True)


def decode_example(data: bytes) -> dict[str, DecodedValue]:
    """Parses a serialised `tf.Example`.

    Args:
        data: the proto bytes (e.g. one TFRecord record).

    Returns:
        feature name (sorted) -> np.int64 array for `int64_list`, np.float32 array for
        `float_list`, list of bytes for `bytes_list`. A feature with no list set (legal
        in the proto) decodes as an empty int64 array.

    Raises:
        DataError: the bytes are not a valid `tf.Example`.
    """
    try:
        example = Example.FromString(data)
    except message.DecodeError as e:
        raise DataError(f"malformed tf.Example ({len(data)} bytes): {e}") from None
    out: dict[str, DecodedValue] = {}
    items = example.features.feature.items()
    for name, feature in sorted(items, key=lambda kv: kv[0]) if len(items) > 1 else items:
        kind = feature.WhichOneof("kind")
        if kind == "int64_list":
            values = feature.int64_list.value
            out[name] = np.fromiter(values, dtype=np.int64, count=len(values))
        elif kind == "float_list":
            values = feature.float_list.value
            out[name] = np.fromiter(values, dtype=np.float32, count=len(values))
        elif kind == "bytes_list":
            out[name] = list(feature.bytes_list.value)
        else:
            out[name] = np.zeros(0, dtype=np.int64)
    return out


def read_examples(
    path: str | os.PathLike, verify: bool = True
) -> Iterator[dict[str, DecodedValue]]:
    """Yields the decoded `tf.Example`s of a TFRecord file (plain or gzip)."""
    for index, record in enumerate(tfrecord.read_records(path, verify=verify)):
        try:
            yield decode_example(record)
        except DataError as e:
            raise DataError(f"{os.fspath(path)}: record {index}: {e}") from None


def write_examples(path: str | os.PathLike, examples: Iterable[Mapping[str, FeatureValue]]) -> int:
    """Writes feature dicts as `tf.Example` records to a new TFRecord file; returns the count."""
    return tfrecord.write_records(path, (encode_example(ex) for ex in examples))
