# ruff: noqa: UP031 - runs under the original's Python 3.7
"""Compares tests/golden/hparams_sets.json with the original T2T 1.15.7's registered sets.

Run with the original's Python (see ../shared/t2t-original.md), from the repo root:

    /tmp/t2t-original/bin/python tests/golden/check_hparams_against_original.py

It builds every set named in the golden file with tensor2tensor's registry and prints each
value that differs, each key the original has that the snapshot lacks, and a summary line.
Last run (2026-12-02, after merging the image, speech and zoo branches): 163 sets, 0 differences.
"""

import json
import os
import sys

from tensor2tensor import models  # noqa: F401 (registers the original's sets)
from tensor2tensor.utils import registry

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hparams_sets.json")


def main():
    with open(GOLDEN) as f:
        ours = json.load(f)
    problems = 0
    for name in sorted(ours):
        theirs = registry.hparams(name).values()
        for key, value in sorted(theirs.items()):
            if key not in ours[name]:
                problems += 1
                print("%s: key %s missing from the snapshot" % (name, key))
            elif ours[name][key] != value and not (
                isinstance(value, float) and abs(ours[name][key] - value) < 1e-9
            ):
                problems += 1
                print("%s: %s = %r here, %r in T2T" % (name, key, ours[name][key], value))
    print("%d sets compared, %d differences" % (len(ours), problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
