"""Tests of t2t.data.tokenizer: T2T's cases (spec section 7.7/8), golden tokens, properties."""

import collections
import json
import pathlib
import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t2t.data import tokenizer
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "text_encoder"


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Dude - that's so cool.", ["Dude", " - ", "that", "'", "s", "so", "cool", "."]),
        ("Łukasz est né en 1981.", ["Łukasz", "est", "né", "en", "1981", "."]),
        (" Spaces at the ends ", [" ", "Spaces", "at", "the", "ends", " "]),
        ("802.11b", ["802", ".", "11b"]),
        ("two. \nlines", ["two", ". \n", "lines"]),
        (
            "Hello, world! It's 3.14 o'clock\n(ok)",
            ["Hello", ", ", "world", "! ", "It", "'", "s", "3", ".", "14", "o", "'", "clock"]
            + ["\n(", "ok", ")"],
        ),
        ("  two  spaces ", ["  ", "two", "  ", "spaces", " "]),
        ("a b", ["a", "b"]),
        (" ", [" "]),
        ("", []),
        ("under_score", ["under", "_", "score"]),
    ],
)
def test_encode_cases(text: str, tokens: list[str]) -> None:
    assert tokenizer.encode(text) == tokens
    assert tokenizer.decode(tokens) == text


def test_golden_tokens_from_original() -> None:
    # tokens.json: tokenizer.encode of every probe line, by T2T 1.15.7 (make_golden.py).
    probe = (GOLDEN / "probe.txt").read_text(encoding="utf-8").split("\n")[:-1]
    expected = json.loads((GOLDEN / "tokens.json").read_text(encoding="utf-8"))
    assert len(probe) == len(expected) > 60
    assert [tokenizer.encode(line) for line in probe] == expected


def test_regex_class_is_exactly_letters_and_numbers() -> None:
    # The fast path relies on `[^\W_]` matching exactly categories L* and N*.
    assert tokenizer._ALNUM_RE.pattern == r"[^\W_]"
    text = "".join(chr(i) for i in range(sys.maxunicode + 1) if not 0xD800 <= i < 0xE000)
    matched = set(tokenizer._ALNUM_RE.findall(text))
    expected = {c for c in text if unicodedata.category(c)[0] in ("L", "N")}
    assert matched == expected
    assert len(expected) > 100000


def test_lazy_alphanumeric_set() -> None:
    chars = tokenizer._ALPHANUMERIC_CHAR_SET
    assert "a" in chars and "7" in chars and "Ł" in chars and "_" not in chars and " " not in chars


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_roundtrip_any_text(text: str) -> None:
    assert tokenizer.decode(tokenizer.encode(text)) == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab .,_\n\t1é😀")), max_size=60))
def test_roundtrip_dense_boundaries(text: str) -> None:
    tokens = tokenizer.encode(text)
    assert tokenizer.decode(tokens) == text
    assert all(tokens)
    # Single spaces survive only as the first or the last token.
    assert all(t != " " for t in tokens[1:-1])


def _write_t2t_test_data(tmp_path: pathlib.Path) -> pathlib.Path:
    # The contents of T2T's data_generators/test_data files (spec section 7.7).
    (tmp_path / "corpus-1.txt").write_text(
        "One morning I shot an elephant in my pajamas. How he got in my pajamas, I don't\n"
        "know.\n\nGroucho Marx\n"
    )
    (tmp_path / "corpus-2.txt").write_text(
        "I haven't slept for 10 days... because that would be too long.\n\nMitch Hedberg\n"
    )
    (tmp_path / "vocab-1.txt").write_text("lollipop,8\nreverberated,12")
    (tmp_path / "vocab-2.txt").write_text("kattywampus,11\nkaput\nbalderdash,10\njiggery-pokery,14")
    return tmp_path


def test_corpus_token_counts(tmp_path: pathlib.Path) -> None:
    pattern = str(_write_t2t_test_data(tmp_path) / "corpus-*.txt")
    counts = tokenizer.corpus_token_counts(pattern, corpus_max_lines=None)
    expected = {"'": 2, ".": 2, ". ": 1, "... ": 1, "Groucho": 1, "Marx": 1, "Mitch": 1}
    expected |= {"Hedberg": 1, "I": 3, "in": 2, "my": 2, "pajamas": 2}
    assert expected.items() <= counts.items()
    assert ".\n\n" not in counts and "\n" not in counts

    whole = tokenizer.corpus_token_counts(pattern, None, split_on_newlines=False)
    assert whole[".\n\n"] == 2 and whole["\n"] == 3

    for split in (True, False):
        five = tokenizer.corpus_token_counts(pattern, 5, split_on_newlines=split)
        assert "slept" in five and "Mitch" not in five
    five = tokenizer.corpus_token_counts(pattern, 5, split_on_newlines=False)
    assert five[".\n\n"] == 1 and five["\n"] == 2 and five[".\n"] == 1


def test_vocab_token_counts(tmp_path: pathlib.Path) -> None:
    pattern = str(_write_t2t_test_data(tmp_path) / "vocab-*.txt")
    expected = {"lollipop": 8, "reverberated": 12, "kattywampus": 11, "balderdash": 10}
    assert tokenizer.vocab_token_counts(pattern, 0) == expected | {"jiggery-pokery": 14}
    assert tokenizer.vocab_token_counts(pattern, 5) == expected


def test_reading_drops_carriage_returns_like_tf_gfile(tmp_path: pathlib.Path) -> None:
    # T2T reads lines with tf.gfile, whose line iteration drops every "\r" (checked with 1.15.7).
    (tmp_path / "c.txt").write_bytes(b"a\rb\nc\r\n")
    assert tokenizer.corpus_token_counts(str(tmp_path / "c.txt"), 0) == {"ab": 1, "c": 1}


def test_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DataError, match="no files match"):
        tokenizer.corpus_token_counts(str(tmp_path / "nothing*.txt"), 0)
    (tmp_path / "bad.txt").write_bytes(b"fine\n\xff\xfe\n")
    with pytest.raises(DataError, match="line 2"):
        tokenizer.corpus_token_counts(str(tmp_path / "bad.txt"), 0)
    (tmp_path / "v.csv").write_text("word,12\nother,x\n")
    with pytest.raises(DataError, match="line 2"):
        tokenizer.vocab_token_counts(str(tmp_path / "v.csv"), 0)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(list("ab é1 .,(-_\n\t😀")), max_size=30)))
def test_count_tokens_by_pieces_equals_plain_count(texts: list[str]) -> None:
    # The fast counter works per distinct piece; it must equal counting encode() of each text.
    expected = collections.Counter(t for text in texts for t in tokenizer.encode(text))
    assert tokenizer.count_tokens(texts) == expected
    for text in texts:
        pieces = tokenizer.split_pieces(text)
        assert " ".join(pieces) == text
        tokens = [t for p in pieces[:-1] for t in tokenizer.piece_tokens(p, last=False)]
        assert tokens + tokenizer.piece_tokens(pieces[-1], last=True) == tokenizer.encode(text)
