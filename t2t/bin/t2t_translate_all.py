"""t2t-translate-all: decode a source file with every checkpoint of a training run.

    t2t-translate-all --model_dir=~/t2t_train/ende --source=newstest2014.en \\
        --translations_dir=~/translations
    t2t-bleu --translations_dir=~/translations --reference=newstest2014.de

Each checkpoint `model.ckpt-<step>` gives `<translations_dir>/<problem>-<step>` (T2T's
names, which `t2t-bleu --translations_dir` reads); existing files are skipped, so a
re-run continues. With --wait_minutes it waits for new checkpoints as training goes on.
Unlike T2T, which started one t2t-decoder process per checkpoint, the model is built once
and only the weights are reloaded.
"""

from __future__ import annotations

import logging
import os
import shutil

from absl import flags

from t2t.bin import cli
from t2t.bin import flags as t2t_flags  # the shared T2T flags (and run_names)

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(t2t_flags)  # --help lists the shared flags too
log = logging.getLogger("t2t.translate_all")

flags.DEFINE_string("model_dir", "", "The training run's directory (its checkpoints).")
flags.DEFINE_string("source", None, "The file to translate, one sentence per line.")
flags.DEFINE_string("translations_dir", "translations", "Where to write the translations.")
flags.DEFINE_integer("min_steps", 0, "Ignore checkpoints with fewer steps.")
flags.DEFINE_integer("wait_minutes", 0, "Wait this long for a new checkpoint (0: do not wait).")
flags.DEFINE_integer("beam_size", 4, "Beam-search width.")
flags.DEFINE_float("alpha", 0.6, "Beam-search length-penalty exponent.")
cli.define_once("string", "device", "", "cpu, cuda or cuda:N (default: CUDA when available).")


def _copy_flags_txt(model_dir: str, translations_dir: str, problem: str) -> None:
    """Copies the run's flags.txt (if any) to `<problem>-flags.txt` once, as T2T does."""
    source = os.path.join(model_dir, "flags.txt")
    target = os.path.join(translations_dir, f"{problem}-flags.txt")
    if os.path.exists(source) and not os.path.exists(target):
        shutil.copy2(source, target)  # copy2 keeps the mtime, as T2T's copy did


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-translate-all."""
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.decode import decoding
    from t2t.decode.api import load_run
    from t2t.decode.malloc import keep_freed_memory
    from t2t.errors import T2TError
    from t2t.runs import checkpoints, run_files
    from t2t.runs.step_files import stepfiles_iterator

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    import_usr_dir(FLAGS.t2t_usr_dir)
    if not FLAGS.model_dir or not FLAGS.source:
        raise T2TError("--model_dir and --source must be given")
    model_dir = os.path.expanduser(FLAGS.model_dir)
    source = os.path.expanduser(FLAGS.source)
    if not os.path.isfile(source):
        raise T2TError(f"--source={source} does not exist")
    run = run_files.resolve_run(model_dir, t2t_flags.run_names())
    translations_dir = os.path.expanduser(FLAGS.translations_dir)
    os.makedirs(translations_dir, exist_ok=True)
    _copy_flags_txt(model_dir, translations_dir, run["problem"])
    lines = decoding.read_inputs(source)
    keep_freed_memory()  # reuse freed decoding buffers: no page faults per step
    loaded = None
    for stepfile in stepfiles_iterator(
        model_dir + os.sep, FLAGS.wait_minutes, FLAGS.min_steps, checkpoints.WEIGHTS_SUFFIX
    ):
        out_file = os.path.join(translations_dir, f"{run['problem']}-{stepfile.steps}")
        if os.path.exists(out_file):
            log.info("%s already exists, so skipping it", out_file)
            continue
        if loaded is None:
            loaded = load_run(model_dir, run, stepfile.filename, FLAGS.device)
        else:
            checkpoints.load_weights(loaded.model, stepfile.filename)
        outputs = loaded.decode(lines, beam_size=FLAGS.beam_size, alpha=FLAGS.alpha)
        decoding.write_records(out_file, outputs)
        # Keep the checkpoint's time, as T2T's --keep_timestamp did (t2t-bleu reports it).
        os.utime(out_file, (stepfile.mtime, stepfile.mtime))
        print(f"Translated {len(lines)} lines with {stepfile.filename} into {out_file}")
    return 0


def run() -> None:
    """Console-script entry point (`t2t-translate-all`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
