"""t2t-bleu speed: our BLEU against the original T2T's bleu_hook, same files, same run.

    .venv/bin/python benchmarks/bleu_speed.py [--lines 3000] [--repeat 3]
        [--original_python /tmp/t2t-original/bin/python]

Writes a deterministic reference/translation pair (`--lines` lines of word-like tokens with
punctuation, numbers and non-ASCII letters; the translation is a noisy copy) to a temporary
directory, then reports, best of `--repeat`:

* in-process `bleu_wrapper(ref, hyp)` (uncased + cased, i.e. what t2t-bleu computes), for
  ours after its one-off regex construction and for the original after `import bleu_hook`
  (which builds its regexes at import);
* the one-off setup: our regex construction; the original's module import (TensorFlow
  included, since bleu_hook imports it);
* the whole command, `t2t-bleu --translation --reference`, for both (startup included).

It also checks that both give the same BLEU.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from "
    "at which but have an they you were her she there been one all we their has would "
    "Straße Köln naïve café façade résumé Übermut Ärger déjà über México São niño"
).split()
PUNCT = [",", ".", "!", "?", ";", ":", "'s", "(", ")", '"', "-", "—", "…", "%", "$", "€"]

ORIGINAL_SCRIPT = r"""
import json, sys, time
t = time.perf_counter()
from tensor2tensor.utils import bleu_hook
setup = time.perf_counter() - t
ref, hyp, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
best, scores = float("inf"), None
for _ in range(repeat):
    t = time.perf_counter()
    scores = [float(bleu_hook.bleu_wrapper(ref, hyp, case_sensitive=c)) for c in (False, True)]
    best = min(best, time.perf_counter() - t)
print(json.dumps({"setup": setup, "best": best, "scores": scores}))
"""


def make_line(rng: random.Random) -> list[str]:
    tokens = []
    for _ in range(rng.randint(5, 40)):
        roll = rng.random()
        if roll < 0.12:
            tokens.append(rng.choice(PUNCT))
        elif roll < 0.2:
            tokens.append(rng.choice(["1999", "3.5", "1,000", "42", "2.000,50"]))
        else:
            word = rng.choice(WORDS)
            tokens.append(word.capitalize() if rng.random() < 0.1 else word)
    return tokens


def noisy_copy(tokens: list[str], rng: random.Random) -> list[str]:
    out = []
    for token in tokens:
        roll = rng.random()
        if roll < 0.1:
            continue
        out.append(rng.choice(WORDS) if roll < 0.25 else token)
    return out


def write_pair(directory: str, lines: int) -> tuple[str, str]:
    rng = random.Random(0)
    ref_lines, hyp_lines = [], []
    for _ in range(lines):
        tokens = make_line(rng)
        ref_lines.append(" ".join(tokens).replace(" ,", ",").replace(" .", "."))
        hyp_lines.append(" ".join(noisy_copy(tokens, rng)))
    ref, hyp = os.path.join(directory, "ref.txt"), os.path.join(directory, "hyp.txt")
    for path, text in ((ref, ref_lines), (hyp, hyp_lines)):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(text) + "\n")
    return ref, hyp


def time_ours(ref: str, hyp: str, repeat: int) -> dict:
    from t2t.metrics import bleu

    start = time.perf_counter()
    bleu._tokenizer_regexes()
    setup = time.perf_counter() - start
    best, scores = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        scores = [bleu.bleu_wrapper(ref, hyp, case_sensitive=c) for c in (False, True)]
        best = min(best, time.perf_counter() - start)
    return {"setup": setup, "best": best, "scores": scores}


def time_command(argv: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--original_python", default="/tmp/t2t-original/bin/python")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref, hyp = write_pair(tmp, args.lines)
        ours = time_ours(ref, hyp, args.repeat)
        out = subprocess.run(
            [args.original_python, "-c", ORIGINAL_SCRIPT, ref, hyp, str(args.repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
        original = json.loads(out.stdout.strip().splitlines()[-1])
        flags = [f"--reference={ref}", f"--translation={hyp}"]
        our_cmd = time_command([sys.executable, "-m", "t2t.bin.t2t_bleu", *flags], args.repeat)
        original_bin = os.path.join(os.path.dirname(args.original_python), "t2t-bleu")
        original_cmd = time_command([original_bin, *flags], args.repeat)
    same = all(abs(a - b) < 1e-6 for a, b in zip(ours["scores"], original["scores"]))
    print(f"{args.lines} lines; BLEU uncased/cased ours {ours['scores']}, "
          f"original {original['scores']} -> {'same' if same else 'DIFFERENT'}")  # fmt: skip
    rows = [
        ("bleu_wrapper uncased+cased (s)", ours["best"], original["best"]),
        ("one-off setup (s)", ours["setup"], original["setup"]),
        ("t2t-bleu command, wall (s)", our_cmd, original_cmd),
    ]
    print(f"{'':34s} {'ours':>8s} {'original':>9s} {'speed-up':>9s}")
    for name, mine, theirs in rows:
        print(f"{name:34s} {mine:8.3f} {theirs:9.3f} {theirs / mine:8.1f}x")


if __name__ == "__main__":
    main()
