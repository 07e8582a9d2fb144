"""t2t-avg-all: average every window of N consecutive checkpoints, as training goes on.

T2T's flags and behaviour: walks the checkpoints in --model_dir from the oldest (with at
least --min_steps steps), waiting up to --wait_minutes for each new one, and writes the
average of each window of --n checkpoints to --output_dir as model.ckpt-<newest step>
(weights in safetensors, with the newest checkpoint's mtime); flags.txt is copied along.
"""

from absl import flags

from t2t.bin import cli

FLAGS = flags.FLAGS


cli.define_once("string", "model_dir", "", "Directory to load model checkpoints from.")
cli.define_once("string", "output_dir", "avg/", "Directory to output the averaged checkpoints to.")
cli.define_once("integer", "n", 8, "How many checkpoints should be averaged?")
cli.define_once("integer", "min_steps", 0, "Ignore checkpoints with less steps.")
cli.define_once("integer", "wait_minutes", 0, "Wait upto N minutes for a new checkpoint.")
cli.define_once(
    "bool", "verify_checkpoints", True,
    "Verify the digest of checkpoint weights when loading them (--noverify_checkpoints: skip).",
)  # fmt: skip


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-avg-all."""
    import logging
    import os

    from t2t.errors import T2TError
    from t2t.runs import digest
    from t2t.runs.averaging import sliding_window_averages

    digest.set_verification(FLAGS.verify_checkpoints)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not FLAGS.model_dir:
        raise T2TError("--model_dir is required: the training directory with the checkpoints")
    model_dir = os.path.expanduser(FLAGS.model_dir)
    if not os.path.isdir(model_dir):
        raise T2TError(f"--model_dir {model_dir} is not a directory")
    written = list(
        sliding_window_averages(
            model_dir,
            os.path.expanduser(FLAGS.output_dir),
            n=FLAGS.n,
            min_steps=FLAGS.min_steps,
            wait_minutes=FLAGS.wait_minutes,
        )
    )
    if not written:
        logging.warning("fewer than %d checkpoints in %s: nothing averaged", FLAGS.n, model_dir)
    return 0


def run() -> None:
    """Console-script entry point."""
    cli.run(main)


if __name__ == "__main__":
    run()
