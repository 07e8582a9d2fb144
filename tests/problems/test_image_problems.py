"""Image problems end to end on tiny archives in the real formats (tests/problems/
image_archives.py): generate_data -> T2T's shards -> reading -> preprocessing -> batches."""

import io
import os
import pickle
import tarfile

import numpy as np
import pytest

from t2t import registry
from t2t.data import example_codec, image_ops, tfrecord
from t2t.data.safe_pickle import UnsafePickleError
from t2t.errors import DataError
from t2t.hparams import basic_params1
from t2t.problems.pipeline import make_batches
from tests.problems import image_archives as archives

IMAGE_PROBLEMS = [
    n for n in registry.list_problems() if n.startswith("image_") or n.startswith("img2img_")
]


def test_every_image_problem_is_registered():
    expected = {
        "image_mnist", "image_mnist_tune", "image_fashion_mnist", "image_cifar10",
        "image_cifar10_tune", "image_cifar10_plain", "image_cifar10_plain_gen",
        "image_cifar10_plain8", "img2img_cifar10", "image_cifar100", "image_cifar100_tune",
        "image_cifar100_plain", "image_cifar20", "image_cifar20_tune", "image_cifar20_plain",
        "image_imagenet", "image_imagenet224", "image_imagenet64", "image_imagenet32",
    }  # fmt: skip
    assert expected <= set(IMAGE_PROBLEMS)
    assert len(IMAGE_PROBLEMS) >= 27
    for name in ("image_mnist_rev", "image_cifar10_rev", "image_imagenet32_rev"):
        assert registry.problem(name).was_reversed


def _hparams(batch_size=4):
    hp = basic_params1()
    hp.batch_size = batch_size
    return hp


def _records(path):
    return [example_codec.decode_example(r) for r in tfrecord.read_records(path)]


def _all_records(data_dir, prefix):
    out = []
    for name in sorted(os.listdir(data_dir)):
        if name.startswith(prefix):
            out += _records(os.path.join(data_dir, name))
    return out


def _pixels(record, channels):
    return image_ops.decode_image(record["image/encoded"][0], channels)


def _as_set(images, labels):
    return sorted((np.asarray(i).tobytes(), int(label)) for i, label in zip(images, labels))


@pytest.fixture
def dirs(tmp_path):
    raw, data = tmp_path / "raw", tmp_path / "data"
    raw.mkdir()
    data.mkdir()
    return str(raw), str(data)


# ----------------------------------------------------------------------------- MNIST


def test_image_mnist_end_to_end(dirs):
    raw, data = dirs
    source = archives.write_mnist(raw, n_train=12, n_test=5)
    problem = registry.problem("image_mnist")
    problem.generate_data(data, raw)
    names = sorted(os.listdir(data))
    assert names == [f"image_mnist-train-{i:05d}-of-00010" for i in range(10)] + [
        "image_mnist-dev-00000-of-00001"
    ] or set(names) == {f"image_mnist-train-{i:05d}-of-00010" for i in range(10)} | {
        "image_mnist-dev-00000-of-00001"
    }
    train = _all_records(data, "image_mnist-train")
    dev = _records(os.path.join(data, "image_mnist-dev-00000-of-00001"))
    first = dev[0]
    assert first["image/format"] == [b"png"]
    assert first["image/height"].tolist() == [28] and first["image/width"].tolist() == [28]
    for split, records in (("train", train), ("t10k", dev)):
        images, labels = source[split]
        got = _as_set([_pixels(r, 1)[:, :, 0] for r in records],
                      [r["image/class/label"][0] for r in records])  # fmt: skip
        assert got == _as_set(images, labels)
    # Reading: uint8 [28, 28, 1] + label [1]; preprocessing standardises (float32).
    examples = list(problem.dataset("eval", data_dir=data, preprocess=False))
    assert examples[0]["inputs"].dtype == np.uint8 and examples[0]["inputs"].shape == (28, 28, 1)
    assert examples[0]["targets"].tolist() == [int(dev[0]["image/class/label"][0])]
    processed = list(problem.dataset("eval", data_dir=data))
    np.testing.assert_allclose(
        processed[0]["inputs"], image_ops.per_image_standardization(examples[0]["inputs"])
    )
    # batch_size counts images (28*28 > batch_size: nothing is dropped); eval keeps the rest.
    batches = list(make_batches(problem, "eval", _hparams(2), data))
    assert [b["inputs"].shape[0] for b in batches] == [2, 2, 1]
    b = batches[0]
    assert tuple(b["inputs"].shape) == (2, 28, 28, 1) and str(b["inputs"].dtype) == "torch.float32"
    assert tuple(b["targets"].shape) == (2, 1) and str(b["targets"].dtype) == "torch.int64"
    assert int(b["input_space_id"]) == 25 and int(b["target_space_id"]) == 1
    train_batch = next(iter(make_batches(problem, "train", _hparams(5), data, seed=1)))
    assert tuple(train_batch["inputs"].shape) == (5, 28, 28, 1)


def test_image_mnist_hparams_and_encoders():
    problem = registry.problem("image_mnist")
    hp = problem.get_hparams()
    assert hp.modality == {"inputs": "image", "targets": "class_label"}
    assert hp.vocab_size == {"inputs": 256, "targets": 10}
    assert hp.batch_size_multiplier == 4 and hp.loss_multiplier == 3.0
    assert (hp.input_space_id, hp.target_space_id) == (25, 1)
    assert problem.get_feature_encoders()["targets"].decode([7]) == "7"
    assert problem.eval_metrics()[:2] == ["accuracy", "accuracy_top5"]
    rev = registry.problem("image_mnist_rev").get_hparams()
    assert rev.loss_multiplier == 1.0 and rev.modality["targets"] == "image"
    imagenet = registry.problem("image_imagenet").get_hparams()
    assert imagenet.batch_size_multiplier == 256 and imagenet.vocab_size["targets"] == 1000


def test_image_mnist_tune_and_rev(dirs):
    raw, data = dirs
    source = archives.write_mnist(raw, n_train=12, n_test=3)
    problem = registry.problem("image_mnist_tune")
    problem.tune_train_size, problem.tune_dev_size = 8, 4  # T2T: 55000 and 5000
    problem.generate_data(data, raw)
    assert len(_all_records(data, "image_mnist_tune-train")) == 8
    dev = _records(os.path.join(data, "image_mnist_tune-dev-00000-of-00001"))
    assert len(dev) == 4  # from the TRAINING file (a second shuffle, as T2T)
    train_images = {im.tobytes() for im in source["train"][0]}
    assert all(_pixels(r, 1)[:, :, 0].tobytes() in train_images for r in dev)
    batch = next(iter(make_batches("image_mnist_tune_rev", "eval", _hparams(2), data)))
    assert tuple(batch["targets"].shape) == (2, 28, 28, 1)  # the pixels, not standardised
    assert str(batch["targets"].dtype) == "torch.int64" and int(batch["targets"].max()) > 1


def test_image_fashion_mnist_not_standardised(dirs):
    raw, data = dirs
    source = archives.write_mnist(raw, n_train=4, n_test=3, prefix="fashion-")
    problem = registry.problem("image_fashion_mnist")
    problem.generate_data(data, raw)
    examples = list(problem.dataset("eval", data_dir=data))
    assert examples[0]["inputs"].dtype == np.uint8
    got = {ex["inputs"][:, :, 0].tobytes() for ex in examples}
    assert got == {im.tobytes() for im in source["t10k"][0]}


def test_mnist_missing_files_offline(dirs):
    raw, data = dirs
    problem = registry.problem("image_mnist")
    import urllib.request

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    old = urllib.request.urlretrieve
    urllib.request.urlretrieve = offline
    try:
        with pytest.raises(DataError, match="train-images-idx3-ubyte.gz"):
            problem.generate_data(data, raw)
    finally:
        urllib.request.urlretrieve = old


# ----------------------------------------------------------------------------- CIFAR


def test_image_cifar10_end_to_end(dirs):
    raw, data = dirs
    source = archives.write_cifar10(raw, per_batch=3, n_test=4)
    problem = registry.problem("image_cifar10")
    problem.generate_data(data, raw)
    train = _all_records(data, "image_cifar10-train")
    dev = _records(os.path.join(data, "image_cifar10-dev-00000-of-00001"))
    for records, (rows, labels) in ((train, source["train"]), (dev, source["test"])):
        got = _as_set(
            [_pixels(r, 3) for r in records], [r["image/class/label"][0] for r in records]
        )
        assert got == _as_set(archives.cifar_rows_to_images(rows), labels)
    assert problem.get_hparams().vocab_size["targets"] == 10
    assert problem.get_feature_encoders()["targets"].decode([0]) == "airplane"
    # Eval: standardised, no augmentation.
    raw_ex = list(problem.dataset("eval", data_dir=data, preprocess=False))
    eval_ex = list(problem.dataset("eval", data_dir=data))
    for a, b in zip(raw_ex, eval_ex):
        np.testing.assert_allclose(b["inputs"], image_ops.per_image_standardization(a["inputs"]))
    batch = next(iter(make_batches(problem, "train", _hparams(6), data, seed=3)))
    assert tuple(batch["inputs"].shape) == (6, 32, 32, 3)
    assert str(batch["inputs"].dtype) == "torch.float32"


def _train_inputs(problem, data, seed, num_workers=0, count=3):
    batches = iter(make_batches(problem, "train", _hparams(5), data, seed=seed,
                                num_workers=num_workers))  # fmt: skip
    return [next(batches)["inputs"].numpy() for _ in range(count)]


def test_cifar_augmentation_is_training_only_and_seeded(dirs):
    raw, data = dirs
    archives.write_cifar10(raw, per_batch=3, n_test=4)
    registry.problem("image_cifar10").generate_data(data, raw)
    a = _train_inputs("image_cifar10", data, seed=1)
    b = _train_inputs("image_cifar10", data, seed=1)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    # Training images are augmented (most differ from the plain standardised images), and
    # differently under another seed.
    problem = registry.problem("image_cifar10")
    standardized = {
        image_ops.per_image_standardization(ex["inputs"]).tobytes()
        for ex in problem.dataset("train", data_dir=data, preprocess=False, shuffle_files=False)
    }
    augmented = [img for batch in a for img in batch]
    assert sum(img.tobytes() in standardized for img in augmented) < len(augmented) // 2
    c = _train_inputs("image_cifar10", data, seed=2)
    assert any(not np.array_equal(x, y) for x, y in zip(a, c))
    # Eval batches are never augmented.
    eval_batch = next(iter(make_batches("image_cifar10", "eval", _hparams(4), data)))
    eval_images = {img.tobytes() for img in eval_batch["inputs"].numpy()}
    expected_eval = {
        image_ops.per_image_standardization(ex["inputs"]).tobytes()
        for ex in registry.problem("image_cifar10").dataset("eval", data_dir=data, preprocess=False)
    }
    assert eval_images <= expected_eval


def test_cifar_training_with_dataloader_workers(dirs):
    raw, data = dirs
    archives.write_cifar10(raw, per_batch=3, n_test=4)
    registry.problem("image_cifar10").generate_data(data, raw)
    a = _train_inputs("image_cifar10", data, seed=4, num_workers=2, count=2)
    b = _train_inputs("image_cifar10", data, seed=4, num_workers=2, count=2)
    assert a[0].shape == (5, 32, 32, 3)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_cifar10_variants(dirs):
    raw, data = dirs
    archives.write_cifar10(raw, per_batch=2, n_test=3)
    # _plain_gen, _plain8 and img2img read image_cifar10_plain's files.
    registry.problem("image_cifar10_plain").generate_data(data, raw)
    assert not any(n.startswith("image_cifar10_plain_gen") for n in os.listdir(data))
    gen = next(iter(make_batches("image_cifar10_plain_gen", "eval", _hparams(3), data)))
    assert (
        tuple(gen["inputs"].shape) == (3, 32, 32, 3) and str(gen["inputs"].dtype) == "torch.int64"
    )
    flat_problem = registry.problem("image_cifar10_plain_gen_flat")
    assert flat_problem.get_hparams().modality["inputs"] == "symbol_weights_all"
    flat = next(iter(make_batches(flat_problem, "eval", _hparams(3), data)))
    assert "targets" not in flat and tuple(flat["inputs"].shape) == (3, 3072)
    np.testing.assert_array_equal(flat["inputs"].numpy(), gen["inputs"].numpy().reshape(3, -1))
    small = next(iter(make_batches("image_cifar10_plain8", "eval", _hparams(3), data)))
    assert tuple(small["inputs"].shape) == (3, 8, 8, 3)
    assert str(small["inputs"].dtype) == "torch.float32"
    img2img = registry.problem("img2img_cifar10")
    assert img2img.get_hparams().modality == {"inputs": "identity", "targets": "identity"}
    pair = next(iter(make_batches(img2img, "eval", _hparams(3), data)))
    assert tuple(pair["inputs"].shape) == (3, 8, 8, 3)
    assert tuple(pair["targets"].shape) == (3, 32, 32, 3)
    np.testing.assert_array_equal(pair["targets"].numpy(), gen["inputs"].numpy())
    blocks = gen["inputs"].numpy().reshape(3, 8, 4, 8, 4, 3).mean(axis=(2, 4))
    np.testing.assert_array_equal(pair["inputs"].numpy(), blocks.astype(np.int64))


def test_cifar10_tune_split(dirs):
    raw, data = dirs
    source = archives.write_cifar10(raw, per_batch=2, n_test=3)
    problem = registry.problem("image_cifar10_tune")
    problem.tune_train_size, problem.tune_dev_size = 7, 3  # T2T: 48000 and 2000
    problem.generate_data(data, raw)
    rows, labels = source["train"]
    images = archives.cifar_rows_to_images(rows)
    train = _all_records(data, "image_cifar10_tune-train")
    dev = _records(os.path.join(data, "image_cifar10_tune-dev-00000-of-00001"))
    assert _as_set([_pixels(r, 3) for r in train], [r["image/class/label"][0] for r in train]) == (
        _as_set(images[:7], labels[:7])
    )
    assert _as_set([_pixels(r, 3) for r in dev], [r["image/class/label"][0] for r in dev]) == (
        _as_set(images[7:10], labels[7:10])
    )


@pytest.mark.parametrize("name,label_index,classes", [("image_cifar100", 1, 100),
                                                      ("image_cifar20", 2, 20)])  # fmt: skip
def test_cifar100_and_20(dirs, name, label_index, classes):
    raw, data = dirs
    source = archives.write_cifar100(raw, n_train=5, n_test=3)
    problem = registry.problem(name)
    problem.generate_data(data, raw)
    dev = _records(os.path.join(data, f"{name}-dev-00000-of-00001"))
    expected = source["test"]
    got = _as_set([_pixels(r, 3) for r in dev], [r["image/class/label"][0] for r in dev])
    assert got == _as_set(archives.cifar_rows_to_images(expected[0]), expected[label_index])
    assert problem.get_hparams().vocab_size["targets"] == classes
    assert len(problem.class_labels) == classes
    registry.problem(f"{name}_plain").generate_data(data, raw)
    batch = next(iter(make_batches(f"{name}_plain", "eval", _hparams(2), data)))
    assert tuple(batch["inputs"].shape) == (2, 32, 32, 3)
    tune = registry.problem(f"{name}_tune")
    tune.tune_train_size, tune.tune_dev_size = 3, 2
    tune.generate_data(data, raw)
    assert len(_all_records(data, f"{name}_tune-train")) == 3


def _tar_gz(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


class _Evil:
    marker = ""

    def __reduce__(self):
        return (os.system, ("touch " + _Evil.marker,))


def test_cifar_malicious_pickle_is_refused(dirs):
    raw, data = dirs
    _Evil.marker = os.path.join(raw, "pwned")
    evil = pickle.dumps({"data": _Evil(), "labels": [0]}, protocol=2)
    members = {f"cifar-10-batches-py/data_batch_{i}": evil for i in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = evil
    _tar_gz(os.path.join(raw, "cifar-10-python.tar.gz"), members)
    with pytest.raises(UnsafePickleError, match="refusing to load posix.system"):
        registry.problem("image_cifar10").generate_data(data, raw)
    assert not os.path.exists(_Evil.marker)


def test_cifar_archive_leaving_tmp_dir_is_refused(dirs):
    raw, data = dirs
    _tar_gz(os.path.join(raw, "cifar-10-python.tar.gz"), {"../escaped": b"x"})
    with pytest.raises(DataError, match="leaves"):
        registry.problem("image_cifar10").generate_data(data, raw)
    assert not os.path.exists(os.path.join(os.path.dirname(raw), "escaped"))


# ----------------------------------------------------------------------------- ImageNet


def _jpeg(image):
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=95)
    return out.getvalue()


def _write_inception_records(data_dir, split, count, seed):
    """TFRecords in the layout of TF's inception build_imagenet_data (what T2T read)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(count):
        h, w = int(rng.integers(40, 70)), int(rng.integers(40, 70))
        image = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        records.append(example_codec.encode_example({
            "image/encoded": [_jpeg(image)], "image/format": [b"JPEG"],
            "image/class/label": [int(rng.integers(1, 1001))], "image/height": [h],
            "image/width": [w], "image/colorspace": [b"RGB"], "image/channels": [3],
            "image/class/synset": [b"n01440764"], "image/filename": [f"{i}.JPEG".encode()],
        }))  # fmt: skip
    tfrecord.write_records(
        os.path.join(data_dir, f"image_imagenet-{split}-00000-of-00001"), records
    )


@pytest.mark.parametrize(
    "name,shape,dtype",
    [("image_imagenet224", (2, 224, 224, 3), "torch.float32"),
     ("image_imagenet32", (2, 32, 32, 3), "torch.int64"),
     ("image_imagenet32_rev", None, None),
     ("img2img_imagenet", (2, 8, 8, 3), "torch.int64")],
)  # fmt: skip
def test_imagenet_reads_prepared_records(dirs, name, shape, dtype):
    _, data = dirs
    _write_inception_records(data, "train", 3, seed=0)
    _write_inception_records(data, "dev", 3, seed=1)
    for mode in ("train", "eval"):
        batch = next(iter(make_batches(name, mode, _hparams(2), data, seed=1)))
        if name.endswith("_rev"):
            assert tuple(batch["targets"].shape) == (2, 32, 32, 3)
            continue
        assert tuple(batch["inputs"].shape) == shape and str(batch["inputs"].dtype) == dtype


def test_imagenet_eval_preprocessing_and_no_download(dirs):
    _, data = dirs
    _write_inception_records(data, "dev", 2, seed=1)
    problem = registry.problem("image_imagenet")
    raw_ex = next(iter(problem.dataset("eval", data_dir=data, preprocess=False)))
    ex = next(iter(problem.dataset("eval", data_dir=data)))
    np.testing.assert_allclose(
        ex["inputs"], image_ops.imagenet_preprocess_for_eval(raw_ex["inputs"], 299), atol=1e-6
    )
    assert ex["inputs"].shape == (299, 299, 3)
    with pytest.raises(DataError, match="no download"):
        problem.generate_data(data, data)


def test_augmentation_replays_after_resume_and_in_problem_dataset(dirs):
    raw, data = dirs
    archives.write_cifar10(raw, per_batch=3, n_test=4)
    registry.problem("image_cifar10").generate_data(data, raw)
    straight = iter(make_batches("image_cifar10", "train", _hparams(5), data, seed=7))
    expected = [next(straight)["inputs"].numpy() for _ in range(4)]
    first = make_batches("image_cifar10", "train", _hparams(5), data, seed=7)
    it = iter(first)
    next(it), next(it)
    resumed = make_batches("image_cifar10", "train", _hparams(5), data, seed=7)
    resumed.load_state_dict(first.state_dict())
    it = iter(resumed)
    for want in expected[2:]:
        np.testing.assert_array_equal(next(it)["inputs"].numpy(), want)
    # Problem.dataset: a seed makes the augmented images reproducible.
    problem = registry.problem("image_cifar10")
    a = [ex["inputs"] for ex in problem.dataset("train", data_dir=data, seed=3)]
    b = [ex["inputs"] for ex in problem.dataset("train", data_dir=data, seed=3)]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_image2text_problem(dirs):
    from t2t.problems.image import Image2TextProblem, image_generator

    raw, data = dirs

    class TinyCaptions(Image2TextProblem):
        is_character_level = True
        target_space_id = 2
        train_shards = 2
        dev_shards = 1

        def generator(self, data_dir, tmp_dir, is_training):
            rng = np.random.default_rng(int(is_training))
            images = [rng.integers(0, 256, size=(6, 6, 3), dtype=np.uint8) for _ in range(4)]
            for i, example in enumerate(image_generator(images, [0] * 4)):
                example["image/class/label"] = list(range(3, 5 + i)) + [1]
                yield example

    problem = TinyCaptions()
    problem.generate_data(data, raw)
    hp = problem.get_hparams()
    assert hp.modality == {"inputs": "image", "targets": "symbol"}
    assert hp.vocab_size["targets"] == 258 and hp.batch_size_multiplier == 256
    examples = list(problem.dataset("eval", data_dir=data))
    assert sorted(len(ex["targets"]) for ex in examples) == [3, 4, 5, 6]
    assert examples[0]["inputs"].dtype == np.float32 and examples[0]["inputs"].shape == (6, 6, 3)
