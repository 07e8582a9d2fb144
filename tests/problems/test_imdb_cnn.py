"""sentiment_imdb and summarize_cnn_dailymail32k end to end on tiny archives with the real
layout (data spec, 4.4): `aclImdb_v1.tar.gz` and the CNN / Daily Mail story tarballs are
put in tmp_dir under their download names; the CNN/DM url lists come from a local HTTP
server. Checks shard names, round-robin contents, vocab and batches.
Vocabularies and shards must also equal what the ORIGINAL T2T 1.15.7 t2t-datagen wrote
from the same archives (digests in golden/problems/text_problems_golden.json; how they
were made: golden/problems/make_text_problems_golden.py).
"""

import hashlib
import os
import random

from t2t import registry
from t2t.hparams import basic_params1
from t2t.problems import cnn_dailymail, pipeline

SEED = 429459


def _hp():
    hp = basic_params1()
    hp.batch_size = 4096
    return hp


def _review(kit, seed):
    sentences = kit.make_sentences("en", 1 + seed % 4, seed)
    return "  " + "<br /><br />".join(sentences) + "\n"  # stripped by the reader


def test_sentiment_imdb(tmp_path, kit):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    members = {"aclImdb/README": "Large Movie Review Dataset v1.0\n", "aclImdb/imdb.vocab": "the\n"}
    seed = 0
    for split, n in (("train", 14), ("test", 5)):
        for label, rating in (("pos", 8), ("neg", 2)):
            for i in range(n):
                seed += 1
                members[f"aclImdb/{split}/{label}/{i}_{rating}.txt"] = _review(kit, seed)
        members[f"aclImdb/{split}/labeledBow.feat"] = "0:1\n"
    members["aclImdb/train/unsup/0_0.txt"] = "unlabelled review, never read\n"
    kit.write_archive(tmp_dir / "aclImdb_v1.tar.gz", members)
    problem = registry.problem("sentiment_imdb")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    kit.check_original_golden(problem.name, data_dir, directory_order=True)  # os.listdir
    assert "vocab.sentiment_imdb.8192.subwords" in os.listdir(data_dir)
    encoder = problem.get_feature_encoders(data_dir)["inputs"]

    def item(ex):
        assert ex["inputs"][-1] == 1
        return encoder.decode(ex["inputs"][:-1]), ex["targets"]

    for tag, split, shards in (("train", "train", 10), ("dev", "test", 1)):
        expected = []  # pos/ (label 1) then neg/ (label 0), each in os.listdir order
        for label, value in (("pos", 1), ("neg", 0)):
            directory = tmp_dir / "aclImdb" / split / label
            expected += [(members[f"aclImdb/{split}/{label}/{name}"].strip(), [value])
                         for name in os.listdir(directory)]  # fmt: skip
        kit.assert_round_robin(kit.read_shards(problem, data_dir, tag, shards), expected, item)
    labels = []
    for batch in pipeline.make_batches(problem, "eval", _hp(), data_dir):
        assert batch["targets"].shape[1] == 1 and batch["inputs"].dim() == 2
        labels += batch["targets"][:, 0].tolist()
    assert sorted(labels) == [0] * 5 + [1] * 5
    hp = problem.get_hparams()
    assert hp.vocab_size["targets"] == 2 and hp.modality["targets"] == "class_label"
    assert problem.get_feature_encoders(data_dir)["targets"].decode([1]) == "pos"


def _story(kit, seed, highlights=2, text_first=True):
    """A .story file: article lines (some without final period), then @highlight blocks."""
    article = kit.make_sentences("en", 3, seed)
    article[1] = article[1].rstrip(".")  # a run-on line: the reader appends "."
    highlight_lines = [s.rstrip(".") for s in kit.make_sentences("en", highlights, seed + 500)]
    body = [line for a in article for line in (a, "")]
    tail = [line for h in highlight_lines for line in ("@highlight", "", h, "")]
    lines = body + tail if text_first else tail + body
    story = " ".join(a if a.endswith(".") else a + "." for a in article)
    summary = " ".join(h + "." for h in highlight_lines)
    return "\n".join(lines) + "\n", (story, summary)


def test_summarize_cnn_dailymail32k(tmp_path, kit, http_dir, monkeypatch):
    www, base_url = http_dir
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    archives = {"cnn": {}, "dailymail": {}}
    url_lists = {"all_train.txt": [], "all_val.txt": [], "all_test.txt": []}
    expected = {name: [] for name in url_lists}
    seed = 0
    for name, n in (("all_train.txt", 24), ("all_val.txt", 12), ("all_test.txt", 11)):
        for i in range(n):
            seed += 1
            source = "cnn" if i % 3 else "dailymail"
            url = f"http://www.{source}.com/news/{name}/{i}/story.html"
            url_lists[name].append(url)
            highlights, text_first = (0, True) if i == 4 else (2, i != 5)  # 4, 5: dropped
            text, pair = _story(kit, seed, highlights, text_first)
            if i == 7:
                continue  # a listed url without a story file: skipped
            sha = hashlib.sha1(url.encode("utf-8")).hexdigest()
            archives[source][f"{source}/stories/{sha}.story"] = text
            if i not in (4, 5):
                expected[name].append(pair)
    archives["cnn"]["cnn/stories/0000unlisted.story"] = "Not in any split.\n\n@highlight\n\nx\n"
    for source, members in archives.items():
        kit.write_archive(tmp_dir / f"{source}_stories.tgz", members)
    for name, urls in url_lists.items():
        (www / name).write_text("\n".join(urls) + "\n")
    split_urls = {
        k: (name, f"{base_url}/{name}") for k, (name, _) in cnn_dailymail.SPLIT_URLS.items()
    }
    monkeypatch.setattr(cnn_dailymail, "SPLIT_URLS", split_urls)

    problem = registry.problem("summarize_cnn_dailymail32k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    kit.check_original_golden(problem.name, data_dir)
    assert "vocab.summarize_cnn_dailymail32k.32768.subwords" in os.listdir(data_dir)
    encoder = problem.get_feature_encoders(data_dir)["inputs"]

    def pair(ex):
        return encoder.decode(ex["inputs"][:-1]), encoder.decode(ex["targets"][:-1])

    for tag, name, shards in (("train", "all_train.txt", 100), ("dev", "all_val.txt", 10),
                              ("test", "all_test.txt", 10)):  # fmt: skip
        kit.assert_round_robin(
            kit.read_shards(problem, data_dir, tag, shards), expected[name], pair
        )
    # The raw text files T2T also writes, in corpus order.
    source = (tmp_dir / "cnndm.dev.source").read_text().splitlines()
    target = (tmp_dir / "cnndm.dev.target").read_text().splitlines()
    assert list(zip(source, target)) == expected["all_val.txt"]
    vocab_text = list(problem.generate_text_for_vocab(data_dir, str(tmp_dir)))
    assert vocab_text == [f"{story} {summary}" for story, summary in expected["all_train.txt"]]
    rows = sum(
        b["targets"].shape[0] for b in pipeline.make_batches(problem, "eval", _hp(), data_dir)
    )
    assert rows == len(expected["all_val.txt"])
