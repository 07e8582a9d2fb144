"""Errors a user can cause.

Every error raised because of user input (an unknown registered name, a bad flag or
hparams string, a missing or malformed file) derives from `T2TError`. The `t2t-*` commands
print such errors as one line, without a traceback, and exit with status 2. Each class
also derives from the built-in exception T2T raised in the same situation, so user code
that catches `KeyError` or `ValueError` keeps working.
"""


class T2TError(Exception):
    """Base class of errors caused by user input; printed as one line by the commands."""

    def __str__(self) -> str:
        # KeyError quotes its argument; a message is meant to be read as written.
        return str(self.args[0]) if self.args else ""


class UnknownNameError(T2TError, KeyError):
    """A name that is not registered (problem, model, hparams set, ...)."""


class HParamsError(T2TError, ValueError):
    """A malformed hparams string, an unknown hyperparameter or a value of the wrong type."""


class DataError(T2TError, ValueError):
    """A missing, malformed or corrupt data, vocabulary or checkpoint file."""


class MissingExtraError(T2TError, ImportError):
    """A feature needs an optional dependency ("extra") that is not installed."""


class OutputError(T2TError, OSError):
    """An output file or directory cannot be written (disk full, read-only, not a directory)."""
