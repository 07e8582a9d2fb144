"""The C encoder (t2t.data._subword) against the pure-Python SubwordTextEncoder path.

The Python path (`SubwordTextEncoder._encode_python`, checked against T2T by
test_text_encoder.py) is the reference: the native path must give the same ids for any text,
and the same DataError where the vocabulary cannot encode a token. Native tests skip when the
extension is not built; the fallback tests always run.
"""

import collections
import copy
import json
import pathlib
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from t2t.data import subword_encoder, text_encoder
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "text_encoder"
GOLDEN_CASES = ["target300", "target150_maxlen4", "target250_reserved", "mincount3_iter2"]
SubwordTextEncoder = text_encoder.SubwordTextEncoder

FOX = ["the quick brown fox jumps over the lazy dog", "The dog_s bark: \\woof\\ 42!"]
EDGE_TEXTS = [
    "",
    " ",
    "  ",
    " a",
    "a ",
    " a b ",
    "a  b",
    "a b c ",
    "x_ y",
    "\\_\\u;",
    "\x00\x01\n\t\r",
    "😀🎉 東京 é",
    "a" * 3000,
    "ab " * 500 + "end",
    "\U0010ffff\U00010000 \ud800x",
    "ÿ ÿ Ā Ā 😀 😀",
]


@pytest.fixture(scope="module", autouse=True)
def native_allowed():
    # These tests are about the native path, even where T2T_PURE_PYTHON=1 is set outside.
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(text_encoder.PURE_PYTHON_ENV, raising=False)
        yield


@pytest.fixture()
def subword():
    return pytest.importorskip("t2t.data._subword")


def outcome(encode, text: str):
    """The ids, or the DataError message."""
    try:
        return encode(text)
    except DataError as error:
        return ("DataError", str(error))


def assert_native(encoder: SubwordTextEncoder, subword) -> None:
    encoder.encode("")
    assert isinstance(encoder._native, subword.Encoder)


def small_encoder(texts=FOX, target: int = 60) -> SubwordTextEncoder:
    return SubwordTextEncoder.build_from_generator(texts, target)


@pytest.fixture(scope="module")
def golden_encoder() -> SubwordTextEncoder:
    return SubwordTextEncoder(str(GOLDEN / "target300.subwords"))


# --------------------------------------------------------------------------- golden files
@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_ids(subword, name: str) -> None:
    encoder = SubwordTextEncoder(str(GOLDEN / f"{name}.subwords"))
    assert_native(encoder, subword)
    expected = json.loads((GOLDEN / f"{name}.ids.json").read_text())
    probe = (GOLDEN / "probe.txt").read_text(encoding="utf-8").split("\n")[:-1]
    for _ in range(2):  # cold, then cached
        assert [encoder.encode(line) for line in probe] == expected
    for text in EDGE_TEXTS:
        assert encoder.encode(text) == encoder._encode_python(text)


# --------------------------------------------------------------------------- properties
ANY_CHAR = st.characters(exclude_categories=())  # every code point, surrogates included
DENSE_CHAR = st.sampled_from(list("ab é1 .,(-_\\;u\n\t\x00😀東Ā"))


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.one_of(ANY_CHAR, DENSE_CHAR), max_size=60))
def test_any_text_golden_vocab(golden_encoder, text: str) -> None:
    pytest.importorskip("t2t.data._subword")
    assert golden_encoder.encode(text) == golden_encoder._encode_python(text)


@pytest.fixture(scope="module")
def fox_encoder() -> SubwordTextEncoder:
    # Lower-case ASCII vocabulary: capitals, digits, CJK, emoji... are escaped.
    return small_encoder()


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.one_of(ANY_CHAR, DENSE_CHAR), max_size=60))
def test_any_text_small_vocab_with_escapes(fox_encoder, text: str) -> None:
    pytest.importorskip("t2t.data._subword")
    assert fox_encoder.encode(text) == fox_encoder._encode_python(text)
    assert fox_encoder.decode(fox_encoder.encode(text)) == text


@pytest.fixture(scope="module", params=["\\_;u", "_"])
def lacking_encoder(request) -> SubwordTextEncoder:
    # Built with fewer escape characters than T2T's: no digits, so every "\\N;" escape fails;
    # with only "_" (which ends every escaped token), "\\" and "_" cannot be encoded either.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(text_encoder, "_ESCAPE_CHARS", set(request.param))
        return small_encoder(["the quick brown fox jumps over the lazy dog"], target=100)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.one_of(ANY_CHAR, DENSE_CHAR), max_size=30))
def test_any_text_vocab_lacking_chars(lacking_encoder, text: str) -> None:
    pytest.importorskip("t2t.data._subword")
    expected = outcome(lacking_encoder._encode_python, text)
    assert outcome(lacking_encoder.encode, text) == expected


def test_unencodable_raises_the_python_error(subword, lacking_encoder) -> None:
    assert_native(lacking_encoder, subword)
    text = "the fox 7 THE"
    with pytest.raises(DataError, match="not found in subtoken vocabulary") as native_error:
        lacking_encoder.encode(text)
    with pytest.raises(DataError) as python_error:
        lacking_encoder._encode_python(text)
    assert str(native_error.value) == str(python_error.value)
    assert lacking_encoder.encode("the fox") == lacking_encoder._encode_python("the fox")


# --------------------------------------------------------------------------- string kinds, cache
def test_string_kinds_share_cache_entries(subword) -> None:
    encoder = small_encoder()
    assert_native(encoder, subword)
    encoder.encode("the lazy dog")  # 1-byte string
    for first in ("\u0100 ", "\U0001f600 "):  # 2- and 4-byte strings with the same tokens
        size = encoder._native.cache_size()
        mixed = first + "the lazy dog"
        assert encoder.encode(mixed) == encoder._encode_python(mixed)
        assert encoder._native.cache_size() == size + 1  # only the first token is new


def test_cache_is_cleared_at_the_limit(subword, monkeypatch) -> None:
    monkeypatch.setattr(subword_encoder, "_MEMO_LIMIT", 3)
    encoder = small_encoder()
    assert_native(encoder, subword)
    words = [f"w{i}" for i in range(20)]
    for word in words + words:
        assert encoder.encode(word) == encoder._encode_python(word)
        assert 1 <= encoder._native.cache_size() <= 3
    text = " ".join(words)
    assert encoder.encode(text) == encoder._encode_python(text)


def test_bytes_input(subword, golden_encoder) -> None:
    text = "Grüße, 東京 😀!"
    assert golden_encoder.encode(text.encode("utf-8")) == golden_encoder._encode_python(text)
    assert golden_encoder.encode(b"ab\xffcd") == golden_encoder._encode_python("abcd")


def test_duplicate_subtoken_encodes_to_last_id(subword) -> None:
    encoder = SubwordTextEncoder()
    encoder._init_subtokens_from_list(["<pad>_", "<EOS>_", "a_", "a", "_", "a_"])
    encoder._init_alphabet_from_tokens(encoder.all_subtoken_strings)
    assert_native(encoder, subword)
    assert encoder.encode("a") == [5]


# --------------------------------------------------------------------------- invalidation
def test_vocab_and_alphabet_changes_rebuild_the_native_encoder(subword) -> None:
    encoder = small_encoder()
    assert_native(encoder, subword)
    first = encoder._native
    encoder._alphabet = set(encoder._alphabet) - set("o")  # "o" now escaped
    assert encoder.encode("dog") == encoder._encode_python("dog")
    assert encoder._native is not first
    second = encoder._native
    counts = collections.Counter("zebras zigzag on ice".split())
    encoder.build_from_token_counts(counts, 1)
    assert encoder._native is None
    for text in ("zebras on ice", "the dog", "Zebra!"):
        assert encoder.encode(text) == encoder._encode_python(text)
    assert encoder._native not in (None, first, second)


def test_subclass_overriding_a_hook_gets_the_python_path(subword) -> None:
    class Upper(SubwordTextEncoder):
        def _token_ids(self, token: str) -> list[int]:
            return super()._token_ids(token.upper())

    encoder = Upper.build_from_generator(FOX, 60)
    assert encoder.encode("the dog") == SubwordTextEncoder._encode_python(encoder, "the dog")
    assert encoder._native is False


def test_pickle_and_deepcopy_remake_the_native_encoder(subword) -> None:
    encoder = small_encoder()
    assert_native(encoder, subword)
    for copied in (pickle.loads(pickle.dumps(encoder)), copy.deepcopy(encoder)):
        assert copied._native is None
        assert copied.encode("the Dog") == encoder.encode("the Dog")
        assert isinstance(copied._native, subword.Encoder)


# --------------------------------------------------------------------------- fallback
def test_pure_python_env_var(monkeypatch) -> None:
    monkeypatch.setenv(text_encoder.PURE_PYTHON_ENV, "1")
    encoder = SubwordTextEncoder(str(GOLDEN / "target300.subwords"))
    expected = json.loads((GOLDEN / "target300.ids.json").read_text())
    probe = (GOLDEN / "probe.txt").read_text(encoding="utf-8").split("\n")[:-1]
    assert [encoder.encode(line) for line in probe] == expected
    assert encoder._native is False


def test_without_the_extension(monkeypatch) -> None:
    monkeypatch.setattr(subword_encoder, "_subword", None)
    encoder = small_encoder()
    assert encoder.decode(encoder.encode("The Dog")) == "The Dog"
    assert encoder._native is False
