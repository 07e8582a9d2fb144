"""MultiProblemV2's dataset: examples drawn by the schedule at the global step, dev sets in
turns, MultiText2TextProblem's fixed-length examples, and the batches' step counter. The
tasks are the tiny character problems of tests/problems/fixtures/multi_problem_usr_dir."""

import itertools
import pathlib

import numpy as np
import pytest

from t2t import registry
from t2t.hparams import basic_params1
from t2t.problems import multi_problem_v2 as v2
from t2t.problems.pipeline import make_batches

USR_DIR = pathlib.Path(__file__).parent / "fixtures" / "multi_problem_usr_dir"


@pytest.fixture(scope="module")
def tiny_v2(tmp_path_factory):
    from t2t.compat.usr_dir import import_usr_dir

    import_usr_dir(str(USR_DIR))
    root = tmp_path_factory.mktemp("multi_v2")
    problems = [registry.problem("tiny_char_lm"), registry.problem("tiny_char_class")]
    mixed = v2.MultiProblemV2(problems, v2.decode_schedule("step @0 1.0 0.0 @5 0.0 1.0"))
    mixed.generate_data(str(root / "data"), str(root / "tmp"))
    return mixed, str(root / "data")


def _ids(examples, n):
    return [int(ex["problem_id"][0]) for ex in itertools.islice(examples, n)]


def test_training_draws_each_problem_from_the_schedule_at_the_global_step(tiny_v2):
    mixed, data_dir = tiny_v2
    step = [0]
    examples = mixed.dataset("train", data_dir=data_dir, global_step=lambda: step[0], seed=1)
    assert _ids(examples, 40) == [0] * 40  # more than the 24 examples: they repeat
    step[0] = 5
    assert _ids(examples, 20) == [1] * 20
    halves = v2.MultiProblemV2(mixed.problems, v2.constant_schedule([0.5, 0.5]))
    drawn = _ids(halves.dataset("train", data_dir=data_dir, seed=2), 200)
    assert 60 < sum(drawn) < 140


def test_evaluation_gives_the_dev_sets_in_turns_once(tiny_v2):
    mixed, data_dir = tiny_v2
    assert _ids(mixed.dataset("eval", data_dir=data_dir), 100) == [0, 1] * 4


def test_multi_text2text_examples_get_the_fixed_length():
    class LanguageModel(v2.MultiText2TextProblem):
        has_inputs = False

    class Translation(v2.MultiText2TextProblem):
        has_inputs = True

    hp = basic_params1()
    hp.max_length = 6
    example = {"inputs": np.array([5, 6, 1]), "targets": np.array([7, 8, 1])}
    lm = LanguageModel([], v2.constant_schedule([1.0])).normalize_example(example, hp)
    assert "inputs" not in lm and lm["targets"].tolist() == [5, 6, 7, 8, 1, 0]
    pair = Translation([], v2.constant_schedule([1.0])).normalize_example(example, hp)
    assert pair["inputs"].tolist() == [5, 6, 1, 0, 0, 0] and len(pair["targets"]) == 6


def test_batches_advance_the_schedule_and_keep_the_step(tiny_v2):
    mixed, data_dir = tiny_v2
    hp = basic_params1()
    hp.batch_size = 24
    batches = make_batches(mixed, "train", hp, data_dir, seed=3)
    stream = iter(batches)
    first = next(stream)
    assert set(first["problem_id"][:, 0].tolist()) == {0}
    later = [next(stream) for _ in range(30)]
    assert batches.state_dict()["step"] == 31
    assert 1 in {i for b in later[-10:] for i in b["problem_id"][:, 0].tolist()}
    resumed = make_batches(mixed, "train", hp, data_dir, seed=3)
    resumed.load_state_dict(batches.state_dict())
    assert set(next(iter(resumed))["problem_id"][:, 0].tolist()) == {1}  # past step 5
