"""Our image shards read by the ORIGINAL T2T 1.15.7: run from the repository root with our venv:

    PYTHONPATH=$PWD python tests/golden/images/check_ours_with_original.py

It writes tiny MNIST / CIFAR-10 archives (tests/problems/image_archives.py), runs OUR
generate_data for image_mnist and image_cifar10, records what our reader makes of the dev
shards, then runs itself under /tmp/t2t-original/bin/python with `--original DIR`: the
original's Problem.dataset (EVAL) reads our shards, and the script checks the decoded
images and labels equal ours, and the original's (TF 1.15, uint8) standardisation equals
our per_image_standardization(keep_dtype=True). Prints "OK ..." per problem or fails.
"""

import os
import subprocess
import sys
import tempfile

import numpy as np

ORIGINAL_PYTHON = "/tmp/t2t-original/bin/python"
PROBLEMS = ("image_mnist", "image_cifar10")


def ours(workdir):
    sys.path.insert(0, os.getcwd())
    from t2t import registry
    from t2t.data import image_ops
    from tests.problems import image_archives

    raw, data = os.path.join(workdir, "raw"), os.path.join(workdir, "data")
    os.makedirs(raw)
    os.makedirs(data)
    image_archives.write_mnist(raw, n_train=12, n_test=5)
    image_archives.write_cifar10(raw, per_batch=3, n_test=4)
    expected = {}
    for name in PROBLEMS:
        problem = registry.problem(name)
        problem.generate_data(data, raw)
        examples = list(problem.dataset("eval", data_dir=data, preprocess=False))
        expected[name + "_raw"] = np.stack([ex["inputs"] for ex in examples])
        expected[name + "_targets"] = np.stack([ex["targets"] for ex in examples])
        expected[name + "_std"] = np.stack(
            [image_ops.per_image_standardization(ex["inputs"], keep_dtype=True) for ex in examples]
        )
    np.savez(os.path.join(workdir, "ours.npz"), **expected)
    subprocess.check_call([ORIGINAL_PYTHON, os.path.abspath(__file__), "--original", workdir])


def original(workdir):
    import tensorflow.compat.v1 as tf
    from tensor2tensor import problems  # noqa: F401 - registers them
    from tensor2tensor.utils import registry, trainer_lib

    expected = np.load(os.path.join(workdir, "ours.npz"))
    data = os.path.join(workdir, "data")
    for name in PROBLEMS:
        problem = registry.problem(name)
        hparams = trainer_lib.create_hparams("basic_1", problem_name=name)
        for preprocess, key in ((False, "_raw"), (True, "_std")):
            ds = problem.dataset("eval", data_dir=data, hparams=hparams, preprocess=preprocess)
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
            np.testing.assert_array_equal(np.stack(inputs), expected[name + key])
            np.testing.assert_array_equal(np.stack(targets), expected[name + "_targets"])
        print(f"OK {name}: the original reads our {len(inputs)} dev images and labels as we do")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--original":
        original(sys.argv[2])
    else:
        ours(tempfile.mkdtemp(prefix="t2t_image_interop_"))
