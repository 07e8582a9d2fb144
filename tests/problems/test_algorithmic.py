"""Algorithmic problems: the original's examples (golden), generators, problem hparams.

tests/golden/problems/algorithmic_golden.json holds examples written by the ORIGINAL T2T
1.15.7 t2t-datagen (how: tests/golden/problems/make_golden.py). Example j of train shard s
is case j * num_shards + s of the generator (round-robin, no shuffling), so the first cases
of our generator, seeded like t2t-datagen, must reproduce the first examples of every shard.
"""

import json
import os
import random

import numpy as np
import pytest

from t2t import registry
from t2t.problems import algorithmic
from t2t.problems.problem import ModalityType, SpaceID

GOLDEN_PATH = os.path.join(
    os.path.dirname(__file__), "..", "golden", "problems", "algorithmic_golden.json"
)
with open(GOLDEN_PATH) as f:
    GOLDEN = json.load(f)
SEED = 429459  # t2t-datagen's default --random_seed


def seed():
    random.seed(SEED)
    np.random.seed(SEED)


@pytest.mark.parametrize("name", sorted(p for p in GOLDEN if p != "tiny_algo"))
def test_first_train_examples_of_every_shard_match_original(name):
    problem = registry.problem(name)
    shards = {k: v for k, v in GOLDEN[name].items() if k.startswith("train-")}
    assert len(shards) == problem.num_shards
    per_shard = min(len(v) for v in shards.values())
    seed()
    cases = problem._generator_eos(problem.num_symbols, problem.train_length, problem.train_size)
    first = [next(cases) for _ in range(per_shard * problem.num_shards)]
    for suffix, expected in shards.items():
        shard = int(suffix.split("-")[1])
        got = first[shard :: problem.num_shards][:per_shard]
        assert got == expected[:per_shard], (name, suffix)


@pytest.mark.parametrize("name", ["algorithmic_reverse_binary40_test", "tiny_algo"])
def test_whole_small_problems_match_original(name, tmp_path):
    seed()
    registry.problem(name).generate_data(str(tmp_path), None)
    from t2t.data import example_codec

    assert sorted(os.listdir(tmp_path)) == sorted(f"{name}-{s}" for s in GOLDEN[name])
    for suffix, expected in GOLDEN[name].items():
        got = [
            {k: v.tolist() for k, v in ex.items()}
            for ex in example_codec.read_examples(tmp_path / f"{name}-{suffix}")
        ]
        assert got == expected


def test_golden_covers_the_families():
    assert len(GOLDEN) >= 10
    assert len(GOLDEN["algorithmic_reverse_binary40"]) == 11  # 10 train shards + dev


def test_spec_first_cases():
    # Raw generator output before the +2 shift (data spec, section 8).
    seed()
    first = next(algorithmic.identity_generator(10, 40, 3))
    assert first["inputs"][:10] == [8, 0, 2, 8, 3, 9, 4, 1, 1, 4] and len(first["inputs"]) == 35
    seed()
    first = next(algorithmic.addition_generator(10, 40, 1))
    assert first == {"inputs": [0, 2, 9, 10, 3, 9, 4, 1, 1, 4, 8, 0, 7],
                     "targets": [3, 1, 4, 2, 1, 4, 8, 0, 7]}  # fmt: skip
    seed()
    sort_cases = list(algorithmic.sort_generator(20, 10, 3))
    assert [c["inputs"] for c in sort_cases][0] == [8, 0, 2]
    assert sort_cases[2] == {"inputs": [4, 16, 16, 3], "targets": [3, 4, 16, 16]}


def test_number_helpers_and_generators():
    assert algorithmic.lower_endian_to_number([7, 3, 1, 2], 10) == 2137
    assert algorithmic.lower_endian_to_number([0, 1, 1], 2) == 6
    assert algorithmic.number_to_lower_endian(0, 2) == [0]
    assert algorithmic.number_to_lower_endian(6, 2) == [0, 1, 1]
    assert algorithmic.number_to_lower_endian(2137, 10) == [7, 3, 1, 2]
    rng = np.random.RandomState(0)
    for gen in (algorithmic.addition_generator, algorithmic.multiplication_generator):
        for case in gen(4, 8, 10, rng=rng):
            assert case["inputs"].count(4) == 1 and 5 not in case["inputs"]
            assert 4 not in case["targets"] and 5 not in case["targets"]
    for case in algorithmic.reverse_generator(3, 8, 10, rng=rng):
        assert case["targets"] == case["inputs"][::-1]
    d = algorithmic.zipf_distribution(10, 1.0001)
    for i in range(len(d[1:]) - 1):
        assert abs(abs(d[i + 1] - d[i + 2]) * (i + 2) - d[1]) < 1e-4
    with pytest.raises(ValueError):
        next(algorithmic.addition_generator(10, 2, 1))


def test_problem_hparams():
    hp = registry.problem("algorithmic_reverse_binary40").get_hparams()
    assert hp.modality == {"inputs": ModalityType.SYMBOL, "targets": ModalityType.SYMBOL}
    assert hp.modality["inputs"] == "symbol"
    assert hp.vocab_size == {"inputs": 4, "targets": 4}
    assert (hp.input_space_id, hp.target_space_id) == (SpaceID.DIGIT_0, SpaceID.DIGIT_1) == (10, 11)
    assert hp.loss_multiplier == 1.0 and hp.batch_size_multiplier == 1 and hp.stop_at_eos is False
    assert hp.was_reversed is False and hp.was_copy is False
    assert hp.vocabulary["inputs"].encode("1 0") == [3, 2]
    # The separator / top nlp-like symbol is one past T2T's vocab: we declare it.
    assert (
        registry.problem("algorithmic_addition_decimal40").get_hparams().vocab_size["inputs"] == 13
    )
    assert registry.problem("algorithmic_sort_problem").get_hparams().vocab_size["targets"] == 22


def test_registered_algorithmic_names():
    names = set(registry.list_problems())
    expected = {
        "algorithmic_identity_binary40", "algorithmic_identity_decimal40",
        "algorithmic_identity_vocab95_train20_eval30", "algorithmic_shift_decimal40",
        "algorithmic_reverse_binary40", "algorithmic_reverse_decimal40",
        "algorithmic_reverse_nlplike8k", "algorithmic_reverse_nlplike32k",
        "algorithmic_addition_binary40", "algorithmic_addition_decimal40",
        "algorithmic_multiplication_binary40", "algorithmic_multiplication_decimal40",
        "algorithmic_reverse_binary40_test", "algorithmic_sort_problem", "tiny_algo",
        "algorithmic_cipher_shift5", "algorithmic_cipher_vigenere5",
        "algorithmic_cipher_shift200", "algorithmic_cipher_vigenere200",
    }  # fmt: skip
    assert expected <= names
    assert "edit_distance" in registry.problem("algorithmic_sort_problem").eval_metrics()


@pytest.mark.slow
def test_full_reverse_binary40_dev_matches_original(tmp_path):
    seed()
    registry.problem("algorithmic_reverse_binary40").generate_data(str(tmp_path), None)
    from t2t.data import example_codec

    dev = tmp_path / "algorithmic_reverse_binary40-dev-00000-of-00001"
    got = [{k: v.tolist() for k, v in ex.items()} for ex in example_codec.read_examples(dev)]
    expected = GOLDEN["algorithmic_reverse_binary40"]["dev-00000-of-00001"]
    assert got[: len(expected)] == expected and len(got) == 10000


@pytest.mark.parametrize(
    "name, hparams_set, vocab, parameters",
    [  # measured with T2T 1.15.7: problem hparams and trainable variables of the model
        ("algorithmic_reverse_nlplike32k", "transformer_base", 32002, 60_505_088),
        ("algorithmic_reverse_nlplike8k", "transformer_small", 8002, 5_737_984),
    ],
)
def test_nlplike_vocab_and_model_size_are_the_originals(name, hparams_set, vocab, parameters):
    from t2t.runs.build import count_trainable_parameters, create_model_on_meta

    problem = registry.problem(name)
    assert problem.get_hparams().vocab_size == {"inputs": vocab, "targets": vocab}
    model = create_model_on_meta("transformer", hparams_set, problem=name)
    assert count_trainable_parameters(model) == parameters
    # The generator's rare top id (== vocab) is read as PAD, so no lookup goes out of range.
    example = {"inputs": np.array([5, vocab, 3, 1]), "targets": np.array([3, vocab, 5, 1])}
    out = problem.preprocess_example(example, "train", problem.get_hparams())
    assert out["inputs"].tolist() == [5, 0, 3, 1] and out["targets"].tolist() == [3, 0, 5, 1]
