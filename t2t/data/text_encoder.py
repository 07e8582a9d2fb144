"""Text encoders, compatible with `tensor2tensor.data_generators.text_encoder`.

* TextEncoder: space-separated integers, shifted past the reserved ids.
* ByteTextEncoder: UTF-8 bytes (CHARACTER vocab).
* TokenTextEncoder: whitespace tokens with a vocabulary file or list.
* SubwordTextEncoder: invertible subword encoding; vocab files built by T2T load here and encode
  to the same ids, and vocabularies built here are byte-identical to T2T's.
* ClassLabelEncoder, OneHotClassLabelEncoder, RealEncoder.

Ids 0 and 1 are reserved for `<pad>` and `<EOS>`. The base class, reserved
tokens and unicode helpers live in `t2t.data.text_encoder_base`, the subword encoder in
`t2t.data.subword_encoder`, vocabulary building in `t2t.data.subword_builder`; this module
re-exports T2T's public (and commonly used private) names, because T2T user code imports it
under T2T's module name.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from t2t.data.image_encoder import ImageEncoder
from t2t.data.subword_encoder import (  # noqa: F401 - _escape_token etc.: T2T code uses them
    PURE_PYTHON_ENV,
    SubwordTextEncoder,
    _escape_token,
    _unescape_token,
)
from t2t.data.text_encoder_base import (
    EOS,
    EOS_ID,
    NUM_RESERVED_TOKENS,
    PAD,
    PAD_ID,
    RESERVED_TOKENS,
    RESERVED_TOKENS_BYTES,
    IdOutOfRangeError,
    TextEncoder,
    is_unicode,
    native_to_unicode,
    read_lines,
    strip_ids,
    to_unicode,
    to_unicode_ignore_errors,
    to_unicode_utf8,
    unicode_to_native,
)
from t2t.errors import DataError

__all__ = [
    "EOS",
    "EOS_ID",
    "NUM_RESERVED_TOKENS",
    "PAD",
    "PAD_ID",
    "PURE_PYTHON_ENV",
    "RESERVED_TOKENS",
    "RESERVED_TOKENS_BYTES",
    "ByteTextEncoder",
    "ClassLabelEncoder",
    "IdOutOfRangeError",
    "ImageEncoder",
    "OneHotClassLabelEncoder",
    "RealEncoder",
    "SubwordTextEncoder",
    "TextEncoder",
    "TokenTextEncoder",
    "is_unicode",
    "native_to_unicode",
    "read_lines",
    "strip_ids",
    "to_unicode",
    "to_unicode_ignore_errors",
    "to_unicode_utf8",
    "unicode_to_native",
]

# Read at call time (not captured), so that patching it (as T2T's tests do) takes effect.
_ESCAPE_CHARS = set("\\_u;0123456789")


class ByteTextEncoder(TextEncoder):
    """Encodes each UTF-8 byte to `byte + num_reserved_ids`."""

    def encode(self, s: str) -> list[int]:
        """UTF-8 bytes of `s`, each shifted by the reserved ids. No EOS is appended."""
        numres = self._num_reserved_ids
        return [c + numres for c in s.encode("utf-8")]

    def decode(self, ids: Iterable[int], strip_extraneous: bool = False) -> str:
        """Bytes to text (bad UTF-8 -> U+FFFD); `strip_extraneous` drops trailing PAD/EOS."""
        if strip_extraneous:
            ids = strip_ids(ids, list(range(self._num_reserved_ids or 0)))
        # Invalid UTF-8 (e.g. a cut multi-byte character) becomes U+FFFD, as in T2T.
        return b"".join(self.decode_list(ids)).decode("utf-8", "replace")

    def decode_list(self, ids: Iterable[int]) -> list[bytes]:
        """Each id as bytes (reserved ids as b"<pad>"/b"<EOS>").

        Raises:
            IdOutOfRangeError: an id outside [0, vocab_size).
        """
        numres = self._num_reserved_ids
        decoded = []
        for id_ in ids:
            if 0 <= id_ < numres:
                decoded.append(RESERVED_TOKENS_BYTES[int(id_)])
            elif numres <= id_ < numres + 256:
                decoded.append(bytes((int(id_) - numres,)))
            else:
                raise IdOutOfRangeError(
                    f"id {id_} is out of range for ByteTextEncoder (vocab_size {self.vocab_size})"
                )
        return decoded

    @property
    def vocab_size(self) -> int:
        """256 byte values plus the reserved ids."""
        return 2**8 + self._num_reserved_ids


class ClassLabelEncoder(TextEncoder):
    """Encodes a class label string as its index in a list of labels (no reserved ids)."""

    def __init__(
        self, class_labels: Sequence[str] | None = None, class_labels_fname: str | None = None
    ):
        super().__init__(num_reserved_ids=0)
        if class_labels_fname:
            class_labels = [label.strip() for label in read_lines(class_labels_fname, "labels")]
        if not class_labels:
            raise DataError("ClassLabelEncoder needs class_labels or a non-empty labels file")
        self._class_labels = list(class_labels)

    def encode(self, s: str) -> int:  # type: ignore[override]
        """The index of label `s`.

        Raises:
            DataError: `s` is not a known label.
        """
        try:
            return self._class_labels.index(s)
        except ValueError:
            raise DataError(f"unknown class label {s!r}") from None

    def decode(self, ids: Any, strip_extraneous: bool = False) -> str:
        """Accepts an id, a one-element list, or a numpy array holding one id."""
        del strip_extraneous
        label_id = ids
        if isinstance(label_id, list):
            if len(label_id) != 1:
                raise DataError(f"expected one class id, got {len(label_id)}")
            (label_id,) = label_id
        if isinstance(label_id, np.ndarray):
            label_id = np.squeeze(label_id)
        return self._class_labels[label_id]

    def decode_list(self, ids: Iterable[int]) -> list[str]:
        """Each id's label."""
        return [self._class_labels[i] for i in ids]

    @property
    def vocab_size(self) -> int:
        """Number of class labels."""
        return len(self._class_labels)


class OneHotClassLabelEncoder(ClassLabelEncoder):
    """Encodes a class label as a one-hot list."""

    def encode(self, label_str: str, on_value: int = 1, off_value: int = 0) -> list[int]:  # type: ignore[override]
        """A list of `vocab_size` values: `on_value` at the label's index, `off_value` elsewhere."""
        one_hot = [off_value] * self.vocab_size
        one_hot[super().encode(label_str)] = on_value
        return one_hot

    def decode(self, ids: Any, strip_extraneous: bool = False) -> str:
        """The label of a one-hot list (or array) of length `vocab_size`."""
        del strip_extraneous
        label_id = ids
        if isinstance(label_id, np.ndarray):
            label_id = np.squeeze(label_id).astype(np.int8).tolist()
        if not isinstance(label_id, list) or len(label_id) != self.vocab_size:
            raise DataError(f"expected a one-hot list of length {self.vocab_size}")
        return self._class_labels[label_id.index(1)]


class TokenTextEncoder(TextEncoder):
    """Whitespace-separated tokens looked up in a vocabulary (file or list).

    From a file every stripped line is a token with id = line number and no reserved tokens
    are added (files written by `store_to_file` start with them). From a list, "<pad>" and
    "<EOS>" get ids 0 and 1 and list items equal to a reserved token are skipped. A duplicated
    token keeps all its ids for decoding and encodes to its LAST id, as in T2T.
    """

    def __init__(
        self,
        vocab_filename: str | None,
        reverse: bool = False,
        vocab_list: Sequence[str] | None = None,
        replace_oov: str | None = None,
        num_reserved_ids: int = NUM_RESERVED_TOKENS,
    ):
        super().__init__(num_reserved_ids=num_reserved_ids)
        self._reverse = reverse
        self._replace_oov = replace_oov
        if vocab_filename:
            tokens = [line.strip() for line in read_lines(vocab_filename, "vocab file")]
            self._init_vocab(tokens, add_reserved_tokens=False)
        else:
            if vocab_list is None:
                raise DataError("TokenTextEncoder needs vocab_filename or vocab_list")
            self._init_vocab([t for t in vocab_list if t not in RESERVED_TOKENS])

    def _init_vocab(self, tokens: Iterable[str], add_reserved_tokens: bool = True) -> None:
        start = len(RESERVED_TOKENS) if add_reserved_tokens else 0
        self._id_to_token = dict(enumerate(RESERVED_TOKENS)) if add_reserved_tokens else {}
        self._id_to_token.update(enumerate(tokens, start=start))
        self._token_to_id = {token: i for i, token in self._id_to_token.items()}

    def encode(self, s: str) -> list[int]:
        """Splits at whitespace and looks each token up (reversed if `reverse`).

        Raises:
          KeyError: a token is not in the vocabulary and `replace_oov` is not set.
        """
        tokens = s.strip().split()
        if self._replace_oov is not None:
            tokens = [t if t in self._token_to_id else self._replace_oov for t in tokens]
        try:
            ret = [self._token_to_id[tok] for tok in tokens]
        except KeyError as error:
            raise KeyError(
                f"token {error.args[0]!r} is not in the vocabulary (set replace_oov to map "
                "unknown tokens to a vocabulary token)"
            ) from None
        return ret[::-1] if self._reverse else ret

    def decode(self, ids: Iterable[int], strip_extraneous: bool = False) -> str:
        # T2T ignores strip_extraneous here.
        """Ids to space-joined tokens (`strip_extraneous` is ignored, as in T2T)."""
        return " ".join(self.decode_list(ids))

    def decode_list(self, ids: Iterable[int]) -> list[str]:
        """Each id's token ("ID_<n>" for unknown ids), in reverse order if the encoder reverses."""
        seq = reversed(list(ids)) if self._reverse else ids
        return [self._safe_id_to_token(i) for i in seq]

    def _safe_id_to_token(self, idx: int) -> str:
        return self._id_to_token.get(idx, "ID_%d" % idx)  # noqa: UP031 (T2T formats with %d)

    @property
    def vocab_size(self) -> int:
        """Number of tokens (reserved ones included)."""
        return len(self._id_to_token)

    def store_to_file(self, filename: str) -> None:
        """Writes one token per line in id order (reserved tokens included)."""
        with open(filename, "w", encoding="utf-8", newline="") as f:
            for i in range(len(self._id_to_token)):
                f.write(self._id_to_token[i] + "\n")


class RealEncoder:
    """Space-separated floats."""

    def encode(self, s: str) -> list[float]:
        """ "1.5 2" -> [1.5, 2.0]."""
        return [float(w) for w in s.split()]

    def decode(self, ids: Iterable[float], strip_extraneous: bool = False) -> str:
        """The floats joined by spaces."""
        del strip_extraneous
        return " ".join(str(i) for i in ids)
