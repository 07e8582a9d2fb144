"""t2t-datagen: download and generate a problem's data (sharded TFRecords + vocabulary).

    t2t-datagen --problem=translate_ende_wmt32k --data_dir=~/t2t_data --tmp_dir=/tmp/t2t

Flags and seeding follow T2T: before each problem, Python's `random`, NumPy's global RNG
and torch are seeded with --random_seed (429459), so the generated files are the same as
the original's (algorithmic problems: example for example). `t2t-trainer --generate_data`
generates through the same function with the default seed, so it writes the same files.
Every file is written under a temporary name and renamed when complete, so an interrupted
run never leaves a shard that looks finished; running the command again completes the work.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import sys
import tempfile

from absl import flags, logging

from t2t.bin import cli
from t2t.bin import flags as t2t_flags  # noqa: F401 - defines --problem, --data_dir, --t2t_usr_dir

FLAGS = flags.FLAGS
for _name in ("problem", "data_dir", "t2t_usr_dir", "registry_help"):  # for --help
    flags.declare_key_flag(_name)
DEFAULT_SEED = 429459


cli.define_once("string", "tmp_dir", "/tmp/t2t_datagen", "Temporary storage directory (downloads).")
cli.define_once("string", "exclude_problems", "", "Comma-separated substrings of problems to skip.")
cli.define_once("integer", "num_shards", 0, "Must stay 0 for registered problems (as in T2T).")
cli.define_once("integer", "max_cases", 0, "Ignored for registered problems (as in T2T).")
cli.define_once("bool", "only_list", False, "List the problems that would be generated, then exit.")
cli.define_once("integer", "random_seed", DEFAULT_SEED, "Random seed for python, numpy and torch.")
cli.define_once("integer", "task_id", -1, "For multiprocess problems: generate only this task.")
cli.define_once("integer", "task_id_start", -1, "For multiprocess problems: first task id.")
cli.define_once("integer", "task_id_end", -1, "For multiprocess problems: end task id (exclusive).")
cli.define_once("integer", "num_concurrent_processes", None, "Processes for multiprocess problems.")


def select_problems(spec: str | None, exclude: str, available: list[str]) -> list[str]:
    """T2T's --problem selection: `prefix*`, a comma list, or one exact name.

    A `<name>_rev` / `_copy` variant selects its base problem (same data files).

    Raises:
        UnknownNameError: a named problem is not registered (with close matches).
        T2TError: no problem given, or the selection is empty.
    """
    from t2t import registry
    from t2t.errors import T2TError

    for substring in filter(None, exclude.split(",")):
        available = [p for p in available if substring not in p]
    if not spec:
        raise T2TError("--problem is required (e.g. --problem=algorithmic_reverse_binary40); "
                       "--registry_help lists the registered problems")  # fmt: skip
    if spec.endswith("*"):
        selected = [p for p in available if p.startswith(spec[:-1])]
        if not selected:
            raise T2TError(f"no registered problem starts with {spec[:-1]!r}")
        return selected
    selected = []
    for name in filter(None, (n.strip() for n in spec.split(","))):
        base = registry.parse_problem_name(name)[0]
        registry.Registries.problems.raw(base)  # raises with close matches if unknown
        if base in available and base not in selected:
            selected.append(base)
    return selected


def _prepare_data_dir(data_dir: str | None) -> str:
    from t2t.errors import T2TError

    if not data_dir:
        data_dir = tempfile.gettempdir()
        logging.warning("It is strongly recommended to specify --data_dir. Data will be "
                        "written to default data_dir=%s.", data_dir)  # fmt: skip
    data_dir = os.path.expanduser(data_dir)
    try:
        os.makedirs(data_dir, exist_ok=True)
    except OSError as error:
        raise T2TError(f"cannot create --data_dir {data_dir}: {error.strerror}") from None
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise T2TError(f"--data_dir {data_dir} is not writable")
    return data_dir


def set_random_seed(seed: int) -> None:
    """Seeds python `random`, NumPy's global RNG and torch, as T2T's datagen did."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _generate_task(args: tuple[str, str, str, int]) -> None:
    from t2t import registry

    name, data_dir, tmp_dir, task_id = args
    registry.problem(name).generate_data(data_dir, tmp_dir, task_id)


def generate_problem(name: str, data_dir: str, tmp_dir: str, seed: int = DEFAULT_SEED) -> None:
    """Seeds the RNGs with `seed`, then runs the registered problem's generate_data.

    Both t2t-datagen and `t2t-trainer --generate_data` generate through here, so for the
    same problem and seed they write the same files. Problems with multiprocess generation
    run their tasks in a process pool.

    Args:
        name: registered problem name.
        data_dir: where the shards and vocabulary go.
        tmp_dir: where downloads and raw data go.
        seed: for python `random`, NumPy and torch (T2T's datagen default: 429459).
    """
    from t2t import registry

    set_random_seed(seed)
    problem = registry.problem(name)
    task_id = None if FLAGS.task_id < 0 else FLAGS.task_id
    if task_id is None and problem.multiprocess_generate:
        start = FLAGS.task_id_start if FLAGS.task_id_start != -1 else 0
        end = FLAGS.task_id_end if FLAGS.task_id_end != -1 else problem.num_generate_tasks
        problem.prepare_to_generate(data_dir, tmp_dir)
        with multiprocessing.Pool(processes=FLAGS.num_concurrent_processes) as pool:
            pool.map(_generate_task, [(name, data_dir, tmp_dir, t) for t in range(start, end)])
    else:
        problem.generate_data(data_dir, tmp_dir, -1 if task_id is None else task_id)


def main(argv: list[str]) -> int | None:
    """Entry point of t2t-datagen."""
    from t2t import registry
    from t2t.compat.usr_dir import import_usr_dir
    from t2t.errors import T2TError

    if len(argv) > 1:
        raise T2TError(f"unexpected arguments: {' '.join(argv[1:])}")
    import_usr_dir(FLAGS.t2t_usr_dir)
    if FLAGS.registry_help:
        print(registry.help_string())
        return 0
    t2t_flags.check_compat_flags()
    if FLAGS.num_shards:
        raise T2TError("--num_shards should not be set for registered problems "
                       "(their shard counts are part of the problem)")  # fmt: skip
    if FLAGS.max_cases:
        logging.warning("--max_cases is ignored for registered problems (as in T2T)")
    problems = select_problems(FLAGS.problem, FLAGS.exclude_problems, registry.list_problems())
    data_dir = _prepare_data_dir(FLAGS.data_dir)
    tmp_dir = os.path.expanduser(FLAGS.tmp_dir)
    print("Generating problems:\n" + registry.display_list_by_prefix(problems, 4), file=sys.stderr)
    if FLAGS.only_list:
        return 0
    seed = DEFAULT_SEED if FLAGS.random_seed is None else FLAGS.random_seed
    for name in problems:
        print(f"Generating data for {name} into {data_dir}", file=sys.stderr)
        generate_problem(name, data_dir, tmp_dir, seed)
    return 0


def run() -> None:
    """Console-script entry point (`t2t-datagen`)."""
    cli.run(main)


if __name__ == "__main__":
    run()
