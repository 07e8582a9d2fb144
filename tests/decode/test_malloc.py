"""keep_freed_memory: glibc's thresholds are set once; the environment's choice is kept."""

import os
import platform
import subprocess
import sys

import pytest

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
SCRIPT = "from t2t.decode.malloc import keep_freed_memory as k; print(k(), k())"


def _run(env_extra: dict) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MALLOC_")}
    env.update(env_extra)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="mallopt settings exist only in glibc")
def test_sets_the_thresholds_once_on_glibc():
    assert _run({}) == "True True"


@pytest.mark.skipif(not GLIBC, reason="mallopt settings exist only in glibc")
def test_leaves_thresholds_given_in_the_environment():
    assert _run({"MALLOC_MMAP_THRESHOLD_": "1048576"}) == "False False"


def test_returns_false_off_glibc(monkeypatch):
    from t2t.decode import malloc

    monkeypatch.setattr(malloc, "_done", False)
    monkeypatch.setattr(malloc.platform, "libc_ver", lambda: ("", ""))
    assert malloc.keep_freed_memory() is False
