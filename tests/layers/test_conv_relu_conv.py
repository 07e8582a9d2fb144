"""The "conv_relu_conv" FFN equals T2T 1.15.7's `common_layers.conv_relu_conv`.

Goldens: tests/golden/models/conv_relu_conv.npz, made by
tests/golden/models/make_conv_relu_conv_golden.py with the original under TensorFlow 1.15
(variables set to values drawn in order from RandomState(1).uniform(-0.5, 0.5)).
"""

import os

import numpy as np
import pytest
import torch

from t2t.layers.ffn import ConvReluConv

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "models", "conv_relu_conv.npz")


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(GOLDEN))


# The golden script's cases, in the order it drew their variables from one RandomState(1).
ORDER = [("same3", 3, "SAME"), ("same9", 9, "SAME"), ("left4", 4, "LEFT"),
         ("left3_cached", 3, "LEFT")]  # fmt: skip


def _load(golden, case: str, kernel: int, padding: str) -> ConvReluConv:
    """Our layer with the golden's variable values (drawn again in T2T's creation order)."""
    rng = np.random.RandomState(1)
    for name, k, pad in ORDER:
        layer = ConvReluConv(4, 6, k, pad)
        for var in golden[name + "/names"]:
            tap, kind = str(var).split("/")[-2:]
            module = layer.conv2 if tap == "conv2" else layer.taps[int(tap.split("_")[1])]
            shape = (module.in_features, module.out_features) if kind == "kernel" else None
            value = rng.uniform(-0.5, 0.5, size=shape or (module.out_features,))
            value = torch.from_numpy(value.astype(np.float32))
            if kind == "kernel":
                module.weight.data = value.t().contiguous()  # TF [in, out] -> torch [out, in]
            else:
                module.bias.data = value
        if name == case:
            assert (k, pad) == (kernel, padding)
            return layer.eval()
    raise KeyError(case)


@pytest.mark.parametrize("case, kernel, padding", [
    ("same3", 3, "SAME"), ("same9", 9, "SAME"), ("left4", 4, "LEFT"),
])  # fmt: skip
def test_full_pass_equals_t2t(golden, case, kernel, padding):
    layer = _load(golden, case, kernel, padding)
    x = torch.from_numpy(golden["x"])
    mask = torch.from_numpy(golden["mask"])[:, :, None]  # [B, T, 1]
    with torch.no_grad():
        ours = layer(x, nonpadding=mask).numpy()
    np.testing.assert_allclose(ours, golden[case], atol=1e-5, rtol=1e-5)


def test_cached_steps_equal_t2t_and_the_full_pass(golden):
    layer = _load(golden, "left3_cached", 3, "LEFT")
    x = torch.from_numpy(golden["x"])
    cache = {"f": torch.zeros(2, 0, 4)}
    with torch.no_grad():
        steps = torch.cat([layer(x[:, t : t + 1], cache=cache) for t in range(7)], dim=1)
        full = layer(x)
    np.testing.assert_allclose(steps.numpy(), golden["left3_cached"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(steps, full, atol=1e-5, rtol=1e-5)
    assert cache["f"].shape == (2, 3, 4)


def test_same_padding_needs_an_odd_kernel():
    with pytest.raises(ValueError, match="odd"):
        ConvReluConv(4, 6, 4, "SAME")
