"""Image data directories written by the ORIGINAL T2T 1.15.7 t2t-datagen read unchanged.

tests/golden/images/original_data was written by tests/golden/images/make_image_golden.py
(run in the original's venv): `t2t-datagen --problem=image_cifar10` on the committed tiny
archive tests/golden/images/cifar-10-python.tar.gz (all 11 shards kept), and
`t2t-datagen --problem=image_mnist` on full-size synthetic idx files (the first 2 records
of each of the 11 shards kept, byte for byte). image_golden.npz holds what the original's
own reader (Problem.dataset, EVAL) made of those shards. The reverse direction (our shards
read by the original) is checked by tests/golden/images/check_ours_with_original.py.
"""

import os
import shutil

import numpy as np
import pytest

from t2t import registry
from t2t.data import example_codec, image_ops, tfrecord
from t2t.hparams import basic_params1
from t2t.problems.pipeline import make_batches

HERE = os.path.join(os.path.dirname(__file__), "..", "golden", "images")
ORIGINAL = os.path.join(HERE, "original_data")


@pytest.fixture(scope="module")
def golden():
    return np.load(os.path.join(HERE, "image_golden.npz"))


def _shards(prefix):
    return sorted(n for n in os.listdir(ORIGINAL) if n.startswith(prefix + "-"))


@pytest.mark.parametrize("name", ["image_mnist", "image_cifar10"])
def test_original_shards_read_as_the_original_reads_them(golden, name):
    assert len(_shards(name)) == 11  # 10 train + 1 dev, T2T's names
    problem = registry.problem(name)
    raw = list(problem.dataset("eval", data_dir=ORIGINAL, preprocess=False))
    np.testing.assert_array_equal(np.stack([ex["inputs"] for ex in raw]), golden[f"{name}_dev_raw"])
    targets = np.stack([ex["targets"] for ex in raw])
    np.testing.assert_array_equal(targets, golden[f"{name}_dev_targets"])
    # The original (TF 1.15) standardises uint8 images back to uint8: keep_dtype reproduces it.
    kept = np.stack([image_ops.per_image_standardization(ex["inputs"], True) for ex in raw])
    np.testing.assert_array_equal(kept, golden[f"{name}_dev_inputs"])
    train = list(problem.dataset("train", data_dir=ORIGINAL, preprocess=False))
    got = sorted((ex["inputs"].tobytes(), int(ex["targets"][0])) for ex in train)
    expected = sorted(
        (image.tobytes(), int(label[0]))
        for image, label in zip(golden[f"{name}_train_raw"], golden[f"{name}_train_targets"])
    )
    assert got == expected


@pytest.mark.parametrize("name,shape", [("image_mnist", (4, 28, 28, 1)),
                                        ("image_cifar10", (4, 32, 32, 3))])  # fmt: skip
def test_original_shards_batch_for_training(name, shape):
    hp = basic_params1()
    hp.batch_size = 4
    batch = next(iter(make_batches(name, "train", hp, ORIGINAL, seed=1)))
    assert tuple(batch["inputs"].shape) == shape and str(batch["inputs"].dtype) == "torch.float32"
    assert tuple(batch["targets"].shape) == (4, 1)


def _split_sets(data_dir, prefix):
    """{shard file name: sorted (pixels, label) of its records}."""
    out = {}
    for name in sorted(os.listdir(data_dir)):
        if name.startswith(prefix + "-"):
            records = [example_codec.decode_example(r)
                       for r in tfrecord.read_records(os.path.join(data_dir, name))]  # fmt: skip
            out[name] = sorted(
                (image_ops.decode_image(r["image/encoded"][0], 3).tobytes(),
                 int(r["image/class/label"][0]))
                for r in records
            )  # fmt: skip
    return out


def test_our_cifar10_datagen_writes_what_the_original_wrote(tmp_path):
    # Same archive -> the same examples in the same shards (orders within a shard are
    # shuffled by both) and the same record fields.
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(os.path.join(HERE, "cifar-10-python.tar.gz"), raw)
    registry.problem("image_cifar10").generate_data(str(tmp_path), str(raw))
    assert _split_sets(str(tmp_path), "image_cifar10") == _split_sets(ORIGINAL, "image_cifar10")
    ours = example_codec.decode_example(
        next(tfrecord.read_records(str(tmp_path / "image_cifar10-dev-00000-of-00001")))
    )
    theirs = example_codec.decode_example(
        next(tfrecord.read_records(os.path.join(ORIGINAL, "image_cifar10-dev-00000-of-00001")))
    )
    assert sorted(ours) == sorted(theirs)
    for key in ("image/format", "image/height", "image/width"):
        assert list(ours[key]) == list(theirs[key])
