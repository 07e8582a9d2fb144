"""tf.Example encoding and decoding without TensorFlow.

Golden files come from TensorFlow 1.15 and T2T 1.15.7 (tests/golden/tfrecord/make_golden.py
says how): examples.tfrecord holds TF's deterministic serialisation of examples.json, and
reverse_binary40_dev_first20.* are t2t-datagen records with TF's own parse of them.
"""

import json
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t2t.data import tfrecord
from t2t.data.example_codec import decode_example, encode_example, read_examples, write_examples
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "tfrecord"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def load_golden_examples() -> list[dict]:
    return json.loads((GOLDEN / "examples.json").read_text())


def as_features(example: dict) -> dict:
    """examples.json entry -> encode_example input; empty lists typed through a dtype."""
    dtypes = {"int64": np.int64, "float": np.float32, "bytes": np.bytes_}
    out = {}
    for name, (kind, values) in example.items():
        if kind == "bytes":
            values = [bytes.fromhex(v) for v in values]
        out[name] = values if values else np.array([], dtype=dtypes[kind])
    return out


def assert_decoded_equals(decoded: dict, example: dict) -> None:
    """Compares our decoding with an examples.json-style {name: [kind, values]} dict."""
    assert list(decoded) == sorted(example)
    for name, (kind, values) in example.items():
        got = decoded[name]
        if kind == "bytes":
            assert got == [bytes.fromhex(v) for v in values]
        elif kind == "int64":
            assert got.dtype == np.int64 and got.tolist() == values
        else:
            assert got.dtype == np.float32
            np.testing.assert_array_equal(got, np.array(values, dtype=np.float32))


def test_round_trip_every_kind():
    features = {
        "inputs": [5, 17, 300, 1],
        "targets": np.array([9, 2, 1], dtype=np.int32),
        "score": [0.5, -2.0],
        "weights": np.array([1.5, 0.25]),
        "text": ["h\u00e9llo", "\u4e16\u754c", ""],
        "raw": [b"\x00\xff"],
        "flag": [True, False],
    }
    decoded = decode_example(encode_example(features))
    assert list(decoded) == sorted(features)
    assert decoded["inputs"].tolist() == [5, 17, 300, 1]
    assert decoded["targets"].dtype == np.int64
    assert decoded["targets"].tolist() == [9, 2, 1]
    assert decoded["score"].dtype == np.float32
    assert decoded["score"].tolist() == [0.5, -2.0]
    assert decoded["weights"].tolist() == [1.5, 0.25]
    assert decoded["text"] == ["h\u00e9llo".encode(), "\u4e16\u754c".encode(), b""]
    assert decoded["raw"] == [b"\x00\xff"]
    assert decoded["flag"].tolist() == [1, 0]


def test_numpy_arrays_by_dtype():
    features = {
        "i": np.array([[1, 2], [3, 4]], dtype=np.int16),  # flattened, like a reshape(-1)
        "u": np.array([7], dtype=np.uint8),
        "f": np.array([0.1], dtype=np.float64),
        "s": np.array(["ab", "\u00e9"]),
        "b": np.array([b"x", b"yz"]),
        "o": np.array([5, 6], dtype=object),
    }
    decoded = decode_example(encode_example(features))
    assert decoded["i"].tolist() == [1, 2, 3, 4]
    assert decoded["u"].tolist() == [7]
    assert decoded["f"].tolist() == [np.float32(0.1)]
    assert decoded["s"] == [b"ab", "\u00e9".encode()]
    assert decoded["b"] == [b"x", b"yz"]
    assert decoded["o"].tolist() == [5, 6]
    assert decode_example(encode_example({"m": map(int, "123")}))["m"].tolist() == [1, 2, 3]


def test_large_and_negative_ints():
    values = [0, -1, 1, INT64_MIN, INT64_MAX, 2**40, -(2**40), 127, 128]
    assert decode_example(encode_example({"v": values}))["v"].tolist() == values
    uint = np.array([2**63 - 1], dtype=np.uint64)
    assert decode_example(encode_example({"v": uint}))["v"].tolist() == [INT64_MAX]


@pytest.mark.parametrize(
    "values", [[2**63], [INT64_MIN - 1], [1, "x"], [object()], ["a", 5], [b"a", None]]
)
def test_bad_values_raise(values):
    with pytest.raises(ValueError):
        encode_example({"v": values})


def test_empty_lists_and_examples():
    decoded = decode_example(
        encode_example(
            {
                "i": [],
                "f": np.array([], dtype=np.float32),
                "b": np.array([], dtype=np.bytes_),
            }
        )
    )
    assert decoded["i"].dtype == np.int64 and decoded["i"].size == 0
    assert decoded["f"].dtype == np.float32 and decoded["f"].size == 0
    assert decoded["b"] == []
    assert encode_example({}) == b"\n\x00"  # `features` set but empty, like T2T's to_example
    assert decode_example(b"\n\x00") == {}
    assert decode_example(b"") == {}


def test_unicode_keys_sorted():
    features = {"\u043a\u043b\u044e\u0447": [1], "a": [2], "\u00e9": [3], "B": [4]}
    decoded = decode_example(encode_example(features))
    assert list(decoded) == ["B", "a", "\u00e9", "\u043a\u043b\u044e\u0447"]


def test_matches_tf_serialisation_byte_for_byte():
    golden = list(tfrecord.read_records(GOLDEN / "examples.tfrecord"))
    examples = load_golden_examples()
    assert len(golden) == len(examples) == 7
    for example, tf_bytes in zip(examples, golden):
        assert encode_example(as_features(example)) == tf_bytes
        assert_decoded_equals(decode_example(tf_bytes), example)


def test_reads_t2t_datagen_records_as_tf_parses_them():
    expected = json.loads((GOLDEN / "reverse_binary40_dev_first20.json").read_text())
    decoded = list(read_examples(GOLDEN / "reverse_binary40_dev_first20.tfrecord"))
    assert len(decoded) == len(expected) == 20
    for ours, theirs in zip(decoded, expected):
        assert_decoded_equals(ours, theirs)
        assert ours["targets"][-1] == 1  # T2T appends EOS


def test_write_and_read_examples(tmp_path):
    examples = [{"inputs": [i + 2, 1], "targets": [i + 3, 1]} for i in range(5)]
    path = tmp_path / "x.tfrecord"
    assert write_examples(path, examples) == 5
    assert [ex["targets"].tolist() for ex in read_examples(path)] == [[i + 3, 1] for i in range(5)]


def test_malformed_bytes_are_a_data_error(tmp_path):
    with pytest.raises(DataError, match="malformed tf.Example"):
        decode_example(b"\n\x05\n\x03")
    path = tmp_path / "bad.tfrecord"
    tfrecord.write_records(path, [encode_example({"a": [1]}), b"\xff\xff"])
    with pytest.raises(DataError, match="record 1: malformed"):
        list(read_examples(path))


feature_values = st.one_of(
    st.lists(st.integers(INT64_MIN, INT64_MAX), max_size=8),
    st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=8),
    st.lists(st.binary(max_size=8), min_size=1, max_size=4),
    st.lists(st.text(max_size=8), min_size=1, max_size=4),
)


@settings(max_examples=25, deadline=None)
@given(st.dictionaries(st.text(max_size=6), feature_values, max_size=4))
def test_round_trip_property(features):
    decoded = decode_example(encode_example(features))
    assert list(decoded) == sorted(features)
    for name, values in features.items():
        got = decoded[name]
        if values and isinstance(values[0], str):
            assert got == [v.encode() for v in values]
        elif values and isinstance(values[0], bytes):
            assert got == values
        else:  # ints, or floats that are exact in float32
            assert got.tolist() == values
