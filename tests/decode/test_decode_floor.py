"""benchmarks/decode_floor.py times exactly the matrix products our decoder runs."""

from collections import Counter

import pytest
import torch
from torch import nn

from t2t.layers.packed_linear import packing_available
from t2t.modalities.symbol import SymbolTop
from tests.benchmark_modules import load_benchmark


@pytest.fixture(scope="module")
def floor():
    return load_benchmark("decode_floor")


def _record_products(model: nn.Module) -> Counter:
    """Hooks every linear map of the model; returns a Counter the decode fills in."""
    seen = Counter()

    def hook(module, args, out):
        x = args[0]
        seen[x.numel() // x.shape[-1], x.shape[-1], out.shape[-1]] += 1

    for module in model.modules():
        if type(module) is nn.Linear or isinstance(module, SymbolTop):
            module.register_forward_hook(hook)
    return seen


@pytest.mark.parametrize("beam", [1, 3])
def test_floor_counts_the_products_of_a_real_decode(floor, beam):
    speed = floor.speed
    batch, source, length = 2, 5, 4
    torch.manual_seed(0)
    model = speed.build_ours("tiny", "cpu")
    speed.suppress_eos(model)  # every sentence runs all `length` steps, as in the benchmark
    seen = _record_products(model)
    inputs = torch.randint(2, 100, (batch, source))
    outputs = speed.run_ours(model, inputs, beam, 0.6, length)
    assert outputs.shape[-1] == length
    expected = Counter(
        (rows, n_in, n_out)
        for _, rows, n_in, n_out in floor.product_shapes("tiny", batch, beam, source, length)
    )
    assert seen == expected


def test_floor_products_run_plain_and_packed(floor):
    shapes = floor.product_shapes("tiny", 2, 2, 3, 2)
    names = {name for name, *_ in shapes}
    assert "softmax" in names and "enc0.q" in names and "dec1.ffn2" in names
    for packed in (False, True) if packing_available() else (False,):
        calls = floor.build_products(shapes, packed)
        assert len(calls) == len(shapes)
        for call, (_, rows, _, n_out) in zip(calls, shapes, strict=True):
            assert call().shape == (rows, n_out)
