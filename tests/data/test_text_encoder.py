"""Tests of t2t.data.text_encoder.

* T2T's own unit-test cases and acceptance examples (spec sections 7 and 8);
* golden files made with the original T2T 1.15.7 (tests/golden/text_encoder/make_golden.py):
  vocabularies built here must be byte-identical and encode to the same ids;
* equivalence of the vectorised vocabulary builder and the memoised encoder with a plain-Python
  restatement of T2T's algorithm (`reference_build`, `reference_encode` below);
* round-trip properties with hypothesis.
"""

import collections
import io
import json
import pathlib
import random
import struct
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t2t.data import text_encoder, tokenizer
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "text_encoder"
SubwordTextEncoder = text_encoder.SubwordTextEncoder


# --------------------------------------------------------------------------- reference algorithm
def _greedy_split(escaped: str, vocab: set[str], max_len: int) -> list[str]:
    ret, start = [], 0
    while start < len(escaped):
        end = next(
            e
            for e in range(min(len(escaped), start + max_len), start, -1)
            if escaped[start:e] in vocab
        )
        ret.append(escaped[start:end])
        start = end
    return ret


def reference_build(counts, min_count, num_iterations=4, reserved=None, max_subtoken_length=None):
    """T2T's build_from_token_counts restated in the simplest Python (no sharing, no numpy)."""
    reserved = reserved or text_encoder.RESERVED_TOKENS
    alphabet = {c for t in list(counts) + reserved for c in t} | text_encoder._ESCAPE_CHARS
    vocab = list(reserved) + sorted(alphabet)
    min_count = max(min_count, 1)
    for _ in range(num_iterations):
        vocab_set, max_len = set(vocab), max(len(s) for s in vocab)
        sub_counts = collections.defaultdict(int)
        for token, count in counts.items():
            esc = text_encoder._escape_token(token, alphabet)
            start = 0
            for piece in _greedy_split(esc, vocab_set, max_len):
                last = len(esc) + 1
                if max_subtoken_length is not None:
                    last = min(last, start + max_subtoken_length)
                for end in range(start + 1, last):
                    sub_counts[esc[start:end]] += count
                start += len(piece)
        new = []
        for s in sorted((s for s in sub_counts if sub_counts[s] >= min_count), key=len)[::-1]:
            count = sub_counts[s]
            if count >= min_count:
                if s not in alphabet:
                    new.append((count, s))
                for n in range(1, len(s)):
                    sub_counts[s[:n]] -= count
        new.extend((sub_counts.get(a, 0), a) for a in alphabet)
        new.sort(reverse=True)
        vocab = [text_encoder._escape_token(t, alphabet) for t in reserved] + [s for _, s in new]
    return vocab


def reference_encode(encoder: SubwordTextEncoder, text: str) -> list[int]:
    vocab = encoder._subtoken_string_to_id
    ids = []
    for token in tokenizer.encode(text):
        escaped = text_encoder._escape_token(token, encoder._alphabet)
        ids.extend(vocab[s] for s in _greedy_split(escaped, set(vocab), encoder._max_subtoken_len))
    return ids


def _golden_counts() -> dict[str, int]:
    return json.loads((GOLDEN / "token_counts.json").read_text(encoding="utf-8"))


def _probe() -> list[str]:
    return (GOLDEN / "probe.txt").read_text(encoding="utf-8").split("\n")[:-1]


# --------------------------------------------------------------------------- simple encoders
def test_constants_and_helpers() -> None:
    assert (text_encoder.PAD_ID, text_encoder.EOS_ID) == (0, 1)
    assert text_encoder.RESERVED_TOKENS == ["<pad>", "<EOS>"]
    assert text_encoder.NUM_RESERVED_TOKENS == 2
    assert text_encoder.RESERVED_TOKENS_BYTES == [b"<pad>", b"<EOS>"]
    assert text_encoder.native_to_unicode("foo bar") == "foo bar"
    assert text_encoder.native_to_unicode("hé".encode()) == "hé"
    assert text_encoder.native_to_unicode(b"a\xffb") == "ab"
    assert text_encoder.strip_ids([3, 0, 1, 4, 1, 0], [0, 1]) == [3, 0, 1, 4]


def test_text_encoder() -> None:
    encoder = text_encoder.TextEncoder()
    assert encoder.encode("1 2 3") == [3, 4, 5]
    assert encoder.decode([3, 4, 1, 0]) == "1 2 <EOS> <pad>"
    assert encoder.decode([3, 4, 1, 0], strip_extraneous=True) == "1 2"
    assert encoder.decode([-5]) == "-7"  # T2T: no range check
    with pytest.raises(NotImplementedError):
        _ = encoder.vocab_size


def test_byte_text_encoder() -> None:
    encoder = text_encoder.ByteTextEncoder()
    assert encoder.encode("hé!") == [106, 197, 171, 35]
    assert encoder.decode([106, 197, 171, 35, 1]) == "hé!<EOS>"
    assert encoder.decode([106, 1, 0], strip_extraneous=True) == "h"
    assert encoder.decode_list([106, 0]) == [b"h", b"<pad>"]
    assert encoder.vocab_size == 258
    assert encoder.decode([197]) == "\ufffd"  # a cut UTF-8 sequence is replaced, as in T2T
    # T2T raises struct.error for ids outside [0, 258); ours is also a DataError.
    for bad in (258, -1):
        with pytest.raises(struct.error, match="out of range"):
            encoder.decode([106, bad])
        with pytest.raises(DataError):
            encoder.decode([bad])


def test_class_label_encoders(tmp_path: pathlib.Path) -> None:
    encoder = text_encoder.ClassLabelEncoder(["zero", "one", "two"])
    assert encoder.encode("two") == 2 and encoder.decode(1) == "one"
    assert encoder.decode([2]) == "two" and encoder.decode(np.array([[0]])) == "zero"
    assert encoder.decode_list([2, 0]) == ["two", "zero"] and encoder.vocab_size == 3
    (tmp_path / "labels.txt").write_text("a\n b \nc\n")
    assert (
        text_encoder.ClassLabelEncoder(class_labels_fname=str(tmp_path / "labels.txt")).encode("b")
        == 1
    )
    one_hot = text_encoder.OneHotClassLabelEncoder(["zero", "one", "two"])
    assert one_hot.encode("one") == [0, 1, 0]
    assert one_hot.decode([0, 0, 1]) == "two"
    assert one_hot.decode(np.array([1, 0, 0])) == "zero"
    with pytest.raises(DataError, match="unknown class label"):
        encoder.encode("three")


def test_real_encoder() -> None:
    encoder = text_encoder.RealEncoder()
    assert encoder.encode("1.5 2") == [1.5, 2.0]
    assert encoder.decode([1.5, 2.0]) == "1.5 2.0"


def test_token_text_encoder_from_list() -> None:
    encoder = text_encoder.TokenTextEncoder(
        None, vocab_list=["a", "b", "<EOS>", "c"], replace_oov="c"
    )
    assert encoder._id_to_token == {0: "<pad>", 1: "<EOS>", 2: "a", 3: "b", 4: "c"}
    assert encoder.encode("a b zz c") == [2, 3, 4, 4]
    assert encoder.decode([2, 3, 9]) == "a b ID_9"
    assert encoder.vocab_size == 5
    reverse = text_encoder.TokenTextEncoder(None, reverse=True, vocab_list=["a", "b"])
    assert reverse.encode("a b") == [3, 2] and reverse.decode([3, 2]) == "a b"
    duplicated = text_encoder.TokenTextEncoder(None, vocab_list=["x", "y", "x"])
    assert duplicated.encode("x") == [4]  # the LAST id of a duplicated token, as in T2T
    assert duplicated.decode([2, 4]) == "x x"
    with pytest.raises(KeyError, match="'zz' is not in the vocabulary"):
        text_encoder.TokenTextEncoder(None, vocab_list=["a"]).encode("a zz")


def test_token_text_encoder_save_and_reload(tmp_path: pathlib.Path) -> None:
    corpus = "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z"
    encoder = text_encoder.TokenTextEncoder(None, vocab_list=corpus.split())
    path = str(tmp_path / "abc.vocab")
    encoder.store_to_file(path)
    assert pathlib.Path(path).read_text().startswith("<pad>\n<EOS>\nA\nB\n")
    reloaded = text_encoder.TokenTextEncoder(path)
    assert reloaded._id_to_token == encoder._id_to_token
    assert reloaded._token_to_id == encoder._token_to_id
    assert reloaded.encode("A Z") == [2, 27]


def test_token_text_encoder_reserved_tokens_removed_from_list() -> None:
    encoder = text_encoder.TokenTextEncoder(None, vocab_list=["<pad>", "<EOS>", "A", "<pad>", "B"])
    tokens = list(encoder._id_to_token.values())
    assert tokens == ["<pad>", "<EOS>", "A", "B"]


def test_vocab_file_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DataError, match="not found"):
        text_encoder.TokenTextEncoder(str(tmp_path / "missing.vocab"))
    with pytest.raises(DataError, match="not found"):
        SubwordTextEncoder(str(tmp_path / "missing.subwords"))
    (tmp_path / "empty").write_text("")
    with pytest.raises(DataError, match="empty"):
        SubwordTextEncoder(str(tmp_path / "empty"))
    (tmp_path / "bad").write_bytes(b"'a_'\n'b_'\n'\xc3('\n")
    with pytest.raises(DataError, match="line 3"):
        SubwordTextEncoder(str(tmp_path / "bad"))
    # A vocabulary without the escape characters cannot encode unknown characters.
    encoder = SubwordTextEncoder()
    encoder._load_from_file_object(io.StringIO("the\nand\n"))
    with pytest.raises(ValueError, match="not found in subtoken vocabulary"):
        encoder.encode("zebra")


# --------------------------------------------------------------------------- escaping
def test_escape_and_unescape_token() -> None:
    alphabet = set("abcdefghijklmnopqrstuvwxyz .\n") | text_encoder._ESCAPE_CHARS
    escaped = text_encoder._escape_token("Foo! Bar.\nunder_score back\\slash", alphabet)
    assert escaped == "\\70;oo\\33; \\66;ar.\\10;under\\uscore back\\\\slash_"
    assert text_encoder._unescape_token(escaped) == "Foo! Bar.\nunder_score back\\slash"
    assert text_encoder._unescape_token("\\99999999;_") == "\u3013"  # invalid code point
    with pytest.raises(ValueError):
        text_encoder._escape_token(b"bytes", alphabet)


# --------------------------------------------------------------------------- T2T's subword cases
FOX = 5 * ["the quick brown fox jumps over the lazy dog", "the dog barks", "a quick brown dog"]


def test_acceptance_example_target_60() -> None:
    encoder = SubwordTextEncoder.build_from_generator(FOX, 60)
    assert encoder.vocab_size == 56
    words = ["the_", "dog_", "quick_", "brown_", "over_", "lazy_", "jumps_", "fox_", "barks_"]
    expected = ["<pad>_", "<EOS>_"] + words + ["a_"] + list("zyxwvutsrqponmlkjihgfedcba")
    expected += ["_", "\\", "S", "O", "E", ">", "<", ";"] + list("9876543210")
    assert list(encoder.all_subtoken_strings) == expected
    assert encoder.encode("the quick dog barked") == [2, 4, 3, 36, 37, 20, 27, 33, 34, 38]


def test_acceptance_example_target_40_alphabet_only() -> None:
    encoder = SubwordTextEncoder.build_from_generator(FOX, 40)
    assert encoder.vocab_size == 46
    ids = encoder.encode("The Zebra_x!")
    assert "".join(encoder.decode_list(ids)) == "\\84;he_\\90;ebra_\\u_x_\\33;_"
    assert encoder.decode(ids) == "The Zebra_x!"


def _small_corpus_counts() -> collections.Counter:
    # The corpus of T2T's text_encoder_test.test_encode_decode.
    corpus = (
        "This is a corpus of text that provides a bunch of tokens from which "
        "to build a vocabulary. It will be used when strings are encoded "
        "with a TextEncoder subclass. The encoder was coded by a coder."
    )
    counts = collections.Counter(corpus.split(" "))
    counts.update("This is a coded sentence encoded by the SubwordTextEncoder.".split(" "))
    return counts


def test_encode_decode_small_corpus() -> None:
    encoder = SubwordTextEncoder.build_to_target_size(100, _small_corpus_counts(), 2, 10)
    original = "This is a coded sentence encoded by the SubwordTextEncoder."
    ids = encoder.encode(original)
    assert encoder.decode(ids) == original
    for subtoken in ["encoded_", "coded_", "TextEncoder", "coder"]:
        assert subtoken in encoder.all_subtoken_strings
    for char in set(original) - {" "}:
        assert char in encoder._alphabet and char in encoder._subtoken_string_to_id


def test_unicode_emoji_and_small_target() -> None:
    counts = collections.Counter(tokenizer.encode("\U0001f638 \U0001f63b \U0001f63b a b c"))
    encoder = SubwordTextEncoder.build_to_target_size(100, counts, 2, 10)
    assert "\U0001f638" in encoder._alphabet
    assert "\U0001f63b" in encoder.all_subtoken_strings
    tiny = SubwordTextEncoder.build_to_target_size(10, counts, 2, 10)
    assert set("\U0001f638\U0001f63babc") <= set(tiny.all_subtoken_strings)


def test_long_tokens_with_max_subtoken_length() -> None:
    rng = random.Random(7)
    tokens = [
        "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4000)) for _ in range(50)
    ]
    counts = collections.Counter(tokens)
    encoder = SubwordTextEncoder.build_to_target_size(
        600, counts, 1, 500, max_subtoken_length=10, num_iterations=1
    )
    assert set("ABCDEFGHIJKLMNOPQRSTUVWXYZ") <= set(encoder.all_subtoken_strings)
    assert max(len(s) for s in encoder.all_subtoken_strings[2:]) <= 9  # T2T's cap is length - 1
    assert encoder.decode(encoder.encode(tokens[0])) == tokens[0]


def test_custom_reserved_tokens() -> None:
    reserved = text_encoder.RESERVED_TOKENS + ["<S>", "<E>"]
    corpus = "The quick brown fox jumps over the lazy dog"
    encoder = SubwordTextEncoder.build_to_target_size(
        100, collections.Counter(tokenizer.encode(corpus)), 2, 10, reserved_tokens=reserved
    )
    assert encoder.decode([2]) == "<S>" and encoder.decode([3]) == "<E>"
    assert encoder.decode(encoder.encode(corpus)) == corpus
    generated = SubwordTextEncoder.build_from_generator(3 * [corpus], 10, reserved_tokens=reserved)
    assert generated.decode(generated.encode("hi") + [2]) == "hi<S>"
    with pytest.raises(ValueError, match="prefix"):
        SubwordTextEncoder.build_from_generator([corpus], 10, reserved_tokens=["<S>"])


def test_out_of_alphabet_characters_are_escaped() -> None:
    counts = collections.Counter("the quick brown fox jumps over the lazy dog".split(" "))
    encoder = SubwordTextEncoder.build_to_target_size(100, counts, 2, 10)
    original = "This has UPPER CASE letters that are out of alphabet"
    ids = encoder.encode(original)
    assert encoder.decode(ids) == original
    assert "\\84;" in "".join(encoder.all_subtoken_strings[i] for i in ids)


@mock.patch.object(text_encoder, "_ESCAPE_CHARS", new=set("\\_;13579"))
def test_raises_when_not_encodable() -> None:
    counts = collections.Counter("the quick brown fox jumps over the lazy dog".split(" "))
    encoder = SubwordTextEncoder.build_to_target_size(100, counts, 2, 10)
    # T2T HEAD raises ValueError (1.15.7: AssertionError); DataError is a ValueError.
    with pytest.raises(ValueError, match="not found in subtoken vocabulary"):
        encoder.encode("This has UPPER CASE letters that are out of alphabet")


def test_load_from_file_object_quotes() -> None:
    for text in ("the\nand\nof\n", '"the"\n"and"\n"of"\n', "'the'\n'and'\n'of'\n"):
        encoder = SubwordTextEncoder()
        encoder._load_from_file_object(io.StringIO(text))
        assert encoder.all_subtoken_strings == ("the", "and", "of")


@pytest.mark.parametrize("quotes", [True, False])
def test_store_and_reload(tmp_path: pathlib.Path, quotes: bool) -> None:
    encoder = SubwordTextEncoder.build_from_generator(FOX, 60)
    path = str(tmp_path / "vocab.subwords")
    encoder.store_to_file(path, add_single_quotes=quotes)
    text = pathlib.Path(path).read_text()
    assert text.startswith("'<pad>_'\n'<EOS>_'\n" if quotes else "<pad>_\n<EOS>_\n")
    reloaded = SubwordTextEncoder(path)
    assert reloaded.all_subtoken_strings == encoder.all_subtoken_strings
    assert reloaded._alphabet == encoder._alphabet
    assert reloaded._subtoken_string_to_id == encoder._subtoken_string_to_id
    assert reloaded._max_subtoken_len == encoder._max_subtoken_len
    assert reloaded.decode(reloaded.encode("<pad> <EOS>")) == "<pad> <EOS>"


def test_decode_out_of_range_ids_are_dropped() -> None:
    # T2T maps ids outside [0, vocab_size) to "" silently; we keep that.
    encoder = SubwordTextEncoder.build_from_generator(FOX, 60)
    ids = encoder.encode("the dog")
    assert encoder.decode([-1] + ids + [10**6]) == "the dog"
    assert encoder.decode_list([2, 999]) == ["the_", ""]
    assert encoder.decode(ids + [1, 0], strip_extraneous=True) == "the dog"


def test_duplicate_subtoken_encodes_to_last_id() -> None:
    encoder = SubwordTextEncoder()
    encoder._load_from_file_object(io.StringIO("'<pad>_'\n'<EOS>_'\n'a_'\n'a'\n'_'\n'a_'\n"))
    assert encoder.encode("a") == [5]


def test_encode_without_tokenizing() -> None:
    encoder = SubwordTextEncoder.build_from_generator(FOX, 60)
    assert encoder.encode_without_tokenizing("the dog") == reference_encode_token(
        encoder, "the dog"
    )
    assert encoder.decode(encoder.encode_without_tokenizing("dog ")) == "dog "
    assert encoder.encode_without_tokenizing("the") == encoder.encode("the")


def reference_encode_token(encoder: SubwordTextEncoder, token: str) -> list[int]:
    escaped = text_encoder._escape_token(token, encoder._alphabet)
    vocab = encoder._subtoken_string_to_id
    return [vocab[s] for s in _greedy_split(escaped, set(vocab), encoder._max_subtoken_len)]


# --------------------------------------------------------------------------- golden files
def _build_golden_case(name: str, counts: dict[str, int]) -> SubwordTextEncoder:
    # The same calls as make_golden.py made with the original T2T.
    if name == "target300":
        return SubwordTextEncoder.build_to_target_size(300, counts, 1, 1e3)
    if name == "target150_maxlen4":
        return SubwordTextEncoder.build_to_target_size(150, counts, 1, 1e3, max_subtoken_length=4)
    if name == "target250_reserved":
        reserved = ["<pad>", "<EOS>", "<S>", "<E>"]
        return SubwordTextEncoder.build_to_target_size(
            250, counts, 1, 1e3, reserved_tokens=reserved
        )
    encoder = SubwordTextEncoder()
    encoder.build_from_token_counts(counts, 3, 2)
    return encoder


GOLDEN_CASES = ["target300", "target150_maxlen4", "target250_reserved", "mincount3_iter2"]


def test_golden_token_counts() -> None:
    counts = tokenizer.corpus_token_counts(str(GOLDEN / "corpus.txt"), 0)
    assert dict(counts) == _golden_counts()


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_vocab_is_byte_identical(tmp_path: pathlib.Path, name: str) -> None:
    encoder = _build_golden_case(name, _golden_counts())
    path = tmp_path / "vocab.subwords"
    encoder.store_to_file(str(path))
    assert path.read_bytes() == (GOLDEN / f"{name}.subwords").read_bytes()


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_ids_from_t2t_vocab_file(name: str) -> None:
    encoder = SubwordTextEncoder(str(GOLDEN / f"{name}.subwords"))
    expected = json.loads((GOLDEN / f"{name}.ids.json").read_text())
    probe = _probe()
    assert [encoder.encode(line) for line in probe] == expected
    assert [encoder.decode(ids) for ids in expected] == probe


# --------------------------------------------------------------------------- equivalence
@pytest.mark.parametrize(
    "min_count, iterations, reserved, max_len",
    [(1, 4, None, None), (3, 4, None, None), (2, 3, ["<pad>", "<EOS>", "<S>"], None)]
    + [(2, 4, None, 3), (1, 2, None, 1), (5, 1, None, 6)],
)
def test_builder_equals_reference(min_count, iterations, reserved, max_len) -> None:
    counts = dict(list(_golden_counts().items())[::7])
    counts |= {"<pad>": 3, "a_b\\c": 4, "x\ny": 2, "<EOS>": 5}  # raw reserved tokens, escapes
    encoder = SubwordTextEncoder()
    encoder.build_from_token_counts(counts, min_count, iterations, reserved, max_len)
    assert list(encoder.all_subtoken_strings) == reference_build(
        counts, min_count, iterations, reserved, max_len
    )


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(st.text(alphabet="abc_\\ \n", min_size=1, max_size=7), st.integers(1, 9)),
    st.integers(1, 4),
    st.sampled_from([None, 2, 3]),
)
def test_builder_equals_reference_random(counts, min_count, max_len) -> None:
    encoder = SubwordTextEncoder()
    encoder.build_from_token_counts(counts, min_count, 3, None, max_len)
    assert list(encoder.all_subtoken_strings) == reference_build(
        counts, min_count, 3, None, max_len
    )


def test_memoised_encode_equals_reference() -> None:
    encoder = SubwordTextEncoder(str(GOLDEN / "target300.subwords"))
    texts = _probe() + ["a b", " a b ", "a  b", "a b c ", "x  ", " ", "word, word", "x_ y"]
    for text in texts + texts:  # the second pass hits the memo
        assert encoder.encode(text) == reference_encode(encoder, text)


# --------------------------------------------------------------------------- properties
@pytest.fixture(scope="module")
def golden_encoder() -> SubwordTextEncoder:
    return SubwordTextEncoder(str(GOLDEN / "target300.subwords"))


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_roundtrip_any_unicode(golden_encoder: SubwordTextEncoder, text: str) -> None:
    assert golden_encoder.decode(golden_encoder.encode(text)) == text


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.sampled_from(list(" _\\;u0123456789\n\t\r\x00\x7f😀🎉東é")),
            st.characters(max_codepoint=0x10FFFF),
        ),
        max_size=80,
    )
)
def test_roundtrip_escapes_controls_emoji(golden_encoder: SubwordTextEncoder, text: str) -> None:
    ids = golden_encoder.encode(text)
    assert all(0 <= i < golden_encoder.vocab_size for i in ids)
    assert golden_encoder.decode(ids) == text


def test_roundtrip_long_runs(golden_encoder: SubwordTextEncoder) -> None:
    for text in ["", "a" * 5000, " " * 300, "_" * 100, "😀" * 200, "ab " * 1000 + "end"]:
        assert golden_encoder.decode(golden_encoder.encode(text)) == text


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab é1 .,(-_\\\n\t😀")), max_size=40))
def test_memoised_encode_equals_reference_random(golden_encoder, text: str) -> None:
    # Dense spaces and punctuation exercise both the str.split and the regex piece paths.
    assert golden_encoder.encode(text) == reference_encode(golden_encoder, text)
    assert golden_encoder.encode(text.encode("utf-8")) == reference_encode(golden_encoder, text)
