"""Makes the image golden files with the ORIGINAL T2T 1.15.7 (TF 1.15); run in its venv:

    /tmp/t2t-original/bin/python tests/golden/images/make_image_golden.py

It writes, beside this script:

* `cifar-10-python.tar.gz`: a tiny CIFAR-10 "python" archive in the real format (protocol-2
  pickles of {"batch_label", "labels", "data" uint8 [N, 3072], "filenames"} under
  cifar-10-batches-py/, written by NumPy 1.18 as the real files' numpy.core.multiarray
  globals), 3 images per data_batch_1..5 and 4 in test_batch.
* `original_data/image_cifar10-*`: everything the original's `t2t-datagen
  --problem=image_cifar10` wrote from that archive (10 train shards, 1 dev shard).
* `original_data/image_mnist-*`: the first 2 records of each shard the original's
  `t2t-datagen --problem=image_mnist` wrote from full-size MNIST idx .gz files made here
  (60000 + 10000 synthetic images: the original reads exactly that many), copied byte for
  byte; the idx files are not kept (47 MB).
* `image_golden.npz`: what the original's reader makes of those shards (EVAL mode:
  decoded and standardised, no augmentation; and without preprocessing: uint8 images), and
  TF's per_image_standardization (of uint8 and of float32 images), resize_images (AREA,
  BILINEAR), resize_bicubic and resize_image_with_crop_or_pad on fixed images.
"""

import gzip
import io
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ORIG_BIN = os.path.dirname(sys.executable)
OUT_DATA = os.path.join(HERE, "original_data")


def mnist_image(index):
    """A synthetic 28x28 image whose first 3 pixels spell its index (identifiable)."""
    rows = np.arange(28)[:, None]
    cols = np.arange(28)[None, :]
    image = ((rows * 9 + cols * 5 + index * 3) % 256).astype(np.uint8)
    image[0, 0], image[0, 1], image[0, 2] = index % 256, (index // 256) % 256, index // 65536
    return image


def write_idx(directory, prefix, count):
    images = np.stack([mnist_image(i) for i in range(count)])
    header = np.array([2051, count, 28, 28], dtype=">i4").tobytes()
    with gzip.open(os.path.join(directory, prefix + "-images-idx3-ubyte.gz"), "wb") as f:
        f.write(header + images.tobytes())
    labels = (np.arange(count) * 7 % 10).astype(np.uint8)
    header = np.array([2049, count], dtype=">i4").tobytes()
    with gzip.open(os.path.join(directory, prefix + "-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(header + labels.tobytes())


def write_cifar10(path):
    rng = np.random.RandomState(7)
    members = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, name in enumerate(names):
        count = 4 if name == "test_batch" else 3
        data = rng.randint(0, 256, size=(count, 3072)).astype(np.uint8)
        batch = {
            "batch_label": f"batch {b}",
            "labels": [int(x) for x in rng.randint(0, 10, size=count)],
            "data": data,
            "filenames": [f"img_{b}_{i}.png" for i in range(count)],
        }
        members["cifar-10-batches-py/" + name] = pickle.dumps(batch, protocol=2)
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(payload))


def datagen(problem, data_dir, tmp_dir):
    subprocess.check_call(
        [
            os.path.join(ORIG_BIN, "t2t-datagen"),
            "--problem=" + problem,
            "--data_dir=" + data_dir,
            "--tmp_dir=" + tmp_dir,
        ]
    )


def copy_first_records(src_dir, dst_dir, prefix, keep):
    import tensorflow.compat.v1 as tf

    for name in sorted(os.listdir(src_dir)):
        if not name.startswith(prefix + "-"):
            continue
        records = list(tf.io.tf_record_iterator(os.path.join(src_dir, name)))[:keep]
        with tf.io.TFRecordWriter(os.path.join(dst_dir, name)) as writer:
            for record in records:
                writer.write(record)


def read_with_original(problem_name, data_dir, mode, preprocess):
    import tensorflow.compat.v1 as tf
    from tensor2tensor import problems  # noqa: F401 - registers them
    from tensor2tensor.utils import registry, trainer_lib

    problem = registry.problem(problem_name)
    hparams = trainer_lib.create_hparams("basic_1", problem_name=problem_name)
    ds = problem.dataset(
        mode, data_dir=data_dir, hparams=hparams, preprocess=preprocess, shuffle_files=False
    )
    nxt = tf.data.make_one_shot_iterator(ds).get_next()
    inputs, targets = [], []
    with tf.Session() as sess:
        while True:
            try:
                ex = sess.run(nxt)
            except tf.errors.OutOfRangeError:
                break
            inputs.append(ex["inputs"])
            targets.append(ex["targets"])
    return np.stack(inputs), np.stack(targets)


def tf_ops_golden():
    import tensorflow.compat.v1 as tf

    rng = np.random.RandomState(11)
    std_image = rng.randint(0, 256, size=(5, 4, 3)).astype(np.uint8)
    const_image = np.full((3, 3, 1), 77, dtype=np.uint8)
    area_image = rng.randint(0, 256, size=(32, 32, 3)).astype(np.uint8)
    area_odd = rng.randint(0, 256, size=(10, 7, 3)).astype(np.uint8)
    cubic_image = rng.uniform(0, 1, size=(9, 13, 3)).astype(np.float32)
    bilinear_image = rng.uniform(-2, 2, size=(11, 6, 3)).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as sess:
        ops = {
            "std_image_out": tf.image.per_image_standardization(std_image),
            "const_image_out": tf.image.per_image_standardization(const_image),
            # TF >= 1.14 returns the input's dtype: uint8 in, uint8 out (scaled to [0, 1],
            # standardised, times 255.5, saturated). Float input gives the formula itself.
            "std_image_float_out": tf.image.per_image_standardization(std_image.astype(np.float32)),
            "const_image_float_out": tf.image.per_image_standardization(
                const_image.astype(np.float32)
            ),
            "area_8": tf.to_int64(
                tf.image.resize_images(area_image, [8, 8], tf.image.ResizeMethod.AREA)
            ),
            "area_odd_4x3": tf.image.resize_images(area_odd, [4, 3], tf.image.ResizeMethod.AREA),
            "cubic_up": tf.image.resize_bicubic(cubic_image[None], [14, 20])[0],
            "cubic_down": tf.image.resize_bicubic(cubic_image[None], [5, 6])[0],
            "bilinear_8x4": tf.image.resize_images(bilinear_image, [8, 4]),
            "crop_or_pad_40": tf.image.resize_image_with_crop_or_pad(area_image, 40, 40),
        }
        values = sess.run(ops)
    values.update(
        std_image=std_image,
        const_image=const_image,
        area_image=area_image,
        area_odd=area_odd,
        cubic_image=cubic_image,
        bilinear_image=bilinear_image,
    )
    return values


def make_original_data():
    tmp = tempfile.mkdtemp(prefix="t2t_image_golden_")
    raw, data = os.path.join(tmp, "raw"), os.path.join(tmp, "data")
    os.makedirs(raw)
    os.makedirs(data)
    cifar = os.path.join(HERE, "cifar-10-python.tar.gz")
    write_cifar10(cifar)
    with open(cifar, "rb") as src, open(os.path.join(raw, "cifar-10-python.tar.gz"), "wb") as dst:
        dst.write(src.read())
    write_idx(raw, "train", 60000)
    write_idx(raw, "t10k", 10000)
    datagen("image_cifar10", data, raw)
    datagen("image_mnist", data, raw)
    copy_first_records(data, OUT_DATA, "image_cifar10", 10**9)
    copy_first_records(data, OUT_DATA, "image_mnist", 2)


def main():
    os.makedirs(OUT_DATA, exist_ok=True)
    if not os.listdir(OUT_DATA):  # the slow part (70000 PNGs through TF): only once
        make_original_data()
    golden = tf_ops_golden()
    for name in ("image_mnist", "image_cifar10"):
        inputs, targets = read_with_original(name, OUT_DATA, "eval", True)
        golden[name + "_dev_inputs"] = inputs
        golden[name + "_dev_targets"] = targets
        raw_inputs, _ = read_with_original(name, OUT_DATA, "eval", False)
        golden[name + "_dev_raw"] = raw_inputs
        train_raw, train_targets = read_with_original(name, OUT_DATA, "train", False)
        golden[name + "_train_raw"] = train_raw
        golden[name + "_train_targets"] = train_targets
    np.savez_compressed(os.path.join(HERE, "image_golden.npz"), **golden)
    print("wrote", sorted(golden))


if __name__ == "__main__":
    main()
