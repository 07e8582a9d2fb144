"""t2t-bleu: BLEU of translations against a reference, exactly as T2T computes it.

One file:

    t2t-bleu --translation=my-wmt13.de --reference=wmt13_deen.de

prints `BLEU_uncased =  NN.NN` then `BLEU_cased =  NN.NN` (T2T's format). Every
translation in a directory (files named `<anything>-<steps>`, as t2t-translate-all writes):

    t2t-bleu --translations_dir=my-translations --reference=wmt13_deen.de --event_dir=events

scores each file from the oldest step on (optionally waiting `--wait_minutes` for new ones),
prints one line per file and score, writes TensorBoard scalars `BLEU_uncased<tag_suffix>`
and `BLEU_cased<tag_suffix>` at the file's step and mtime into `--event_dir`, and records the
last scored step in `<event_dir>/last_evaluated_step.txt` so a rerun resumes after it.

Departures from T2T: lines of different count, missing files, a missing --reference or
--event_dir, or an unknown --bleu_variant give a one-line error (T2T raised a bare
AssertionError / TypeError or printed nothing); per-file scores in directory mode are
printed to stdout, not only logged; a rerun resumes after the step in
last_evaluated_step.txt (T2T re-scored that step once more).
"""

from __future__ import annotations

import os
import socket
import struct
import time

import numpy as np
from absl import flags

from t2t.bin import cli
from t2t.data.tfrecord import frame_record
from t2t.errors import DataError, T2TError
from t2t.metrics import bleu
from t2t.runs import step_files

FLAGS = flags.FLAGS

flags.DEFINE_string("source", None, "Path to the source-language file (unused, as in T2T).")
flags.DEFINE_string("reference", None, "Path to the reference translation file.")
flags.DEFINE_string("translation", None, "Path to the MT system translation file.")
flags.DEFINE_string("translations_dir", None, "Directory with translated files to evaluate.")
flags.DEFINE_string("event_dir", None, "Where to store the event file.")
flags.DEFINE_string(
    "bleu_variant", "both", "Possible values: cased (case-sensitive), uncased, both (default)."
)
flags.DEFINE_string("tag_suffix", "", "What to add to BLEU_cased and BLEU_uncased tags.")
flags.DEFINE_integer(
    "min_steps",
    -1,
    "Don't evaluate translations with fewer steps. -1: resume after the step in "
    "<event_dir>/last_evaluated_step.txt (0 if absent).",
)
flags.DEFINE_integer(
    "wait_minutes", 0, "Wait up to N minutes for a new translation, cf. save_checkpoints_secs."
)
flags.DEFINE_bool(
    "report_zero",
    None,
    "Store BLEU=0 at step 0, timed by the oldest file (default: when min_steps == 0).",
)

VARIANTS = ("cased", "uncased", "both")


class EventWriter:
    """Appends scalar summaries to a TensorBoard event file, without TensorFlow.

    The file is a TFRecord of `tensorflow.Event` protocol buffers; the few fields needed
    (wall_time, step, file_version, summary.value{tag, simple_value}) are encoded by hand.
    """

    def __init__(self, logdir: str) -> None:
        os.makedirs(logdir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}"
        self.path = os.path.join(logdir, name)
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._write(_event(time.time(), 0, file_version="brain.Event:2"))

    def add_scalars(self, values: dict[str, float], step: int, wall_time: float) -> None:
        """Writes one event holding every (tag, value) pair and flushes it."""
        self._write(_event(wall_time, step, summary=values))

    def _write(self, event: bytes) -> None:
        self._file.write(frame_record(event))
        self._file.flush()

    def close(self) -> None:
        """Closes the event file; later `add_scalars` calls fail."""
        self._file.close()


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1  # int64 two's complement, as protobuf encodes negatives
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(field: int, payload: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


def _event(
    wall_time: float, step: int, file_version: str = "", summary: dict | None = None
) -> bytes:
    """Serialised `Event{wall_time=1, step=2, file_version=3, summary=5}`."""
    out = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3) + _varint(step)
    if file_version:
        out += _length_delimited(3, file_version.encode())
    if summary:
        values = b"".join(
            # Summary.Value{tag=1 (string), simple_value=2 (float)}
            _length_delimited(
                1, _length_delimited(1, tag.encode()) + _varint(2 << 3 | 5) + struct.pack("<f", v)
            )
            for tag, v in summary.items()
        )
        out += _length_delimited(5, values)
    return out


def bleu_percent(reference: str, translation: str, case_sensitive: bool) -> float:
    """100 * BLEU in float32 arithmetic, as T2T (so "%6.2f" rounds the same way)."""
    value = bleu.bleu_wrapper(reference, translation, case_sensitive=case_sensitive)
    return float(np.float32(100) * np.float32(value))


def score_variants(reference: str, translation: str, variant: str) -> dict[str, float]:
    """{"BLEU_uncased": x, "BLEU_cased": y} for the requested variant(s), uncased first."""
    scores = {}
    if variant in ("uncased", "both"):
        scores["BLEU_uncased"] = bleu_percent(reference, translation, False)
    if variant in ("cased", "both"):
        scores["BLEU_cased"] = bleu_percent(reference, translation, True)
    return scores


def _wait_for_dir(path: str, wait_minutes: int) -> None:
    exit_time = time.time() + wait_minutes * 60
    while not os.path.exists(path):
        if time.time() > exit_time:
            raise DataError(f"translations dir {path} does not exist")
        time.sleep(10)


def _resolve_min_steps(last_step_file: str, min_steps: int) -> int:
    if min_steps != -1:
        return min_steps
    if not os.path.exists(last_step_file):
        return 0
    try:
        with open(last_step_file, encoding="utf-8") as f:
            # T2T resumes AT the last evaluated step and scores it a second time; we resume
            # after it, so a rerun never writes a duplicate event.
            return int(f.read()) + 1
    except ValueError:
        raise DataError(f"{last_step_file} does not hold a step number; delete it") from None


def score_directory(
    translations_dir: str, reference: str, event_dir: str, variant: str, tag_suffix: str,
    min_steps: int, wait_minutes: int, report_zero: bool | None,
) -> None:  # fmt: skip
    """t2t-bleu's --translations_dir mode (see the module docstring)."""
    translations_dir = os.path.expanduser(translations_dir)
    _wait_for_dir(translations_dir, wait_minutes)
    last_step_file = os.path.join(event_dir, "last_evaluated_step.txt")
    min_steps = _resolve_min_steps(last_step_file, min_steps)
    report_zero = min_steps == 0 if report_zero is None else report_zero
    writer = EventWriter(event_dir)
    try:
        for stepfile in step_files.stepfiles_iterator(
            translations_dir, wait_minutes, min_steps, path_suffix=""
        ):
            if report_zero:  # BLEU 0 at step 0, so TensorBoard's relative time is right.
                files = (os.path.join(translations_dir, f) for f in os.listdir(translations_dir))
                start = min(os.path.getmtime(f) for f in files if os.path.isfile(f))
                zeros = {tag: 0.0 for tag in score_variants_tags(variant)}
                writer.add_scalars({t + tag_suffix: v for t, v in zeros.items()}, 0, start)
                report_zero = False
            scores = score_variants(reference, stepfile.filename, variant)
            for tag, value in scores.items():
                print(f"{stepfile.filename}: {tag} = {value:6.2f}", flush=True)
            tagged = {tag + tag_suffix: value for tag, value in scores.items()}
            writer.add_scalars(tagged, stepfile.steps, stepfile.mtime)
            with open(last_step_file, "w", encoding="utf-8") as f:
                f.write(f"{stepfile.steps}\n")
    finally:
        writer.close()


def score_variants_tags(variant: str) -> list[str]:
    """The score tags `variant` ("cased", "uncased" or "both") produces, in T2T's order.

    BLEU_uncased first, then BLEU_cased; used to write zero scores (--report_zero).
    """
    return [
        tag for tag, v in (("BLEU_uncased", "cased"), ("BLEU_cased", "uncased")) if variant != v
    ]


def main(argv: list[str]) -> None:
    """Entry point of t2t-bleu: scores one translation file or a directory of step files.

    Raises:
        T2TError: stray arguments, an unknown --bleu_variant, or a missing or conflicting
            --reference / --translation / --translations_dir / --event_dir.
    """
    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.bleu_variant not in VARIANTS:
        raise T2TError(f"--bleu_variant must be one of {', '.join(VARIANTS)}")
    if not FLAGS.reference:
        raise T2TError("--reference is required")
    if FLAGS.translation:
        if FLAGS.translations_dir:
            raise T2TError("Cannot specify both --translation and --translations_dir.")
        for tag, value in score_variants(
            FLAGS.reference, FLAGS.translation, FLAGS.bleu_variant
        ).items():
            print(f"{tag} = {value:6.2f}")
        return
    if not FLAGS.translations_dir:
        raise T2TError("Either --translation or --translations_dir must be specified.")
    if not FLAGS.event_dir:
        raise T2TError("--event_dir is required with --translations_dir")
    score_directory(
        FLAGS.translations_dir, FLAGS.reference, FLAGS.event_dir, FLAGS.bleu_variant,
        FLAGS.tag_suffix, FLAGS.min_steps, FLAGS.wait_minutes, FLAGS.report_zero,
    )  # fmt: skip


def run() -> None:
    """Console-script entry point (`t2t-bleu`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
