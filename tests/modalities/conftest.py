"""Fixtures for modality tests: tiny model hparams and a spec builder."""

import pytest

from t2t.hparams import basic_params1
from t2t.modalities.base import ModalitySpec, ModalityWeights, get_modality


def tiny_hparams(**values):
    """basic_params1 at hidden size 4, no label smoothing unless given."""
    hp = basic_params1()
    hp.hidden_size = 4
    hp.label_smoothing = 0.0
    for name, value in values.items():
        hp.set_hparam(name, value)
    return hp


def make_spec(type_name, vocab_size=5, feature="targets", hparams=None, depth=4):
    """(modality, spec) for `type_name` as a model would build them."""
    hp = hparams or tiny_hparams()
    modality = get_modality(type_name)
    spec = ModalitySpec(
        feature=feature,
        vocab_size=vocab_size,
        hparams=hp,
        scope=modality.scope_name(hp, vocab_size),
        tables=ModalityWeights(hp.hidden_size),
        body_output_depth=depth,
    )
    return modality, spec


@pytest.fixture
def spec_for():
    return make_spec


@pytest.fixture
def tiny_hp():
    return tiny_hparams
