"""On-the-fly packing (T2T's pack_dataset): rows, segment ids, positions, T2T's placement."""

import collections
import json
import pathlib

import numpy as np
import pytest

from t2t.data.packing import default_window_size, pack_sequences
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).resolve().parents[1] / "golden" / "data" / "packing_original.json"


def _spec_examples():
    """The test case of the spec (6.6) and of T2T's generator_utils / pack_sequences tests."""
    return [
        {"inputs": [1, 2, 3], "targets": [10]},
        {"inputs": [4, 5], "targets": [20, 30, 40]},
        {"inputs": [6], "targets": [50, 60]},
    ]


def _lists(rows):
    return [{k: v.tolist() for k, v in row.items()} for row in rows]


def test_spec_case_length_5():
    rows = _lists(pack_sequences(_spec_examples(), 5))
    assert rows == [
        {
            "inputs": [1, 2, 3, 4, 5],
            "inputs_segmentation": [1, 1, 1, 2, 2],
            "inputs_position": [0, 1, 2, 0, 1],
            "targets": [10, 20, 30, 40, 0],
            "targets_segmentation": [1, 2, 2, 2, 0],
            "targets_position": [0, 0, 1, 2, 0],
        },
        {
            "inputs": [6, 0, 0, 0, 0],
            "inputs_segmentation": [1, 0, 0, 0, 0],
            "inputs_position": [0, 0, 0, 0, 0],
            "targets": [50, 60, 0, 0, 0],
            "targets_segmentation": [1, 1, 0, 0, 0],
            "targets_position": [0, 1, 0, 0, 0],
        },
    ]


def test_spec_cases_length_4_and_6():
    four = _lists(pack_sequences(_spec_examples(), 4))
    assert [r["inputs"] for r in four] == [[1, 2, 3, 6], [4, 5, 0, 0]]
    assert [r["targets"] for r in four] == [[10, 50, 60, 0], [20, 30, 40, 0]]
    assert [r["targets_segmentation"] for r in four] == [[1, 2, 2, 0], [1, 1, 1, 0]]
    assert [r["targets_position"] for r in four] == [[0, 0, 1, 0], [0, 1, 2, 0]]
    (six,) = _lists(pack_sequences(_spec_examples(), 6))
    assert six["inputs_segmentation"] == [1, 1, 1, 2, 2, 3]
    assert six["inputs_position"] == [0, 1, 2, 0, 1, 0]
    assert six["targets"] == [10, 20, 30, 40, 50, 60]


def test_rows_hold_every_example_once_with_restarting_positions():
    rng = np.random.default_rng(0)
    examples = [{"targets": rng.integers(1, 9, rng.integers(1, 8))} for _ in range(200)]
    rows = list(pack_sequences(examples, 16, keys=("targets",)))
    assert len(rows) < len(examples) / 2  # several examples per row
    found = collections.Counter()
    for row in rows:
        assert set(row) == {"targets", "targets_segmentation", "targets_position"}
        assert all(v.shape == (16,) and v.dtype == np.int64 for v in row.values())
        segments = row["targets_segmentation"]
        assert list(np.unique(segments[segments > 0])) == list(range(1, segments.max() + 1))
        for segment in range(1, segments.max() + 1):
            where = np.flatnonzero(segments == segment)
            assert list(where) == list(range(where[0], where[-1] + 1))  # contiguous
            assert list(row["targets_position"][where]) == list(range(len(where)))
            found[tuple(row["targets"][where])] += 1
        assert not row["targets"][segments == 0].any()  # padding is 0
    assert found == collections.Counter(tuple(ex["targets"]) for ex in examples)


def test_long_examples_are_dropped_and_other_features_too():
    examples = [
        {"inputs": [1] * 7, "targets": [2], "batch_prediction_key": [0]},
        {"inputs": [3], "targets": [4, 4], "batch_prediction_key": [0]},
    ]
    rows = _lists(pack_sequences(examples, 6))
    assert len(rows) == 1 and rows[0]["inputs"] == [3, 0, 0, 0, 0, 0]
    assert "batch_prediction_key" not in rows[0]


def test_windows_are_packed_apart():
    examples = [{"targets": [5]} for _ in range(6)]
    assert len(list(pack_sequences(examples, 8, keys=("targets",)))) == 1
    assert len(list(pack_sequences(examples, 8, keys=("targets",), window_size=2))) == 3
    assert default_window_size(256) == 3200  # T2T: length / 8 * queue_size * 10


def test_errors():
    with pytest.raises(DataError, match="row length"):
        list(pack_sequences([{"targets": [1]}], 0))
    with pytest.raises(DataError, match="'inputs'"):
        list(pack_sequences([{"targets": [1]}], 4))


def test_same_rows_as_the_original_packer():
    """330 random pairs packed into rows of 12 by T2T 1.15.7 (make_packing_golden.py): the
    same rows, in the original's order but for its sloppy final map (hence a multiset)."""
    golden = json.loads(GOLDEN.read_text())
    rows = _lists(pack_sequences(golden["examples"], golden["length"]))

    def key(row):
        return json.dumps(row, sort_keys=True)

    assert len(rows) == len(golden["rows"]) > 150
    assert collections.Counter(map(key, rows)) == collections.Counter(map(key, golden["rows"]))
    # The first window (150 examples) comes out in the same order.
    assert rows[:80] == golden["rows"][:80]
