"""t2t-trainer: train (and evaluate) a registered model on a registered problem."""

import logging

from absl import flags

from t2t.bin import cli
from t2t.bin import flags as t2t_flags

FLAGS = flags.FLAGS

flags.DEFINE_integer("random_seed", None, "Seed for Python, NumPy and torch.")
flags.DEFINE_bool("generate_data", False, "Generate the problem's data into --data_dir first.")
flags.DEFINE_string("tmp_dir", "/tmp/t2t_datagen", "Directory for downloads and raw data.")
flags.DEFINE_string("output_dir", "", "Directory for checkpoints, hparams.json and logs.")
flags.DEFINE_string(
    "schedule",
    "continuous_train_and_eval",
    "What to run: train, evaluate, train_and_evaluate, continuous_train_and_eval, continuous_eval.",
)
flags.DEFINE_integer("eval_steps", 100, "Number of batches per evaluation.")
flags.DEFINE_integer(
    "iterations_per_loop",
    100,
    "Accepted for T2T compatibility (TPU loops); "
    "also the lower bound on the checkpoint interval, as in T2T.",
)
flags.DEFINE_integer("log_step_count_steps", 100, "Log loss and speed every N steps.")

log = logging.getLogger("t2t.trainer")


def hp_args_to_flags(argv: list[str]) -> list[str]:
    """T2T turns `--hp_NAME VALUE` argument pairs into `NAME=VALUE` hparams overrides.

    Returns argv with those pairs folded into one `--hparams` flag (after any given one).
    """
    rest, extra, hparams = [], [], None
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("--hp_") and "=" not in arg and args:
            extra.append(f"{arg[len('--hp_') :]}={args.pop(0)}")
        elif arg.startswith("--hparams="):
            hparams = arg[len("--hparams=") :]
        else:
            rest.append(arg)
    if not extra:
        return list(argv)
    joined = ",".join(([hparams] if hparams else []) + extra)
    return rest + [f"--hparams={joined}"]


def resolve_names(problem: str | None, model: str | None, hparams_set: str | None) -> None:
    """Checks that the named problem, model and hparams set are registered.

    Raises:
        UnknownNameError: naming the unknown one and the closest registered names.
    """
    from t2t import registry

    if problem:
        registry.Registries.problems.raw(registry.parse_problem_name(problem)[0])
    if model:
        registry.Registries.models.raw(model)
    if hparams_set:
        registry.Registries.hparams.raw(hparams_set)


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-trainer."""
    from t2t import registry
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.errors import T2TError
    from t2t.hparams import create_hparams

    import_usr_dir(FLAGS.t2t_usr_dir)
    if FLAGS.registry_help:
        print(registry.help_string())
        return 0
    for name in t2t_flags.ignored_flags_in_use():
        log.warning("--%s is accepted for T2T compatibility and has no effect", name)
    resolve_names(FLAGS.problem, FLAGS.model, FLAGS.hparams_set)
    if FLAGS.hparams_set:
        create_hparams(FLAGS.hparams_set, FLAGS.hparams)
    raise T2TError(
        "training is not built yet in this version of t2t: the names and hparams you gave "
        "are valid; --registry_help lists what is registered"
    )


def run() -> None:
    """Console-script entry point."""
    import sys

    sys.argv = hp_args_to_flags(sys.argv)
    cli.run(main)


if __name__ == "__main__":
    run()
