"""Tiny MNIST / CIFAR archives in the real formats, for the image problem tests.

MNIST: gzip'd idx files (big-endian header: magic 2051/2049, counts, 28, 28; then bytes).
CIFAR: a tar.gz of protocol-2 pickles of {"batch_label", "labels" or "fine_labels" +
"coarse_labels", "data": uint8 [N, 3072] (channel-major rows), "filenames"}, under
cifar-10-batches-py/ or cifar-100-python/, as the real archives.
"""

import gzip
import io
import os
import pickle
import tarfile

import numpy as np


def mnist_images(count, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)


def write_mnist(tmp_dir, n_train=12, n_test=5, prefix=""):
    """Writes the four idx .gz files; returns {split: (images [N,28,28], labels [N])}."""
    out = {}
    for split, count, seed in (("train", n_train, 1), ("t10k", n_test, 2)):
        images = mnist_images(count, seed)
        labels = (np.arange(count) * 3 % 10).astype(np.uint8)
        header = np.array([2051, count, 28, 28], dtype=">i4").tobytes()
        path = os.path.join(tmp_dir, f"{prefix}{split}-images-idx3-ubyte.gz")
        with gzip.open(path, "wb") as f:
            f.write(header + images.tobytes())
        header = np.array([2049, count], dtype=">i4").tobytes()
        with gzip.open(os.path.join(tmp_dir, f"{prefix}{split}-labels-idx1-ubyte.gz"), "wb") as f:
            f.write(header + labels.tobytes())
        out[split] = (images, labels)
    return out


def _tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))


def write_cifar10(tmp_dir, per_batch=3, n_test=4, seed=0):
    """Writes cifar-10-python.tar.gz; returns {"train": (data, labels), "test": (...)}."""
    rng = np.random.default_rng(seed)
    members, train_data, train_labels = {}, [], []
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        count = n_test if name == "test_batch" else per_batch
        data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        labels = [int(x) for x in rng.integers(0, 10, size=count)]
        batch = {"batch_label": name, "labels": labels, "data": data,
                 "filenames": [f"{name}_{i}.png" for i in range(count)]}  # fmt: skip
        members[f"cifar-10-batches-py/{name}"] = pickle.dumps(batch, protocol=2)
        if name == "test_batch":
            test = (data, labels)
        else:
            train_data.append(data)
            train_labels += labels
    _tar(os.path.join(tmp_dir, "cifar-10-python.tar.gz"), members)
    return {"train": (np.concatenate(train_data), train_labels), "test": test}


def write_cifar100(tmp_dir, n_train=6, n_test=3, seed=0):
    """Writes cifar-100-python.tar.gz; returns {split: (data, fine, coarse)}."""
    rng = np.random.default_rng(seed)
    members, out = {}, {}
    for name, count in (("train", n_train), ("test", n_test)):
        data = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        fine = [int(x) for x in rng.integers(0, 100, size=count)]
        coarse = [int(x) for x in rng.integers(0, 20, size=count)]
        batch = {"batch_label": name, "fine_labels": fine, "coarse_labels": coarse,
                 "data": data, "filenames": [f"{name}_{i}.png" for i in range(count)]}  # fmt: skip
        members[f"cifar-100-python/{name}"] = pickle.dumps(batch, protocol=2)
        out[name] = (data, fine, coarse)
    _tar(os.path.join(tmp_dir, "cifar-100-python.tar.gz"), members)
    return out


def cifar_rows_to_images(data):
    """uint8 [N, 3072] channel-major rows -> [N, 32, 32, 3]."""
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
