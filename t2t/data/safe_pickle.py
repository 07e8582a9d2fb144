"""Loading the pickled NumPy batches of datasets (CIFAR's "python" archives) without running code.

A pickle can name any importable callable (`os.system`, `builtins.eval`, ...) and call it
while loading. `load_array_pickle` reads with an unpickler whose `find_class` admits only
what pickled NumPy arrays need: NumPy's array reconstructor, `ndarray` and `dtype` (no
object dtypes), NumPy scalars, and `_codecs.encode` (how Python 3 pickles bytes at protocol
2). Containers (dict, list, tuple), strings and numbers need no globals. Anything else is
refused with `UnsafePickleError`, before it is called.
"""

from __future__ import annotations

import importlib
import pickle
from typing import Any, BinaryIO

import numpy as np

from t2t.errors import DataError


class UnsafePickleError(DataError):
    """A pickle names a callable outside the NumPy-array allowlist."""


def _numpy_multiarray(name: str) -> Any:
    """numpy.core.multiarray.<name> (NumPy 1) or numpy._core.multiarray.<name> (NumPy 2)."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise UnsafePickleError(f"this NumPy has no multiarray.{name}")  # pragma: no cover


def _plain_dtype(*args: Any) -> np.dtype:
    """numpy.dtype(...) that refuses object dtypes (their items would be arbitrary objects)."""
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise UnsafePickleError("refusing a pickled array of Python objects (dtype 'O')")
    return dtype


def _allowed(module: str, name: str) -> Any | None:
    if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        if name in ("_reconstruct", "scalar"):
            return _numpy_multiarray(name)
    if module == "numpy" and name == "ndarray":
        return np.ndarray
    if module == "numpy" and name == "dtype":
        return _plain_dtype
    if module == "_codecs" and name == "encode":
        import codecs

        return codecs.encode
    return None


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _allowed(module, name)
        if found is None:
            raise UnsafePickleError(
                f"refusing to load {module}.{name}: this file may only hold NumPy arrays, "
                "lists, dicts, strings and numbers"
            )
        return found


def load_array_pickle(f: BinaryIO, encoding: str = "latin1", source: str = "pickle") -> Any:
    """Unpickles `f` (a binary file) admitting only NumPy arrays and plain containers.

    Args:
        f: an open binary file.
        encoding: how Python 2 strings are decoded ("latin1", as T2T reads CIFAR).
        source: the file's name, for error messages.

    Raises:
        UnsafePickleError: the pickle names a callable outside the allowlist.
        DataError: the file is not a readable pickle.
    """
    try:
        return _ArrayUnpickler(f, encoding=encoding).load()
    except UnsafePickleError as error:
        raise UnsafePickleError(f"{source}: {error}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
        raise DataError(f"{source}: not a readable pickle ({error})") from None
