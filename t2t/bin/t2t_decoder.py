"""t2t-decoder: decode a file, stdin or the dev set with a trained model.

    t2t-decoder --output_dir=~/t2t_train/ende --decode_hparams="beam_size=4,alpha=0.6" \\
        --decode_from_file=newstest.en --decode_to_file=newstest.de
    t2t-decoder --output_dir=~/t2t_train/ende --decode_interactive
    t2t-decoder --output_dir=~/t2t_train/ende           # the dev set: files + metrics

The run's run.json and hparams.json give the problem, model, hparams set and data dir, so
--problem/--model/--hparams_set/--data_dir are needed only for a directory that lacks them
(flags given win). Decoding the dev set writes T2T's three files
`<base>.<model>.<hparams_set>.<problem>.beam<k>.alpha<a>.{decodes,targets,inputs}` (base:
--decode_to_file, else <output_dir>/decode) and prints per-sequence accuracy and BLEU.
"""

from __future__ import annotations

import logging
import os
import sys

from absl import flags

from t2t.bin import cli
from t2t.bin import flags as t2t_flags  # the shared T2T flags (and run_names)

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(t2t_flags)  # --help lists the shared flags too
log = logging.getLogger("t2t.decoder")


cli.define_once("string", "output_dir", "", "The training run's directory (run.json, checkpoints).")
cli.define_once(
    "string", "checkpoint_path", None, "Decode with this checkpoint instead of the latest."
)
cli.define_once("bool", "decode_interactive", False, "Read inputs from stdin, one per line.")
cli.define_once("string", "device", "", "cpu, cuda or cuda:N (default: CUDA when available).")
cli.define_once(
    "string", "quantize", "none",
    "none (float32) or int8: int8 linear layers with dynamic activation scaling, on a CPU.",
)  # fmt: skip
cli.define_once("integer", "random_seed", None, "Seed for Python, NumPy and torch (for sampling).")
cli.define_once(
    "bool", "keep_timestamp", False,
    "With --decode_from_file and --checkpoint_path: give the decodes the checkpoint's mtime.",
)  # fmt: skip
cli.define_once(
    "bool", "verify_checkpoints", True,
    "Verify the digest of checkpoint weights when loading them (--noverify_checkpoints: skip).",
)  # fmt: skip
cli.define_once(
    "string", "score_file", "",
    "Score the lines 'input<TAB>target' (or 'target') of this file into --decode_to_file.",
)  # fmt: skip


def _overridden_run(output_dir: str):
    """run.json with --problem/--model/--hparams_set/--data_dir/--hparams flags applied."""
    from t2t.runs import run_files

    return run_files.resolve_run(output_dir, t2t_flags.run_names(), FLAGS.hparams)


def _load(output_dir: str):
    from t2t.decode.api import load_run

    return load_run(
        output_dir, _overridden_run(output_dir), FLAGS.checkpoint_path, FLAGS.device,
        FLAGS.quantize,
    )  # fmt: skip


def _decode_lines(loaded, lines: list[str], hp, first_line: int = 1, make_inputs=None) -> list[str]:
    """The output line of each input (T2T's format: best decode, or beams tab-separated).

    `make_inputs` (lines -> inputs batch) replaces the problem's own (audio paths, text ids).

    Raises:
        T2TError: naming the first line (counted from `first_line`) that cannot be encoded.
    """
    from t2t.decode import decoding

    top_beams = hp.beam_size if hp.return_beams else 1
    final_id = loaded.final_id(hp.multiproblem_task_id)  # EOS, or the task to decode
    fn = loaded.decode_batch_fn(
        hp.beam_size, hp.alpha, top_beams, hp.extra_length, final_id, step_mode=hp.step_mode
    )
    batch_size = hp.batch_size if hp.batch_size > 0 else decoding.DEFAULT_DECODE_BATCH_SIZE
    results = decoding.decode_lines(
        lines,
        fn,
        loaded.encode,
        batch_size,
        hp.max_input_size,
        first_line,
        make_inputs=make_inputs or loaded.make_inputs_fn(),
        final_id=final_id,
    )
    encoder = loaded.encoders["targets"]
    # A class label is never cut at EOS: label 1 is a class, not the end (Loaded.decode_ids).
    keep_eos = hp.skip_eos_postprocess or type(encoder).__name__ == "ClassLabelEncoder"
    return [
        decoding.format_beams(
            beams, encoder.decode, hp.return_beams, hp.write_beam_scores, keep_eos
        )
        for beams in results
    ]


def decode_from_file(loaded, hp, run: dict) -> None:
    """Decodes --decode_from_file into --decode_to_file (or T2T's default name)."""
    from t2t.decode import decoding
    from t2t.errors import T2TError

    path = os.path.expanduser(FLAGS.decode_from_file)
    if not os.path.isfile(path):
        raise T2TError(f"--decode_from_file={path} does not exist")
    if loaded.problem.has_inputs:
        lines = decoding.read_inputs(path, hp.delimiter)
    else:  # prefixes to continue, T2T's way (not stripped, repeated num_decodes times)
        lines = decoding.read_prefixes(path, hp.delimiter, hp.num_decodes)
    target = FLAGS.decode_to_file or decoding.default_output_filename(
        path, run["model"], run["hparams_set"], run["problem"], hp.beam_size, hp.alpha
    )
    from t2t.data.output_paths import check_output_file

    check_output_file(target)  # before the decoding, not after it
    outputs = _decode_lines(loaded, lines, hp)
    decoding.write_records(target, outputs, hp.delimiter)
    print(f"Decoded {len(lines)} lines into {target}", file=sys.stderr)
    if FLAGS.keep_timestamp and FLAGS.checkpoint_path:
        _copy_mtime(loaded.checkpoint, target)
    if FLAGS.decode_reference and loaded.make_inputs_fn() is not None:
        _print_error_rates(os.path.expanduser(FLAGS.decode_reference), outputs, hp.delimiter)
    elif FLAGS.decode_reference:
        from t2t.metrics.bleu import bleu_wrapper

        reference = os.path.expanduser(FLAGS.decode_reference)
        for name, cased in (("BLEU_uncased", False), ("BLEU_cased", True)):
            print(f"{name} = {100 * bleu_wrapper(reference, target, cased):6.2f}")


def _print_error_rates(reference_path: str, outputs: list[str], delimiter: str) -> None:
    """Character and word error rates of the best decodes against a reference file (for
    problems whose inputs are not text, e.g. speech, instead of BLEU)."""
    from t2t.decode import decoding
    from t2t.errors import T2TError
    from t2t.metrics.edit_distance import text_error_counts

    references = decoding.read_inputs(reference_path, delimiter)
    if len(references) != len(outputs):
        raise T2TError(
            f"--decode_reference={reference_path} has {len(references)} lines for "
            f"{len(outputs)} decodes"
        )
    counts = text_error_counts([o.split("\t")[0] for o in outputs], references)
    cer = 100 * counts["char_errors"] / max(1, counts["chars"])
    wer = 100 * counts["word_errors"] / max(1, counts["words"])
    print(f"CER = {cer:6.2f} ({counts['char_errors']}/{counts['chars']} characters)")
    print(f"WER = {wer:6.2f} ({counts['word_errors']}/{counts['words']} words)")


def _copy_mtime(checkpoint: str, path: str) -> None:
    """Sets path's mtime to the checkpoint's (its weights file; T2T used the .index file)."""
    from t2t.runs import checkpoints

    weights = checkpoint if os.path.exists(checkpoint) else checkpoint + checkpoints.WEIGHTS_SUFFIX
    if os.path.exists(weights):
        mtime = os.path.getmtime(weights)
        os.utime(path, (mtime, mtime))


def score_file(loaded) -> None:
    """Writes the score ("%.6f") of each 'input<TAB>target' line of --score_file, as T2T."""
    from t2t.decode import decoding
    from t2t.errors import T2TError

    if not FLAGS.decode_to_file:
        raise T2TError("to score a file, give --decode_to_file for the scores")
    path = os.path.expanduser(FLAGS.score_file)
    if not os.path.isfile(path):
        raise T2TError(f"--score_file={path} does not exist")
    pairs = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) > 2:
                raise T2TError(f"{path}:{number}: each line must have at most one tab")
            if len(fields) == 1 and loaded.problem.has_inputs:
                raise T2TError(f"{path}:{number}: {loaded.run['problem']} needs 'input<TAB>target'")
            pairs.append(("", fields[0]) if len(fields) == 1 else (fields[0], fields[1]))
    scores = loaded.score(pairs)
    lines = [f"{x:.6f}" for x in scores]
    decoding.write_records(os.path.expanduser(FLAGS.decode_to_file), lines, "\n")
    print(f"Scored {len(pairs)} lines into {FLAGS.decode_to_file}", file=sys.stderr)


def decode_interactive(loaded, hp) -> None:
    """Reads lines from stdin and prints each decode (an empty input line is decoded too).

    At a terminal, "q" quits (T2T's prompt command); piped input is decoded line by line
    as is, so that every input line gives one output line. A line that cannot be encoded
    (e.g. an id outside the vocabulary) is reported on stderr, by its number, and skipped
    (piped: its output line is empty).
    """
    from t2t.errors import T2TError

    interactive = sys.stdin.isatty()
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 become U+FFFD
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    if interactive:
        print("Type an input and press Enter (q or Ctrl-D to quit).", file=sys.stderr)
    for number, line in enumerate(sys.stdin, 1):
        if interactive and line.strip() == "q":
            break
        try:
            output = _decode_lines(loaded, [line.strip()], hp, first_line=number)[0]
        except T2TError as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            if interactive:
                continue
            output = ""
        print(output, flush=True)


def _rows_per_beam(
    lines: list[str], inputs: list[str], targets: list[str], with_scores: bool
) -> tuple[list[str], list[str], list[str]]:
    """Splits tab-joined beam lines into one row per beam (input and target repeated)."""
    width = 2 if with_scores else 1
    outputs, row_inputs, row_targets = [], [], []
    for line, source, target in zip(lines, inputs, targets):
        fields = line.split("\t")
        for start in range(0, len(fields), width):
            outputs.append("\t".join(fields[start : start + width]))
            row_inputs.append(source)
            row_targets.append(target)
    return outputs, row_inputs, row_targets


def decode_dev_set(loaded, hp, run: dict, output_dir: str) -> None:
    """Decodes the dev set: T2T's .decodes/.targets/.inputs files, accuracy and BLEU."""
    from t2t.decode import decoding

    if hasattr(loaded.problem, "task_list"):  # a MultiProblem: task by task
        from t2t.bin.decode_multi_problem import decode_multi_problem_dev_set

        base = os.path.expanduser(FLAGS.decode_to_file) if FLAGS.decode_to_file else ""
        decode_multi_problem_dev_set(loaded, hp, run, output_dir, base)
        return
    data_dir = os.path.expanduser(run["data_dir"])
    featured = loaded.make_inputs_fn() is not None  # inputs that are not text (audio, images)
    if not featured:
        examples = loaded.problem.dataset("eval", data_dir=data_dir)
    else:  # features from the model's hparams (e.g. a speech problem's audio_* values)
        examples = loaded.problem.dataset("eval", data_dir=data_dir, hparams=loaded.hparams)
    inputs, targets, features = [], [], []
    in_encoder = loaded.encoders.get("inputs")
    for i, example in enumerate(examples):
        if 0 <= hp.num_samples <= i:
            break
        targets.append(loaded.decode_ids(example["targets"]))
        if not featured and in_encoder is not None and "inputs" in example:
            inputs.append(in_encoder.decode(decoding.cut_at_eos(example["inputs"])))
        else:
            inputs.append("")
            features.append(example.get("inputs"))
    make_inputs = None
    if featured:  # decode the dev examples' features
        inputs = [str(i) for i in range(len(targets))]  # the example's number in the dev set
        make_inputs = _features_batch_fn(features)
    base = FLAGS.decode_to_file or os.path.join(output_dir, "decode")
    decodes = decoding.default_output_filename(
        base, run["model"], run["hparams_set"], run["problem"], hp.beam_size, hp.alpha
    )
    from t2t.data.output_paths import check_output_file

    check_output_file(decodes)  # before the decoding, not after it
    outputs = _decode_lines(loaded, inputs, hp, make_inputs=make_inputs)
    stem, exact, bleu = write_dev_decodes(decodes, outputs, inputs, targets, hp)
    print(f"Decoded {len(targets)} dev examples into {decodes} (+ .targets, .inputs)")
    if type(loaded.encoders.get("targets")).__name__ == "ClassLabelEncoder":
        print(f"accuracy: {100 * exact:.2f}% (predicted labels in {decodes})")
        return
    print(f"per-sequence accuracy: {100 * exact:.2f}%  BLEU (cased): {100 * bleu:.2f}")
    if make_inputs is not None:
        _print_error_rates(stem + ".targets", outputs, hp.delimiter)


def write_dev_decodes(
    decodes: str, outputs: list[str], inputs: list[str], targets: list[str], hp
) -> tuple[str, float, float]:
    """Writes T2T's dev-set files (`decodes` and its .targets/.inputs siblings) and scores
    the best decodes: -> (the files' stem, per-sequence accuracy, cased BLEU)."""
    from t2t.decode import decoding
    from t2t.metrics.bleu import bleu_tokenize, compute_bleu

    best = [line.split("\t")[0] for line in outputs]
    rows = (outputs, inputs, targets)
    if hp.return_beams:  # T2T writes each beam on its own row, beside its input and target
        rows = _rows_per_beam(outputs, inputs, targets, hp.write_beam_scores)
    stem = decodes.rsplit(".", 1)[0]  # T2T replaces the last dot-part of the name
    decoding.write_records(decodes, rows[0], hp.delimiter)
    decoding.write_records(stem + ".targets", rows[2], hp.delimiter)
    decoding.write_records(stem + ".inputs", rows[1], hp.delimiter)
    exact = sum(o == t for o, t in zip(best, targets)) / max(1, len(targets))
    bleu = compute_bleu([bleu_tokenize(t) for t in targets], [bleu_tokenize(o) for o in best])
    return stem, exact, bleu


def _features_batch_fn(features: list):
    """lines "i" -> the zero-padded batch of features[i] (dev inputs that are not text lines:
    audio or image features, a MultiProblem task's prompt ids)."""
    import torch

    from t2t.data.batching import pad_batch

    def make_inputs(lines):
        batch = pad_batch([{"inputs": features[int(line)]} for line in lines])
        return torch.from_numpy(batch["inputs"])

    return make_inputs


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-decoder."""
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.decode import decoding
    from t2t.decode.malloc import keep_freed_memory
    from t2t.errors import T2TError

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    import_usr_dir(FLAGS.t2t_usr_dir)
    t2t_flags.check_compat_flags()
    if not FLAGS.output_dir:
        raise T2TError("--output_dir (the training run's directory) must be given")
    output_dir = os.path.expanduser(FLAGS.output_dir)
    hp = decoding.decode_hparams(FLAGS.decode_hparams)
    from t2t.data import output_paths
    from t2t.runs import digest
    from t2t.train.trainer import seed_everything
    from t2t.value_checks import check_decode_hparams

    check_decode_hparams(hp)
    digest.set_verification(FLAGS.verify_checkpoints)
    if FLAGS.decode_to_file:  # before the model is loaded and the work is done
        output_paths.check_output_file(os.path.expanduser(FLAGS.decode_to_file))

    keep_freed_memory()  # reuse freed decoding buffers: no page faults per step
    seed_everything(FLAGS.random_seed)
    loaded = _load(output_dir)
    if FLAGS.score_file:
        score_file(loaded)
    elif FLAGS.decode_interactive:
        decode_interactive(loaded, hp)
    elif FLAGS.decode_from_file:
        decode_from_file(loaded, hp, loaded.run)
    else:
        decode_dev_set(loaded, hp, loaded.run, output_dir)
    return 0


def run() -> None:
    """Console-script entry point (`t2t-decoder`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
