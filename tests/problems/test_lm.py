"""Language-model problems end to end on tiny archives with the real corpora's layout.

PTB (`simple-examples.tgz`) and WikiText-103 (`wikitext-103-v1.zip`) are put in tmp_dir
under their download names; LM1B's tarball and its original vocabulary are downloaded from
a local HTTP server (T2T extracts the LM1B tarball only right after downloading it). Each
test checks shard names, that shard k holds lines k, k + n, ... of the corpus, the vocab
file, and batches through the pipeline (data spec, 4.3).
Vocabularies and shards must also equal what the ORIGINAL T2T 1.15.7 t2t-datagen wrote
from the same archives (digests in golden/problems/text_problems_golden.json; how they
were made: golden/problems/make_text_problems_golden.py).
"""

import os
import random

import pytest

from t2t import registry
from t2t.data import text_encoder
from t2t.hparams import basic_params1
from t2t.problems import lm, pipeline

SEED = 429459


def _hp():
    hp = basic_params1()
    hp.batch_size = 512
    return hp


def _count_rows(problem, data_dir, mode):
    rows = 0
    for batch in pipeline.make_batches(problem, mode, _hp(), data_dir):
        assert "inputs" not in batch and batch["targets"].dim() == 2
        rows += batch["targets"].shape[0]
    return rows


def _ptb_lines(kit, n, seed, words=None):
    """PTB-style lines: lower-case words, leading space, <unk> and N tokens."""
    rng = random.Random(seed)
    words = words or [w.lower() for w in kit.make_sentences("en", 1, 0)[0][:-1].split()] + [
        "<unk>", "N", "house", "river", "people", "city", "tree", "dog", "cat"
    ]  # fmt: skip
    return [" " + " ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) + " "
            for _ in range(n)]  # fmt: skip


def _ptb_archive(kit, tmp_dir):
    train, valid, test = (_ptb_lines(kit, n, s) for n, s in ((45, 1), (12, 2), (5, 3)))
    chars = {split: [" ".join("_" if c == " " else c for c in line.strip()) for line in lines]
             for split, lines in (("train", train), ("valid", valid), ("test", test))}  # fmt: skip
    members = {"./simple-examples/README": "rnnlm examples\n"}
    for split, lines in (("train", train), ("valid", valid), ("test", test)):
        members[f"./simple-examples/data/ptb.{split}.txt"] = lines
        members[f"./simple-examples/data/ptb.char.{split}.txt"] = chars[split]
    members["./simple-examples/1-train/train.sh"] = "#!/bin/sh\n"
    kit.write_archive(tmp_dir / "simple-examples.tgz", members)
    return {"words": (train, valid), "chars": (chars["train"], chars["valid"])}


def test_languagemodel_ptb10k(tmp_path, kit):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    train, valid = _ptb_archive(kit, tmp_dir)["words"]
    problem = registry.problem("languagemodel_ptb10k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    kit.check_original_golden(problem.name, data_dir)
    assert "vocab.lmptb.10000" in os.listdir(data_dir)
    # The vocab: words (and "<EOS>") by decreasing count, ties by word; no reserved lines.
    words = " ".join(line + " <EOS> " for line in train).split()
    vocab = open(os.path.join(data_dir, "vocab.lmptb.10000")).read().split("\n")
    counts = [words.count(w) for w in vocab]
    assert sorted(vocab) == sorted(set(words)) and counts == sorted(counts, reverse=True)
    assert all(vocab[i] < vocab[i + 1] for i in range(len(vocab) - 1) if counts[i] == counts[i + 1])
    encoder = problem.get_feature_encoders(data_dir)["targets"]

    def text(ex):
        assert ex["targets"][-1] == 1
        return encoder.decode(ex["targets"][:-1])

    expected_train = [" ".join(line.split() + ["<EOS>"]) for line in train]
    kit.assert_round_robin(kit.read_shards(problem, data_dir, "train", 10), expected_train, text)
    expected_dev = [" ".join(line.split() + ["<EOS>"]) for line in valid]
    kit.assert_round_robin(kit.read_shards(problem, data_dir, "dev", 1), expected_dev, text)
    # T2T's quirk, kept for compatibility: the most frequent word has id 0 (= padding).
    assert encoder.encode(vocab[0]) == [0]
    assert _count_rows(problem, data_dir, "eval") == len(valid)


def test_languagemodel_ptb_characters(tmp_path, kit):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    train, valid = _ptb_archive(kit, tmp_dir)["chars"]
    problem = registry.problem("languagemodel_ptb_characters")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    kit.check_original_golden(problem.name, data_dir)
    assert sorted(p for p in os.listdir(data_dir) if p.startswith("vocab")) == [
        "vocab.lmptb.10000"  # built (from the char file) though unused, as in T2T
    ]
    encoder = text_encoder.ByteTextEncoder()

    def text(ex):
        return encoder.decode(ex["targets"][:-1])

    expected = [" ".join(line.split() + ["<EOS>"]) for line in train]
    kit.assert_round_robin(kit.read_shards(problem, data_dir, "train", 10), expected, text)
    expected = [" ".join(line.split() + ["<EOS>"]) for line in valid]
    kit.assert_round_robin(kit.read_shards(problem, data_dir, "dev", 1), expected, text)
    assert problem.get_hparams().vocab_size == {"targets": 258}
    assert _count_rows(problem, data_dir, "eval") == len(valid)


def _lm1b_corpus(kit, directory):
    """Writes the LM1B tarball (99 train files, heldout files) and the original vocab file
    (without a few words, which become UNK) into `directory`; returns (train, dev, known)."""
    root = "1-billion-word-language-modeling-benchmark-r13output"
    members, train = {}, []
    for i in range(1, 100):  # the real release: news.en-00001 .. 00099-of-00100
        lines = kit.make_sentences("en", 1 + i % 3, seed=i)
        members[f"{root}/training-monolingual.tokenized.shuffled/news.en-{i:05d}-of-00100"] = lines
        train += lines
    heldout = []
    for i in range(3):  # only heldout-00000 is the dev set
        lines = kit.make_sentences("en", 6, seed=200 + i)
        members[
            f"{root}/heldout-monolingual.tokenized.shuffled/news.en.heldout-{i:05d}-of-00050"
        ] = lines
        heldout = heldout or lines
    members[f"{root}/README"] = "1B words\n"
    kit.write_archive(directory / os.path.basename(lm.LM1B_CORPUS_URL), members)
    all_words = {w for line in train + heldout for w in line.split()}
    known = set(all_words - {"river", "tree", "River.", "Tree."})  # these become UNK
    vocab = "\n".join(["</S>", "<S>", "<UNK>", *sorted(known)]) + "\n"
    (directory / "vocab-2016-09-10.txt").write_text(vocab)
    return train, heldout, known


def test_languagemodel_lm1b32k_downloads_over_http(tmp_path, kit, http_dir, monkeypatch):
    www, base_url = http_dir
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    train, heldout, known = _lm1b_corpus(kit, www)
    monkeypatch.setattr(lm, "LM1B_CORPUS_URL", f"{base_url}/{os.path.basename(lm.LM1B_CORPUS_URL)}")
    monkeypatch.setattr(lm, "LM1B_VOCAB_URL", f"{base_url}/vocab-2016-09-10.txt")
    problem = registry.problem("languagemodel_lm1b32k")
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    kit.check_original_golden(problem.name, data_dir)
    assert (tmp_dir / "vocab-2016-09-10.txt.en").exists()  # T2T's saved name
    assert "vocab.languagemodel_lm1b32k.32768.subwords" in os.listdir(data_dir)
    encoder = problem.get_feature_encoders(data_dir)["targets"]

    def unk(line):
        return " ".join(w if w in known else "UNK" for w in line.split())

    def text(ex):
        return encoder.decode(ex["targets"][:-1])

    expected = [unk(line) for line in train]
    assert any("UNK" in line for line in expected)
    kit.assert_round_robin(kit.read_shards(problem, data_dir, "train", 100), expected, text)
    expected = [unk(line) for line in heldout]
    kit.assert_round_robin(kit.read_shards(problem, data_dir, "dev", 1), expected, text)
    assert _count_rows(problem, data_dir, "eval") == len(heldout)


def _wikitext_lines(kit, n, seed):
    """WikiText's layout: ' = Title = ' headings, blank ' ' lines, tokenised paragraphs."""
    lines = [" ", f" = Title {seed} = ", " "]
    for sentence in kit.make_sentences("en", n, seed):
        lines += [" " + sentence.replace(".", " @-@ .") + " ", " "]
    return lines


@pytest.mark.parametrize("name", ["languagemodel_wikitext103"])
def test_languagemodel_wikitext103(name, tmp_path, kit):
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    splits = {"train": _wikitext_lines(kit, 30, 1), "valid": _wikitext_lines(kit, 6, 2),
              "test": _wikitext_lines(kit, 4, 3)}  # fmt: skip
    train_words = {w for line in splits["train"] for w in line.split()}
    # Every dev/test token occurs in train (the release's <unk> rule); keep ours that way.
    for split in ("valid", "test"):
        splits[split] = [" ".join(w for w in line.split() if w in train_words) or " "
                         for line in splits[split]]  # fmt: skip
    members = {f"wikitext-103/wiki.{split}.tokens": lines for split, lines in splits.items()}
    kit.write_archive(tmp_dir / "wikitext-103-v1.zip", members)
    problem = registry.problem(name)
    random.seed(SEED)
    problem.generate_data(data_dir, str(tmp_dir))
    kit.check_original_golden(problem.name, data_dir)
    vocab_path = os.path.join(data_dir, "vocab.languagemodel_wikitext103.tokens")
    vocab = open(vocab_path).read().splitlines()
    assert vocab[:2] == ["<pad>", "<EOS>"] and sorted(vocab[2:]) == sorted(train_words)
    encoder = problem.get_feature_encoders(data_dir)["targets"]

    def text(ex):
        return encoder.decode(ex["targets"][:-1])

    for tag, split, shards in (("train", "train", 10), ("dev", "valid", 1), ("test", "test", 1)):
        expected = [" ".join(line.split()) for line in splits[split] if line.strip()]
        kit.assert_round_robin(kit.read_shards(problem, data_dir, tag, shards), expected, text)
    n_dev = sum(1 for line in splits["valid"] if line.strip())
    assert _count_rows(problem, data_dir, "eval") == n_dev


def test_languagemodel_lm1b8k_from_a_tarball_placed_by_hand(tmp_path, kit):
    # T2T extracted the tarball only right after downloading it (and then failed on the
    # first missing file); t2t extracts it whenever the corpus directory is missing.
    tmp_dir, data_dir = tmp_path / "tmp", str(tmp_path / "data")
    tmp_dir.mkdir()
    _, heldout, _ = _lm1b_corpus(kit, tmp_dir)
    os.rename(tmp_dir / "vocab-2016-09-10.txt", tmp_dir / "vocab-2016-09-10.txt.en")
    problem = registry.problem("languagemodel_lm1b8k")
    problem.generate_data(data_dir, str(tmp_dir))
    assert "vocab.languagemodel_lm1b8k.8192.subwords" in os.listdir(data_dir)
    assert _count_rows(problem, data_dir, "eval") == len(heldout)
