"""Generates bleu_goldens.json with the ORIGINAL Tensor2Tensor BLEU code.

Run with the T2T 1.15.7 / TensorFlow 1.15 venv (Python 3.7), from the repository root:

    /tmp/t2t-original/bin/python tests/golden/metrics/make_bleu_goldens.py

It records, for the committed file pairs bleu_<name>.ref / bleu_<name>.hyp:
  * bleu_hook.bleu_wrapper(ref, hyp, case_sensitive=False/True),
  * the exact stdout of the original `t2t-bleu --translation=... --reference=...`,
and bleu_hook.bleu_tokenize of every line of those files plus a few extra strings, and
bleu_hook.compute_bleu on seeded random id lists. It also records what the original
t2t-bleu does with files whose line counts differ (the last line of its stderr).
"""

import json
import os
import subprocess
import sys

import numpy as np
from tensor2tensor.utils import bleu_hook

HERE = os.path.dirname(os.path.abspath(__file__))
PAIRS = ["de", "en", "mixed"]
T2T_BLEU = os.path.join(os.path.dirname(sys.executable), "t2t-bleu")
EXTRA_STRINGS = [
    "In 1999.",
    "$1,000.50",
    "don't",
    "e.g.",
    "hi, \u201cthere\u201d",
    "a.b,c;d:e!f?g",
    "1.2.3 4,5,6 7-8 9/10",
    "--- ... !!!",
    "x=y+z",
    "\u00bfQu\u00e9? \u00a1S\u00ed!",
    "",
    "   spaces   only   ",
    "\u2028",
    "A\u0301 combining",
    "tab\there",
    "(a) [b] {c}",
]


def run_t2t_bleu(ref, hyp):
    proc = subprocess.run(
        [T2T_BLEU, "--reference=" + ref, "--translation=" + hyp],
        capture_output=True,
    )
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def compute_bleu_cases():
    rng = np.random.RandomState(0)
    cases = []
    for n_segments, vocab in [(1, 5), (3, 8), (10, 20), (40, 6)]:
        refs = [rng.randint(0, vocab, size=rng.randint(0, 15)).tolist() for _ in range(n_segments)]
        hyps = [rng.randint(0, vocab, size=rng.randint(0, 15)).tolist() for _ in range(n_segments)]
        for max_order, use_bp in [(4, True), (2, False)]:
            value = bleu_hook.compute_bleu(refs, hyps, max_order=max_order, use_bp=use_bp)
            cases.append(
                {
                    "refs": refs,
                    "hyps": hyps,
                    "max_order": max_order,
                    "use_bp": use_bp,
                    "bleu": float(value),
                }
            )
    return cases


def main():
    result = {"pairs": {}, "tokenize": {}, "compute_bleu": compute_bleu_cases()}
    strings = list(EXTRA_STRINGS)
    for name in PAIRS:
        ref = os.path.join(HERE, f"bleu_{name}.ref")
        hyp = os.path.join(HERE, f"bleu_{name}.hyp")
        code, out, _ = run_t2t_bleu(ref, hyp)
        assert code == 0, out
        result["pairs"][name] = {
            "uncased": float(bleu_hook.bleu_wrapper(ref, hyp, case_sensitive=False)),
            "cased": float(bleu_hook.bleu_wrapper(ref, hyp, case_sensitive=True)),
            "t2t_bleu_stdout": out,
        }
        for path in (ref, hyp):
            with open(path, "rb") as f:
                strings.extend(f.read().decode("utf-8").split("\n"))
    for s in strings:
        result["tokenize"][s] = bleu_hook.bleu_tokenize(s)
        result["tokenize"][s.lower()] = bleu_hook.bleu_tokenize(s.lower())
    code, out, err = run_t2t_bleu(
        os.path.join(HERE, "bleu_de.ref"), os.path.join(HERE, "bleu_en.hyp")
    )
    result["unequal_lines"] = {
        "returncode": code,
        "stdout": out,
        "stderr_last_line": err.strip().splitlines()[-1],
    }
    with open(os.path.join(HERE, "bleu_goldens.json"), "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False, sort_keys=True)
    print(json.dumps(result["pairs"], indent=1, ensure_ascii=False))
    print(result["unequal_lines"])


if __name__ == "__main__":
    main()
