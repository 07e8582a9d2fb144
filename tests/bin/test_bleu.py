"""t2t-bleu: output identical to the ORIGINAL t2t-bleu on golden file pairs; directory mode.

The expected stdout was captured from tensor2tensor 1.15.7's t2t-bleu by
tests/golden/metrics/make_bleu_goldens.py.
"""

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from t2t.data.tfrecord import read_records

GOLDEN_DIR = Path(__file__).parents[1] / "golden" / "metrics"
GOLDEN = json.loads((GOLDEN_DIR / "bleu_goldens.json").read_text(encoding="utf-8"))


def t2t_bleu(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "t2t.bin.t2t_bleu", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


@pytest.mark.parametrize("name", sorted(GOLDEN["pairs"]))
def test_stdout_equals_original(name):
    out = t2t_bleu(
        f"--reference={GOLDEN_DIR / f'bleu_{name}.ref'}",
        f"--translation={GOLDEN_DIR / f'bleu_{name}.hyp'}",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == GOLDEN["pairs"][name]["t2t_bleu_stdout"]


def test_single_variant():
    out = t2t_bleu(
        f"--reference={GOLDEN_DIR / 'bleu_en.ref'}",
        f"--translation={GOLDEN_DIR / 'bleu_en.hyp'}",
        "--bleu_variant=cased",
    )
    assert out.stdout == GOLDEN["pairs"]["en"]["t2t_bleu_stdout"].splitlines(True)[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--translation=x"], "--reference is required"),
        (["--reference=x"], "Either --translation or --translations_dir"),
        (["--reference=x", "--translation=y", "--translations_dir=z"], "Cannot specify both"),
        (["--reference=x", "--translation=y", "--bleu_variant=upper"], "--bleu_variant"),
        (["--reference=/no/such/file", "--translation=/no/such/hyp"], "file not found"),
        (["--reference=x", "--translations_dir=/tmp"], "--event_dir is required"),
    ],
)
def test_errors_are_one_line(args, message):
    out = t2t_bleu(*args)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_unequal_line_counts_is_a_clear_error():
    # The original fails here with a traceback ending in "AssertionError: 10 != 9".
    assert GOLDEN["unequal_lines"]["stderr_last_line"] == "AssertionError: 10 != 9"
    out = t2t_bleu(
        f"--reference={GOLDEN_DIR / 'bleu_de.ref'}", f"--translation={GOLDEN_DIR / 'bleu_en.hyp'}"
    )
    assert out.returncode == 2
    assert "has 10 lines but translation" in out.stderr and "has 9" in out.stderr


def read_scalars(event_dir: Path) -> list[tuple[int, dict]]:
    """(step, {tag: value}) of every summary event, decoded from the protobuf wire format.

    (TensorFlow 1.15's tf.train.summary_iterator reads these files too; checked by hand.)
    """
    (path,) = event_dir.glob("events.out.tfevents.*")
    events = []
    for record in read_records(str(path)):
        step, values, pos = 0, {}, 9  # skip wall_time (tag byte + double)
        if record[pos] == 0x10:  # step varint
            pos, shift = pos + 1, 0
            while True:
                step |= (record[pos] & 0x7F) << shift
                pos, shift = pos + 1, shift + 7
                if record[pos - 1] < 0x80:
                    break
        if record[pos] == 0x2A:  # summary
            body = record[pos + 2 :]
            while body:
                value = body[2 : 2 + body[1]]
                tag = value[2 : 2 + value[1]].decode()
                values[tag] = struct.unpack("<f", value[3 + value[1] : 7 + value[1]])[0]
                body = body[2 + body[1] :]
            events.append((step, values))
    return events


def test_translations_dir_scores_every_step_and_resumes(tmp_path):
    ref = GOLDEN_DIR / "bleu_de.ref"
    tr = tmp_path / "translations"
    tr.mkdir()
    (tr / "translate_ende-100").write_bytes((GOLDEN_DIR / "bleu_de.hyp").read_bytes())
    (tr / "translate_ende-20").write_bytes(ref.read_bytes())
    events = tmp_path / "events"
    args = [f"--reference={ref}", f"--translations_dir={tr}", f"--event_dir={events}"]
    out = t2t_bleu(*args)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"{tr}/translate_ende-20: BLEU_uncased = 100.00"
    assert lines[3] == f"{tr}/translate_ende-100: BLEU_cased =  54.08"
    assert (events / "last_evaluated_step.txt").read_text() == "100\n"
    scalars = read_scalars(events)
    assert [step for step, _ in scalars] == [0, 20, 100]
    assert scalars[0][1] == {"BLEU_uncased": 0.0, "BLEU_cased": 0.0}
    assert scalars[2][1]["BLEU_cased"] == pytest.approx(100 * GOLDEN["pairs"]["de"]["cased"])
    # A rerun resumes after the last evaluated step: only the new file is scored.
    (tr / "translate_ende-300").write_bytes(ref.read_bytes())
    for old in events.glob("events.out.tfevents.*"):
        os.remove(old)
    out = t2t_bleu(*args, "--bleu_variant=uncased", "--tag_suffix=_beam4")
    assert out.stdout.splitlines() == [f"{tr}/translate_ende-300: BLEU_uncased = 100.00"]
    assert read_scalars(events) == [(300, {"BLEU_uncased_beam4": 100.0})]
