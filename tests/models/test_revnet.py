"""RevNet: the recomputing backward gives the gradients of the same network without
recomputation, updates batch-norm statistics once, and keeps memory flat in depth."""

import copy

import pytest
import torch

from t2t import registry
from t2t.hparams import HParams
from t2t.layers.reversible import ReversibleBlock
from t2t.models import revnet

PROBLEM = HParams(
    modality={"inputs": "image", "targets": "class_label"},
    vocab_size={"inputs": 256, "targets": 5},
    num_channels=3,
)


def tiny_revnet(set_name: str):
    hp = registry.hparams(set_name)
    hp.num_channels = [2, 4, 4] if hp.bottleneck else [4, 8, 8]
    hp.num_layers_per_block = [2, 3, 2]
    hp.num_channels_init_block = 8
    torch.manual_seed(0)
    return registry.model("revnet")(hp, PROBLEM)


def _blocks(model):
    return [m for m in model.modules() if isinstance(m, ReversibleBlock)]


@pytest.mark.parametrize("set_name", ["revnet_38_cifar", "revnet_164_cifar"])
def test_gradients_equal_those_without_recomputation(set_name):
    model = tiny_revnet(set_name).train()
    plain = copy.deepcopy(model)
    for block in _blocks(plain):
        block.recompute = False
    torch.manual_seed(1)
    features = {"inputs": torch.randn(4, 16, 16, 3), "targets": torch.tensor([0, 1, 2, 3])}
    inputs = features["inputs"].clone().requires_grad_()
    plain_inputs = features["inputs"].clone().requires_grad_()
    model({**features, "inputs": inputs})[1]["training"].backward()
    plain({**features, "inputs": plain_inputs})[1]["training"].backward()
    for (name, p), q in zip(model.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-4, msg=name)
    torch.testing.assert_close(inputs.grad, plain_inputs.grad, atol=1e-6, rtol=1e-4)
    # the recomputation did not update the moving averages a second time
    for (name, b), c in zip(model.named_buffers(), plain.buffers()):
        torch.testing.assert_close(b, c, atol=1e-6, rtol=1e-5, msg=name)


def _saved_bytes(block: ReversibleBlock, x1: torch.Tensor, x2: torch.Tensor) -> int:
    saved = []

    def pack(t):
        saved.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y1, y2 = block(x1, x2)
    (y1.sum() + y2.sum()).backward()
    return sum(saved)


@pytest.mark.parametrize("recompute", [True, False])
def test_saved_activations_stay_flat_in_depth_only_with_recomputation(recompute):
    def block(layers: int) -> ReversibleBlock:
        torch.manual_seed(0)

        def f():
            return revnet.Residual(4, 4, 4, bottleneck=False)

        return ReversibleBlock(
            [f() for _ in range(layers)], [f() for _ in range(layers)], recompute
        )

    x1 = torch.randn(2, 4, 8, 8, requires_grad=True)
    x2 = torch.randn(2, 4, 8, 8, requires_grad=True)
    shallow, deep = _saved_bytes(block(1), x1, x2), _saved_bytes(block(6), x1, x2)
    if recompute:
        assert deep == shallow  # only the block's outputs are kept
    else:
        assert deep > 5 * shallow


def test_reversible_block_reconstructs_its_inputs():
    torch.manual_seed(0)
    fs = [revnet.Residual(4, 4, 4, bottleneck=False) for _ in range(3)]
    gs = [revnet.Residual(4, 4, 4, bottleneck=False) for _ in range(3)]
    block = ReversibleBlock(fs, gs).eval()
    x1, x2 = torch.randn(2, 4, 6, 6), torch.randn(2, 4, 6, 6)
    with torch.no_grad():
        y1, y2 = block(x1, x2)
        for f, g in zip(reversed(fs), reversed(gs)):
            y2 = y2 - g(y1)
            y1 = y1 - f(y2)
    torch.testing.assert_close((y1, y2), (x1, x2), atol=1e-5, rtol=1e-5)


def test_revnet_output_depth_and_3d_is_refused():
    model = tiny_revnet("revnet_164_cifar").eval()
    with torch.no_grad():
        body = model.body(model.bottom({"inputs": torch.zeros(2, 16, 16, 3)}))
    assert body.shape == (2, 1, 1, 2 * 4 * 4) == (2, 1, 1, model.body_output_depth())
    hp = registry.hparams("revnet_38_cifar")
    hp.dim = "3d"
    with pytest.raises(Exception, match="2d"):
        registry.model("revnet")(hp, PROBLEM)
