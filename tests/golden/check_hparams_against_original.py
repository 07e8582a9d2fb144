# ruff: noqa: UP031 - runs under the original's Python 3.7
"""Compares tests/golden/hparams_sets.json with the original T2T 1.15.7's registered sets.

Run with the original's Python (see ../shared/t2t-original.md), from the repo root:

    /tmp/t2t-original/bin/python tests/golden/check_hparams_against_original.py

It builds every set named in the golden file with tensor2tensor's registry and prints each
value that differs, each key the original has that the snapshot lacks, and a summary line.
Last run (2026-12-03, after merging the zoo-tsets, zoo-memory, zoo-almoe and zoo-multi branches):
222 sets, 0 differences; multimodel_base and multimodel_tiny are not in 1.15.7 (MultiModel left T2T
before it) and are reported as such.
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
    absent = [name for name in sorted(ours) if name not in registry.list_hparams()]
    for name in sorted(ours):
        if name in absent:
            continue
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
    if absent:  # e.g. MultiModel's sets: the model left T2T before 1.15.7
        print("not registered in the original: %s" % ", ".join(absent))
    print("%d sets compared, %d differences" % (len(ours) - len(absent), problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
