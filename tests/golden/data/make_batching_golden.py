"""Writes batching_scheme.json with the ORIGINAL T2T 1.15.7's data_reader.batching_scheme.

Run with the original's interpreter (TensorFlow 1.15):
    /tmp/t2t-original/bin/python tests/golden/data/make_batching_golden.py
"""

import json
import os

from tensor2tensor.utils import data_reader

CASES = [
    # batch_size, max_length, min_length_bucket, length_bucket_step, drop, shard_mult, len_mult, min
    (128, 0, 8, 1.1, False, 1, 1, 0),
    (128, 0, 8, 1.1, False, 2, 1, 0),
    (128, 0, 8, 1.1, False, 1, 2, 0),
    (20, None, 8, 1.1, False, 1, 1, 0),
    (20, None, 8, 1.1, True, 1, 1, 0),
    (20, 15, 8, 1.1, True, 1, 1, 0),
    (4096, 256, 8, 1.1, False, 1, 1, 0),
    (4096, 0, 8, 1.1, False, 1, 1, 0),
    (2048, 256, 8, 1.1, False, 1, 1, 0),
    (1024, 0, 8, 1.1, False, 1, 1, 0),
    (4096, 256, 4, 1.5, True, 8, 1, 3),
    (8192, 1024, 16, 1.2, False, 1, 4, 0),
    (100, 50, 8, 2.0, False, 3, 1, 10),
]


def main():
    out = []
    for case in CASES:
        bs, ml, mlb, step, drop, shard, mult, minl = case
        scheme = data_reader.batching_scheme(
            batch_size=bs,
            max_length=ml,
            min_length_bucket=mlb,
            length_bucket_step=step,
            drop_long_sequences=drop,
            shard_multiplier=shard,
            length_multiplier=mult,
            min_length=minl,
        )
        out.append({"args": list(case), "scheme": scheme})
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "batching_scheme.json")
    with open(path, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(o) for o in out) + "\n]\n")


if __name__ == "__main__":
    main()
