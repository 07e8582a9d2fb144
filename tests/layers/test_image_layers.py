"""The image layers: TF's "SAME" padding, TF-layout kernel initialisation, batch norm with
T2T's decay and names, and ResNet's targeted dropout."""

import math

import torch

from t2t.layers.batch_norm import BatchNorm, frozen_statistics
from t2t.layers.convolutions import Conv2d, SeparableConv2d, max_pool_same, same_padding
from t2t.layers.initializers import initialize_module, tf_fans
from t2t.models.resnet import targeted_dropout, unit_targeting, weight_targeting
from t2t.train.optimizers import decayed_parameters


def test_same_padding_puts_the_odd_pixel_after():
    # TF: out = ceil(size / stride); total = (out - 1) stride + k - size; before = total // 2
    assert same_padding(32, 3, 2) == (0, 1)
    assert same_padding(112, 3, 2) == (0, 1)
    assert same_padding(7, 3, 2) == (1, 1)
    assert same_padding(32, 3, 1) == (1, 1)
    assert same_padding(32, 1, 2) == (0, 0)


def test_strided_same_conv_equals_explicit_asymmetric_padding():
    torch.manual_seed(0)
    conv = Conv2d(2, 3, 3, stride=2)
    x = torch.randn(1, 2, 8, 8)
    padded = torch.nn.functional.pad(x, [0, 1, 0, 1])  # left/right, top/bottom
    expected = torch.nn.functional.conv2d(padded, conv.weight, conv.bias, stride=2)
    torch.testing.assert_close(conv(x), expected)
    assert conv(x).shape == (1, 3, 4, 4)


def test_max_pool_same_ignores_padding():
    x = -1.0 - torch.arange(16.0).reshape(1, 1, 4, 4)  # all negative: zero padding would win
    out = max_pool_same(x, 3, 2)
    assert out.shape == (1, 1, 2, 2)
    assert out.max() < 0
    assert out[0, 0, 1, 1] == x[0, 0, 2:, 2:].max()


def test_conv_kernels_get_tf_fans_through_their_tf_layout():
    assert tf_fans((3, 3, 16, 32)) == (144, 288)
    torch.manual_seed(0)
    conv = Conv2d(64, 64, 3, bias=True)
    initialize_module(conv, "uniform_unit_scaling", 1.0)
    limit = math.sqrt(3.0 / ((9 * 64 + 9 * 64) / 2))  # TF variance scaling, fan_avg
    assert conv.weight.abs().max() <= limit
    assert conv.weight.abs().max() > 0.95 * limit
    assert torch.equal(conv.bias, torch.zeros(64))
    sep = SeparableConv2d(8, 16, 3, bias=False)
    initialize_module(sep, "orthogonal", 1.0)
    kernel = sep.pointwise.weight[:, :, 0, 0].T  # TF layout [in, out]: orthogonal rows
    torch.testing.assert_close(kernel @ kernel.T, torch.eye(8), atol=1e-5, rtol=1e-5)


def test_batch_norm_decay_names_and_frozen_statistics():
    norm = BatchNorm(3, decay=0.9, epsilon=1e-5)
    x = torch.randn(8, 3, 4, 4) * 2 + 1
    norm.train()(x)
    mean = x.mean(dim=(0, 2, 3))
    torch.testing.assert_close(norm.moving_mean, 0.1 * mean)  # 0.9 * 0 + 0.1 * batch mean
    before = norm.moving_mean.clone()
    with frozen_statistics(norm):
        out = norm(x)
    assert torch.equal(norm.moving_mean, before)
    torch.testing.assert_close(out.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5, rtol=0)
    # T2T decays gamma and beta (TF names them so); conv biases are skipped
    module = torch.nn.ModuleDict({"norm": norm, "conv": Conv2d(3, 3, 1)})
    decayed = {id(p) for p in decayed_parameters(module.named_parameters())}
    assert decayed == {id(norm.gamma), id(norm.beta), id(module["conv"].weight)}


def test_targeting_masks_the_smallest_weights_and_units():
    w = torch.tensor([[0.1, -0.5, 0.3, 0.05], [2.0, 1.0, -3.0, 0.5]])  # [out, n]
    assert weight_targeting(w, 1).tolist() == [
        [True, False, False, True],
        [False, True, False, True],
    ]
    assert unit_targeting(w, 0).tolist() == [[True] * 4, [False] * 4]


def test_targeted_dropout_prunes_in_eval_and_drops_or_rescales_in_training():
    torch.manual_seed(0)
    kernel = torch.randn(4, 2, 3, 3)
    # eval: count 9 -> round(9 * 0.5) = 4 (half to even) -> the 5 smallest per unit pruned
    pruned = targeted_dropout(kernel, 9.0, 0.5, "weight", training=False)
    assert ((pruned == 0).reshape(4, -1).sum(1) == 5).all()
    trained = targeted_dropout(kernel, 9.0, 0.5, "weight", training=True)
    targeted = weight_targeting(kernel.reshape(4, -1), 9).reshape(kernel.shape)
    kept = trained[targeted]
    assert torch.all((kept == 0) | torch.isclose(kept, 2 * kernel[targeted]))  # 1 / keep_prob
    assert torch.equal(trained[~targeted], kernel[~targeted])


def test_empty_initializer_is_tf_default_glorot_uniform():
    """T2T's `initializer=""` sets no scope initializer: TF's glorot uniform applies."""
    torch.manual_seed(0)
    dense = torch.nn.Linear(300, 100)
    initialize_module(dense, "", 1.0)
    limit = math.sqrt(6.0 / (300 + 100))
    assert dense.weight.abs().max() <= limit
    assert dense.weight.abs().max() > 0.95 * limit
    assert torch.equal(dense.bias, torch.zeros(100))


def test_depthwise_kernel_is_one_tf_variable_of_channels_by_multiplier():
    """nn.Conv2d(groups=C, out=C*m) is TF's depthwise kernel [kh, kw, C, m]: fans 9*C, 9*m."""
    from t2t.layers.initializers import init_conv_kernel_

    weight = torch.empty(4 * 3, 1, 3, 3)  # C = 4 channels, multiplier 3
    seen = []
    init_conv_kernel_(
        weight, lambda k: seen.append(tuple(k.shape)) or k.fill_(1.0), depthwise_multiplier=3
    )
    assert seen == [(3, 3, 4, 3)]
    kernel = torch.arange(3 * 3 * 4 * 3, dtype=torch.float32).reshape(3, 3, 4, 3)
    init_conv_kernel_(weight, lambda k: k.copy_(kernel), depthwise_multiplier=3)
    # torch output channel c*m + j holds TF's [:, :, c, j]
    torch.testing.assert_close(weight[2 * 3 + 1, 0], kernel[:, :, 2, 1])
