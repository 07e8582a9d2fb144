"""packed_linears: same products as F.linear, plain fallbacks, modules restored after."""

import pytest
import torch
from torch import nn

from t2t.layers import packed_linear
from t2t.layers.packed_linear import packed_linears

needs_mkl = pytest.mark.skipif(
    not packed_linear.packing_available(), reason="this torch has no MKL packed GEMM ops"
)


class _Top(nn.Module):
    """Like SymbolTop: a shared table exposed as `linear_weight`."""

    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.randn(50, 8))

    @property
    def linear_weight(self) -> torch.Tensor:
        return self.table

    def forward(self, x):
        return nn.functional.linear(x, self.table)


def _model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 12), nn.ReLU(), nn.Linear(12, 8, bias=False), _Top())


@needs_mkl
def test_packed_products_equal_plain_ones_and_modules_are_restored():
    model = _model()
    x = torch.randn(16, 1, 8)  # [rows, 1, H], as a decoding step feeds them
    with torch.inference_mode():
        expected = model(x)
        with packed_linears([model], rows=16) as switched:
            assert switched == 3  # two nn.Linear and the table
            assert all("forward" in vars(m) for m in (model[0], model[2], model[3]))
            got = model(x)
            other_height = model(x[:5])  # not the packed height: plain F.linear
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(other_height, expected[:5], rtol=1e-5, atol=1e-5)
    assert not any("forward" in vars(m) for m in model.modules())


@needs_mkl
def test_a_weight_changed_inside_the_block_is_not_multiplied_stale():
    model = _model()
    x = torch.randn(16, 8)
    with torch.no_grad(), packed_linears([model], rows=16):
        model[0].weight.mul_(2.0)  # e.g. an optimizer step or a checkpoint load
        got = model[0](x)
    torch.testing.assert_close(got, nn.functional.linear(x, model[0].weight, model[0].bias))


@needs_mkl
@pytest.mark.parametrize("change", ["new_weight", "new_bias", "new_data", "plain_attributes"])
def test_a_weight_or_bias_replaced_inside_the_block_is_used(change):
    model = _model()
    layer = model[0]
    x = torch.randn(16, 8)
    with torch.no_grad(), packed_linears([model], rows=16):
        if change == "new_weight":
            layer.weight = nn.Parameter(torch.randn(12, 8))
        elif change == "new_bias":
            layer.bias = nn.Parameter(torch.randn(12))
        elif change == "new_data":  # same Parameter object, other storage
            layer.weight.data = torch.randn(12, 8)
        else:  # as old-style weight norm does: a plain tensor attribute, set by a hook
            weight, bias = layer.weight.detach() * 3.0, layer.bias.detach()
            del layer.weight, layer.bias
            layer.weight, layer.bias = weight, bias
        got = layer(x)
    torch.testing.assert_close(got, nn.functional.linear(x, layer.weight, layer.bias))


def test_few_rows_or_no_mkl_switch_nothing(monkeypatch):
    model = _model()
    with packed_linears([model], rows=packed_linear.MIN_ROWS - 1) as switched:
        assert switched == 0
    monkeypatch.setattr(packed_linear, "packing_available", lambda: False)
    with packed_linears([model], rows=64) as switched:
        assert switched == 0
        assert model(torch.randn(64, 8)).shape == (64, 50)


@needs_mkl
def test_transformer_beam_search_is_unchanged_by_packing(monkeypatch):
    """Batch 4 x beam 4 = 16 rows: packed; the same decode with packing off is identical."""
    import t2t.models.transformer  # noqa: F401  (registers the model)
    from t2t.decode import protocol
    from t2t.hparams import HParams
    from t2t.runs.build import create_model

    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": 30, "targets": 30},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
    )
    torch.manual_seed(0)
    model = create_model("transformer", "transformer_tiny", problem_hparams=problem).eval()
    inputs = torch.randint(2, 30, (4, 6))
    packed = protocol.infer(model, {"inputs": inputs}, decode_length=5, beam_size=4, alpha=0.6)
    monkeypatch.setattr(packed_linear, "MIN_ROWS", 10**9)
    plain = protocol.infer(model, {"inputs": inputs}, decode_length=5, beam_size=4, alpha=0.6)
    assert torch.equal(packed["outputs"], plain["outputs"])
    torch.testing.assert_close(packed["scores"], plain["scores"])
