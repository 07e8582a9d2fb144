"""T2T's length buckets and batch sizes, against values computed by the original.

tests/golden/data/batching_scheme.json was written by
tests/golden/data/make_batching_golden.py running T2T 1.15.7's data_reader.batching_scheme.
"""

import json
import os

import numpy as np
import pytest

from t2t.data import batching

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "data", "batching_scheme.json")
with open(GOLDEN) as f:
    CASES = json.load(f)


@pytest.mark.parametrize("case", CASES, ids=[str(c["args"]) for c in CASES])
def test_batching_scheme_matches_original(case):
    bs, ml, mlb, step, drop, shard, mult, minl = case["args"]
    scheme = batching.batching_scheme(
        batch_size=bs,
        max_length=ml,
        min_length_bucket=mlb,
        length_bucket_step=step,
        drop_long_sequences=drop,
        shard_multiplier=shard,
        length_multiplier=mult,
        min_length=minl,
    )
    assert scheme == case["scheme"]


def test_spec_values_transformer_base():
    scheme = batching.batching_scheme(4096, 256, 8, 1.1)
    assert len(scheme["boundaries"]) == 41 and scheme["boundaries"][-1] == 236
    assert scheme["batch_sizes"][:4] == [420, 420, 315, 315]
    assert scheme["batch_sizes"][-1] == 15 and scheme["shuffle_queue_size"] == 252
    assert len(CASES) >= 10


def test_bucket_boundaries_errors_and_min_length():
    with pytest.raises(ValueError):
        batching.bucket_boundaries(100, 8, 1.0)
    with pytest.raises(ValueError):
        batching.batching_scheme(20, 5, 8, 1.1, min_length=10)
    assert batching.bucket_boundaries(12, 8, 1.1) == [8, 9, 10, 11]


def test_bucket_by_length_groups_by_bucket_and_flushes_partials():
    lengths = [1, 9, 2, 3, 12, 9, 30, 4]
    examples = [{"targets": np.ones(n, dtype=np.int64)} for n in lengths]
    batches = list(batching.bucket_by_length(examples, [8, 16], [3, 2, 1]))
    got = [[len(ex["targets"]) for ex in b] for b in batches]
    # Bucket 0 (<8) fills at 3, bucket 1 (8..15) at 2, bucket 2 (>=16) at 1; then partials.
    assert got == [[1, 2, 3], [9, 12], [30], [4], [9]]
    # fill_partial (repeated training data): partials filled with the bucket's first examples.
    full = list(batching.bucket_by_length(examples, [8, 16], [3, 2, 1], fill_partial=True))
    got = [[len(ex["targets"]) for ex in b] for b in full]
    assert got == [[1, 2, 3], [9, 12], [30], [4, 1, 2], [9, 9]]
    few = list(batching.bucket_by_length(examples[:2], [8, 16], [3, 2, 1], fill_partial=True))
    assert [[len(ex["targets"]) for ex in b] for b in few] == [[1, 1, 1], [9, 9]]


def test_example_length_is_max_over_features():
    ex = {"inputs": np.zeros(5), "targets": np.zeros(7), "img": np.zeros((2, 3, 4))}
    assert batching.example_length(ex) == 7
    ex["img"] = np.zeros((3, 4, 1))
    assert batching.example_length(ex) == 12


def test_pad_batch_zero_pads_each_feature():
    batch = batching.pad_batch(
        [
            {"inputs": np.array([3, 4, 1]), "targets": np.array([5, 1]), "raw": [b"x"]},
            {"inputs": np.array([6, 1]), "targets": np.array([7, 8, 9, 1])},
        ]
    )
    assert sorted(batch) == ["inputs", "targets"]
    np.testing.assert_array_equal(batch["inputs"], [[3, 4, 1], [6, 1, 0]])
    np.testing.assert_array_equal(batch["targets"], [[5, 1, 0, 0], [7, 8, 9, 1]])
    assert batch["inputs"].dtype == np.int64


def test_fast_row_padding_equals_the_generic_padding():
    rng = np.random.default_rng(0)
    for dtype in (np.int64, np.int32, np.uint8, np.float32, np.float64, np.bool_):
        for batch_size in (1, 2, 7, 64):
            values = [
                rng.integers(0, 100, rng.integers(0, 30)).astype(dtype) for _ in range(batch_size)
            ]
            values[0] = values[0][:0] if batch_size > 1 else values[0]  # an empty row too
            out_dtype = np.float32 if values[0].dtype.kind == "f" else np.int64
            fast = batching._pad_rows(values, out_dtype)
            generic = batching._pad_nd(values, out_dtype)
            assert fast.dtype == generic.dtype and fast.shape == generic.shape
            np.testing.assert_array_equal(fast, generic)
    # 2-D features take the generic path.
    batch = batching.pad_batch([{"x": np.ones((2, 2))}, {"x": np.ones(3)[:, None]}])
    np.testing.assert_array_equal(batch["x"], [[[1, 1], [1, 1], [0, 0]], [[1, 0], [1, 0], [1, 0]]])


def test_example_length_of_lists_and_scalars():
    assert batching.example_length({"a": [1, 2, 3], "b": np.int64(7), "c": np.zeros(2)}) == 3
