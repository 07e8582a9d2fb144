"""generator_utils: shards, interruption safety, shuffling, downloads, vocab helpers."""

import gzip
import os
import random
import tarfile

import pytest

from t2t.data import example_codec, text_encoder
from t2t.errors import DataError
from t2t.problems import generator_utils as gu


def test_shard_names():
    assert gu.sharded_name("x-train", 3, 10) == "x-train-00003-of-00010"
    assert gu.train_data_filenames("p", "/d", 2)[1] == "/d/p-train-00001-of-00002"
    assert len(gu.combined_data_filenames("p", "/d", 3)) == 5


def test_generate_files_round_robin_and_max_cases(tmp_path):
    paths = gu.train_data_filenames("p", str(tmp_path), 2)
    cases = ({"inputs": [i], "targets": [i, i]} for i in range(10))
    gu.generate_files(cases, paths, max_cases=5)
    firsts = [[int(e["inputs"][0]) for e in example_codec.read_examples(p)] for p in paths]
    assert firsts == [[0, 2, 4], [1, 3]]


def test_interrupted_generation_leaves_nothing_that_looks_complete(tmp_path):
    paths = gu.train_data_filenames("p", str(tmp_path), 3)

    def cases():
        yield {"targets": [1]}
        yield {"targets": [2]}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        gu.generate_files(cases(), paths)
    assert os.listdir(tmp_path) == []
    gu.generate_files(({"targets": [i]} for i in range(3)), paths)
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(p) for p in paths)
    # Complete outputs are not regenerated.
    gu.generate_files(iter([{"targets": [9]}]), paths)
    assert [int(e["targets"][0]) for e in example_codec.read_examples(paths[0])] == [0]


def test_to_example_rules():
    ex = gu.to_example({"a": [1, 2], "b": [0.5], "c": ["x"]})
    assert example_codec.decode_example(ex.SerializeToString())["a"].tolist() == [1, 2]
    with pytest.raises(ValueError, match="Empty generated field"):
        gu.to_example({"a": []})
    with pytest.raises(ValueError):
        gu.to_example({"a": [object()]})


def test_shuffle_dataset_within_shards(tmp_path):
    paths = [str(tmp_path / f"p-unshuffled-train-0000{i}-of-00002") for i in range(2)]
    gu.generate_files(({"targets": [i + 2]} for i in range(40)), paths)
    random.seed(1)
    gu.shuffle_dataset(paths)
    finals = [p.replace("-unshuffled", "") for p in paths]
    assert sorted(os.listdir(tmp_path)) == sorted(os.path.basename(f) for f in finals)
    values = [int(e["targets"][0]) for e in example_codec.read_examples(finals[0])]
    assert sorted(values) == list(range(2, 42, 2)) and values != sorted(values)


def test_maybe_download_file_url_and_skip(tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("hello")
    out = gu.maybe_download(str(tmp_path / "dl"), "a.txt", src.as_uri())
    assert open(out).read() == "hello"
    src.write_text("changed")
    assert open(gu.maybe_download(str(tmp_path / "dl"), "a.txt", src.as_uri())).read() == "hello"
    with pytest.raises(DataError):
        gu.maybe_download(str(tmp_path / "dl"), "b.txt", "nope://x")
    with pytest.raises(DataError):
        gu.maybe_download(str(tmp_path / "dl"), "c.txt", (tmp_path / "missing").as_uri())
    assert not [f for f in os.listdir(tmp_path / "dl") if f.endswith(".incomplete")]


def test_gunzip_and_vocab_generation_is_loaded_not_rebuilt(tmp_path):
    gz = tmp_path / "t.txt.gz"
    with gzip.open(gz, "wt") as f:
        f.write("test line\n")
    gu.gunzip_file(str(gz), str(tmp_path / "t.txt"))
    assert (tmp_path / "t.txt").read_text() == "test line\n"
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the quick brown fox\nthe lazy dog\n")
    vocab = gu.get_or_generate_txt_vocab(str(tmp_path), "test.voc", 20, str(corpus))
    assert (tmp_path / "test.voc").exists()
    corpus.write_text("something else entirely\n")
    again = gu.get_or_generate_txt_vocab(str(tmp_path), "test.voc", 20, str(corpus))
    assert again.all_subtoken_strings == vocab.all_subtoken_strings


def test_generate_lines_for_vocab_extracts_archives(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "a.en").write_text("one\ntwo\nthree\n")
    archive = tmp_path / "data.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(raw / "a.en", arcname="corpus/a.en")
    tmp_dir = tmp_path / "tmp"
    lines = list(gu.generate_lines_for_vocab(str(tmp_dir), [[archive.as_uri(), ["corpus/a.en"]]]))
    assert lines == ["one", "two", "three"]
    assert isinstance(
        gu.get_or_generate_vocab(
            str(tmp_path / "d"), str(tmp_dir), "v", 10, [[archive.as_uri(), ["corpus/a.en"]]]
        ),
        text_encoder.SubwordTextEncoder,
    )


def test_maybe_download_over_http_and_a_failed_download(tmp_path, http_dir):
    www, base_url = http_dir
    (www / "corpus.tgz").write_bytes(b"x" * 100_000)
    out_dir = tmp_path / "downloads"
    path = gu.maybe_download(str(out_dir), "corpus.tgz", f"{base_url}/corpus.tgz")
    assert open(path, "rb").read() == b"x" * 100_000
    with pytest.raises(DataError, match="missing.tgz"):
        gu.maybe_download(str(out_dir), "missing.tgz", f"{base_url}/missing.tgz")
    assert sorted(os.listdir(out_dir)) == ["corpus.tgz", "corpus.tgz.sha256"]  # nothing partial
