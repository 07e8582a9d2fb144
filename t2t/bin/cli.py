"""What every `t2t-*` command shares: running `main` under absl with clean error output,
and defining flags that several commands have."""

import sys
from collections.abc import Callable
from typing import Any

from absl import app

from t2t.errors import T2TError

MAX_ERROR_CHARS = 600


def readable(message: str, limit: int = MAX_ERROR_CHARS) -> str:
    """One line of at most about `limit` characters: an error that quotes a long user input
    (a pasted file, a huge --hparams value) keeps its start and its advice at the end."""
    message = " ".join(message.split())
    if len(message) <= limit:
        return message
    head, tail = message[: limit * 2 // 3], message[-(limit // 3) :]
    return f"{head} [... {len(message) - len(head) - len(tail)} characters cut ...] {tail}"


def run(main: Callable[[list[str]], int | None]) -> None:
    """Runs an absl `main(argv)`; a `T2TError` becomes a one-line message and exit code 2.

    `--help` shows the docstring and the key flags of `main`'s module (absl shows those of
    `__main__`, which for an installed console script is a wrapper that defines none).
    """
    _show_command_help(main.__module__)
    args = sys.argv[1 : sys.argv.index("--")] if "--" in sys.argv else sys.argv[1:]
    for arg in args:  # absl prints the help too, but exits with status 1
        if arg in ("--help", "-help", "-h", "-?", "--helpshort", "--helpfull"):
            app.usage(shorthelp=arg != "--helpfull", writeto_stdout=True)
            sys.exit(0)

    def guarded_main(argv: list[str]) -> int | None:
        """`main` with T2TError -> one stderr line and exit 2, Ctrl-C -> exit 130."""
        try:
            return main(argv)
        except T2TError as error:
            prog = sys.argv[0].rsplit("/", 1)[-1] if sys.argv else "t2t"
            print(f"{prog}: error: {readable(str(error))}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    app.run(guarded_main)


def _show_command_help(module_name: str) -> None:
    """Makes the key flags and docstring of `module_name` those of absl's main module."""
    from absl import flags

    main_module = sys.modules.get("__main__")
    if module_name == "__main__" or main_module is None:
        return  # run as `python -m t2t.bin.<command>`: absl finds them itself
    for flag in flags.FLAGS.get_key_flags_for_module(module_name):
        flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    if not main_module.__doc__:
        main_module.__doc__ = sys.modules[module_name].__doc__


def define_once(kind: str, name: str, default: Any, help_text: str) -> None:
    """Defines absl flag `name` (`kind`: string, integer, bool, ...) unless another command
    module already did: tests import several commands into one process, and t2t-trainer,
    t2t-datagen, t2t-decoder and t2t-avg-all share some flag names. Either way the flag is
    a key flag of the calling module, so that its `--help` lists it."""
    from absl import flags

    caller = sys._getframe(1).f_globals.get("__name__", "")
    module = sys.argv[0] if caller == "__main__" else caller  # absl's name for __main__
    if name not in flags.FLAGS:
        getattr(flags, f"DEFINE_{kind}")(name, default, help_text, module_name=module)
    else:
        flags.FLAGS.register_key_flag_for_module(module, flags.FLAGS[name])
