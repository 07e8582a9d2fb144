"""Data directories written by the ORIGINAL T2T 1.15.7 t2t-datagen are read by
`Problem.dataset` and the batching pipeline (the files are in golden/problems/original_data).

How they were made (default --random_seed 429459):

* `algorithmic_reverse_binary40_test-{train,dev}-*`: `/tmp/t2t-original/bin/t2t-datagen
  --problem=algorithmic_reverse_binary40_test --data_dir=D --tmp_dir=T`; the same examples
  are in algorithmic_golden.json (from an earlier run with the same seed: make_golden.py).
* `translate_envi_iwslt32k-*` and its vocab: the original's t2t-datagen on the archives of
  test_translate.py::test_translate_envi_iwslt32k_downloads_over_http (as in
  make_text_problems_golden.py); kept: the vocab, the dev shard and train shards 0-2.
* `datagen_reverse_binary40_golden.json`: digests (conftest.digest_data_dir) of the 11 files
  `/tmp/t2t-original/bin/t2t-datagen --problem=algorithmic_reverse_binary40 --data_dir=D
  --tmp_dir=T` wrote (110,000 examples).
"""

import json
import os
import subprocess
import sys

import pytest

from t2t import registry
from t2t.hparams import basic_params1
from t2t.problems import pipeline

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "problems")
ORIGINAL_DATA = os.path.join(GOLDEN, "original_data")


def _as_tuple(ex):
    return tuple(ex["inputs"].tolist()), tuple(ex["targets"].tolist())


def test_original_algorithmic_data_dir_reads_and_batches():
    with open(os.path.join(GOLDEN, "algorithmic_golden.json")) as f:
        golden = json.load(f)["algorithmic_reverse_binary40_test"]
    expected = {
        tag: [(tuple(ex["inputs"]), tuple(ex["targets"])) for ex in golden[f"{tag}-00000-of-00001"]]
        for tag in ("train", "dev")
    }
    problem = registry.problem("algorithmic_reverse_binary40_test")
    train = [_as_tuple(ex) for ex in problem.dataset("train", data_dir=ORIGINAL_DATA, seed=3)]
    assert len(train) == 1000 and sorted(train) == sorted(expected["train"])
    assert train != expected["train"]  # training shuffles
    dev = [_as_tuple(ex) for ex in problem.dataset("eval", data_dir=ORIGINAL_DATA)]
    assert dev == expected["dev"]  # file order
    hp = basic_params1()
    hp.batch_size = 256
    rows = []
    batches = pipeline.make_batches(problem, "train", hp, ORIGINAL_DATA, seed=0, repeat=False)
    for batch in batches:
        for inputs, targets in zip(batch["inputs"], batch["targets"]):
            rows.append(
                (tuple(inputs[inputs != 0].tolist()), tuple(targets[targets != 0].tolist()))
            )
    assert sorted(rows) == sorted(expected["train"])


def test_original_translate_files_decode_with_the_original_vocab(kit):
    problem = registry.problem("translate_envi_iwslt32k")
    encoders = problem.get_feature_encoders(ORIGINAL_DATA)

    def pair(ex):
        assert ex["inputs"][-1] == 1 and ex["targets"][-1] == 1
        return (encoders["inputs"].decode(ex["inputs"][:-1].tolist()),
                encoders["targets"].decode(ex["targets"][:-1].tolist()))  # fmt: skip

    # The test's archives: train pairs make_sentences(.., 70, 80), dev (.., 8, 81).
    dev = list(zip(kit.make_sentences("en", 8, 81), kit.make_sentences("vi", 8, 81)))
    got = [pair(ex) for ex in problem.dataset("eval", data_dir=ORIGINAL_DATA)]
    assert sorted(got) == sorted(dev)
    train = list(zip(kit.make_sentences("en", 70, 80), kit.make_sentences("vi", 70, 80)))
    for shard in range(3):  # round-robin: train shard k of 100 holds pair k
        got = [pair(ex) for ex in problem.dataset("train", data_dir=ORIGINAL_DATA, shard=shard)]
        assert got == [train[shard]]
    hp = basic_params1()
    hp.batch_size = 1024
    rows = sum(
        b["targets"].shape[0] for b in pipeline.make_batches(problem, "eval", hp, ORIGINAL_DATA)
    )
    assert rows == len(dev)


@pytest.mark.slow
def test_datagen_reverse_binary40_writes_the_originals_shards(tmp_path, kit):
    """All 110,000 examples, in the same files and order as the original's t2t-datagen."""
    launch = "from t2t.bin import t2t_datagen; t2t_datagen.run()"
    out = subprocess.run(
        [sys.executable, "-c", launch, "--problem=algorithmic_reverse_binary40",
         f"--data_dir={tmp_path}/data", f"--tmp_dir={tmp_path}/tmp"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    with open(os.path.join(GOLDEN, "datagen_reverse_binary40_golden.json")) as f:
        golden = json.load(f)["algorithmic_reverse_binary40"]
    assert kit.digest_data_dir(tmp_path / "data", "algorithmic_reverse_binary40") == golden
