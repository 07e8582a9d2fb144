"""t2t-build-vocab: builds T2T-identical vocab files; user errors are one line with exit code 2."""

import pathlib
import subprocess
import sys

import pytest

from t2t.bin import build_vocab
from t2t.data import text_encoder
from t2t.errors import DataError

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "text_encoder"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "t2t.bin.build_vocab", *args], capture_output=True, text=True
    )


def test_cli_target_size_matches_t2t_golden(tmp_path: pathlib.Path) -> None:
    vocab = tmp_path / "vocab.subwords"
    out = run_cli(
        f"--corpus_filepattern={GOLDEN / 'corpus.txt'}",
        f"--vocab_filepath={vocab}",
        "--target_size=300",
    )
    assert out.returncode == 0, out.stderr
    assert "302 subtokens" in out.stdout and str(vocab) in out.stdout
    # target300.subwords was built by T2T 1.15.7 from the same corpus (make_golden.py).
    assert vocab.read_bytes() == (GOLDEN / "target300.subwords").read_bytes()


def test_min_count_and_max_subtoken_length(tmp_path: pathlib.Path) -> None:
    corpus = tmp_path / "a.txt"
    corpus.write_text("the cat sat on the mat\nthe cat ate the rat\n" * 5)
    (tmp_path / "b.txt").write_text("a bat and a hat\n")
    vocab = tmp_path / "v"
    encoder = build_vocab.build_vocab(
        f"{corpus},{tmp_path / 'b*.txt'}", str(vocab), min_count=2, max_subtoken_length=3
    )
    reloaded = text_encoder.SubwordTextEncoder(str(vocab))
    assert reloaded.all_subtoken_strings == encoder.all_subtoken_strings
    assert max(len(s) for s in encoder.all_subtoken_strings[2:]) <= 2
    assert "h" in encoder.all_subtoken_strings  # from b.txt: both globs were read
    assert reloaded.decode(reloaded.encode("the bat sat")) == "the bat sat"


def test_corpus_max_lines(tmp_path: pathlib.Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text("alpha beta\ngamma delta\n")
    encoder = build_vocab.build_vocab(
        str(corpus), str(tmp_path / "v"), min_count=1, corpus_max_lines=1
    )
    assert "alpha_" in encoder.all_subtoken_strings
    assert "g" not in encoder.all_subtoken_strings


@pytest.mark.parametrize(
    "args, message",
    [
        (["--corpus_filepattern=/no/such/dir/*.txt", "--target_size=10"], "no files match"),
        (["--target_size=100000"], "corpus too small for --target_size=100000"),
        ([], "exactly one of --target_size and --min_count"),
        (["--target_size=10", "--min_count=2"], "exactly one of"),
        (["--target_size=0"], "must be positive"),
        (["--min_count=1", "--vocab_filepath=/no/such/dir/v"], "cannot write /no/such/dir/v"),
        (["--target_size=10", "unexpected"], "unexpected arguments: unexpected"),
    ],
)
def test_user_errors_are_one_line(tmp_path: pathlib.Path, args: list[str], message: str) -> None:
    corpus = tmp_path / "small.txt"
    corpus.write_text("a tiny corpus\n")
    base = [f"--corpus_filepattern={corpus}", f"--vocab_filepath={tmp_path / 'v'}"]
    out = run_cli(*base, *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_invalid_utf8_names_the_line(tmp_path: pathlib.Path) -> None:
    corpus = tmp_path / "bad.txt"
    corpus.write_bytes(b"good line\nbad \xff line\n")
    with pytest.raises(DataError, match="line 2"):
        build_vocab.build_vocab(str(corpus), str(tmp_path / "v"), target_size=10)


def test_empty_corpus_is_a_one_line_error(tmp_path: pathlib.Path) -> None:
    corpus = tmp_path / "blank.txt"
    corpus.write_text("\n  \n\n")
    out = run_cli(
        f"--corpus_filepattern={corpus}", f"--vocab_filepath={tmp_path / 'v'}", "--min_count=1"
    )
    assert out.returncode == 2 and "has no text" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists()
