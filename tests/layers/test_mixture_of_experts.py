"""Mixtures of experts: batched dispatch/combine equals a dense per-token reference, T2T's
gating and balancing losses, and the loss reaching a Transformer's losses."""

import torch

from t2t import registry
from t2t.layers import mixture_of_experts as moe

from ..models.conftest import make_problem_hparams


def expert_reference(experts: moe.BatchedExperts, e: int, x: torch.Tensor) -> torch.Tensor:
    """Expert e on one token x [D], with plain matrix-vector products."""
    sizes = experts.sizes
    for i, w in enumerate(experts.weights):
        x = x @ w[e]
        if i < len(experts.weights) - 1:
            x = torch.relu(x)
        if experts.scale and sizes[i] != sizes[0]:
            x = x * (sizes[i] / sizes[0]) ** -0.5
    return x


def test_dispatch_combine_equals_a_dense_per_token_reference():
    torch.manual_seed(0)
    experts = moe.BatchedExperts(5, [6, 12, 6])
    for w in experts.weights:
        torch.nn.init.normal_(w)
    x = torch.randn(9, 6)
    ids = torch.stack([torch.randperm(5)[:2] for _ in range(9)])  # [N, 2], distinct
    gates = torch.rand(9, 2)
    gates[3, 1] = 0.0  # a zero gate skips its expert
    got = moe.dispatch_combine(x, ids, gates, experts)
    want = torch.stack(
        [
            sum(gates[n, j] * expert_reference(experts, int(ids[n, j]), x[n]) for j in range(2))
            for n in range(9)
        ]
    )
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_local_moe_combines_the_gated_experts_and_balances_them():
    torch.manual_seed(0)
    layer = moe.LocalMoE(8, [16], 8, num_experts=4, k=2, loss_coef=0.1).eval()
    torch.nn.init.normal_(layer.gating.w_gate)
    x = torch.randn(2, 5, 8)
    y, loss = layer(x)
    flat = x.reshape(-1, 8)
    logits = flat @ layer.gating.w_gate  # eval: no noise
    top, idx = logits.topk(2, dim=-1)
    gates = torch.softmax(top, dim=-1)
    want = torch.stack(
        [
            sum(
                gates[n, j] * expert_reference(layer.experts, int(idx[n, j]), flat[n])
                for j in range(2)
            )
            for n in range(10)
        ]
    )
    torch.testing.assert_close(y.reshape(-1, 8), want, atol=1e-5, rtol=1e-5)
    dense = torch.zeros(10, 4).scatter(1, idx, gates)
    load = (dense > 0).float().sum(0)  # without noise: P(in top k) is 0 or 1
    expected = 0.1 * (moe.cv_squared(dense.sum(0)) + moe.cv_squared(load))
    torch.testing.assert_close(loss, expected)


def test_local_moe_keeps_the_routing_of_its_last_forward_pass():
    torch.manual_seed(0)
    layer = moe.LocalMoE(8, [16], 8, num_experts=4, k=2).eval()
    assert layer.last_expert_ids is None
    torch.nn.init.normal_(layer.gating.w_gate)
    x = torch.randn(2, 5, 8)
    layer(x)
    want = (x.reshape(-1, 8) @ layer.gating.w_gate).topk(2, dim=-1).indices  # eval: no noise
    assert torch.equal(layer.last_expert_ids, want)  # [N, k], tokens in x's flat order
    assert not layer.last_expert_ids.requires_grad
    layer(x[:1])
    assert layer.last_expert_ids.shape == (5, 2)  # replaced, not accumulated


def test_cv_squared_is_t2ts():
    x = torch.tensor([1.0, 2.0, 3.0, 6.0])
    mean, var = 3.0, (4 + 1 + 0 + 9) / 4
    torch.testing.assert_close(moe.cv_squared(x), torch.tensor(var / mean**2))
    assert moe.cv_squared(torch.ones(5)) < 1e-8


def test_noisy_gating_trains_its_weights_through_the_load():
    torch.manual_seed(0)
    layer = moe.LocalMoE(8, [16], 8, num_experts=4, k=1).train()
    _, loss = layer(torch.randn(3, 7, 8))
    loss.backward()
    assert layer.gating.w_noise.grad.abs().sum() > 0  # the load loss reaches the noise


def test_local_moe_tpu_respects_the_capacity():
    torch.manual_seed(0)
    layer = moe.LocalMoETPU(8, 16, 8, num_experts=4, loss_coef=1e-3)
    torch.nn.init.zeros_(layer.logits.weight)
    with torch.no_grad():
        layer.logits.bias.copy_(torch.tensor([5.0, 4.0, 0.0, 0.0]))  # every token: experts 0, 1
    x = torch.randn(1, 8, 8)
    y, loss = layer(x, overhead=1.0)  # capacity min(8, int(8 * 2 / 4)) = 4
    # tokens 0-3 fill expert 0 (their first choice) and expert 1; the rest find no room
    assert torch.count_nonzero(y[0, 4:].abs().sum(-1)) <= 4
    assert y[0, :4].abs().sum() > 0
    assert torch.isfinite(loss)


def test_transformer_local_moe_adds_its_loss():
    hp = registry.hparams("transformer_tiny")
    for key, value in dict(
        hidden_size=16, filter_size=32, num_heads=2, ffn_layer="local_moe", moe_num_experts=4
    ).items():
        hp.set_hparam(key, value)
    torch.manual_seed(0)
    model = registry.model("transformer")(hp, make_problem_hparams())
    inputs = torch.randint(1, 11, (2, 5))
    _, losses = model({"inputs": inputs, "targets": torch.randint(1, 11, (2, 4))})
    assert "moe_loss" in losses and losses["moe_loss"] > 0
    (losses["training"] + losses["moe_loss"]).backward()
    layer = model.decoder.layers[0].ffn.sublayer.moe
    assert layer.gating.w_gate.grad is not None
    hp.set_hparam("ffn_layer", "local_moe_tpu")
    model = registry.model("transformer")(hp, make_problem_hparams())
    _, losses = model({"inputs": inputs, "targets": torch.randint(1, 11, (2, 4))})
    assert "moe_loss" in losses


def test_stacked_expert_kernels_get_each_experts_own_fans():
    """T2T's experts are E separate [d_in, d_out] dense kernels: initialised as one
    [E, d_in, d_out] variable, the fans would be E times larger and the weights too small."""
    import math

    from t2t.layers.initializers import initialize_module
    from t2t.layers.mixture_of_experts import BatchedExperts

    torch.manual_seed(0)
    experts = BatchedExperts(16, [64, 256, 64])
    initialize_module(experts, "uniform_unit_scaling", 1.0)
    limit = math.sqrt(3.0 / ((64 + 256) / 2))  # TF variance scaling (fan_avg) of [64, 256]
    for w in experts.weights:
        assert w.abs().max() <= limit
        assert w.abs().max() > 0.95 * limit  # not E times smaller
