"""Extracting downloaded archives without writing outside the target directory.

A tar member can name an absolute path, climb out with `..`, or be a symbolic or hard link
to a place outside the directory through which later members are written. `extract_tar`
checks every member first (its own check, for a clear message) and then extracts with
Python's `data` filter where available, which also drops set-uid bits and device files.
`extract_zip` refuses absolute and `..` names (zipfile would silently rewrite them).
"""

from __future__ import annotations

import os
import posixpath
import tarfile
import zipfile
from collections.abc import Iterable

from t2t.errors import DataError


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def _check_name(archive: str, name: str, root: str, directory: str) -> str:
    normal = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or os.path.isabs(name) or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{archive}: member {name[:200]!r} is an absolute path; not extracted")
    if normal == ".." or normal.startswith("../"):
        raise DataError(f"{archive}: member {name[:200]!r} leaves {directory}; not extracted")
    target = os.path.realpath(os.path.join(root, normal))
    if not _inside(root, target):
        raise DataError(f"{archive}: member {name[:200]!r} leaves {directory}; not extracted")
    return normal


def check_tar_members(archive: str, members: Iterable[tarfile.TarInfo], directory: str) -> None:
    """Raises DataError if any member would be written outside `directory`.

    Refused: absolute names, names with `..` leaving it, symbolic or hard links whose
    target is outside it, members under such a link, and device or FIFO members.
    """
    root = os.path.realpath(directory)
    links: set[str] = set()
    for member in members:
        name = _check_name(archive, member.name, root, directory)
        parts = name.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                raise DataError(
                    f"{archive}: member {member.name[:200]!r} is written through a link; "
                    "not extracted"
                )
        if member.issym() or member.islnk():
            base = posixpath.dirname(name) if member.issym() else ""
            link = member.linkname
            if link.startswith("/") or os.path.isabs(link):
                raise DataError(
                    f"{archive}: link {member.name[:200]!r} points to {link[:200]!r}, outside "
                    f"{directory}; not extracted"
                )
            target = os.path.realpath(os.path.join(root, base, link))
            if not _inside(root, target):
                raise DataError(
                    f"{archive}: link {member.name[:200]!r} points to {link[:200]!r}, outside "
                    f"{directory}; not extracted"
                )
            links.add(name)
        elif member.isdev() or member.isfifo():
            raise DataError(f"{archive}: member {member.name[:200]!r} is a device; not extracted")


def extract_tar(archive: str, directory: str, members: list[tarfile.TarInfo] | None = None) -> None:
    """Extracts a (possibly compressed) tar archive into `directory`, refusing unsafe members.

    Args:
        archive: the .tar / .tar.gz / .tgz path.
        directory: where to extract.
        members: only these members (default: all).

    Raises:
        DataError: a member would leave `directory` (nothing is extracted), or the archive
            is damaged.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            chosen = tar.getmembers() if members is None else members
            check_tar_members(archive, chosen, directory)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(directory, members=chosen, filter="data")
            else:  # pragma: no cover (Python without PEP 706 filters)
                tar.extractall(directory, members=chosen)
    except tarfile.FilterError as err:
        raise DataError(f"{archive}: unsafe member refused ({err}); not extracted") from None
    except (tarfile.ReadError, EOFError) as err:
        raise DataError(
            f"{archive}: damaged archive ({err}); delete it to download again"
        ) from None


def extract_zip(archive: str, directory: str) -> None:
    """Extracts a zip archive into `directory`, refusing absolute or `..` member names.

    Raises:
        DataError: a member would leave `directory` (nothing is extracted), or the archive
            is damaged.
    """
    root = os.path.realpath(directory)
    try:
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                _check_name(archive, name, root, directory)
            z.extractall(directory)
    except zipfile.BadZipFile as err:
        raise DataError(
            f"{archive}: damaged archive ({err}); delete it to download again"
        ) from None
