"""benchmarks/gettext_corpus.py (corpus from .mo catalogs) and benchmarks/parity.py (the
comparison's log parsing and statistics)."""

import json
import math
import struct
from pathlib import Path

import pytest

from tests.benchmark_modules import load_benchmark


def write_mo(path: Path, entries: dict[str, str]) -> None:
    """A GNU .mo file (little-endian, no hash table) with a UTF-8 header and `entries`."""
    entries = {"": "Content-Type: text/plain; charset=UTF-8\n", **entries}
    keys = sorted(entries)
    ids = [k.encode("utf-8") for k in keys]
    strs = [entries[k].encode("utf-8") for k in keys]
    n = len(keys)
    start = 7 * 4 + 16 * n
    originals, translations, data = [], [], b""
    for raw in ids:
        originals.append((len(raw), start + len(data)))
        data += raw + b"\0"
    for raw in strs:
        translations.append((len(raw), start + len(data)))
        data += raw + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, n, 28, 28 + 8 * n, 0, 0)
    tables = b"".join(struct.pack("<2I", *p) for p in originals + translations)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + tables + data)


def test_gettext_corpus_cleans_dedupes_and_splits(tmp_path):
    corpus = load_benchmark("gettext_corpus")
    root = tmp_path / "locale"
    many = {f"Message number {i}": f"Message numéro {i}" for i in range(30)}
    write_mo(root / "fr" / "LC_MESSAGES" / "a.mo", {
        **many,
        "Open  the\nfile": "Ouvrir le\tfichier",  # whitespace collapsed
        "same": "same",  # untranslated: dropped
        "empty": "",  # dropped
        "menu\x04Open": "Ouvrir",  # message context: dropped
        "123 %s": "123 %s",  # no letter: dropped
        "Quit": "Quitter",
    })  # fmt: skip
    write_mo(root / "fr" / "LC_MESSAGES" / "b.mo", {"Quit": "Sortir", "Cancel": "Annuler"})
    write_mo(root / "fr_CA" / "LC_MESSAGES" / "c.mo", {"Quit": "Sortir"})  # other locale
    write_mo(root / "de" / "LC_MESSAGES" / "a.mo", {"Quit": "Beenden"})
    out = tmp_path / "out"
    args = ["--lang", "fr", "--out", str(out), "--roots", str(root), "--test", "5", "--eval", "4"]
    assert corpus.main(args) == 0
    read = lambda name: (out / name).read_text(encoding="utf-8").splitlines()  # noqa: E731
    pairs = {}
    for split, size in (("test", 5), ("eval", 4), ("train", 33 - 9)):
        inputs, targets = read(f"inputs.{split}.txt"), read(f"targets.{split}.txt")
        assert len(inputs) == len(targets) == size
        pairs.update(zip(inputs, targets))
    assert len(pairs) == 33  # 30 + "Open the file" + "Quit" + "Cancel", nothing else
    assert pairs["Open the file"] == "Ouvrir le fichier"
    assert pairs["Quit"] == "Quitter"  # a tie between two catalogs: the smaller string
    assert not {"same", "empty", "Open", "123 %s"} & set(pairs)
    first = {split: read(f"inputs.{split}.txt") for split in ("test", "eval", "train")}
    assert corpus.main(args) == 0  # deterministic
    assert first == {split: read(f"inputs.{split}.txt") for split in ("test", "eval", "train")}


def test_welch_t_test_p_values():
    parity = load_benchmark("parity")
    # Student's t: df=1, t=1 -> 0.5; df=2: P(|T|>=t) = 1 - t / sqrt(2 + t^2).
    assert parity._student_two_sided(1.0, 1.0) == pytest.approx(0.5, abs=1e-9)
    assert parity._student_two_sided(1.0, 2.0) == pytest.approx(1 - 1 / math.sqrt(3), abs=1e-9)
    # scipy.stats.ttest_ind([1, 2, 3], [4, 5, 6], equal_var=False).pvalue
    assert parity.welch_p([1, 2, 3], [4, 5, 6]) == pytest.approx(0.021311641128756727, rel=1e-6)
    assert parity.welch_p([1, 2, 3], [1, 2, 3]) == pytest.approx(1.0)
    assert math.isnan(parity.welch_p([1], [2, 3]))
    assert parity.verdict([1, 2, 3], [1.5, 2.5, 3.5]) == "same"
    assert parity.verdict([1, 2, 3], [4, 5, 6]) == "DIFF"  # p < 0.05 and beyond the spread


def test_curves_and_dev_metrics_of_both_systems(tmp_path, monkeypatch):
    parity = load_benchmark("parity")
    monkeypatch.setattr(parity, "RUNS", str(tmp_path))
    orig = tmp_path / "reverse" / "orig" / "seed1"
    orig.mkdir(parents=True)
    (orig / "train.rc").write_text("0 12.5\n")
    (orig / "train.log").write_text(
        "INFO:tensorflow:loss = 9.217557, step = 1\n"
        "I1202 13:06:04.837344 1 basic_session_run_hooks.py:262] loss = 9.217557, step = 1\n"
        "INFO:tensorflow:loss = 5.5, step = 101 (3.2 sec)\n"
        "INFO:tensorflow:Saving dict for global step 300: global_step = 300, loss = 0.59, "
        "metrics-algorithmic_reverse_binary40_test/targets/accuracy_per_sequence = 0.28\n"
    )
    ours = tmp_path / "reverse" / "t2t" / "seed1" / "train"
    ours.mkdir(parents=True)
    records = [
        {"step": 100, "loss": 5.25, "learning_rate": 0.1},
        {"step": 300, "split": "eval", "loss": 0.55, "accuracy_per_sequence": 0.3},
    ]
    (ours / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert parity.training_curve("reverse", "t2t", 1) == {}  # not finished: left out
    (ours.parent / "train.rc").write_text("0 3.5\n")
    assert parity.training_curve("reverse", "orig", 1) == {0: 9.217557, 100: 5.5}
    assert parity.training_curve("reverse", "t2t", 1) == {100: 5.25}
    assert parity.dev_metrics("reverse", "orig", 1) == {"loss": 0.59, "accuracy_per_sequence": 0.28}
    assert parity.dev_metrics("reverse", "t2t", 1) == {"loss": 0.55, "accuracy_per_sequence": 0.3}
    table = parity.report(["reverse"], [1], markdown=True)
    assert "| train loss @100 |" in table and "| dev accuracy_per_sequence |" in table


def test_same_command_lines_for_both_systems():
    parity = load_benchmark("parity")
    orig = parity.train_command("fr", "orig", 2)
    ours = parity.train_command("fr", "t2t", 2)
    assert orig[0].endswith("t2t-trainer") and ours[0].endswith("t2t-trainer")
    strip = lambda cmd: [a.replace("/orig/", "/X/").replace("/t2t/", "/X/") for a in cmd[1:]]  # noqa: E731
    assert strip(orig) == strip(ours)
    assert "--hparams=learning_rate_warmup_steps=1000,batch_size=2048" in orig
    assert "--random_seed=2" in orig and "--train_steps=2000" in orig
    decode = parity.decode_command("fr", "orig", 2)
    assert "--decode_hparams=beam_size=4,alpha=0.6" in decode
