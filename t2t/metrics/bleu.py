"""BLEU as T2T computes it (`tensor2tensor/utils/bleu_hook.py`, spec section 7.3).

* `compute_bleu`: corpus BLEU, one reference per segment, n-grams up to 4, T2T's smoothing
  of zero-match orders and brevity penalty, on token or id lists.
* `bleu_tokenize`: mteval-v14's "international" tokenisation (punctuation split off unless
  between digits, symbols always split off).
* `bleu_wrapper`: BLEU of a hypothesis file against a reference file, what `t2t-bleu`
  prints (times 100).

The numbers equal the original's; only speed differs (precompiled character-range regexes
applied to the whole file at once, n-gram counting with `zip` and `Counter`).
Known difference: which characters count as punctuation/symbols follows the Unicode
database of the running Python (T2T ran on 3.7, Unicode 11); characters assigned since
then may tokenise differently.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence

import numpy as np

from t2t.errors import DataError

log = logging.getLogger(__name__)

__all__ = [
    "bleu_tokenize",
    "bleu_wrapper",
    "compute_bleu",
]


def _ngram_counts(segment: Sequence, order: int) -> Counter:
    """Counts of the n-grams of one order (tuples) in a segment."""
    if order == 1:
        return Counter(zip(segment))
    return Counter(zip(*(segment[i:] for i in range(order))))


def _modified_precisions(matches: list[int], possible: list[int]) -> list[float]:
    """Per-order precision with T2T's smoothing.

    An order with candidates but no match gets 1 / (smooth * possible), smooth doubling
    at each such order; an order without candidates gets 0 (then left out of the mean).
    """
    precisions = []
    smooth = 1.0
    for matched, candidates in zip(matches, possible):
        if candidates <= 0:
            precisions.append(0.0)
        elif matched > 0:
            precisions.append(matched / candidates)
        else:
            smooth *= 2
            precisions.append(1.0 / (smooth * candidates))
    return precisions


def _brevity_penalty(translation_length: int, reference_length: int) -> float:
    if not reference_length:
        return 1.0
    ratio = translation_length / reference_length
    if ratio <= 0.0:
        return 0.0
    if ratio >= 1.0:
        return 1.0
    return math.exp(1 - 1.0 / ratio)


def compute_bleu(
    reference_corpus: Sequence[Sequence],
    translation_corpus: Sequence[Sequence],
    max_order: int = 4,
    use_bp: bool = True,
) -> float:
    """Corpus BLEU of translations against one reference each (T2T's `compute_bleu`).

    Args:
        reference_corpus: one reference per segment, each a sequence of tokens or ids.
        translation_corpus: the translations, same form; pairs beyond the shorter corpus
            are ignored (T2T zips them).
        max_order: longest n-gram.
        use_bp: apply the brevity penalty.

    Returns:
        BLEU in [0, 1], rounded to float32 as T2T returns it.
    """
    matches = [0] * max_order
    possible = [0] * max_order
    reference_length = translation_length = 0
    for reference, translation in zip(reference_corpus, translation_corpus):
        if isinstance(reference, np.ndarray):  # Rows of id arrays: hash plain ints.
            reference, translation = reference.tolist(), np.asarray(translation).tolist()
        reference_length += len(reference)
        translation_length += len(translation)
        for order in range(1, max_order + 1):
            if len(translation) < order:
                break
            possible[order - 1] += len(translation) - order + 1
            if len(reference) >= order:
                overlap = _ngram_counts(reference, order) & _ngram_counts(translation, order)
                matches[order - 1] += sum(overlap.values())
    precisions = _modified_precisions(matches, possible)
    geo_mean = 0.0
    if max(precisions) > 0:
        geo_mean = math.exp(sum(math.log(p) for p in precisions if p) / max_order)
    bp = _brevity_penalty(translation_length, reference_length) if use_bp else 1.0
    return float(np.float32(geo_mean * bp))


def _class_body(ranges: list[tuple[int, int]]) -> str:
    """A regex character class body ("a-z...") for inclusive code point ranges."""
    parts = []
    for first, last in ranges:
        parts.append(re.escape(chr(first)))
        if last > first:
            parts.append("-" + re.escape(chr(last)))
    return "".join(parts)


def _punctuation_and_symbol_classes() -> tuple[str, str]:
    """Regex class bodies for Unicode categories P* and S*.

    Written as ranges so that they compile quickly. Like T2T, code points up to
    sys.maxunicode - 1 are considered.
    """
    ranges: dict[str, list[tuple[int, int]]] = {"P": [], "S": []}
    for code in range(sys.maxunicode):
        # T2T joins the raw characters into "[...]" without escaping, so its "\\" escapes
        # the "]" after it: the backslash is NOT punctuation there. We reproduce that.
        major = None if code == 0x5C else unicodedata.category(chr(code))[0]
        if major in ranges:
            found = ranges[major]
            if found and found[-1][1] == code - 1:
                found[-1] = (found[-1][0], code)
            else:
                found.append((code, code))
    return _class_body(ranges["P"]), _class_body(ranges["S"])


@functools.cache
def _tokenizer_regexes() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """The three mteval-v14 substitutions, built once per process.

    `\\n` is excluded from the "non-digit" neighbours so that a whole file can be tokenised
    in one pass with exactly the per-line result: T2T tokenises line by line, so a line's
    last or first character never has a neighbour across the newline.
    """
    punct, symbols = _punctuation_and_symbol_classes()
    nondigit_punct = re.compile(r"([^\d\n])([" + punct + r"])")
    punct_nondigit = re.compile(r"([" + punct + r"])([^\d\n])")
    symbol = re.compile("([" + symbols + "])")
    return nondigit_punct, punct_nondigit, symbol


def _tokenize_text(text: str) -> str:
    nondigit_punct, punct_nondigit, symbol = _tokenizer_regexes()
    text = nondigit_punct.sub(r"\1 \2 ", text)
    text = punct_nondigit.sub(r" \1 \2", text)
    return symbol.sub(r" \1 ", text)


def bleu_tokenize(string: str) -> list[str]:
    """Tokenises one line like mteval-v14 (`--international-tokenization`), as T2T.

    Punctuation is split off unless it sits between digits ("1,000.50" stays whole; note
    that a number's final period also stays: "1999." is one token), every symbol is split
    off, then the line is split on whitespace. No lowercasing.

    Args:
        string: one line of text.

    Returns:
        The tokens.
    """
    return _tokenize_text(string).split()


def _read_lines(path: str, what: str) -> list[str]:
    """A file's lines split on "\\n" only, as T2T (a final newline gives a last empty line)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read().split("\n")
    except FileNotFoundError:
        raise DataError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise DataError(f"{what} file is a directory: {path}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{what} file {path} is not valid UTF-8: {e}") from None


def tokenize_lines(text: str) -> list[list[str]]:
    """`bleu_tokenize` of every "\\n"-separated line of `text`, in one regex pass."""
    return [line.split() for line in _tokenize_text(text).split("\n")]


def bleu_wrapper(ref_filename: str, hyp_filename: str, case_sensitive: bool = False) -> float:
    """BLEU of a translation file against a reference file (T2T's `bleu_wrapper`).

    Args:
        ref_filename: reference, one segment per line, UTF-8.
        hyp_filename: translation, same number of lines.
        case_sensitive: False lowercases both first (t2t-bleu's "uncased").

    Returns:
        BLEU in [0, 1].

    Raises:
        DataError: a file is missing or not UTF-8, or the line counts differ (T2T fails
            with a bare `AssertionError: <ref lines> != <hyp lines>`).
    """
    ref_lines = _read_lines(ref_filename, "reference")
    hyp_lines = _read_lines(hyp_filename, "translation")
    if len(ref_lines) != len(hyp_lines):
        raise DataError(
            f"reference {ref_filename} has {len(ref_lines)} lines but translation "
            f"{hyp_filename} has {len(hyp_lines)} (counting the piece after a final newline, "
            f"as T2T); BLEU needs one translation per reference line"
        )
    ref_text, hyp_text = "\n".join(ref_lines), "\n".join(hyp_lines)
    if not case_sensitive:
        ref_text, hyp_text = ref_text.lower(), hyp_text.lower()
    return compute_bleu(tokenize_lines(ref_text), tokenize_lines(hyp_text))
