"""What every text encoder builds on: reserved tokens, unicode helpers, the TextEncoder base.

`t2t.data.text_encoder` re-exports all of it under T2T's module name.
"""

import struct
from collections.abc import Iterable, Sequence
from typing import Any

from t2t.data import tokenizer
from t2t.errors import DataError

PAD = "<pad>"
EOS = "<EOS>"
RESERVED_TOKENS = [PAD, EOS]
NUM_RESERVED_TOKENS = len(RESERVED_TOKENS)
PAD_ID = RESERVED_TOKENS.index(PAD)  # 0
EOS_ID = RESERVED_TOKENS.index(EOS)  # 1
RESERVED_TOKENS_BYTES = [PAD.encode("ascii"), EOS.encode("ascii")]


class IdOutOfRangeError(DataError, struct.error):
    """An id outside a byte encoder's range; T2T raised `struct.error` here."""


def native_to_unicode(s: str | bytes) -> str:
    """Returns `s` as str; bytes are decoded as UTF-8, dropping undecodable bytes."""
    if isinstance(s, str):
        return s
    try:
        return s.decode("utf-8")
    except UnicodeDecodeError:
        return s.decode("utf-8", errors="ignore")


def unicode_to_native(s: str) -> str:
    """Identity on Python 3 (kept for T2T user code)."""
    return s


def is_unicode(s: Any) -> bool:
    """True for str."""
    return isinstance(s, str)


def to_unicode(s: str | bytes, ignore_errors: bool = False) -> str:
    """`s` as str; bytes are decoded as UTF-8 (strictly unless `ignore_errors`)."""
    if isinstance(s, str):
        return s
    return s.decode("utf-8", errors="ignore" if ignore_errors else "strict")


def to_unicode_ignore_errors(s: str | bytes) -> str:
    """`s` as str; undecodable UTF-8 bytes are dropped."""
    return to_unicode(s, ignore_errors=True)


def to_unicode_utf8(s: bytes) -> str:
    """UTF-8 bytes as str."""
    return s.decode("utf-8")


def strip_ids(ids: Iterable[int], ids_to_strip: Sequence[int]) -> list[int]:
    """Removes ids in `ids_to_strip` from the END of `ids` (only trailing ones)."""
    ids = list(ids)
    while ids and ids[-1] in ids_to_strip:
        ids.pop()
    return ids


def read_lines(filename: str, what: str = "file") -> list[str]:
    """All lines of a UTF-8 file, read as T2T's tf.gfile does (see tokenizer.iter_file_lines)."""
    return list(tokenizer.iter_file_lines(filename, what))


class TextEncoder:
    """Base encoder: space-separated integers, shifted by `num_reserved_ids`."""

    def __init__(self, num_reserved_ids: int = NUM_RESERVED_TOKENS):
        self._num_reserved_ids = num_reserved_ids

    @property
    def num_reserved_ids(self) -> int:
        """Ids below this are reserved (PAD, EOS)."""
        return self._num_reserved_ids

    def encode(self, s: str) -> list[int]:
        """ "1 2 3" -> [3, 4, 5] (with 2 reserved ids). No EOS is appended."""
        return [int(w) + self._num_reserved_ids for w in s.split()]

    def decode(self, ids: Iterable[int], strip_extraneous: bool = False) -> str:
        """Ids to a human-readable string; `strip_extraneous` drops trailing PAD/EOS ids."""
        if strip_extraneous:
            ids = strip_ids(ids, list(range(self._num_reserved_ids or 0)))
        return " ".join(self.decode_list(ids))

    def decode_list(self, ids: Iterable[int]) -> list[str]:
        """Each id as a string; reserved ids become "<pad>"/"<EOS>"."""
        decoded = []
        for id_ in ids:
            if 0 <= id_ < self._num_reserved_ids:
                decoded.append(RESERVED_TOKENS[int(id_)])
            else:
                decoded.append(id_ - self._num_reserved_ids)
        return [str(d) for d in decoded]

    @property
    def vocab_size(self) -> int:
        """Number of ids; subclasses define it."""
        raise NotImplementedError()
