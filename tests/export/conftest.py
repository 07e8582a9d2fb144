import importlib.util
import os

import pytest


def _tiny_run():
    path = os.path.join(os.path.dirname(__file__), "tiny_run.py")
    spec = importlib.util.spec_from_file_location("export_tiny_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def tiny_run():
    return _tiny_run()


@pytest.fixture(scope="session")
def trained(tiny_run, tmp_path_factory):
    """(run output dir, export dir) of a tiny trained Transformer."""
    return tiny_run.trained_export(str(tmp_path_factory.getbasetemp()))
