"""Shake-shake mixing: a random weight forward, an independent one backward, 1/n in eval."""

import torch

from t2t import registry
from t2t.hparams import HParams
from t2t.models import shake_shake


def test_shake_scales_the_value_by_one_weight_and_the_gradient_by_another():
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    forward_w = torch.tensor([0.2, 0.5, 0.9]).reshape(3, 1, 1, 1)
    backward_w = torch.tensor([0.7, 0.1, 0.4]).reshape(3, 1, 1, 1)
    out = shake_shake.shake(x, forward_w, backward_w)
    torch.testing.assert_close(out, x * forward_w)
    grad = torch.randn_like(out)
    out.backward(grad)
    torch.testing.assert_close(x.grad, grad * backward_w)


def test_branch_weights_are_per_example_and_sum_to_one():
    torch.manual_seed(0)
    weights = shake_shake.branch_weights(5, 3, torch.device("cpu"))  # [branches, B, 1, 1, 1]
    assert weights.shape == (3, 5, 1, 1, 1)
    torch.testing.assert_close(weights.sum(0), torch.ones(5, 1, 1, 1))
    assert weights[0].flatten().unique().numel() == 5  # every example draws its own


def _block(concat: int = 0) -> shake_shake.ShakeShakeBlock:
    torch.manual_seed(0)
    return shake_shake.ShakeShakeBlock(4, 8, 2, branches=2, concat=concat, dropout=0.0)


def test_training_forward_is_random_and_backward_uses_independent_weights(monkeypatch):
    block = _block().train()
    x = torch.randn(4, 4, 8, 8)
    drawn = []
    real = shake_shake.branch_weights

    def recording(batch, branches, device):
        drawn.append(real(batch, branches, device))
        return drawn[-1]

    monkeypatch.setattr(shake_shake, "branch_weights", recording)
    x1 = x.clone().requires_grad_()
    out = block(x1)
    forward_w, backward_w = drawn
    assert not torch.equal(forward_w, backward_w)
    # the value mixes the branches with the forward weights
    branches = [b(x) for b in block.branches]
    residual = block.shortcut(x)
    expected = residual + sum(w * b for w, b in zip(forward_w, branches))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    # the gradient reaching each branch is scaled by the backward weights
    seen = []

    def watch(i):
        def hook(module, args, y):
            y.register_hook(lambda g: seen.append((i, g)))

        return hook

    for i, branch in enumerate(block.branches):
        branch.bn2.register_forward_hook(watch(i))
    drawn.clear()
    block(x.clone().requires_grad_()).sum().backward()
    backward_w = drawn[1]
    for i, grad in seen:
        torch.testing.assert_close(grad, backward_w[i].expand_as(grad))
    again = block(x)
    assert not torch.allclose(again, out.detach())  # new draws every step


def test_evaluation_is_deterministic_and_halves_each_branch():
    block = _block().eval()
    x = torch.randn(2, 4, 8, 8)
    with torch.no_grad():
        first, second = block(x), block(x)
        expected = block.shortcut(x) + 0.5 * (block.branches[0](x) + block.branches[1](x))
    torch.testing.assert_close(first, second)
    torch.testing.assert_close(first, expected)


def test_concat_variant_builds_and_runs():
    block = _block(concat=1).eval()
    assert block.concat_conv.in_channels == 8 * 3
    assert block(torch.randn(2, 4, 8, 8)).shape == (2, 8, 4, 4)


def test_model_output_and_depth():
    hp = registry.hparams("shake_shake_quick")
    hp.hidden_size, hp.num_hidden_layers = 16, 8
    problem = HParams(
        modality={"inputs": "image", "targets": "class_label"},
        vocab_size={"inputs": 256, "targets": 10},
        num_channels=1,
    )
    model = registry.model("shake_shake")(hp, problem).eval()
    with torch.no_grad():
        body = model.body(model.bottom({"inputs": torch.zeros(2, 28, 28, 1, dtype=torch.uint8)}))
    assert body.shape == (2, 7, 7, 64)  # [B, H/4, W/4, 4·hidden]
