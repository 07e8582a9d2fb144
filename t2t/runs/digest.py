"""A digest of the tensor data of a safetensors checkpoint, and its verification.

safetensors files carry no checksum: a flipped bit in a weight is read back as a valid,
wrong number. Every checkpoint t2t writes stores, in its safetensors metadata under
`t2t_sha256`, the SHA-256 of its other metadata entries and of its tensors: for each tensor
in name order, its name, dtype, shape and raw bytes. `verify_safetensors` recomputes it
from the file's header and data and raises `DataError` on a mismatch, and also checks what
safetensors itself does not explain well (offsets that do not tile the data, unknown
dtypes, sizes that do not fit the shape).
Files without the key (written by older versions, or by other tools) are checked for
structure only.

Verification reads the whole file once; `set_verification(False)` (the commands'
`--noverify_checkpoints`) skips the digest for speed. A file verified once is not hashed
again while its size and modification time stay the same.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import torch

from t2t.errors import DataError

DIGEST_KEY = "t2t_sha256"
_CHUNK = 1 << 22

# safetensors dtype name -> (torch dtype, bytes per element).
_DTYPES: dict[str, tuple[torch.dtype, int]] = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
_NAMES = {dtype: name for name, (dtype, _) in _DTYPES.items()}

_enabled = True
_verified: set[tuple[str, int, int]] = set()


def set_verification(enabled: bool) -> None:
    """Turns digest verification on loading on (the default) or off."""
    global _enabled
    _enabled = enabled


@contextlib.contextmanager
def verifying(enabled: bool) -> Iterator[None]:
    """Verification on or off for the duration, then as before."""
    global _enabled
    before, _enabled = _enabled, enabled
    try:
        yield
    finally:
        _enabled = before


def verification_enabled() -> bool:
    """Whether loads verify the digest."""
    return _enabled


def _entry(hasher: Any, name: str, dtype: str, shape: list[int]) -> None:
    hasher.update(json.dumps([name, dtype, list(shape)]).encode())


def _metadata_entry(hasher: Any, metadata: Mapping[str, str] | None) -> None:
    others = {k: v for k, v in (metadata or {}).items() if k != DIGEST_KEY}
    hasher.update(json.dumps(others, sort_keys=True).encode())


def tensors_digest(
    tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None
) -> str:
    """The digest of {name: tensor} and the file's other metadata, as `verify_safetensors`
    recomputes it from the file."""
    hasher = hashlib.sha256()
    _metadata_entry(hasher, metadata)
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        if tensor.dtype not in _NAMES:
            raise DataError(f"cannot checkpoint tensor {name} of dtype {tensor.dtype}")
        _entry(hasher, name, _NAMES[tensor.dtype], list(tensor.shape))
        if tensor.numel():
            hasher.update(tensor.reshape(-1).view(torch.uint8).numpy())  # no copy
    return hasher.hexdigest()


def read_header(path: str) -> tuple[int, dict]:
    """(header length, header dict) of a safetensors file.

    Raises:
        DataError: the file is too short, or the header is not a JSON object.
    """
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise DataError(f"{path}: truncated safetensors file")
        (header_len,) = struct.unpack("<Q", head)
        if header_len > size - 8:
            raise DataError(f"{path}: truncated safetensors header")
        raw = f.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"))
    except ValueError as err:  # UnicodeDecodeError and JSONDecodeError
        raise DataError(f"{path}: corrupt safetensors header ({err})") from None
    if not isinstance(header, dict):
        raise DataError(f"{path}: corrupt safetensors header (not a JSON object)")
    return header_len, header


def _tensor_entries(path: str, header: dict) -> list[tuple[str, str, list[int], int, int]]:
    """(name, dtype, shape, begin, end) of every tensor, checked for consistency."""
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], list(info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: corrupt safetensors header entry for {name!r}") from None
        if dtype not in _DTYPES:
            raise DataError(f"{path}: corrupt safetensors header ({name}: dtype {dtype!r})")
        count = 1
        for dim in shape:
            if not isinstance(dim, int) or dim < 0:
                raise DataError(f"{path}: corrupt safetensors header ({name}: shape {shape})")
            count *= dim
        if (
            not (isinstance(begin, int) and isinstance(end, int))
            or end - begin != count * (_DTYPES[dtype][1])
        ):
            raise DataError(f"{path}: corrupt safetensors header ({name}: offsets do not fit)")
        entries.append((name, dtype, shape, begin, end))
    position = 0
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin != position:
            raise DataError(f"{path}: corrupt safetensors header ({name}: offsets do not tile)")
        position = end
    return entries


def verify_safetensors(path: str, check_digest: bool | None = None) -> None:
    """Raises DataError unless `path` is a complete, consistent safetensors file whose
    tensors match the stored digest (when it has one).

    Args:
        path: the .safetensors file.
        check_digest: hash the data; None follows `set_verification`.
    """
    header_len, header = read_header(path)
    entries = _tensor_entries(path, header)
    size = os.path.getsize(path)
    data_start = 8 + header_len
    if data_start + max((e[4] for e in entries), default=0) != size:
        raise DataError(f"{path}: truncated safetensors data")
    metadata = header.get("__metadata__") or {}
    expected = metadata.get(DIGEST_KEY) if isinstance(metadata, dict) else None
    if check_digest is None:
        check_digest = _enabled
    if not check_digest or expected is None:
        return
    stat = os.stat(path)
    key = (os.path.abspath(path), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    hasher = hashlib.sha256()
    _metadata_entry(hasher, metadata)
    with open(path, "rb") as f:
        for name, dtype, shape, begin, end in sorted(entries):
            _entry(hasher, name, dtype, shape)
            f.seek(data_start + begin)
            left = end - begin
            while left:
                chunk = f.read(min(left, _CHUNK))
                if not chunk:
                    raise DataError(f"{path}: truncated safetensors data")
                hasher.update(chunk)
                left -= len(chunk)
    if hasher.hexdigest() != expected:
        raise DataError(f"{path}: tensor data does not match its digest (corrupt file)")
    _verified.add(key)
