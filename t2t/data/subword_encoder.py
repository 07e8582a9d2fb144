"""SubwordTextEncoder: T2T's invertible subword encoding, its vocab files and ids.

Encoding runs in the C extension `t2t.data._subword` when it is built (same algorithm and
ids), else in Python. Vocabulary building lives in `t2t.data.subword_builder`.
`t2t.data.text_encoder` re-exports the names here under T2T's module name.
"""

import os
import re
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

from t2t.data import tokenizer
from t2t.data.text_encoder_base import (
    RESERVED_TOKENS,
    TextEncoder,
    native_to_unicode,
    read_lines,
    strip_ids,
)
from t2t.errors import DataError

try:
    from t2t.data import _subword
except ImportError:  # the optional C extension was not built: the pure-Python path runs
    _subword = None

_UNESCAPE_REGEX = re.compile(r"\\u|\\\\|\\([0-9]+);")

# T2T's subword encoder kept a 2**20-slot cache; our per-token memo is cleared at that size.
_MEMO_LIMIT = 2**20

# Set to 1 to make SubwordTextEncoder ignore the C extension (read when an encoder first encodes).
PURE_PYTHON_ENV = "T2T_PURE_PYTHON"


def _escape_chars() -> set[str]:
    """`text_encoder._ESCAPE_CHARS`, read at call time so that patching it takes effect."""
    from t2t.data import text_encoder

    return text_encoder._ESCAPE_CHARS


def _escape_token(token: str, alphabet: set[str]) -> str:
    """Escapes "\\" and "_", writes out-of-alphabet chars and "\\n" as "\\N;", appends "_".

    Raises:
      ValueError: `token` is not a str.
    """
    if not isinstance(token, str):
        raise ValueError(f"Expected string type for token, got {type(token)}")
    token = token.replace("\\", "\\\\").replace("_", "\\u")
    ret = [c if c in alphabet and c != "\n" else f"\\{ord(c)};" for c in token]
    return "".join(ret) + "_"


def _unescape_match(m: re.Match) -> str:
    if m.group(1) is None:
        return "_" if m.group(0) == "\\u" else "\\"
    try:
        return chr(int(m.group(1)))
    except (ValueError, OverflowError):
        return "\u3013"  # GETA MARK, T2T's stand-in for an invalid code point.


def _unescape_token(escaped_token: str) -> str:
    """Inverse of `_escape_token`."""
    trimmed = escaped_token[:-1] if escaped_token.endswith("_") else escaped_token
    return _UNESCAPE_REGEX.sub(_unescape_match, trimmed)


# The pure-Python encoding (the reference for the C extension `_subword`, and its fallback):
# ids are memoised per piece of text (tokenizer.split_pieces: the
# text split at every space followed by an alphanumeric char, always a whole number of tokens),
# and each line's ids are built with `map` + `chain` over the memos, without per-character and
# almost without per-token Python work. `_chunk_memo` holds pieces followed by a space,
# `_last_memo` final pieces, `_memo` single tokens.


class _Memo(dict):
    """A dict that computes and stores missing values (cleared when it grows too large)."""

    def __init__(self, compute: Callable[[str], list[int]]):
        super().__init__()
        self._compute = compute

    def __missing__(self, key: str) -> list[int]:
        value = self._compute(key)
        if len(self) >= _MEMO_LIMIT:
            self.clear()
        self[key] = value
        return value


# Methods that define encoding: a subclass overriding one of them gets the Python path, which
# calls them (the C extension would bypass them).
_ENCODING_HOOKS = (
    "_token_ids",
    "_chunk_ids",
    "_last_chunk_ids",
    "_escaped_token_to_subtoken_strings",
    "_escaped_token_to_subtoken_ids",
)


class SubwordTextEncoder(TextEncoder):
    """Invertible subword encoding with T2T's algorithm, vocab file format and ids.

    Encoding: tokenize, escape each token (`_escape_token`), then split it greedily into the
    longest vocabulary subtokens from the left. Each distinct token is encoded once per encoder
    and memoised, which is what makes encoding fast: real text repeats its tokens.

    `encode` runs in C (`t2t.data._subword`, same algorithm and ids) when the extension is
    built and T2T_PURE_PYTHON is not 1; the native encoder is made on the first `encode` after
    the vocabulary or `_alphabet` is set (changing the alphabet in place is not noticed, as
    by the memos). Text the vocabulary cannot encode goes through the Python path, which
    raises the DataError.
    """

    def __init__(self, filename: str | None = None):
        super().__init__()
        self._alphabet: set[str] = set()
        self.filename = filename
        self._init_subtokens_from_list([])
        if filename is not None:
            self._load_from_file(filename)

    # ----------------------------------------------------------------------------- encoding
    def encode(self, s: str | bytes) -> list[int]:
        """Converts a string to subtoken ids in [0, vocab_size); no EOS is appended.

        Raises:
          DataError: some part of a token matches no subtoken (the vocabulary lacks a
            character it needs).
        """
        if not isinstance(s, str):
            s = native_to_unicode(s)
        native = self._native
        if native is None or self._native_alphabet is not self._alphabet:
            native = self._make_native()
        if native:
            ids = native.encode(s)
            if ids is not None:  # None: a token needs a missing subtoken; Python raises
                return ids
        return self._encode_python(s)

    def _make_native(self) -> Any:
        """The C encoder for the current vocabulary and alphabet, or False (Python path)."""
        self._native_alphabet = self._alphabet
        self._native = False
        if (
            _subword is not None
            and os.environ.get(PURE_PYTHON_ENV) != "1"
            and all(
                getattr(type(self), hook) is getattr(SubwordTextEncoder, hook)
                for hook in _ENCODING_HOOKS
            )
        ):
            self._native = _subword.Encoder(
                self._subtoken_string_to_id, self.vocab_size, self._alphabet, _MEMO_LIMIT
            )
        return self._native

    def __getstate__(self) -> dict[str, Any]:
        # The C encoder cannot be pickled (e.g. into DataLoader workers); it is remade on use.
        state = self.__dict__.copy()
        state["_native"] = None
        return state

    def _encode_python(self, s: str) -> list[int]:
        pieces = tokenizer.split_pieces(s)
        last = self._last_memo[pieces.pop()]
        ids = list(chain.from_iterable(map(self._chunk_memo.__getitem__, pieces)))
        ids += last
        return ids

    def _token_ids(self, token: str) -> list[int]:
        if token.isalnum() and self._alphabet.issuperset(token):
            escaped = token + "_"  # nothing to escape: the common case, without a char loop
        else:
            escaped = _escape_token(token, self._alphabet)
        return self._escaped_token_to_subtoken_ids(escaped)

    def _chunk_ids(self, piece: str) -> list[int]:
        tokens = tokenizer.piece_tokens(piece, last=False)
        return list(chain.from_iterable(map(self._memo.__getitem__, tokens)))

    def _last_chunk_ids(self, piece: str) -> list[int]:
        tokens = tokenizer.piece_tokens(piece, last=True)
        return list(chain.from_iterable(map(self._memo.__getitem__, tokens)))

    def encode_without_tokenizing(self, token_text: str | bytes) -> list[int]:
        """Encodes `token_text` as one single token (no tokenizer)."""
        return self._token_to_subtoken_ids(native_to_unicode(token_text))

    def _tokens_to_subtoken_ids(self, tokens: Iterable[str]) -> list[int]:
        ret: list[int] = []
        for token in tokens:
            ret.extend(self._token_to_subtoken_ids(token))
        return ret

    def _token_to_subtoken_ids(self, token: str) -> list[int]:
        return list(self._memo[token])

    def _escaped_token_to_subtoken_strings(self, escaped_token: str) -> list[str]:
        """Greedy longest-prefix split of an escaped token into vocabulary subtokens.

        Walks forward while the text is a prefix of some subtoken (a prefix table instead of
        T2T's trying every length from the longest down; same result).

        Raises:
          DataError (a ValueError): some part cannot be matched, i.e. the vocabulary lacks a
            single-character subtoken it needs (e.g. an escape character).
        """
        if self._prefixes is None:
            self._prefixes = self._prefix_table()
        prefixes = self._prefixes
        ret = []
        start = 0
        token_len = len(escaped_token)
        while start < token_len:
            best = 0
            end = start + 1
            while end <= token_len:
                is_subtoken = prefixes.get(escaped_token[start:end])
                if is_subtoken is None:
                    break
                if is_subtoken:
                    best = end
                end += 1
            if not best:
                raise DataError(
                    f"Token substring '{escaped_token[start:]}' of '{escaped_token}' not found "
                    "in subtoken vocabulary (the vocabulary lacks a character it needs)."
                )
            ret.append(escaped_token[start:best])
            start = best
        return ret

    def _prefix_table(self) -> dict[str, bool]:
        """Every prefix of every subtoken -> whether it is itself a subtoken."""
        table: dict[str, bool] = {}
        for subtoken in self._subtoken_string_to_id:
            for n in range(1, len(subtoken)):
                table.setdefault(subtoken[:n], False)
        table.update(dict.fromkeys(self._subtoken_string_to_id, True))
        return table

    def _escaped_token_to_subtoken_ids(self, escaped_token: str) -> list[int]:
        vocab = self._subtoken_string_to_id
        return [vocab[s] for s in self._escaped_token_to_subtoken_strings(escaped_token)]

    # ----------------------------------------------------------------------------- decoding
    def decode(self, ids: Iterable[int], strip_extraneous: bool = False) -> str:
        """Converts subtoken ids back to the string; ids outside the vocab decode to ""."""
        if strip_extraneous:
            ids = strip_ids(ids, list(range(self._num_reserved_ids or 0)))
        return tokenizer.decode(self._subtoken_ids_to_tokens(ids))

    def decode_list(self, ids: Iterable[int]) -> list[str]:
        """Each id's subtoken string ("" for ids outside the vocabulary)."""
        return [self._subtoken_id_to_subtoken_string(s) for s in ids]

    def _subtoken_ids_to_tokens(self, subtokens: Iterable[int]) -> list[str]:
        strings = self._all_subtoken_strings
        size = len(strings)
        # T2T silently maps ids outside [0, vocab_size) to "" (no error); so do we.
        concatenated = "".join([strings[s] if 0 <= s < size else "" for s in subtokens])
        ret = []
        for piece in concatenated.split("_"):
            if piece:
                unescaped = _unescape_token(piece + "_")
                if unescaped:
                    ret.append(unescaped)
        return ret

    def _subtoken_id_to_subtoken_string(self, subtoken: int) -> str:
        if 0 <= subtoken < self.vocab_size:
            return self._all_subtoken_strings[subtoken]
        return ""

    @property
    def vocab_size(self) -> int:
        """Number of subtokens (reserved ones included)."""
        return len(self._all_subtoken_strings)

    @property
    def all_subtoken_strings(self) -> tuple[str, ...]:
        """The subtoken strings in id order."""
        return tuple(self._all_subtoken_strings)

    def dump(self) -> None:
        """Prints the vocabulary as "id : 'subtoken'" (debugging)."""
        pairs = sorted((i, s) for s, i in self._subtoken_string_to_id.items())
        print(", ".join(f"{i} : '{s}'" for i, s in pairs))

    # ----------------------------------------------------------------------------- building
    @classmethod
    def build_from_generator(
        cls,
        generator: Iterable[str | bytes],
        target_size: int,
        max_subtoken_length: int | None = None,
        reserved_tokens: list[str] | None = None,
    ) -> "SubwordTextEncoder":
        """Builds a vocabulary of about `target_size` subtokens from the generated texts."""
        token_counts = tokenizer.count_tokens(native_to_unicode(item) for item in generator)
        return cls.build_to_target_size(
            target_size,
            token_counts,
            1,
            1e3,
            max_subtoken_length=max_subtoken_length,
            reserved_tokens=reserved_tokens,
        )

    @classmethod
    def build_to_target_size(
        cls,
        target_size: int,
        token_counts: dict[str, int],
        min_val: float,
        max_val: float,
        max_subtoken_length: int | None = None,
        reserved_tokens: list[str] | None = None,
        num_iterations: int = 4,
    ) -> "SubwordTextEncoder":
        """Bisects over min_count for the vocabulary whose size is closest to `target_size`.

        Raises:
          ValueError: min_val > max_val or target_size < 1.
        """
        from t2t.data import subword_builder

        if min_val > max_val:
            raise ValueError(
                "Lower bound for the minimum token count is greater than the upper bound."
            )
        if target_size < 1:
            raise ValueError("Target size must be positive.")
        builder = subword_builder.SubwordBuilder(
            token_counts,
            _reserved_or_default(reserved_tokens),
            max_subtoken_length,
            _escape_chars(),
        )
        subtoken_strings = builder.build_to_target_size(
            target_size, min_val, max_val, num_iterations
        )
        return cls._from_built(subtoken_strings, builder.alphabet)

    def build_from_token_counts(
        self,
        token_counts: dict[str, int],
        min_count: int,
        num_iterations: int = 4,
        reserved_tokens: list[str] | None = None,
        max_subtoken_length: int | None = None,
    ) -> None:
        """Trains this encoder's vocabulary on token counts, keeping subtokens >= min_count."""
        from t2t.data import subword_builder

        builder = subword_builder.SubwordBuilder(
            token_counts,
            _reserved_or_default(reserved_tokens),
            max_subtoken_length,
            _escape_chars(),
        )
        self._alphabet = set(builder.alphabet)
        self._init_subtokens_from_list(builder.build(min_count, num_iterations))

    @classmethod
    def _from_built(cls, subtoken_strings: list[str], alphabet: set[str]) -> "SubwordTextEncoder":
        encoder = cls()
        encoder._alphabet = set(alphabet)
        encoder._init_subtokens_from_list(subtoken_strings)
        return encoder

    # ----------------------------------------------------------------------------- vocab files
    def _init_subtokens_from_list(
        self, subtoken_strings: list[str], reserved_tokens: list[str] | None = None
    ) -> None:
        """Sets the vocabulary; a duplicated string encodes to its LAST id, as in T2T."""
        reserved_tokens = reserved_tokens or []
        self._all_subtoken_strings = list(reserved_tokens) + list(subtoken_strings)
        self._max_subtoken_len = max((len(s) for s in subtoken_strings), default=0)
        offset = len(reserved_tokens)
        self._subtoken_string_to_id = {s: i + offset for i, s in enumerate(subtoken_strings) if s}
        self._prefixes: dict[str, bool] | None = None
        self._memo = _Memo(self._token_ids)
        self._chunk_memo = _Memo(self._chunk_ids)
        self._last_memo = _Memo(self._last_chunk_ids)
        self._native: Any = None  # made on the next encode
        self._native_alphabet: set[str] | None = None

    def _init_alphabet_from_tokens(self, tokens: Iterable[str]) -> None:
        self._alphabet = {c for token in tokens for c in token}
        self._alphabet |= _escape_chars()

    def _load_from_file_object(self, f: Iterable[str], name: str = "vocab file") -> None:
        """Reads one subtoken per line; outer '...' or "..." quotes are removed."""
        subtoken_strings = []
        for line in f:
            s = line.rstrip()
            if (s.startswith("'") and s.endswith("'")) or (s.startswith('"') and s.endswith('"')):
                s = s[1:-1]
            subtoken_strings.append(native_to_unicode(s))
        if not subtoken_strings:
            raise DataError(f"{name} is empty: a subword vocabulary needs at least one subtoken")
        self._init_subtokens_from_list(subtoken_strings)
        self._init_alphabet_from_tokens(subtoken_strings)

    def _load_from_file(self, filename: str) -> None:
        self._load_from_file_object(read_lines(filename, "vocab file"), f"vocab file {filename}")

    def store_to_file(self, filename: str, add_single_quotes: bool = True) -> None:
        """Writes one subtoken per line in id order, wrapped in single quotes by default."""
        with open(filename, "w", encoding="utf-8", newline="") as f:
            if add_single_quotes:
                f.write("".join(f"'{s}'\n" for s in self._all_subtoken_strings))
            else:
                f.write("".join(f"{s}\n" for s in self._all_subtoken_strings))


def _reserved_or_default(reserved_tokens: list[str] | None) -> list[str]:
    """Reserved tokens; RESERVED_TOKENS must be a prefix of a custom list."""
    if reserved_tokens is None:
        return list(RESERVED_TOKENS)
    for default, proposed in zip(RESERVED_TOKENS, reserved_tokens):
        if default != proposed:
            raise ValueError("RESERVED_TOKENS must be a prefix of reserved_tokens.")
    return [native_to_unicode(t) for t in reserved_tokens]
