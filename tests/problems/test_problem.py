"""The Problem base: hparams, _rev/_copy, file names, preprocessing, decoding."""

import numpy as np
import pytest

from t2t import registry
from t2t.data import example_codec
from t2t.hparams import HParams
from t2t.problems import problem as problem_lib
from t2t.problems.problem import Problem, SpaceID


class _PairProblem(Problem):
    def hparams(self, defaults, model_hparams):
        defaults.modality = {"inputs": "symbol", "targets": "class_label", "other": "identity"}
        defaults.vocab_size = {"inputs": 1, "targets": 3, "other": 7}
        defaults.input_space_id = SpaceID.EN_TOK
        defaults.target_space_id = None


def test_rev_swaps_hparams_like_t2t():
    hp = _PairProblem(was_reversed=True).get_hparams()
    assert hp.modality == {"targets": "symbol", "inputs": "class_label", "other": "identity"}
    assert hp.vocab_size == {"inputs": 3, "targets": 1}  # unpaired keys dropped (T2T)
    assert (hp.input_space_id, hp.target_space_id) == (SpaceID.GENERIC, SpaceID.EN_TOK)
    assert hp.was_reversed is True


def test_copy_and_rev_copy_hparams():
    hp = _PairProblem(was_copy=True).get_hparams()
    assert hp.modality["targets"] == "symbol" and hp.vocab_size["targets"] == 1
    assert hp.target_space_id == SpaceID.EN_TOK and hp.was_copy is True
    hp = registry.problem("algorithmic_addition_binary40_rev_copy").get_hparams()
    assert hp.was_reversed and hp.was_copy and hp.input_space_id == SpaceID.DIGIT_1


def test_hparams_must_mutate_in_place():
    class Bad(Problem):
        def hparams(self, defaults, model_hparams):
            return defaults

    with pytest.raises(ValueError, match="mutate"):
        Bad().get_hparams()


def test_names_and_filepaths(tmp_path):
    p = registry.problem("algorithmic_reverse_binary40_test_rev")
    assert p.name == p.dataset_filename() == "algorithmic_reverse_binary40_test"
    d = str(tmp_path)
    assert p.training_filepaths(d, 2, shuffled=False) == [
        f"{d}/algorithmic_reverse_binary40_test-unshuffled-train-00000-of-00002",
        f"{d}/algorithmic_reverse_binary40_test-unshuffled-train-00001-of-00002",
    ]
    assert p.dev_filepaths(d, 1, True) == p.data_filepaths("eval", d, 1, True)
    assert p.test_filepaths(d, 1, True) == [
        f"{d}/algorithmic_reverse_binary40_test-test-00000-of-00001"
    ]
    assert p.filepattern(d, "train") == f"{d}/algorithmic_reverse_binary40_test-train*"
    assert p.filepattern(d, "infer", shard=3) == f"{d}/algorithmic_reverse_binary40_test-dev-00003*"
    with pytest.raises(ValueError):
        p.data_filepaths("nope", d, 1, True)
    assert _PairProblem().name == "__pair_problem"  # T2T: "_" + "_Pair" -> "__pair"


def test_default_model_hparams_and_max_length():
    hp = problem_lib.default_model_hparams()
    assert hp.prepend_mode == "none" and hp.split_to_length == 0
    p = Problem()
    assert p.max_length(HParams(batch_size=4096, max_length=256)) == 256
    assert p.max_length(HParams(batch_size=4096, max_length=0)) == 4096
    assert p.max_length(HParams(split_to_length=8, batch_size=4096, max_length=256)) == 8


def test_preprocess_example_common():
    def ex():
        return {"inputs": np.array([5, 6, 7, 1]), "targets": np.array([8, 9, 1])}

    hp = HParams(max_input_seq_length=2, max_target_seq_length=4, prepend_mode="prepend_inputs",
                 split_to_length=0)  # fmt: skip
    out = problem_lib.preprocess_example_common(ex(), "train", hp)
    assert out["inputs"].tolist() == [5, 6] and out["targets"].tolist() == [5, 6, 0, 8]
    out = problem_lib.preprocess_example_common(ex(), "infer", hp)
    assert out["partial_targets"].tolist() == [5, 6, 0] and out["targets"].tolist() == [8, 9, 1]
    hp = HParams(split_to_length=2)
    pieces = problem_lib.preprocess_example_common(
        {"inputs": np.arange(4), "targets": np.arange(4), "x": np.arange(1)}, "train", hp
    )
    assert [p["targets"].tolist() for p in pieces] == [[0, 1], [2, 3]] and "x" not in pieces[0]


def test_decode_example_uses_the_reading_spec():
    record = example_codec.encode_example({"inputs": [3, 4], "targets": [5], "junk": [1.5]})
    ex = registry.problem("tiny_algo").decode_example(record)
    assert sorted(ex) == ["inputs", "targets"] and ex["inputs"].dtype == np.int64

    class WithFixed(Problem):
        def example_reading_spec(self):
            return {"targets": problem_lib.FixedLenFeature((1,), np.int64, default_value=7)}, None

    assert WithFixed().decode_example(example_codec.encode_example({}))["targets"].tolist() == [7]


def test_feature_info_and_space_id_features():
    p = registry.problem("algorithmic_reverse_binary40")
    info = p.feature_info
    assert info["inputs"]["vocab_size"] == 4 and info["targets"]["space_id"] == 11
    assert problem_lib.problem_hparams_to_features(p.get_hparams()) == {
        "input_space_id": 10,
        "target_space_id": 11,
    }
    assert p.has_inputs
