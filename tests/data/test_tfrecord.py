"""TFRecord framing, CRC32C and the atomic writer.

Golden files (tests/golden/tfrecord/, see make_golden.py there for the command) were
written by TensorFlow 1.15's tf.io.TFRecordWriter. Byte equality of our writer's output
with them proves that TF reads our files. That was also checked directly on 2026-11-22:
TF 1.15 (tf.data.TFRecordDataset + tf.io.parse_single_example, plain and GZIP) read all
7 golden examples and 100,000 translate-like examples written by this module with
values equal to ours (tests/golden/tfrecord/tf_check.py).
"""

import gzip
import json
import os
import pathlib
import struct

import numpy as np
import pytest

from t2t.data import crc32c, tfrecord
from t2t.data.example_codec import encode_example
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "tfrecord"


@pytest.fixture(params=["default", "numpy"])
def crc_backend(request, monkeypatch):
    """Runs a test with the installed CRC back end and again with the NumPy fallback."""
    if request.param == "numpy":
        monkeypatch.setattr(crc32c, "_google_crc32c", None)
    return request.param


def golden_features(example: dict) -> dict:
    """examples.json entry -> feature dict for encode_example (empty lists typed by dtype)."""
    dtypes = {"int64": np.int64, "float": np.float32, "bytes": np.bytes_}
    out = {}
    for name, (kind, values) in example.items():
        if kind == "bytes":
            values = [bytes.fromhex(v) for v in values]
        out[name] = values if values else np.array([], dtype=dtypes[kind])
    return out


def golden_records() -> list[bytes]:
    examples = json.loads((GOLDEN / "examples.json").read_text())
    return [encode_example(golden_features(ex)) for ex in examples]


def test_crc32c_known_values(crc_backend):
    assert crc32c.crc32c(b"") == 0
    assert crc32c.crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert crc32c.crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 B.4 test vectors
    assert crc32c.crc32c(bytes(range(32))) == 0x46DD794E
    # TFRecord's masked CRC of an 8-byte zero length.
    assert crc32c.masked_crc32c(struct.pack("<Q", 0)) == crc32c.mask(crc32c.crc32c(bytes(8)))


def test_crc32c_numpy_batch_matches_bytewise():
    rng = np.random.default_rng(0)
    lengths = np.concatenate([[0, 1, 3, 4, 5, 127, 128, 129], rng.integers(0, 1000, 50)])
    buf = rng.integers(0, 256, int(lengths.sum()), dtype=np.uint8).tobytes()
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    got = crc32c._numpy_many(np.frombuffer(buf, np.uint8), starts, lengths)
    expected = [crc32c._crc32c_small(buf[s : s + n]) for s, n in zip(starts, lengths)]
    assert got.tolist() == expected
    assert crc32c.crc32c_many(buf, starts, lengths).tolist() == expected


def test_round_trip(tmp_path, crc_backend, monkeypatch):
    monkeypatch.setattr(tfrecord, "_BLOCK_SIZE", 50)  # records straddle many block reads
    records = [b"", b"x", os.urandom(49), os.urandom(300), b"hello" * 7]
    path = tmp_path / "a.tfrecord"
    assert tfrecord.write_records(path, records) == len(records)
    assert list(tfrecord.read_records(path)) == records
    assert list(tfrecord.read_records(str(path), verify=False)) == records
    assert tfrecord.count_records(path) == len(records)


def test_reads_tf_golden_exactly(crc_backend):
    assert list(tfrecord.read_records(GOLDEN / "examples.tfrecord")) == golden_records()


def test_writes_bytes_identical_to_tf(tmp_path):
    path = tmp_path / "ours.tfrecord"
    tfrecord.write_records(path, golden_records())
    assert path.read_bytes() == (GOLDEN / "examples.tfrecord").read_bytes()


def test_reads_datagen_shard_records(crc_backend):
    records = list(tfrecord.read_records(GOLDEN / "reverse_binary40_dev_first20.tfrecord"))
    assert len(records) == 20
    # Re-framing the same record bytes gives TF's file back byte for byte.
    framed = b"".join(tfrecord.frame_record(r) for r in records)
    assert framed == (GOLDEN / "reverse_binary40_dev_first20.tfrecord").read_bytes()


def test_gzip(tmp_path):
    expected = golden_records()
    golden_gz = GOLDEN / "examples.tfrecord.gz"
    assert list(tfrecord.read_records(golden_gz)) == expected  # detected from the magic
    assert list(tfrecord.read_records(golden_gz, compression="GZIP")) == expected
    ours = tmp_path / "ours.tfrecord.gz"
    tfrecord.write_records(ours, expected, compression="GZIP")
    assert gzip.decompress(ours.read_bytes()) == (GOLDEN / "examples.tfrecord").read_bytes()
    assert list(tfrecord.read_records(ours)) == expected


def test_plain_file_starting_like_gzip_is_not_mistaken(tmp_path):
    path = tmp_path / "a.tfrecord"
    record = b"r" * (0x8B1F)  # length bytes start with the gzip magic 1f 8b
    tfrecord.write_records(path, [record])
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert list(tfrecord.read_records(path)) == [record]


def test_empty_file(tmp_path):
    path = tmp_path / "empty.tfrecord"
    path.write_bytes(b"")
    assert list(tfrecord.read_records(path)) == []
    tfrecord.write_records(tmp_path / "none.tfrecord", [])
    assert (tmp_path / "none.tfrecord").read_bytes() == b""


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such TFRecord file"):
        list(tfrecord.read_records(tmp_path / "nope.tfrecord"))


def write_three(tmp_path) -> tuple[pathlib.Path, list[int]]:
    """A file of three 20-byte records; returns it and each record's start offset."""
    path = tmp_path / "three.tfrecord"
    tfrecord.write_records(path, [bytes([i]) * 20 for i in range(3)])
    return path, [0, 36, 72]  # 12 header + 20 data + 4 footer bytes each


@pytest.mark.parametrize(
    ("cut", "what", "offset"),
    [(80, "truncated record header", 72), (100, "truncated record data", 72)],
)
def test_truncated_file_names_offset(tmp_path, crc_backend, cut, what, offset):
    path, _ = write_three(tmp_path)
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(DataError) as info:
        list(tfrecord.read_records(path))
    assert str(info.value) == f"{path}: {what} at byte offset {offset}"


def test_truncated_file_yields_records_before_the_cut(tmp_path):
    path, _ = write_three(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    got = []
    with pytest.raises(DataError):
        for record in tfrecord.read_records(path):
            got.append(record)
    assert got == [bytes([0]) * 20, bytes([1]) * 20]


@pytest.mark.parametrize(
    ("position", "what"),
    [(36 + 12 + 5, "data checksum mismatch"), (36 + 2, "length checksum mismatch")],
)
def test_flipped_byte_is_a_crc_error_naming_offset(tmp_path, crc_backend, position, what):
    path, starts = write_three(tmp_path)
    data = bytearray(path.read_bytes())
    data[position] ^= 0x40
    path.write_bytes(bytes(data))
    got = []
    with pytest.raises(DataError, match=f"{what}.* at byte offset {starts[1]}$"):
        for record in tfrecord.read_records(path):
            got.append(record)
    assert got == [bytes([0]) * 20]  # the good record before the bad one still arrives


def test_verify_false_skips_data_checksums(tmp_path):
    path, _ = write_three(tmp_path)
    data = bytearray(path.read_bytes())
    data[36 + 12] ^= 0xFF
    path.write_bytes(bytes(data))
    assert list(tfrecord.read_records(path, verify=False))[1][0] == 0xFE


def test_corrupt_gzip_is_a_data_error(tmp_path):
    path = tmp_path / "a.tfrecord.gz"
    tfrecord.write_records(path, [b"x" * 1000] * 20, compression="GZIP")
    path.write_bytes(path.read_bytes()[:-30])
    with pytest.raises(DataError, match=str(path)):
        list(tfrecord.read_records(path))


def test_interrupted_writer_leaves_no_complete_looking_file(tmp_path):
    path = tmp_path / "out.tfrecord"
    with pytest.raises(RuntimeError):
        with tfrecord.TFRecordWriter(path) as writer:
            writer.write(b"first")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    # A process killed before close() leaves only the .incomplete name behind.
    writer = tfrecord.TFRecordWriter(path)
    writer.write(b"first")
    writer.flush()
    assert not path.exists()
    assert (tmp_path / "out.tfrecord.incomplete").exists()
    writer.close()
    assert path.exists() and not (tmp_path / "out.tfrecord.incomplete").exists()
    assert list(tfrecord.read_records(path)) == [b"first"]


def test_unknown_compression(tmp_path):
    with pytest.raises(DataError, match="unsupported TFRecord compression"):
        tfrecord.TFRecordWriter(tmp_path / "x", compression="ZLIB")


def test_corrupt_length_without_verify_ends_as_truncated(tmp_path):
    path, _ = write_three(tmp_path)
    data = bytearray(path.read_bytes())
    data[36 + 7] = 0x7F  # record 1 now claims ~2**62 bytes
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match="truncated record data at byte offset 36"):
        list(tfrecord.read_records(path, verify=False))
