"""VQ gating's codebook options: `ema` (moving-average codebook updates, against a golden
from T2T 1.15.7) and `soft_em` (sampled soft assignments)."""

import os

import numpy as np
import pytest
import torch

from t2t import registry
from t2t.layers.vq_gating import VQGating, vq_arguments
from tests.models.conftest import make_problem_hparams

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "layers", "vq_gating_ema.npz")


@pytest.mark.parametrize(("case", "experts", "use_scales", "decay"),
                         [("scales", 8, True, 0.9), ("plain", 4, False, 0.8)])  # fmt: skip
def test_ema_codebook_follows_t2t_over_three_steps(case, experts, use_scales, decay):
    """tests/golden/layers/make_vq_gating_ema_golden.py ran T2T's vq_gating (ema=True) for
    three training steps from the same codebook and scales."""
    golden = np.load(GOLDEN)
    gating = VQGating(4, experts, beta=0.25, use_scales=use_scales, ema=True, decay=decay)
    with torch.no_grad():
        gating.means.copy_(torch.from_numpy(golden[f"{case}/means0"]))
        gating.ema_means.copy_(gating.means)
        if use_scales:
            gating.scales.copy_(torch.from_numpy(golden[f"{case}/scales0"]))
    for step in range(3):
        x = torch.from_numpy(golden["x"][step])
        expert, loss = gating(x)
        assert expert[:, 0].tolist() == golden[f"{case}/expert{step}"].tolist()
        np.testing.assert_allclose(loss.item(), golden[f"{case}/loss{step}"], rtol=1e-5)
        for name in ("means", "ema_count", "ema_means"):
            np.testing.assert_allclose(
                getattr(gating, name).detach().numpy(),
                golden[f"{case}/{name}{step + 1}"],
                rtol=1e-5,
                atol=1e-6,
            )


def test_ema_trains_without_codebook_gradients_and_only_in_training_mode():
    torch.manual_seed(0)
    gating = VQGating(4, 8, ema=True, decay=0.5)
    x = torch.randn(5, 4, requires_grad=True)
    _, loss = gating(x)
    loss.backward()  # the in-place codebook update does not break the backward pass
    assert gating.means.grad is None and not gating.means.requires_grad and x.grad is not None
    gating.eval()
    before = (gating.means.clone(), gating.ema_count.clone())
    gating(torch.randn(5, 4))
    assert torch.equal(gating.means, before[0]) and torch.equal(gating.ema_count, before[1])
    assert set(gating.state_dict()) >= {"means", "ema_count", "ema_means"}


def test_soft_em_assignments_sample_softmax_of_minus_the_distance():
    torch.manual_seed(0)
    gating = VQGating(4, 4, use_scales=False, soft_em=True, num_samples=2000)
    x = torch.randn(3, 4) * 0.3
    means = gating.means.detach()[0]  # [V, D]
    hot = gating._assign(x[:, None], gating.means.detach(), None)[:, 0]  # [N, V]
    assert torch.allclose(hot.sum(-1), torch.ones(3))
    expected = torch.softmax(-((x[:, None] - means[None]) ** 2).sum(-1), dim=-1)
    torch.testing.assert_close(hot, expected, atol=0.05, rtol=0)
    # the loss is measured against the sampled mixture of entries, the expert is the mode
    gating.num_samples = 7
    torch.manual_seed(1)
    expert, loss = gating(x)
    torch.manual_seed(1)
    hot = gating._assign(x[:, None], gating.means.detach(), None)[:, 0]
    assert torch.equal(expert[:, 0], hot.argmax(-1))
    mse = ((x - hot @ means) ** 2).mean()
    torch.testing.assert_close(loss, 1.25 * mse)


def test_a_transformer_with_ema_and_soft_em_vq_gating_trains():
    hp = registry.hparams("transformer_base_vq1_16_nb1_packed_nda_b01_scales")
    for key, value in dict(hidden_size=16, num_hidden_layers=1, filter_size=32, num_heads=2,
                           num_decoder_layers=0, ema=True, soft_em=True, num_samples=3,
                           moe_num_experts=4).items():  # fmt: skip
        hp.set_hparam(key, value)
    assert vq_arguments(hp)["ema"] and vq_arguments(hp)["num_samples"] == 3
    model = registry.model("transformer")(hp, make_problem_hparams(inputs=None))
    gating = model.decoder.layers[0].ffn.sublayer.moe.gating
    assert gating.ema and gating.soft_em
    before = gating.means.detach().clone()
    targets = torch.randint(2, 11, (2, 4))
    _, losses = model({"targets": targets})
    sum(losses.values()).backward()
    assert not torch.equal(gating.means, before)


def _ema_worker(rank: int, port: int, x: torch.Tensor, out: str) -> None:
    """One of two gloo processes: three EMA steps on its half of each batch."""
    torch.distributed.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2
    )
    try:
        torch.manual_seed(0)  # the same codebook in both processes
        gating = VQGating(4, 8, use_scales=False, ema=True, decay=0.8)
        for step in range(x.shape[0]):
            gating(x[step].chunk(2)[rank])
        torch.save({k: v.clone() for k, v in gating.state_dict().items()}, f"{out}.{rank}")
    finally:
        torch.distributed.destroy_process_group()


def test_ema_codebook_of_two_processes_equals_one_process_with_the_global_batch(tmp_path):
    """Under DistributedDataParallel (gloo here) the moving averages all-reduce the counts
    and token sums, so every process keeps the codebook of the whole batch."""
    import socket

    import torch.multiprocessing as mp

    x = torch.randn(3, 12, 4, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    single = VQGating(4, 8, use_scales=False, ema=True, decay=0.8)
    for step in range(3):
        single(x[step])
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "state")
    mp.start_processes(_ema_worker, args=(port, x, out), nprocs=2, start_method="fork")
    for rank in range(2):
        state = torch.load(f"{out}.{rank}")
        for name in ("means", "ema_count", "ema_means"):
            torch.testing.assert_close(state[name], getattr(single, name).detach())
    # Without the all-reduce a process would follow its own half: a different codebook.
    torch.manual_seed(0)
    alone = VQGating(4, 8, use_scales=False, ema=True, decay=0.8)
    for step in range(3):
        alone(x[step].chunk(2)[0])
    assert not torch.allclose(alone.ema_count, single.ema_count)
