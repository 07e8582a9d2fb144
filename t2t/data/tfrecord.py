"""TFRecord files, read and written without TensorFlow.

A TFRecord file is a sequence of records, each framed as

    uint64 length (little-endian)
    uint32 masked CRC32C of the 8 length bytes
    `length` bytes of data
    uint32 masked CRC32C of the data

with the mask ((crc >> 15) | (crc << 17)) + 0xa282ead8 (mod 2**32). TensorFlow can also
gzip the whole stream (`compression_type="GZIP"`); both forms are read and written here.

Reading checks both checksums by default: a corrupt or truncated file raises
`t2t.errors.DataError` naming the file and the byte offset of the bad record. Writing goes
to `<path>.incomplete` and is renamed to `path` only when the writer closes without error,
so an interrupted run never leaves a file that looks complete (T2T's datagen used the same
`.incomplete` convention around TensorFlow's writer).
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from collections.abc import Iterable, Iterator
from typing import BinaryIO

import numpy as np

from t2t.data import crc32c as _crc
from t2t.errors import DataError

_HEADER = struct.Struct("<QI")  # length, masked CRC of the length bytes
_FOOTER = struct.Struct("<I")  # masked CRC of the data
_HEADER_SIZE = 12
_FOOTER_SIZE = 4
_BLOCK_SIZE = 1 << 20  # bytes read at a time; CRCs of a block are checked together
_MAX_READ = 1 << 26  # largest single read
_GZIP_MAGIC = b"\x1f\x8b"
INCOMPLETE_SUFFIX = ".incomplete"


def _normalize_compression(compression: str | None, path: str) -> str | None:
    """Maps TF's compression_type spellings to "", "GZIP" or None (= detect)."""
    if compression is None:
        return None
    value = compression.upper()
    if value in ("", "NONE"):
        return ""
    if value in ("GZIP", "GZ"):
        return "GZIP"
    raise DataError(f"{path}: unsupported TFRecord compression {compression!r} (use '' or GZIP)")


def _looks_gzipped(path: str) -> bool:
    """True when the file starts with gzip's magic and not with a valid record header.

    A plain TFRecord whose first length happens to start with the gzip magic bytes still
    has a matching length CRC, so checking the header too makes detection unambiguous.
    """
    with open(path, "rb") as f:
        head = f.read(_HEADER_SIZE)
    if not head.startswith(_GZIP_MAGIC):
        return False
    if len(head) == _HEADER_SIZE:
        _, stored = _HEADER.unpack(head)
        if _crc.mask(_crc.crc32c(head[:8])) == stored:
            return False
    return True


def _open_for_reading(path: str, compression: str | None) -> tuple[BinaryIO, bool]:
    """Opens `path`, returning the stream to parse and whether it is gzip-decompressed."""
    path = os.fspath(path)
    mode = _normalize_compression(compression, path)
    try:
        gzipped = _looks_gzipped(path) if mode is None else mode == "GZIP"
        raw = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError as e:
        raise DataError(f"{path}: no such TFRecord file") from e
    except IsADirectoryError as e:
        raise DataError(f"{path}: is a directory, not a TFRecord file") from e
    if gzipped:
        return gzip.GzipFile(fileobj=raw, mode="rb"), True
    return raw, False


class _Corrupt(Exception):
    """Internal: a framing problem at a byte offset, turned into DataError by the caller."""

    def __init__(self, offset: int, what: str) -> None:
        super().__init__(what)
        self.offset = offset
        self.what = what
        self.index = 0  # for data CRC failures: position of the record among the checked


def _parse_block(
    buf: bytes, base: int, verify: bool
) -> tuple[list[tuple[int, int]], int, int | None, _Corrupt | None]:
    """Finds the complete records in `buf`.

    Args:
        buf: bytes starting at a record boundary.
        base: file offset of buf[0], for error messages.
        verify: whether to check the length CRCs (the data CRCs are checked by the caller).

    Returns:
        (spans, consumed, needed, error): (data start, data length) of each complete
        record, the bytes they use, the total size of the first incomplete record when its
        header is already in `buf` (None otherwise), and the corrupt header that stopped
        the scan (None if none did).
    """
    spans: list[tuple[int, int]] = []
    unpack_header = _HEADER.unpack_from
    crc = _crc.crc32c
    mask = _crc.mask
    pos = 0
    end = len(buf)
    while end - pos >= _HEADER_SIZE:
        length, stored = unpack_header(buf, pos)
        if verify and mask(crc(buf[pos : pos + 8])) != stored:
            error = _Corrupt(base + pos, "length checksum mismatch (corrupt record header)")
            return spans, pos, None, error
        total = _HEADER_SIZE + length + _FOOTER_SIZE
        if end - pos < total:
            return spans, pos, total, None
        spans.append((pos + _HEADER_SIZE, length))
        pos += total
    return spans, pos, None, None


def _first_bad_data_crc(buf: bytes, spans: list[tuple[int, int]], base: int) -> _Corrupt | None:
    """Checks the data CRCs of all spans in one batch; returns the first failure, if any."""
    if not spans:
        return None
    arr = np.array(spans, dtype=np.int64)  # [N, 2]
    starts, lengths = arr[:, 0], arr[:, 1]
    computed = _crc.mask(_crc.crc32c_many(buf, starts, lengths))
    footer_pos = starts + lengths
    view = np.frombuffer(buf, dtype=np.uint8)
    stored = view[footer_pos[:, None] + np.arange(4)].copy().view("<u4")[:, 0]  # [N]
    bad = np.flatnonzero(computed != stored)
    if not len(bad):
        return None
    error = _Corrupt(base + int(starts[bad[0]]) - _HEADER_SIZE, "data checksum mismatch")
    error.index = int(bad[0])
    return error


def _iter_stream(stream: BinaryIO, verify: bool) -> Iterator[bytes]:
    """Yields the records of an open TFRecord stream; raises _Corrupt on bad framing.

    Like TF's reader, every good record before a bad one is still yielded.
    """
    buf = b""
    base = 0  # stream offset of buf[0]
    want = _BLOCK_SIZE
    while True:
        chunk = stream.read(want)
        buf = buf + chunk if buf else chunk
        spans, consumed, needed, error = _parse_block(buf, base, verify)
        data_error = _first_bad_data_crc(buf, spans, base) if verify else None
        if data_error is not None:
            spans, error = spans[: data_error.index], data_error
        for start, length in spans:
            yield buf[start : start + length]
        if error is not None:
            raise error
        if not chunk:
            if consumed < len(buf):
                what = "truncated record data" if needed else "truncated record header"
                raise _Corrupt(base + consumed, what)
            return
        buf = buf[consumed:]
        base += consumed
        # Read the rest of a record larger than a block in one go, but in bounded steps:
        # with verify=False a corrupt length may claim exabytes, which must end as
        # "truncated" at end of file, not as a huge allocation.
        want = min(max(_BLOCK_SIZE, (needed or 0) - len(buf)), _MAX_READ)


def read_records(
    path: str | os.PathLike, verify: bool = True, compression: str | None = None
) -> Iterator[bytes]:
    """Yields the records of one TFRecord file.

    Args:
        path: the file.
        verify: check both CRCs of every record (default). False skips the checks (faster
            with the NumPy CRC fallback) but still detects truncation.
        compression: None to detect gzip from the file's first bytes, "" for a plain file,
            "GZIP" for TF's gzip-compressed TFRecord.

    Yields:
        The data of each record, as bytes.

    Raises:
        DataError: the file is missing, truncated or corrupt; the message names the file
            and the byte offset of the bad record (in the decompressed stream for gzip).
    """
    path = os.fspath(path)
    stream, gzipped = _open_for_reading(path, compression)
    where = "uncompressed byte offset" if gzipped else "byte offset"
    with stream:
        try:
            yield from _iter_stream(stream, verify)
        except _Corrupt as e:
            raise DataError(f"{path}: {e.what} at {where} {e.offset}") from None
        except (EOFError, OSError, zlib.error) as e:
            # gzip reports a cut or damaged stream with these.
            raise DataError(f"{path}: corrupt or truncated gzip TFRecord file: {e}") from e


def count_records(path: str | os.PathLike, verify: bool = True) -> int:
    """Number of records in a TFRecord file (reads the whole file)."""
    return sum(1 for _ in read_records(path, verify=verify))


def frame_record(data: bytes) -> bytes:
    """The bytes of one framed TFRecord record holding `data`."""
    header = struct.pack("<Q", len(data))
    return b"".join(
        (
            header,
            _FOOTER.pack(_crc.masked_crc32c(header)),
            data,
            _FOOTER.pack(_crc.masked_crc32c(data)),
        )
    )


class TFRecordWriter:
    """Writes records to a TFRecord file; the file appears under its name only on close.

    Use as a context manager: leaving the block by an exception deletes the partial file.

        with TFRecordWriter(path) as writer:
            writer.write(example_bytes)

    Args:
        path: the final file name.
        compression: "" (plain, default) or "GZIP".
        atomic: write to `<path>.incomplete` and rename on close (default). False writes
            `path` directly, for callers that manage their own temporary names.
    """

    def __init__(
        self, path: str | os.PathLike, compression: str | None = "", atomic: bool = True
    ) -> None:
        self.path = os.fspath(path)
        mode = _normalize_compression(compression, self.path) or ""
        self._tmp_path = self.path + INCOMPLETE_SUFFIX if atomic else self.path
        self._raw = open(self._tmp_path, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._out: BinaryIO = (
            # filename="" and mtime=0 keep the temporary name and time out of the header.
            gzip.GzipFile(filename="", fileobj=self._raw, mode="wb", mtime=0)
            if mode == "GZIP"
            else self._raw
        )
        self._closed = False
        self.num_records = 0

    def write(self, data: bytes) -> None:
        """Appends one record."""
        if self._closed:
            raise ValueError(f"{self.path}: write to a closed TFRecordWriter")
        self._out.write(frame_record(data))
        self.num_records += 1

    def flush(self) -> None:
        """Flushes buffered bytes to the (temporary) file."""
        self._out.flush()

    def close(self) -> None:
        """Finishes the file and gives it its final name."""
        if self._closed:
            return
        self._closed = True
        self._out.close()
        if self._out is not self._raw:
            self._raw.close()
        if self._tmp_path != self.path:
            os.replace(self._tmp_path, self.path)

    def abort(self) -> None:
        """Closes and deletes the partial file; the final name is never created."""
        if self._closed:  # also after a close() that failed (disk full on the last flush)
            if self._tmp_path != self.path and os.path.exists(self._tmp_path):
                os.remove(self._tmp_path)
            return
        self._closed = True
        try:
            self._out.close()
            if self._out is not self._raw:
                self._raw.close()
        finally:
            if os.path.exists(self._tmp_path):
                os.remove(self._tmp_path)

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_records(
    path: str | os.PathLike, records: Iterable[bytes], compression: str | None = ""
) -> int:
    """Writes all `records` to a new TFRecord file (atomically); returns how many."""
    with TFRecordWriter(path, compression=compression) as writer:
        for record in records:
            writer.write(record)
    return writer.num_records
