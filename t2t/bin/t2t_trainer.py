"""t2t-trainer: train (and evaluate) a registered model on a registered problem."""

import logging
import os

from absl import flags

from t2t.bin import cli
from t2t.bin import flags as t2t_flags

FLAGS = flags.FLAGS
flags.adopt_module_key_flags(t2t_flags)  # --help lists the shared flags too

cli.define_once("integer", "random_seed", None, "Seed for Python, NumPy and torch.")
flags.DEFINE_bool(
    "generate_data",
    False,
    "Generate the problem's data into --data_dir first (the same files as t2t-datagen).",
)
cli.define_once("string", "tmp_dir", "/tmp/t2t_datagen", "Directory for downloads and raw data.")
cli.define_once("string", "output_dir", "", "Directory for checkpoints, hparams.json and logs.")
flags.DEFINE_string(
    "schedule",
    "continuous_train_and_eval",
    "What to run: train, evaluate, train_and_evaluate, continuous_train_and_eval, continuous_eval.",
)
flags.DEFINE_integer("eval_steps", 100, "Batches per evaluation (0: the whole dev set).")
flags.DEFINE_integer(
    "iterations_per_loop",
    100,
    "Accepted for T2T compatibility (TPU loops); "
    "also the lower bound on the checkpoint interval, as in T2T.",
)
flags.DEFINE_integer("log_step_count_steps", 100, "Log loss and speed every N steps.")
flags.DEFINE_bool("bf16", False, "Mixed precision: run forward passes under bfloat16 autocast.")
flags.DEFINE_bool("compile", False, "Compile the model with torch.compile.")
cli.define_once("string", "device", "", "cpu, cuda or cuda:N (default: CUDA when available).")
flags.DEFINE_integer("data_workers", 0, "DataLoader worker processes per process (0: inline).")
flags.DEFINE_bool("progress_bar", True, "Show a progress bar on the console.")
flags.DEFINE_bool(
    "allow_run_mismatch",
    False,
    "Resume an --output_dir whose run.json names another --problem, --model or "
    "--hparams_set (its saved hparams.json is merged); by default that is an error.",
)
flags.DEFINE_bool(
    "start_over_if_unreadable",
    False,
    "Train from step 0 in an --output_dir whose checkpoints are all unreadable (overwriting "
    "them) instead of stopping.",
)
cli.define_once(
    "bool", "verify_checkpoints", True,
    "Verify the digest of checkpoint weights when loading them (--noverify_checkpoints: skip).",
)  # fmt: skip

SCHEDULES = (
    "train",
    "evaluate",
    "train_and_evaluate",
    "continuous_train_and_eval",
    "continuous_eval",
)

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


def _schedule_flags_check() -> None:
    from t2t.errors import T2TError

    if FLAGS.schedule not in SCHEDULES:
        raise T2TError(
            f"unknown --schedule={FLAGS.schedule}; choose one of: {', '.join(SCHEDULES)}"
        )
    missing = [f"--{n}" for n in ("problem", "model", "hparams_set") if not getattr(FLAGS, n)]
    if not FLAGS.output_dir:
        missing.append("--output_dir")
    if not FLAGS.data_dir:
        missing.append("--data_dir")
    if missing:
        raise T2TError(f"{', '.join(missing)} must be given (see t2t-trainer --help)")
    if FLAGS.schedule in ("train", "train_and_evaluate", "continuous_train_and_eval"):
        from t2t.data.output_paths import check_output_dir
        from t2t.value_checks import check_train_steps

        check_train_steps(FLAGS.train_steps)
        check_output_dir(os.path.expanduser(FLAGS.output_dir))


def _options():
    from t2t.train.experiment import RunOptions

    return RunOptions(
        output_dir=os.path.expanduser(FLAGS.output_dir),
        train_steps=FLAGS.train_steps,
        eval_steps=FLAGS.eval_steps if FLAGS.eval_steps > 0 else None,
        local_eval_frequency=FLAGS.local_eval_frequency,
        # T2T checkpoints every max(iterations_per_loop, local_eval_frequency) steps.
        save_checkpoints_steps=max(FLAGS.iterations_per_loop, FLAGS.local_eval_frequency),
        save_checkpoints_secs=FLAGS.save_checkpoints_secs,
        keep_checkpoint_max=FLAGS.keep_checkpoint_max,
        keep_checkpoint_every_n_hours=FLAGS.keep_checkpoint_every_n_hours,
        early_stopping_steps=FLAGS.eval_early_stopping_steps,
        early_stopping_metric=FLAGS.eval_early_stopping_metric,
        early_stopping_delta=FLAGS.eval_early_stopping_metric_delta,
        early_stopping_minimize=FLAGS.eval_early_stopping_metric_minimize,
        log_every_steps=FLAGS.log_step_count_steps,
        seed=FLAGS.random_seed,
        num_workers=FLAGS.data_workers,
        eval_use_test_set=FLAGS.eval_use_test_set,
        autocast_dtype="bfloat16" if FLAGS.bf16 else None,
        compile=FLAGS.compile,
        device=FLAGS.device or None,
        progress_bar=FLAGS.progress_bar,
        start_over_if_unreadable=FLAGS.start_over_if_unreadable,
    )


def _report(exp, metrics: dict | None, output_dir: str) -> None:
    """Prints the final evaluation in plain words (the README's command shows it)."""
    if not metrics:
        return
    prefix = f"metrics-{exp.problem_name}/targets/"
    short = {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in metrics.items()}
    print(
        "final eval: " + ", ".join(f"{name} {value:.4f}" for name, value in sorted(short.items())),
        flush=True,
    )
    if "accuracy_per_sequence" in short:
        print(f"per-sequence dev accuracy: {100 * short['accuracy_per_sequence']:.2f}%", flush=True)
    print(f"checkpoints, hparams.json, run.json and log.jsonl are in {output_dir}", flush=True)


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-trainer."""
    from t2t import registry
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.errors import T2TError

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    import_usr_dir(FLAGS.t2t_usr_dir)
    t2t_flags.check_compat_flags()
    from t2t.runs import digest

    digest.set_verification(FLAGS.verify_checkpoints)
    if FLAGS.registry_help:
        print(registry.help_string())
        return 0
    resolve_names(FLAGS.problem, FLAGS.model, FLAGS.hparams_set)
    if FLAGS.hparams_set:  # a bad override fails now, before any data is read
        from t2t.hparams import create_hparams
        from t2t.value_checks import check_model_hparams

        check_model_hparams(create_hparams(FLAGS.hparams_set, FLAGS.hparams))
    _schedule_flags_check()
    from t2t.train import distributed

    try:
        status = _train(FLAGS.problem, os.path.expanduser(FLAGS.data_dir))
    except BaseException:
        distributed.shutdown(wait_for_others=False)
        raise
    distributed.shutdown()
    return status


def _maybe_warm_start(model, output_dir: str) -> None:
    """--warm_start_from: initial weights from another checkpoint (not when resuming)."""
    from t2t.runs import checkpoints

    if not FLAGS.warm_start_from or checkpoints.latest_checkpoint(output_dir):
        return
    path = os.path.expanduser(FLAGS.warm_start_from)
    if os.path.isdir(path):
        path = checkpoints.latest_checkpoint(path, need_state=False) or path
    checkpoints.load_weights(model, path, strict=False)
    log.info("warm-started from %s", path)


def _train(problem_name: str, data_dir: str) -> int:
    from t2t.train import distributed, experiment, trainer

    options = _options()
    if not FLAGS.allow_run_mismatch:
        from t2t.runs import run_files

        names = {"problem": problem_name, "model": FLAGS.model, "hparams_set": FLAGS.hparams_set}
        run_files.check_resume(options.output_dir, names)
    context = distributed.setup(options.device)  # under torchrun: joins the process group
    if FLAGS.generate_data:
        if context.is_chief:  # one process writes the data; the others wait for it
            from t2t.bin.t2t_datagen import DEFAULT_SEED, generate_problem

            os.makedirs(data_dir, exist_ok=True)
            log.info("generating the data of %s into %s", problem_name, data_dir)
            # t2t-datagen's default seed, not --random_seed (which seeds training): the
            # files are the same as `t2t-datagen --problem=...` writes.
            tmp_dir = os.path.expanduser(FLAGS.tmp_dir)
            generate_problem(problem_name, data_dir, tmp_dir, DEFAULT_SEED)
        if context.enabled:
            import torch.distributed

            torch.distributed.barrier()
    trainer.seed_everything(options.seed)  # before the model: seeded initial weights
    exp = experiment.build_experiment(
        problem_name, FLAGS.model, FLAGS.hparams_set, FLAGS.hparams, data_dir, options.output_dir
    )
    _maybe_warm_start(exp.model, options.output_dir)
    log.info("trainable parameters: %s", f"{exp.num_parameters:,}")
    print(f"{FLAGS.model} ({FLAGS.hparams_set}): {exp.num_parameters:,} trainable parameters",
          flush=True)  # fmt: skip
    schedule = FLAGS.schedule
    if schedule == "train":
        experiment.train_and_evaluate(exp, options, evaluate=False)
    elif schedule in ("train_and_evaluate", "continuous_train_and_eval"):
        result = experiment.train_and_evaluate(exp, options, evaluate=True)
        _report(exp, result["eval"], options.output_dir)
    elif schedule == "evaluate":
        prefix = experiment.latest_checkpoint_or_error(options.output_dir)
        _report(exp, experiment.evaluate_checkpoint(exp, options, prefix), options.output_dir)
    else:  # continuous_eval
        experiment.continuous_eval(exp, options, FLAGS.eval_timeout_mins)
    return 0


def run() -> None:
    """Console-script entry point."""
    import sys

    sys.argv = hp_args_to_flags(sys.argv)
    cli.run(main)


if __name__ == "__main__":
    run()
