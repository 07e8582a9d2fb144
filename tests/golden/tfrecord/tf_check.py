"""Reads a TFRecord file of tf.Examples with TensorFlow and dumps what TF parsed.

Used by hand to check that files written by t2t.data load in TensorFlow; runs ONLY in
the original's environment (Python 3.7, TensorFlow 1.15), never in the test suite:

    /tmp/t2t-original/bin/python tests/golden/tfrecord/tf_check.py FILE OUT.json
    /tmp/t2t-original/bin/python tests/golden/tfrecord/tf_check.py FILE OUT.npz \
        --keys=inputs,targets [--gzip]

The first form parses every record with tf.io.parse_single_example (every feature as
VarLen of its stored type) and writes [{name: [kind, values]}] (bytes hex-encoded), the
format of examples.json. The second parses batches with tf.io.parse_example for the given
int64 VarLen keys and writes, per key, the concatenated values and per-record lengths.
"""

import argparse
import json

import numpy as np
import tensorflow as tf

KINDS = {"int64_list": tf.int64, "float_list": tf.float32, "bytes_list": tf.string}


def parse_each(dataset):
    out = []
    for record in dataset:
        record = record.numpy()
        example = tf.train.Example.FromString(record)
        spec = {
            name: tf.io.VarLenFeature(KINDS[feature.WhichOneof("kind") or "int64_list"])
            for name, feature in example.features.feature.items()
        }
        parsed = tf.io.parse_single_example(record, spec) if spec else {}
        entry = {}
        for name, sparse in sorted(parsed.items()):
            values = tf.sparse.to_dense(sparse).numpy().tolist()
            kind = {tf.int64: "int64", tf.float32: "float", tf.string: "bytes"}[sparse.dtype]
            entry[name] = [kind, [v.hex() for v in values] if kind == "bytes" else values]
        out.append(entry)
    return out


def parse_batched(dataset, keys):
    spec = {key: tf.io.VarLenFeature(tf.int64) for key in keys}
    values = {key: [] for key in keys}
    lengths = {key: [] for key in keys}
    for batch in dataset.batch(1000):
        parsed = tf.io.parse_example(batch, spec)
        for key in keys:
            sparse = parsed[key]
            values[key].append(sparse.values.numpy())
            rows = sparse.indices.numpy()[:, 0]
            lengths[key].append(np.bincount(rows, minlength=int(sparse.dense_shape[0])))
    arrays = {}
    for key in keys:
        arrays[key + "_values"] = np.concatenate(values[key])
        arrays[key + "_lengths"] = np.concatenate(lengths[key])
    return arrays


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("out")
    parser.add_argument("--keys", default="")
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args()
    tf.compat.v1.enable_eager_execution()
    dataset = tf.data.TFRecordDataset(args.path, compression_type="GZIP" if args.gzip else "")
    if args.keys:
        arrays = parse_batched(dataset, args.keys.split(","))
        np.savez(args.out, **arrays)
        print("records:", len(arrays[args.keys.split(",")[0] + "_lengths"]))
    else:
        parsed = parse_each(dataset)
        with open(args.out, "w") as f:
            json.dump(parsed, f)
        print("records:", len(parsed))


if __name__ == "__main__":
    main()
