"""Writes the TFRecord golden files of this folder with TensorFlow (run once, by hand).

Runs ONLY in the original's environment (Python 3.7, TensorFlow 1.15, tensor2tensor
1.15.7, protobuf 3.20 with its C++ back end), never in the test suite:

    /tmp/t2t-original/bin/t2t-datagen --problem=algorithmic_reverse_binary40 \
        --data_dir=/tmp/orig_data --tmp_dir=/tmp/orig_tmp
    /tmp/t2t-original/bin/python tests/golden/tfrecord/make_golden.py \
        --datagen_dev=/tmp/orig_data/algorithmic_reverse_binary40-dev-00000-of-00001

Outputs (next to this script):
    examples.json            the examples below, as data (bytes hex-encoded)
    examples.tfrecord        them as tf.Example records, written by tf.io.TFRecordWriter
                             with SerializeToString(deterministic=True) (sorted map keys)
    examples.tfrecord.gz     the same records with compression_type GZIP
    reverse_binary40_dev_first20.tfrecord
                             the first 20 records of t2t-datagen's dev shard, record bytes
                             unchanged (T2T's own serialisation), re-written by TF's writer
    reverse_binary40_dev_first20.json
                             those records as parsed by tf.io.parse_single_example
"""

import argparse
import json
import os

import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))

# (kind, values) per feature; kinds are the tf.train.Feature list fields.
EXAMPLES = [
    # translate-like, with T2T's EOS id 1 at the end
    {"inputs": ("int64", [5, 17, 300, 4095, 1]), "targets": ("int64", [9, 2, 70000, 1])},
    # int64 extremes and negatives (10-byte varints)
    {"ints": ("int64", [0, -1, 127, 128, 2**40, -(2**63), 2**63 - 1])},
    # float32: exact, rounded (0.1), tiny, huge and negative zero
    {"floats": ("float", [0.5, -1.25, 0.1, 1e-45, 3.4028234663852886e38, -0.0])},
    # bytes: binary, UTF-8 text, an empty string
    {"raw": ("bytes", ["00ff7f80", "68c3a96c6c6f20e4b896e7958c", ""])},
    # empty lists of each kind
    {"empty_int": ("int64", []), "empty_float": ("float", []), "empty_bytes": ("bytes", [])},
    # no features at all (T2T's to_example always sets `features`)
    {},
    # many keys, incl. non-ASCII and upper case: checks the sorted key order
    {
        "targets": ("int64", [1]),
        "inputs": ("int64", [2]),
        "B": ("float", [2.0]),
        "a": ("bytes", ["61"]),
        "z_1": ("int64", [3]),
        "\u00e9t\u00e9": ("int64", [4]),
        "\u043a\u043b\u044e\u0447": ("bytes", ["d0b6"]),
    },
]


def to_tf_example(features):
    feature = {}
    for name, (kind, values) in features.items():
        if kind == "int64":
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        elif kind == "float":
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
        else:
            raw = [bytes.fromhex(v) for v in values]
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=raw))
    return tf.train.Example(features=tf.train.Features(feature=feature))


def write(path, records, options=None):
    with tf.io.TFRecordWriter(path, options) as writer:
        for record in records:
            writer.write(record)


def parsed_by_tf(record):
    """Parses one record with TF, every feature as VarLen of its stored type."""
    example = tf.train.Example.FromString(record)
    spec = {}
    for name, feature in example.features.feature.items():
        kind = feature.WhichOneof("kind")
        dtype = {"int64_list": tf.int64, "float_list": tf.float32, "bytes_list": tf.string}[kind]
        spec[name] = tf.io.VarLenFeature(dtype)
    parsed = tf.io.parse_single_example(record, spec)
    out = {}
    for name, sparse in sorted(parsed.items()):
        values = tf.sparse.to_dense(sparse).numpy().tolist()
        kind = "int64" if sparse.dtype == tf.int64 else "float"
        if sparse.dtype == tf.string:
            values, kind = [v.hex() for v in values], "bytes"
        out[name] = [kind, values]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--datagen_dev", required=True)
    args = parser.parse_args()
    tf.compat.v1.enable_eager_execution()

    records = [to_tf_example(ex).SerializeToString(deterministic=True) for ex in EXAMPLES]
    with open(os.path.join(HERE, "examples.json"), "w") as f:
        json.dump(EXAMPLES, f, indent=1, ensure_ascii=True)
    write(os.path.join(HERE, "examples.tfrecord"), records)
    write(
        os.path.join(HERE, "examples.tfrecord.gz"),
        records,
        tf.io.TFRecordOptions(compression_type="GZIP"),
    )

    dev = []
    for record in tf.compat.v1.io.tf_record_iterator(args.datagen_dev):
        dev.append(record)
        if len(dev) == 20:
            break
    write(os.path.join(HERE, "reverse_binary40_dev_first20.tfrecord"), dev)
    with open(os.path.join(HERE, "reverse_binary40_dev_first20.json"), "w") as f:
        json.dump([parsed_by_tf(r) for r in dev], f)
    print("wrote", len(records), "examples and", len(dev), "datagen records")


if __name__ == "__main__":
    main()
