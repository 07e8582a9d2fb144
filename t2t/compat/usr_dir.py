"""`--t2t_usr_dir`: import a user directory so that its registrations take effect."""

import importlib
import os
import sys

from t2t.compat import tensor2tensor_aliases
from t2t.errors import T2TError


def import_usr_dir(usr_dir: str | None) -> None:
    """Imports the Python package at `usr_dir`, as T2T's `--t2t_usr_dir` does.

    The directory must be a package (an `__init__.py` that imports the modules holding
    the `@registry.register_*` decorators). Code written for the original T2T imports
    `tensor2tensor...`; those imports are served by our modules (see
    `tensor2tensor_aliases`).

    Raises:
        T2TError: the directory does not exist or is not a package.
    """
    if not usr_dir:
        return
    path = os.path.abspath(os.path.expanduser(usr_dir).rstrip("/"))
    if not os.path.isdir(path):
        raise T2TError(f"--t2t_usr_dir {usr_dir!r} is not a directory")
    if not os.path.exists(os.path.join(path, "__init__.py")):
        raise T2TError(
            f"--t2t_usr_dir {usr_dir!r} has no __init__.py: it must be a Python package that "
            "imports the modules with your registrations"
        )
    tensor2tensor_aliases.install()
    parent, module_name = os.path.split(path)
    sys.path.insert(0, parent)
    try:
        importlib.import_module(module_name)
    finally:
        sys.path.remove(parent)
