"""T2T's invertible tokenizer: splits text at every alphanumeric / non-alphanumeric boundary.

Rules (identical to `tensor2tensor.data_generators.tokenizer`):

1. Split the text at every boundary between an alphanumeric character (Unicode category L* or
   N*) and a non-alphanumeric one, so tokens alternate between the two kinds.
2. Drop every token that is exactly one space, unless it is the first or the last token: such
   a space is implied by two adjacent alphanumeric tokens, and `decode` puts it back.

e.g. "Dude - that's so cool." -> ["Dude", " - ", "that", "'", "s", "so", "cool", "."]

T2T classifies characters with a 1.1-million-entry set built at import time. We use the regex
class `[^\\W_]` instead: for `str` patterns it matches exactly the characters whose category
starts with L or N (checked over every code point by the tests), costs nothing at import and
lets `re` do the splitting in C. Like T2T, the classification follows the running Python's
`unicodedata` version.
"""

import collections
import glob
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator

from t2t.errors import DataError

# One alphanumeric run or one non-alphanumeric run.
_TOKEN_RE = re.compile(r"[^\W_]+|[\W_]+")
_ALNUM_RE = re.compile(r"[^\W_]")


def __getattr__(name: str) -> set[str]:
    # T2T exposes the set as a module attribute; build it only if someone asks for it.
    if name == "_ALPHANUMERIC_CHAR_SET":
        chars = {
            chr(i) for i in range(sys.maxunicode) if unicodedata.category(chr(i))[0] in ("L", "N")
        }
        globals()[name] = chars
        return chars
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def encode(text: str) -> list[str]:
    """Splits a unicode string into T2T tokens.

    Args:
      text: the string to tokenize.

    Returns:
      The tokens; "".join(...) of them with the dropped single spaces restored is `text`.
    """
    if not text:
        return []
    tokens = _TOKEN_RE.findall(text)
    if len(tokens) > 2 and " " in tokens:
        last = tokens[-1]
        tokens = [tokens[0]] + [t for t in tokens[1:-1] if t != " "] + [last]
    return tokens


def decode(tokens: list[str]) -> str:
    """Joins tokens, inserting a space between two consecutive alphanumeric tokens.

    Args:
      tokens: a list of non-empty strings, as produced by `encode`.

    Returns:
      The text.
    """
    ret = []
    previous_alnum = False
    for i, token in enumerate(tokens):
        is_alnum = _ALNUM_RE.match(token) is not None
        if i > 0 and previous_alnum and is_alnum:
            ret.append(" ")
        ret.append(token)
        previous_alnum = is_alnum
    return "".join(ret)


def _expand_filepattern(filepattern: str) -> list[str]:
    """Sorted files matching a glob; comma-separated globs are each expanded."""
    filenames = set()
    for pattern in filepattern.split(","):
        if pattern.strip():
            filenames.update(glob.glob(pattern.strip()))
    if not filenames:
        raise DataError(f"no files match the pattern {filepattern!r}")
    return sorted(filenames)


def iter_file_lines(filename: str, what: str = "file") -> Iterator[str]:
    """Yields the lines of a UTF-8 file as T2T's tf.gfile line iteration does.

    Lines (with their "\\n") are split at "\\n" only, and every "\\r" is dropped: tf.gfile's
    readline drops carriage returns (checked with T2T 1.15.7), and T2T reads corpora, vocab and
    label files that way.

    Raises:
      DataError: the file is missing or unreadable, or a line is not valid UTF-8 (the message
        names the line).
    """
    try:
        f = open(filename, "rb")
    except FileNotFoundError:
        raise DataError(f"{what} {filename} not found") from None
    except OSError as error:
        raise DataError(f"cannot read {what} {filename}: {error.strerror}") from None
    with f:
        for number, raw in enumerate(f, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DataError(
                    f"{what} {filename}: line {number} is not valid UTF-8 ({error.reason})"
                ) from None
            yield line.replace("\r", "") if "\r" in line else line


def _read_whole_file(filename: str) -> str:
    """The whole file (tf.gfile's read() keeps "\\r")."""
    with open(filename, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DataError(f"{filename}: line {line} is not valid UTF-8 ({error.reason})") from None


def _read_filepattern(
    filepattern: str, max_lines: int | None = None, split_on_newlines: bool = True
) -> Iterator[str]:
    """Yields stripped lines (split_on_newlines) or whole files of the matching files.

    Stops after `max_lines` lines in total (0 or None: no limit). Without splitting and with a
    line limit, the last document holds the lines read up to the limit.
    """
    lines_read = 0
    for filename in _expand_filepattern(filepattern):
        if split_on_newlines:
            for line in iter_file_lines(filename):
                yield line.strip()
                lines_read += 1
                if max_lines and lines_read >= max_lines:
                    return
        elif max_lines:
            doc = []
            for line in iter_file_lines(filename):
                doc.append(line)
                lines_read += 1
                if lines_read >= max_lines:
                    yield "".join(doc)
                    return
            yield "".join(doc)
        else:
            yield _read_whole_file(filename)


# Pieces: the text split at every space followed by an alphanumeric char. Such a space always
# ends a token (it ends the preceding non-alphanumeric token, or it is a single space between
# two alphanumeric tokens, which `encode` drops), so every piece is a whole number of tokens and
# the tokens of a text are those of its pieces. Texts repeat their pieces (words with their
# punctuation), so counting and encoding work per distinct piece. When every space is followed
# by an alphanumeric char, the pieces are simply `str.split(" ")` (fast, in C).
_SLOW_TEXT_RE = re.compile(r" (?:[\W_]|$)")
_PIECE_SPLIT_RE = re.compile(r" (?=[^\W_])")


def split_pieces(text: str) -> list[str]:
    """Splits `text` into pieces; see above. "".join with " " between them gives `text`."""
    if _SLOW_TEXT_RE.search(text) is None:
        return text.split(" ")
    return _PIECE_SPLIT_RE.split(text)


def piece_tokens(piece: str, last: bool) -> list[str]:
    """The tokens of a piece: the final one of its text if `last`, else one followed by a space."""
    if piece.isalnum():
        return [piece]
    if last:
        return encode(piece)
    tokens = encode(piece + " ")
    if len(tokens) > 1 and tokens[-1] == " ":
        tokens.pop()  # the single space between two alphanumeric tokens: dropped
    return tokens


def count_tokens(texts: Iterable[str]) -> collections.Counter:
    """Counts the tokens of `encode(text)` over all texts (via distinct pieces, same counts)."""
    middle: collections.Counter = collections.Counter()
    final: collections.Counter = collections.Counter()
    for text in texts:
        pieces = split_pieces(text)
        final[pieces.pop()] += 1
        middle.update(pieces)
    counts: collections.Counter = collections.Counter()
    for pieces, last in ((middle, False), (final, True)):
        for piece, count in pieces.items():
            for token in piece_tokens(piece, last):
                counts[token] += count
    return counts


def corpus_token_counts(
    text_filepattern: str, corpus_max_lines: int | None, split_on_newlines: bool = True
) -> collections.Counter:
    """Counts tokens in the files matching a pattern.

    Args:
      text_filepattern: a glob (or comma-separated globs) of UTF-8 text files.
      corpus_max_lines: stop after this many lines in total (0 or None: all lines).
      split_on_newlines: if True every stripped line is a document; otherwise a whole file.

    Returns:
      A Counter mapping token to count.

    Raises:
      DataError: no file matches the pattern, or a file is not valid UTF-8.
    """
    return count_tokens(_read_filepattern(text_filepattern, corpus_max_lines, split_on_newlines))


def vocab_token_counts(text_filepattern: str, max_lines: int | None) -> dict[str, int]:
    """Reads `token,count` lines (split at the last comma) into a dict.

    Lines without a comma are skipped but count towards `max_lines`, as in T2T.

    Raises:
      DataError: no file matches, or a count is not an integer (the message names the line).
    """
    ret = {}
    for i, line in enumerate(_read_filepattern(text_filepattern, max_lines=max_lines)):
        if "," not in line:
            continue
        token, count = line.rsplit(",", 1)
        try:
            ret[token] = int(count)
        except ValueError:
            raise DataError(
                f"{text_filepattern}: line {i + 1}: count {count!r} is not an integer"
            ) from None
    return ret
