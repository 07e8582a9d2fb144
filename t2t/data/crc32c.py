"""CRC32C (Castagnoli), the checksum that frames TFRecord files.

Two back ends compute the same values:

* the `google-crc32c` package (C, hardware CRC instructions), used when it is installed
  (the `fast-io` extra); about a gigabyte per second;
* a NumPy fallback with no compiled code of its own. A CRC is linear over GF(2), so
  instead of a Python loop per byte it checks many buffers at once: every buffer is cut
  into chunks of at most `_CHUNK` bytes, the chunks are right-aligned in one matrix and
  consumed four bytes per step (slicing-by-4, one vectorised table look-up per step for
  all chunks together), and the chunk results are joined with precomputed "append n zero
  bytes" operators. A Python per-byte loop would be a thousand times slower.

Both are exposed through `crc32c` (one buffer) and `crc32c_many` (a batch of slices of
one buffer, what the TFRecord reader uses), plus `masked_crc32c` for TFRecord's mask.
"""

from __future__ import annotations

import functools

import numpy as np

try:  # Optional accelerator, the `fast-io` extra.
    import google_crc32c as _google_crc32c

    # The package silently falls back to pure Python per byte when its C extension is
    # missing; that would be slower than our NumPy path, so only take the C one.
    if getattr(_google_crc32c, "implementation", "c") != "c":
        _google_crc32c = None
except ImportError:  # pragma: no cover - depends on the environment
    _google_crc32c = None

_POLY = 0x82F63B78  # CRC-32C polynomial, bit-reflected.
_MASK_DELTA = 0xA282EAD8
_CHUNK = 128  # bytes per row of the fallback's matrix; a multiple of 4.

BACKEND = "google-crc32c" if _google_crc32c is not None else "numpy"


def _byte_table() -> np.ndarray:
    """Table of the reflected CRC of each single byte (register starting at 0)."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1)
    return table.astype(np.uint32)


def _slicing_tables(table: np.ndarray) -> np.ndarray:
    """[4, 256] tables: entry k gives the effect of a byte followed by k zero bytes."""
    tables = [table]
    for _ in range(3):
        prev = tables[-1]
        tables.append((prev >> 8) ^ table[prev & 0xFF])
    return np.stack(tables)


_T1 = _byte_table()
_T4 = _slicing_tables(_T1)


def _operator_tables(columns: np.ndarray) -> np.ndarray:
    """[4, 256] byte tables applying the GF(2) 32x32 operator whose bit columns are given."""
    bits = (np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1  # [256, 8]
    tables = np.zeros((4, 256), dtype=np.uint32)
    for k in range(4):
        cols = columns[8 * k : 8 * k + 8]  # [8]
        tables[k] = np.bitwise_xor.reduce(np.where(bits == 1, cols[None, :], 0), axis=1)
    return tables


def _apply(tables: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (
        tables[0][v & 0xFF]
        ^ tables[1][(v >> 8) & 0xFF]
        ^ tables[2][(v >> 16) & 0xFF]
        ^ tables[3][v >> 24]
    )


@functools.cache
def _zeros_operators() -> list[np.ndarray]:
    """Operator k maps a raw CRC register to its value after 2**k more zero bytes."""
    # One zero byte: reg -> (reg >> 8) ^ T[reg & 0xFF]; its columns are its basis images.
    basis = (np.uint32(1) << np.arange(32, dtype=np.uint32)).astype(np.uint32)
    columns = (basis >> 8) ^ _T1[basis & 0xFF]
    ops = [_operator_tables(columns)]
    for _ in range(47):  # up to 2**47 bytes, more than any file
        prev = ops[-1]
        ops.append(_operator_tables(_apply(prev, _apply(prev, basis))))
    return ops


def _append_zeros(reg: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Raw registers `reg` after feeding `count` zero bytes each (vectorised)."""
    reg = reg.copy()
    count = count.astype(np.int64)
    for k, op in enumerate(_zeros_operators()):
        bit = (count >> k) & 1
        if not bit.any():
            if not (count >> k).any():
                break
            continue
        sel = np.nonzero(bit)[0]
        reg[sel] = _apply(op, reg[sel])
    return reg


def _raw_crc_rows(matrix: np.ndarray) -> np.ndarray:
    """Raw CRC (register from 0, no final xor) of every row of a [N, 4k] uint8 matrix."""
    words = matrix.view("<u4")  # [N, k] little-endian 32-bit words
    reg = np.zeros(matrix.shape[0], dtype=np.uint32)
    t0, t1, t2, t3 = _T4[3], _T4[2], _T4[1], _T4[0]
    for j in range(words.shape[1]):
        reg ^= words[:, j]
        reg = t0[reg & 0xFF] ^ t1[(reg >> 8) & 0xFF] ^ t2[(reg >> 16) & 0xFF] ^ t3[reg >> 24]
    return reg


def _numpy_many(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC32C of buf[starts[i]:starts[i]+lengths[i]] for every i, with NumPy only."""
    n = len(starts)
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    if len(buf) == 0:  # only empty slices; give the gather below something to index
        buf = np.zeros(1, dtype=np.uint8)
    # Cut every slice into chunks of at most _CHUNK bytes; the last chunk may be short.
    chunks_per = np.maximum((lengths + _CHUNK - 1) // _CHUNK, 1)
    owner = np.repeat(np.arange(n), chunks_per)  # [C] slice index of each chunk
    first = np.cumsum(chunks_per) - chunks_per
    index_in = np.arange(len(owner)) - first[owner]
    chunk_start = starts[owner] + index_in * _CHUNK
    chunk_end = np.minimum(chunk_start + _CHUNK, starts[owner] + lengths[owner])
    # Right-align each chunk in its row: leading zero bytes leave a raw CRC at 0.
    cols = np.arange(_CHUNK)
    src = chunk_end[:, None] - _CHUNK + cols[None, :]  # [C, _CHUNK]
    valid = src >= chunk_start[:, None]
    matrix = np.where(valid, buf[np.clip(src, 0, max(len(buf) - 1, 0))], 0).astype(np.uint8)
    raw = _raw_crc_rows(matrix)
    # raw(A || B) = zeros(raw(A), len(B)) ^ raw(B): shift each chunk by the bytes after it.
    after = starts[owner] + lengths[owner] - chunk_end
    raw = _append_zeros(raw, after)
    total = np.bitwise_xor.reduceat(raw, first) if len(raw) else raw
    # The standard CRC starts from 0xFFFFFFFF: add that register's trip through the data.
    init = _append_zeros(np.full(n, 0xFFFFFFFF, dtype=np.uint32), lengths)
    return total ^ init ^ np.uint32(0xFFFFFFFF)


_T1_LIST = _T1.tolist()


def _crc32c_small(data: bytes) -> int:
    """Byte-at-a-time CRC32C in Python: fine for TFRecord's 8-byte length headers."""
    table = _T1_LIST
    reg = 0xFFFFFFFF
    for byte in data:
        reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
    return reg ^ 0xFFFFFFFF


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC32C of `data` (the standard value: initial and final xor 0xFFFFFFFF)."""
    if _google_crc32c is not None:
        return _google_crc32c.value(bytes(data))
    if len(data) <= 32:  # NumPy set-up costs more than a short Python loop
        return _crc32c_small(bytes(data))
    buf = np.frombuffer(data, dtype=np.uint8)
    return int(_numpy_many(buf, np.array([0]), np.array([len(buf)]))[0])


def crc32c_many(buf: bytes | memoryview, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC32C of many slices of one buffer.

    Args:
        buf: the bytes holding all slices.
        starts: [N] int64 offsets of the slices in `buf`.
        lengths: [N] int64 lengths of the slices.

    Returns:
        [N] uint32 CRC32C values.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    if _google_crc32c is not None:
        data = bytes(buf)  # the C function takes bytes, not memoryview slices
        value = _google_crc32c.value
        out = [value(data[s : s + n]) for s, n in zip(starts.tolist(), lengths.tolist())]
        return np.array(out, dtype=np.uint32)
    return _numpy_many(np.frombuffer(buf, dtype=np.uint8), starts, lengths)


def mask(crc: int | np.ndarray) -> int | np.ndarray:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant, mod 2**32."""
    if isinstance(crc, np.ndarray):
        crc = crc.astype(np.uint32)
        return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """Masked CRC32C of `data`, as stored in TFRecord framing."""
    return mask(crc32c(data))
