"""Checks of output paths before the work starts, and OS write errors as one line.

A disk that fills up while a checkpoint is written surfaces from torch or safetensors as
chained `RuntimeError`s in which "No space left on device" may appear nowhere. `writing()`
finds the OS error in the chain and raises `OutputError` naming the path and the reason.
`check_output_dir` / `check_output_file` find a read-only directory, a file where a
directory should be, or a missing parent directory before hours of training or decoding.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator

from t2t.errors import OutputError


def _os_error(error: BaseException) -> OSError | None:
    """The first OSError in error's cause / context chain (error itself included)."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno is not None:
            return error
        error = error.__cause__ or error.__context__
    return None


def _reason(error: OSError) -> str:
    return error.strerror or os.strerror(error.errno or 0) or str(error)


def _text_reason(error: BaseException) -> str | None:
    """An OS reason that torch only kept as text (its C++ writer's message)."""
    text = str(error)
    for code in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EIO):
        if os.strerror(code) in text:
            return os.strerror(code)
    if "file write failed" in text or "unexpected pos" in text:
        return "write failed (disk full?)"
    return None


@contextlib.contextmanager
def writing(path: str) -> Iterator[None]:
    """Turns an OS failure while writing `path` into a one-line OutputError."""
    try:
        yield
    except OutputError:
        raise
    except Exception as error:
        found = _os_error(error)
        reason = _reason(found) if found is not None else _text_reason(error)
        if reason is None:
            raise
        raise OutputError(f"cannot write {path}: {reason}") from None


def check_output_dir(path: str) -> None:
    """Creates `path` if needed and checks that files can be created in it.

    Raises:
        OutputError: naming the path and the OS reason (a file is in the way, read-only,
            no permission, disk full).
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputError(f"cannot use {path} as output dir: {os.strerror(errno.ENOTDIR)}")
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".t2t-write-check-", dir=path)
        os.close(fd)
        os.remove(probe)
    except OSError as error:
        where = error.filename if isinstance(error.filename, str) else path
        if where and os.path.basename(where).startswith(".t2t-write-check-"):
            where = path
        raise OutputError(f"cannot write to {where}: {_reason(error)}") from None


def check_output_file(path: str) -> None:
    """Checks, before the work, that `path` can be created as a file.

    Raises:
        OutputError: its directory is missing or not writable, or `path` is a directory.
    """
    if os.path.isdir(path):
        raise OutputError(f"cannot write {path}: {os.strerror(errno.EISDIR)}")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise OutputError(
            f"cannot write {path}: directory {parent} does not exist ({os.strerror(errno.ENOENT)})"
        )
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: {os.strerror(errno.EACCES)}")
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise OutputError(f"cannot write {path}: {os.strerror(errno.EACCES)}")
