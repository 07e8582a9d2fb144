"""Every registered hparams set builds and equals its committed snapshot.

A published hparams set must never change silently. The golden file holds each set's
resolved values as JSON. After an intended change (or a new set), regenerate it with
    T2T_UPDATE_GOLDEN=1 python -m pytest tests/test_hparams_snapshot.py
and review the diff. Every set ported from T2T equals the original's registered set
(all keys and values): `tests/golden/check_hparams_against_original.py` checks the golden
file against T2T 1.15.7 and must report 0 differences after a regeneration.
"""

import json
import os

import pytest

from t2t import registry

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "hparams_sets.json")
# Raise this as sets are added, so that a listing bug cannot hide sets.
MIN_SETS = 70


def builtin_sets() -> list[str]:
    """Registered sets defined in t2t itself (tests may register user sets too)."""
    raw = registry.Registries.hparams.raw
    return [n for n in registry.list_hparams() if raw(n).__module__.startswith("t2t.")]


def snapshot() -> dict:
    return {name: json.loads(registry.hparams(name).to_json()) for name in builtin_sets()}


def test_every_registered_set_matches_its_snapshot():
    current = snapshot()
    assert len(current) >= MIN_SETS
    if os.environ.get("T2T_UPDATE_GOLDEN"):
        with open(GOLDEN, "w") as f:
            json.dump(current, f, indent=1, sort_keys=True)
            f.write("\n")
    with open(GOLDEN) as f:
        golden = json.load(f)
    missing = sorted(set(current) - set(golden))
    assert not missing, f"new sets without a snapshot (regenerate, see docstring): {missing}"
    changed = sorted(name for name in golden if name in current and current[name] != golden[name])
    assert not changed, f"hparams sets changed: {changed}"
    gone = sorted(set(golden) - set(current))
    assert not gone, f"sets no longer registered: {gone}"


@pytest.mark.parametrize("name", ["basic_1"])
def test_known_sets_are_registered(name):
    assert name in registry.list_hparams()
