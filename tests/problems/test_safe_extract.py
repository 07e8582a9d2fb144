"""Crafted archives cannot write outside the extraction directory; downloads are recorded."""

import io
import os
import tarfile
import urllib.request
import zipfile

import pytest

from t2t.errors import DataError
from t2t.problems import generator_utils as gu
from t2t.problems import safe_extract
from t2t.problems.download_record import SUFFIX


def _tar(path, members):
    """members: (name, kind, payload) with kind file | symlink | hardlink | dir."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                data = payload.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type = tarfile.SYMTYPE if kind == "symlink" else tarfile.LNKTYPE
                info.linkname = payload
                tar.addfile(info)
    return str(path)


@pytest.mark.parametrize(
    "members",
    [
        [("/tmp/t2t-evil-absolute-{uid}.txt", "file", "x")],
        [("../evil.txt", "file", "x")],
        [("ok/../../evil.txt", "file", "x")],
        [("link", "symlink", "/"), ("link/tmp/t2t-evil-link-{uid}.txt", "file", "x")],
        [("link", "symlink", "../.."), ("link/evil.txt", "file", "x")],
        [("up", "symlink", "../outside")],
        [("hard", "hardlink", "/etc/passwd")],
    ],
)
def test_crafted_tar_is_refused_and_nothing_written_outside(tmp_path, members):
    uid = f"{os.getpid()}-{tmp_path.name}"
    members = [(name.format(uid=uid), kind, payload) for name, kind, payload in members]
    target = tmp_path / "a" / "b"
    target.mkdir(parents=True)
    archive = _tar(tmp_path / "evil.tgz", members)
    before = set(os.listdir(tmp_path))
    with pytest.raises(DataError, match="evil.tgz"):
        gu.extract_tar(archive, str(target))
    assert set(os.listdir(tmp_path)) == before
    assert not (tmp_path / "a" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not os.path.exists(f"/tmp/t2t-evil-absolute-{uid}.txt")
    assert not os.path.exists(f"/tmp/t2t-evil-link-{uid}.txt")
    assert os.listdir(target) == []  # checked before anything is extracted


def test_safe_tar_with_inner_links_extracts(tmp_path):
    archive = _tar(
        tmp_path / "ok.tgz",
        [("d", "dir", ""), ("d/a.txt", "file", "hello"), ("d/b.txt", "symlink", "a.txt")],
    )
    gu.extract_tar(archive, str(tmp_path / "out"))
    assert (tmp_path / "out" / "d" / "b.txt").read_text() == "hello"


def test_ptb_style_member_subset_is_checked(tmp_path):
    archive = _tar(tmp_path / "ptb.tgz", [("../ptb.train.txt", "file", "x")])
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    with pytest.raises(DataError, match="leaves"):
        safe_extract.extract_tar(archive, str(tmp_path / "out"), members=members)
    assert not (tmp_path / "ptb.train.txt").exists()


@pytest.mark.parametrize("name", ["../evil.txt", "/abs/evil.txt"])
def test_crafted_zip_is_refused(tmp_path, name):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(name, "x")
    with pytest.raises(DataError, match="evil.zip"):
        safe_extract.extract_zip(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "evil.txt").exists()


def test_download_records_sha256_and_detects_a_changed_file(tmp_path):
    source = tmp_path / "src.txt"
    source.write_text("hello")
    path = gu.maybe_download(str(tmp_path / "dl"), "a.txt", source.as_uri())
    record = open(path + SUFFIX).read()
    assert record.startswith("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    with open(path, "a") as f:
        f.write("!")
    with pytest.raises(DataError, match="differs from what was downloaded"):
        gu.maybe_download(str(tmp_path / "dl"), "a.txt", source.as_uri())


def test_failed_download_leaves_nothing_and_says_where_to_put_the_file(tmp_path, monkeypatch):
    def offline(url, filename, reporthook=None):
        open(filename, "wb").close()  # urlretrieve creates the file before it fails
        raise urllib.error.URLError(OSError(101, "Network is unreachable"))

    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    with pytest.raises(DataError) as info:
        gu.maybe_download(str(tmp_path), "corpus.tgz", "https://example.com/corpus.tgz")
    assert f"place it at {tmp_path / 'corpus.tgz'}" in str(info.value)
    assert os.listdir(tmp_path) == []

    def interrupted(url, filename, reporthook=None):
        open(filename, "wb").close()
        raise KeyboardInterrupt

    monkeypatch.setattr(urllib.request, "urlretrieve", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gu.maybe_download(str(tmp_path), "corpus.tgz", "https://example.com/corpus.tgz")
    assert os.listdir(tmp_path) == []
