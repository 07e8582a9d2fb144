"""The SHA-256 of every download, recorded beside it and checked when it is used again.

The original publishes no checksums for most of its sources, so t2t records what it
fetched: `<file>.sha256` ("<hex>  <name>", the format of `sha256sum`), logged when written.
A later run that finds the file checks it against the record, so a file damaged on disk or
replaced by a partial copy is reported instead of being extracted or read.
"""

from __future__ import annotations

import hashlib
import logging
import os

from t2t.errors import DataError

log = logging.getLogger(__name__)

SUFFIX = ".sha256"


def file_sha256(path: str) -> str:
    """The hex SHA-256 of a file's contents."""
    hasher = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def record_sha256(path: str) -> str:
    """Writes `<path>.sha256` for a file just downloaded; returns the digest."""
    value = file_sha256(path)
    tmp = f"{path}{SUFFIX}.incomplete"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{value}  {os.path.basename(path)}\n")
    os.replace(tmp, path + SUFFIX)
    log.info("sha256 of %s: %s", path, value)
    return value


def check_recorded_sha256(path: str) -> None:
    """Checks `path` against its `<path>.sha256` record, when there is one.

    Raises:
        DataError: the contents differ from what was downloaded.
    """
    record = path + SUFFIX
    if not os.path.exists(record):
        return
    with open(record, encoding="utf-8") as f:
        expected = f.read().split(" ", 1)[0].strip()
    actual = file_sha256(path)
    if actual != expected:
        raise DataError(
            f"{path} differs from what was downloaded (sha256 {actual[:16]}..., recorded "
            f"{expected[:16]}... in {record}); delete both to download again"
        )
