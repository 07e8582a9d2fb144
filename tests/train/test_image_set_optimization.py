"""The optimizer settings of T2T's image sets act as in T2T: Momentum (Nesterov for resnet
and revnet), the legacy cosine schedule with its exponential warmup, and L2 weight decay.
(The Momentum update and the cosine formula themselves are pinned against the original in
test_optimizers.py and test_learning_rate.py; this checks the sets reach them.)"""

import math

import pytest
import torch

from t2t import registry
from t2t.train.learning_rate import learning_rate_schedule

SETS = [
    *registry.list_hparams("resnet_"),
    *registry.list_hparams("revnet_"),
    *registry.list_hparams("shake"),
]


def t2t_cosine_lr(step: float, hp) -> float:
    """Spec 4.3: exponential warmup 0.01 -> 1, then the cosine of period 2 cycle steps."""
    warmup = hp.learning_rate_warmup_steps
    if step < warmup:
        factor = 0.01 ** ((warmup - step) / warmup)
    else:
        cycle = hp.learning_rate_cosine_cycle_steps
        position = cycle - abs(cycle - math.fmod(step, 2 * cycle))
        factor = 0.5 * (1 + math.cos(math.pi * position / cycle))
    correction = 0.002 if "adam" in hp.optimizer else 1.0
    return factor * correction * hp.learning_rate


@pytest.mark.parametrize("name", SETS)
def test_sets_train_with_their_optimizer_and_cosine_schedule(name):
    hp = registry.hparams(name)
    assert hp.learning_rate_decay_scheme == "cosine" and hp.learning_rate_schedule == "legacy"
    lr = learning_rate_schedule(hp)
    cycle = hp.learning_rate_cosine_cycle_steps
    for step in (0, 50, 100, cycle // 3, cycle, cycle + cycle // 2):
        assert lr(step) == pytest.approx(t2t_cosine_lr(step, hp), rel=1e-9)
    optimizer = registry.optimizer(hp.optimizer)([torch.nn.Parameter(torch.zeros(2))], hp)
    if hp.optimizer == "Momentum":
        assert isinstance(optimizer, torch.optim.SGD)
        group = optimizer.param_groups[0]
        assert group["momentum"] == 0.9
        assert group["nesterov"] == name.startswith(("resnet", "revnet"))
    assert hp.weight_decay == 1e-4


def test_resnet_learning_rate_at_the_end_of_its_cycle():
    lr = learning_rate_schedule(registry.hparams("resnet_50"))
    assert lr(100) == pytest.approx(0.4, rel=1e-5)
    assert lr(60000) == pytest.approx(0.2)
    assert lr(120000) == pytest.approx(0.0, abs=1e-12)
