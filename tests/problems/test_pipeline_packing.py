"""pack_dataset=true in the problem pipeline: rows of max_length, every example in a segment,
batch_size in rows (fixed-shape rows) or in tokens (problems that say so), as T2T."""

import collections
import itertools
import random
import types

import numpy as np
import pytest

from t2t import registry
from t2t.errors import DataError
from t2t.hparams import basic_params1
from t2t.problems import pipeline
from t2t.problems.problem import VarLenFeature

NAME = "algorithmic_reverse_binary40_test"  # 1000 train (1 shard) / 100 dev, lengths <= 11


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("data"))
    random.seed(429459)
    np.random.seed(429459)
    registry.problem(NAME).generate_data(path, None)
    return path


def hparams(**overrides):
    hp = basic_params1()
    hp.batch_size = 4
    hp.max_length = 24
    hp.batch_shuffle_size = 8
    hp.pack_dataset = True
    for key, value in overrides.items():
        hp.set_hparam(key, value)
    return hp


def _segments(batch, stream):
    """The (row, segment) -> tuple of ids of a packed batch stream."""
    ids, segmentation = batch[stream].numpy(), batch[stream + "_segmentation"].numpy()
    out = {}
    for r in range(ids.shape[0]):
        for s in range(1, segmentation[r].max() + 1):
            out[r, s] = tuple(ids[r][segmentation[r] == s])
    return out


def test_eval_rows_hold_every_example_once(data_dir):
    problem = registry.problem(NAME)
    expected = collections.Counter(
        (tuple(ex["inputs"].tolist()), tuple(ex["targets"].tolist()))
        for ex in problem.dataset("eval", data_dir=data_dir)
    )
    found = collections.Counter()
    num_rows = 0
    for batch in pipeline.make_batches(NAME, "eval", hparams(), data_dir):
        assert batch["inputs"].shape[1] == 24 and batch["targets"].shape[1] == 24
        assert batch["inputs"].shape[0] <= 4  # batch_size counts rows for this problem
        inputs, targets = _segments(batch, "inputs"), _segments(batch, "targets")
        assert inputs.keys() == targets.keys()
        found.update((inputs[k], targets[k]) for k in inputs)
        positions = batch["targets_position"].numpy()
        for (r, s), ids in targets.items():
            where = batch["targets_segmentation"][r].numpy() == s
            assert list(positions[r][where]) == list(range(len(ids)))
        num_rows += batch["inputs"].shape[0]
    assert found == expected
    assert num_rows < sum(expected.values()) / 2  # about 3 examples per row of 24


def test_train_batches_are_rows_of_max_length(data_dir):
    batches = pipeline.make_batches(NAME, "train", hparams(), data_dir, seed=2)
    for batch in itertools.islice(batches, 5):
        assert tuple(batch["targets"].shape) == (4, 24)
        assert set(batch) >= {"inputs_segmentation", "targets_position", "input_space_id"}
        assert int(batch["targets_segmentation"].max()) >= 2


def test_unpacked_batches_are_unchanged_by_the_hook(data_dir):
    plain = pipeline.make_batches(NAME, "eval", hparams(pack_dataset=False), data_dir)
    first = next(iter(plain))
    assert "targets_segmentation" not in first
    assert first["targets"].shape[1] <= 12


def _fake_problem(tokens: bool):
    spec = {"inputs": VarLenFeature(), "targets": VarLenFeature()}
    return types.SimpleNamespace(
        example_reading_spec=lambda: (spec, None),
        batch_size_means_tokens=tokens,
        get_hparams=lambda hp: types.SimpleNamespace(batch_size_multiplier=1),
    )


def test_batch_size_counts_tokens_for_text_problems_and_rows_otherwise():
    hp = hparams(batch_size=4096, max_length=256)
    # Text2Text problems: tokens; a row of 256 lands in the last bucket (T2T: 15 rows).
    tokens = pipeline.batching_scheme_for(_fake_problem(tokens=True), hp)
    assert tokens["batch_sizes"][-1] == 15
    # Others: the packed rows have a fixed shape, so batch_size counts rows (T2T).
    rows = pipeline.batching_scheme_for(_fake_problem(tokens=False), hp)
    assert rows["batch_sizes"] == [4096] and rows["boundaries"] == []
    # Unpacked, variable-length features still make batch_size count tokens.
    hp.pack_dataset = False
    assert pipeline.batching_scheme_for(_fake_problem(tokens=False), hp)["boundaries"]


def test_pack_dataset_errors(data_dir):
    with pytest.raises(DataError, match="max_length > 0"):
        pipeline.make_batches(NAME, "train", hparams(max_length=0), data_dir)
    packed = registry.problem("translate_ende_wmt8k_packed")
    with pytest.raises(DataError, match="already packed"):
        pipeline.make_batches(packed, "train", hparams(), data_dir)
