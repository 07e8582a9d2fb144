"""Text problems: iterators, text2text_tmpdir end to end (vs the original), vocab types."""

import os
import random

import pytest

from t2t import registry
from t2t.data import example_codec, text_encoder
from t2t.hparams import basic_params1
from t2t.problems import pipeline, text_problems
from t2t.problems.problem import DatasetSplit


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_iterators(tmp_path):
    src = write(tmp_path / "src", ["Hello world", "Goodbye world"])
    tgt = write(tmp_path / "tgt", ["Hola mundo", "Adios mundo"])
    assert list(text_problems.text2text_txt_iterator(src, tgt)) == [
        {"inputs": "Hello world", "targets": "Hola mundo"},
        {"inputs": "Goodbye world", "targets": "Adios mundo"},
    ]
    labels = write(tmp_path / "labels", ["2", "3"])
    assert [s["label"] for s in text_problems.text2class_txt_iterator(src, labels)] == [2, 3]
    strs = write(tmp_path / "strs", ["c", "d"])
    got = text_problems.text2class_txt_iterator(src, strs, class_strs=["a", "b", "c", "d"])
    assert [s["label"] for s in got] == [2, 3]
    reals = write(tmp_path / "reals", ["1.23 2.34", "0"])
    assert next(text_problems.text2real_txt_iterator(src, reals))["targets"] == [1.23, 2.34]
    tab = write(tmp_path / "tab", ["a b\tc d", "no tab", "e\tf\tg"])
    assert list(text_problems.text2text_txt_tab_iterator(tab)) == [
        {"inputs": "a b", "targets": "c d"},
        {"inputs": "e", "targets": "f\tg"},
    ]
    assert [s["idx"] for s in text_problems.text2text_txt_iterator_with_index(src, tgt)] == [
        [0],
        [1],
    ]


class Test1Problem(text_problems.Text2textTmpdir):  # noqa: D101
    __test__ = False
    """The spec's acceptance problem (data spec, section 8)."""

    name = "test1"

    @property
    def approx_vocab_size(self):
        return 3

    @property
    def dataset_splits(self):
        return [
            {"split": DatasetSplit.TRAIN, "shards": 1},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]


def test_text2text_tmpdir_matches_original(tmp_path):
    tmp_dir, data_dir = tmp_path / "tmp", tmp_path / "data"
    tmp_dir.mkdir()
    for split in ("train", "eval"):
        write(tmp_dir / f"inputs.{split}.txt", ["Hello world", "Goodbye world"])
        write(tmp_dir / f"targets.{split}.txt", ["Hola mundo", "Adios mundo"])
    random.seed(429459)  # what t2t-datagen does before generate_data
    Test1Problem().generate_data(str(data_dir), str(tmp_dir))
    assert sorted(os.listdir(data_dir)) == [
        "test1-dev-00000-of-00001", "test1-train-00000-of-00001", "vocab.test1.3.subwords"
    ]  # fmt: skip
    vocab = (data_dir / "vocab.test1.3.subwords").read_text().splitlines()
    expected_vocab = ["<pad>_", "<EOS>_", "o", "_", "d", "l", "w", "u", "r", "n", "m", "e", "H",
                      "y", "s", "i", "b", "a", "G", "A", "p", "\\", "S", "O", "E", ">", "<", ";",
                      "9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]  # fmt: skip
    assert vocab == [f"'{s}'" for s in expected_vocab]
    expected = [
        {"inputs": [18, 2, 2, 4, 16, 13, 11, 3, 6, 2, 8, 5, 4, 3, 1],
         "targets": [19, 4, 15, 2, 14, 3, 10, 7, 9, 4, 2, 3, 1]},
        {"inputs": [12, 11, 5, 5, 2, 3, 6, 2, 8, 5, 4, 3, 1],
         "targets": [12, 2, 5, 17, 3, 10, 7, 9, 4, 2, 3, 1]},
    ]  # fmt: skip
    for split in ("train", "dev"):
        path = data_dir / f"test1-{split}-00000-of-00001"
        got = [{k: v.tolist() for k, v in ex.items()} for ex in example_codec.read_examples(path)]
        assert got == expected
    # Reading back: decode without the EOS gives the text.
    problem = Test1Problem()
    examples = list(problem.dataset("train", data_dir=str(data_dir), seed=0))
    encoder = problem.get_feature_encoders()["inputs"]
    decoded = {encoder.decode(ex["inputs"][:-1].tolist()) for ex in examples}
    assert decoded == {"Hello world", "Goodbye world"}
    hp = problem.get_hparams()
    assert hp.vocab_size == {"inputs": 38, "targets": 38} and hp.stop_at_eos == 1


def test_text2text_tmpdir_tokens_and_batches(tmp_path):
    tmp_dir, data_dir = tmp_path / "tmp", tmp_path / "data"
    tmp_dir.mkdir()
    write(tmp_dir / "vocab.txt", ["a", "b", "c"])
    for split in ("train", "eval"):
        write(tmp_dir / f"inputs.{split}.txt", ["a b", "c a zz", "b"])
        write(tmp_dir / f"targets.{split}.txt", ["b a", "a c", "c c"])
    problem = registry.problem("text2text_tmpdir_tokens")
    problem.generate_data(str(data_dir), str(tmp_dir))
    encoder = text_encoder.TokenTextEncoder(str(data_dir / "vocab.text2text_tmpdir_tokens.tokens"))
    assert encoder.encode("<UNK> a b c") == [2, 3, 4, 5]
    hp = basic_params1()
    hp.batch_size = 32
    batches = list(pipeline.make_batches(problem, "eval", hp, str(data_dir)))
    rows = sorted(tuple(r[r != 0].tolist()) for b in batches for r in b["inputs"])
    assert rows == [(3, 4, 1), (4, 1), (5, 3, 2, 1)]  # "zz" -> <UNK> = 2


def test_registered_tmpdir_names():
    names = registry.list_problems()
    assert "text2text_tmpdir" in names and "text2text_tmpdir_tokens" in names
    assert (
        registry.problem("text2text_tmpdir").vocab_filename
        == "vocab.text2text_tmpdir.32768.subwords"
    )


def test_pack_examples_t2t_case():
    examples = [
        {"inputs": [1, 2, 3], "targets": [10]},
        {"inputs": [4, 5], "targets": [20, 30, 40]},
        {"inputs": [6], "targets": [50, 60]},
    ]
    packed = list(text_problems.pack_examples(examples, True, 5, spacing=0, queue_size=2))
    assert packed[0] == {
        "inputs": [1, 2, 3, 4, 5], "inputs_segmentation": [1, 1, 1, 2, 2],
        "inputs_position": [0, 1, 2, 0, 1], "targets": [10, 20, 30, 40],
        "targets_segmentation": [1, 2, 2, 2], "targets_position": [0, 0, 1, 2],
    }  # fmt: skip
    assert packed[1]["inputs"] == [6] and packed[1]["targets_position"] == [0, 1]
    lm = list(text_problems.pack_examples([{"targets": list(range(1, 8))}], False, 3,
                                          spacing=0, chop_long_sequences=True))  # fmt: skip
    assert [p["targets"] for p in lm] == [[1, 2, 3], [4, 5, 6], [7]]
    assert lm[0]["inputs"] == [0]


def test_missing_vocab_is_a_clear_error(tmp_path):
    from t2t.errors import DataError

    with pytest.raises(DataError, match="vocab.text2text_tmpdir.32768.subwords"):
        registry.problem("text2text_tmpdir").get_feature_encoders(str(tmp_path))
