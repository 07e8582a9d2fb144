"""What every `t2t-*` command shares: running `main` under absl with clean error output."""

import sys
from collections.abc import Callable

from absl import app

from t2t.errors import T2TError


def run(main: Callable[[list[str]], int | None]) -> None:
    """Runs an absl `main(argv)`; a `T2TError` becomes a one-line message and exit code 2."""

    def guarded_main(argv: list[str]) -> int | None:
        try:
            return main(argv)
        except T2TError as error:
            prog = sys.argv[0].rsplit("/", 1)[-1] if sys.argv else "t2t"
            print(f"{prog}: error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    app.run(guarded_main)
