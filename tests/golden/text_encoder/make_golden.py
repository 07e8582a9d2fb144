"""Writes the golden files of tests/data/test_text_encoder.py with the ORIGINAL T2T.

Run with a Python that has tensor2tensor 1.15.7 installed (we used a Python 3.7 venv):

    /tmp/t2t-original/bin/python tests/golden/text_encoder/make_golden.py

Inputs: `corpus.txt` here (400 lines of benchmarks/corpus.py with seed 99, plus a few lines of
edge cases) and `probe.txt` (texts to encode). Outputs, per case in CASES:
`<case>.subwords` (store_to_file) and `<case>.ids.json` (encode of every probe line). Also
`tokens.json` (tokenizer.encode of every probe line) and `token_counts.json`. Nothing of T2T's
code is copied into the repository; only its outputs are stored.
"""

import json
import logging
import os

logging.getLogger("tensorflow").setLevel(logging.ERROR)

from tensor2tensor.data_generators import text_encoder, tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (how to build)
CASES = {
    "target300": dict(target_size=300),
    "target150_maxlen4": dict(target_size=150, max_subtoken_length=4),
    "target250_reserved": dict(target_size=250, reserved_tokens=["<pad>", "<EOS>", "<S>", "<E>"]),
    "mincount3_iter2": dict(min_count=3, num_iterations=2),
}


def build(counts, spec):
    if "min_count" in spec:
        encoder = text_encoder.SubwordTextEncoder()
        encoder.build_from_token_counts(counts, spec["min_count"], spec["num_iterations"])
        return encoder
    return text_encoder.SubwordTextEncoder.build_to_target_size(
        spec["target_size"],
        counts,
        1,
        1e3,
        max_subtoken_length=spec.get("max_subtoken_length"),
        reserved_tokens=spec.get("reserved_tokens"),
    )


def main():
    corpus = os.path.join(HERE, "corpus.txt")
    counts = tokenizer.corpus_token_counts(corpus, 0, split_on_newlines=True)
    with open(os.path.join(HERE, "probe.txt"), encoding="utf-8", newline="\n") as f:
        probe = f.read().split("\n")[:-1]
    with open(os.path.join(HERE, "token_counts.json"), "w", encoding="utf-8") as f:
        json.dump(dict(sorted(counts.items())), f, ensure_ascii=False, indent=0, sort_keys=True)
    with open(os.path.join(HERE, "tokens.json"), "w", encoding="utf-8") as f:
        json.dump([tokenizer.encode(line) for line in probe], f, ensure_ascii=False, indent=0)
    for name, spec in CASES.items():
        encoder = build(counts, spec)
        encoder.store_to_file(os.path.join(HERE, name + ".subwords"))
        ids = [encoder.encode(line) for line in probe]
        with open(os.path.join(HERE, name + ".ids.json"), "w") as f:
            json.dump(ids, f, separators=(",", ":"))
        print(name, encoder.vocab_size)


if __name__ == "__main__":
    main()
