"""Deterministic synthetic corpus that looks like natural text, for the text-encoder benchmarks.

Sentences are drawn from a fixed, generated word list with Zipfian word frequencies, with
capitalisation, punctuation, numbers, quotes, and some non-ASCII words (accented Latin, Greek,
Cyrillic, CJK, emoji). Only characters whose Unicode category is the same in Python 3.7
(Unicode 11) and later versions are used, so T2T's tokenizer splits them identically under the
original (Python 3.7) and under t2t.

The output depends only on the seed and the line count, and the script runs unchanged on
Python 3.7 (the original T2T venv) and on the project's Python:

    python benchmarks/corpus.py --lines 100000 --out /tmp/corpus.txt
"""

import argparse
import random

_CONSONANTS = "bcdfghjklmnprstvwz"
_VOWELS = "aeiou"
_SUFFIXES = ["", "", "", "s", "ed", "ing", "er", "ly", "tion", "ness", "ment", "able"]
_FOREIGN = [
    "café",
    "naïve",
    "über",
    "Straße",
    "résumé",
    "Łódź",
    "São",
    "niño",
    "façade",
    "smörgåsbord",
    "λόγος",
    "αλήθεια",
    "Москва",
    "спасибо",
    "東京",
    "日本語",
    "北京",
    "😀",
    "🎉",
    "Ελλάδα",
]
_PUNCT_END = [".", ".", ".", ".", "!", "?", "...", ";"]
_PUNCT_MID = [",", ",", ",", " -", ":", " (", ")"]


def _make_word(rng: random.Random) -> str:
    syllables = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))
    if rng.random() < 0.3:
        word += rng.choice(_CONSONANTS)
    return word + rng.choice(_SUFFIXES)


def make_vocabulary(num_words: int = 30000, seed: int = 1234) -> list:
    """Returns a fixed list of distinct words; earlier words are drawn more often."""
    rng = random.Random(seed)
    words, seen = [], set()
    while len(words) < num_words:
        word = _make_word(rng)
        if word not in seen:
            seen.add(word)
            words.append(word)
    # Sprinkle the non-ASCII words over the frequency ranks.
    for i, word in enumerate(_FOREIGN):
        words.insert(37 * i + 50, word)
    return words


def _zipf_cumulative(num_words: int, exponent: float = 1.07) -> list:
    cumulative, total = [], 0.0
    for rank in range(1, num_words + 1):
        total += 1.0 / rank**exponent
        cumulative.append(total)
    return cumulative


def _sentence(rng: random.Random, words: list, cumulative: list) -> str:
    length = rng.randint(3, 28)
    chosen = rng.choices(words, cum_weights=cumulative, k=length)
    parts = []
    for i, word in enumerate(chosen):
        roll = rng.random()
        if roll < 0.03:
            word = str(rng.randint(0, 2100))
        elif roll < 0.04:
            word = f"{rng.randint(0, 99)}.{rng.randint(0, 99)}"
        elif roll < 0.06:
            word = word.capitalize()
        elif roll < 0.065:
            word = word.upper()
        elif roll < 0.07:
            word = word + "'s"
        elif roll < 0.073:
            word = '"' + word + '"'
        if i == 0:
            word = word[:1].upper() + word[1:]
        parts.append(word)
        if i < length - 1 and rng.random() < 0.08:
            parts.append(rng.choice(_PUNCT_MID))
    text = " ".join(parts).replace(" , ", ", ").replace(" : ", ": ").replace(" ) ", ") ")
    return text + rng.choice(_PUNCT_END)


def generate_lines(num_lines: int, seed: int = 4321):
    """Yields `num_lines` lines of one or two sentences each (no newline characters)."""
    words = make_vocabulary()
    cumulative = _zipf_cumulative(len(words))
    rng = random.Random(seed)
    for _ in range(num_lines):
        line = _sentence(rng, words, cumulative)
        if rng.random() < 0.3:
            line += " " + _sentence(rng, words, cumulative)
        yield line


def write_corpus(path: str, num_lines: int, seed: int = 4321) -> None:
    """Writes the corpus to `path` as UTF-8, one line per sentence group."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in generate_lines(num_lines, seed):
            f.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=4321)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    write_corpus(args.out, args.lines, args.seed)


if __name__ == "__main__":
    main()
