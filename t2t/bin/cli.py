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
    """Runs an absl `main(argv)`; a `T2TError` becomes a one-line message and exit code 2."""

    def guarded_main(argv: list[str]) -> int | None:
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


def define_once(kind: str, name: str, default: Any, help_text: str) -> None:
    """Defines absl flag `name` (`kind`: string, integer, bool, ...) unless another command
    module already did: tests import several commands into one process, and t2t-trainer,
    t2t-datagen, t2t-decoder and t2t-avg-all share some flag names."""
    from absl import flags

    if name not in flags.FLAGS:
        getattr(flags, f"DEFINE_{kind}")(name, default, help_text)
