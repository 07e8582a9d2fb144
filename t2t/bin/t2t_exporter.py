"""t2t-exporter: write a trained run as a self-contained export directory.

    t2t-exporter --output_dir=~/t2t_train/ende                      # -> export/<timestamp>
    t2t-exporter --output_dir=~/t2t_train/ende --export_format=t2t,ctranslate2,onnx \\
        --decode_hparams="beam_size=4,alpha=0.6" --export_dir=/srv/models/ende

As T2T's, the export goes to `<export_dir>/<timestamp>` with --export_dir defaulting to
`<output_dir>/export`; an --export_dir given explicitly that does not exist yet is used as
is. The directory holds the weights, resolved hparams, the vocabularies, problem metadata
and a manifest with SHA-256 digests (docs/serving.md): `t2t.load(DIR)` and `t2t-serve
--export_dir=DIR` open it with no data_dir and no --t2t_usr_dir. --export_format adds a
CTranslate2 model (ctranslate2/) and ONNX graphs of the encoder and the cached decoder
step (onnx/). The path written is printed on stdout.
"""

from __future__ import annotations

import os

from absl import flags

from t2t.bin import cli
from t2t.bin import flags as t2t_flags  # the shared T2T flags (and run_names)

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(t2t_flags)

cli.define_once("string", "output_dir", "", "The training run's directory (run.json, checkpoints).")
cli.define_once("string", "checkpoint_path", None, "Export this checkpoint instead of the latest.")
cli.define_once(
    "string", "export_dir", None,
    "Where to export: a new directory, or (T2T's layout) the parent of <timestamp>/ when it "
    "exists. Default: <output_dir>/export/<timestamp>.",
)  # fmt: skip
cli.define_once(
    "string", "export_format", "t2t",
    "Comma list of t2t (always written), ctranslate2, onnx.",
)  # fmt: skip
cli.define_once(
    "string", "quantize", "none",
    "none or int8: the export's default for t2t.load and t2t-serve (int8 linear layers on a "
    "CPU), and int8 weights in the CTranslate2 model.",
)  # fmt: skip
cli.define_once("bool", "export_as_tfhub", False, "T2T's TF-Hub module export; not supported.")
cli.define_once("bool", "as_text", True, "T2T's SavedModel text option; has no effect here.")

# Decode hparams stored as the export's serving defaults.
_SERVING_DECODE_HPARAMS = (
    "beam_size", "alpha", "extra_length", "return_beams", "max_input_size", "batch_size",
)  # fmt: skip


def _target(output_dir: str) -> str:
    from t2t.export.exporter import default_export_dir

    if not FLAGS.export_dir:
        return default_export_dir(os.path.join(output_dir, "export"))
    given = os.path.expanduser(FLAGS.export_dir)
    if os.path.isdir(given):  # T2T's --export_dir is the parent of timestamped exports
        return default_export_dir(given)
    return given


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-exporter."""
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.decode import decoding
    from t2t.decode.api import load_run
    from t2t.decode.quantize import check_choice
    from t2t.errors import T2TError
    from t2t.export import exporter
    from t2t.runs import run_files
    from t2t.value_checks import check_decode_hparams

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    if FLAGS.export_as_tfhub:
        raise T2TError("--export_as_tfhub: TF-Hub modules are TensorFlow's; use --export_format")
    formats = exporter.parse_formats(FLAGS.export_format)
    quantize = check_choice(FLAGS.quantize)
    import_usr_dir(FLAGS.t2t_usr_dir)
    t2t_flags.check_compat_flags()
    if not FLAGS.output_dir:
        raise T2TError("--output_dir (the training run's directory) must be given")
    output_dir = os.path.expanduser(FLAGS.output_dir)
    if not os.path.isdir(output_dir):
        raise T2TError(f"--output_dir={output_dir} does not exist")
    hp = decoding.decode_hparams(FLAGS.decode_hparams)
    check_decode_hparams(hp)
    run = run_files.resolve_run(output_dir, t2t_flags.run_names(), FLAGS.hparams)
    loaded = load_run(output_dir, run, FLAGS.checkpoint_path, "cpu")
    decode = {name: getattr(hp, name) for name in _SERVING_DECODE_HPARAMS}
    decode["quantize"] = quantize
    path = exporter.export_loaded(loaded, _target(output_dir), formats, decode, output_dir)
    print(path)
    return 0


def run() -> None:
    """Console-script entry point (`t2t-exporter`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
