"""Fixtures for the end-to-end problem tests: tiny archives with the real corpora's layout,
a local HTTP server for `maybe_download`, and readers of the written shards.

There is no internet in the test environment: each test writes small archives whose member
names and formats are those of the real downloads (data spec, section 4) and either puts
them in `tmp_dir` under the name the problem downloads to (T2T, and we, skip a download
when that file exists) or serves them over HTTP from 127.0.0.1 and points the problem's URL
there. Everything after the download is the problem's real code.
"""

import functools
import gzip
import hashlib
import http.server
import io
import json
import os
import random
import tarfile
import threading
import zipfile

import pytest

from t2t.data import example_codec
from t2t.problems import problem as problem_lib

_WORDS = {
    "en": "the a house cat dog runs over under green blue small river tree city people".split(),
    "de": "das ein Haus Katze Hund läuft über unter grün blau klein Fluss Baum Stadt Leute".split(),
    "fr": "le une maison chat chien court sur sous vert bleu petit rivière arbre ville".split(),
    "cs": "ten dům kočka pes běží přes pod zelený modrý malý řeka strom město lidé".split(),
    "vi": "một ngôi nhà con mèo chó chạy qua dưới xanh nhỏ sông cây thành phố người".split(),
    "zh": list("房子猫狗跑过下绿蓝小河树城市人们"),
}


def make_sentences(lang: str, n: int, seed: int) -> list[str]:
    """`n` deterministic pseudo-sentences in `lang` (Chinese without spaces)."""
    rng = random.Random(f"{lang}/{seed}")
    words = _WORDS[lang]
    joiner = "" if lang == "zh" else " "
    out = []
    for _ in range(n):
        sentence = joiner.join(rng.choice(words) for _ in range(rng.randint(2, 9)))
        out.append(sentence[0].upper() + sentence[1:] + ("。" if lang == "zh" else "."))
    return out


def _as_bytes(content) -> bytes:
    if isinstance(content, bytes):
        return content
    if isinstance(content, list):
        content = "".join(line + "\n" for line in content)
    return content.encode("utf-8")


def write_archive(path, members: dict) -> str:
    """Writes a .tgz/.tar.gz/.tar/.zip archive; a member's content is bytes, str or lines.

    Members whose name ends with ".gz" are gzip-compressed inside the archive (as the
    Giga-FrEn and CzEng releases are).
    """
    path = str(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = {}
    for name, content in members.items():
        raw = _as_bytes(content)
        data[name] = gzip.compress(raw, mtime=0) if name.endswith(".gz") else raw
    if path.endswith(".zip"):
        with zipfile.ZipFile(path, "w") as z:
            for name, raw in data.items():
                z.writestr(name, raw)
        return path
    mode = "w:gz" if path.endswith((".tgz", ".tar.gz")) else "w"
    with tarfile.open(path, mode) as tar:
        for name, raw in data.items():
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_dir(tmp_path):
    """(directory, base URL): files written to the directory are served on 127.0.0.1."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def read_shards(problem, data_dir, tag: str, num_shards: int) -> list[list[dict]]:
    """The examples of each shard `<name>-<tag>-0000k-of-N` (asserting the file names)."""
    names = sorted(p for p in os.listdir(data_dir) if p.startswith(f"{problem.name}-{tag}-"))
    expected = [f"{problem.name}-{tag}-{k:05d}-of-{num_shards:05d}" for k in range(num_shards)]
    assert names == expected
    return [
        [{k: v.tolist() for k, v in ex.items()} for ex in example_codec.read_examples(
            os.path.join(data_dir, name))]
        for name in names
    ]  # fmt: skip


def assert_round_robin(shards: list[list[dict]], expected: list, to_item) -> None:
    """Shard k holds exactly the cases k, k + n, k + 2n, ... of `expected` (any order)."""
    n = len(shards)
    for k, shard in enumerate(shards):
        got = sorted(to_item(ex) for ex in shard)
        assert got == sorted(expected[k::n]), f"shard {k}"


def data_files(problem, data_dir, mode):
    return problem_lib.data_files(problem, data_dir, mode)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def digest_data_dir(data_dir, problem_name: str) -> dict:
    """Digests of what t2t-datagen wrote for a problem (see golden/problems/make_*.py).

    {"vocab": {file: sha of the bytes}, "splits": {tag: sha of the sorted examples},
    "shards": {file: sha of the examples in file order}}. Examples are compared decoded
    (TF serialises a record's features in an unspecified order).
    """
    out = {"vocab": {}, "splits": {}, "shards": {}}
    by_split = {}
    for name in sorted(os.listdir(data_dir)):
        path = os.path.join(data_dir, name)
        if name.startswith("vocab."):
            with open(path, "rb") as f:
                out["vocab"][name] = hashlib.sha256(f.read()).hexdigest()[:16]
        elif name.startswith(problem_name + "-"):
            examples = [
                json.dumps({k: v.tolist() for k, v in sorted(ex.items())})
                for ex in example_codec.read_examples(path)
            ]
            out["shards"][name] = _sha("\n".join(examples))
            tag = name[len(problem_name) + 1 :].split("-")[0]
            by_split.setdefault(tag, []).extend(examples)
    out["splits"] = {tag: _sha("\n".join(sorted(ex))) for tag, ex in sorted(by_split.items())}
    return out


_GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "problems")


def check_original_golden(problem_name: str, data_dir, directory_order: bool = False) -> None:
    """Our output equals the ORIGINAL t2t-datagen's on the same archives (golden digests).

    With `directory_order` (inputs read in os.listdir/glob order, which depends on the
    file system) only the vocabularies and each split's examples as a set are compared,
    not which shard holds which example.
    """
    with open(os.path.join(_GOLDEN, "text_problems_golden.json")) as f:
        golden = json.load(f)[problem_name]
    ours = digest_data_dir(data_dir, problem_name)
    assert ours["vocab"] == golden["vocab"]
    assert ours["splits"] == golden["splits"]
    if directory_order:
        assert sorted(ours["shards"]) == sorted(golden["shards"])
    else:
        assert ours["shards"] == golden["shards"]


@pytest.fixture
def kit():
    """The helpers above, for test modules (importlib mode cannot import conftest)."""
    import types

    return types.SimpleNamespace(
        make_sentences=make_sentences,
        write_archive=write_archive,
        read_shards=read_shards,
        assert_round_robin=assert_round_robin,
        data_files=data_files,
        check_original_golden=check_original_golden,
        digest_data_dir=digest_data_dir,
    )
