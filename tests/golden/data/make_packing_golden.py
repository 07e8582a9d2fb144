"""Writes packing_original.json: the ORIGINAL T2T 1.15.7's on-the-fly packer on 330 random pairs.

Run with the original's interpreter (TensorFlow 1.15), from this directory:
    /tmp/t2t-original/bin/python make_packing_golden.py

`SequenceDatasetPacker(12, spacing=0, queue_size=10)` is the packer `pack_dataset` uses with
use_custom_ops=False (the pip package has no compiled custom op); cycle_length=1 keeps its
windows (150 examples) in sequence. Its final parallel map is sloppy, so rows can come out a
few places apart from the packing order: compare the rows as a multiset.
"""

import json
import random

import tensorflow as tf
from tensor2tensor.data_generators import generator_utils

LENGTH = 12


def main() -> None:
    tf.compat.v1.enable_eager_execution()
    rng = random.Random(3)
    examples = [
        {
            "inputs": [rng.randint(2, 9) for _ in range(rng.randint(1, 14))],
            "targets": [rng.randint(2, 9) for _ in range(rng.randint(1, 12))],
        }
        for _ in range(330)
    ]
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(examples),
        {"inputs": tf.int64, "targets": tf.int64},
        {"inputs": tf.TensorShape([None]), "targets": tf.TensorShape([None])},
    )
    packer = generator_utils.SequenceDatasetPacker(LENGTH, spacing=0, queue_size=10)
    packed = packer(dataset, cycle_length=1, keys=["inputs", "targets"])
    rows = [{k: v.numpy().tolist() for k, v in row.items()} for row in packed]
    golden = {"length": LENGTH, "queue_size": 10, "examples": examples, "rows": rows}
    with open("packing_original.json", "w") as f:
        json.dump(golden, f)
    print(len(rows), "rows")


if __name__ == "__main__":
    main()
