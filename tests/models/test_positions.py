"""The Transformer's kept timing-signal table gives exactly the freshly built sinusoids."""

import torch

from t2t.layers.timing_signal import get_timing_signal_1d
from t2t.models.transformer import _Positions


def test_timing_table_equals_fresh_signal_at_every_start():
    positions = _Positions("timing", hidden_size=10, max_length=256)
    x = torch.zeros(2, 1, 10)
    for start in [0, 1, 5, 63, 64, 65, 200, 1000]:  # grows past 64, then far past its size
        expected = get_timing_signal_1d(1, 10, start_index=start)
        assert torch.equal(positions(x, start=start), expected.expand(2, -1, -1))
    many = torch.zeros(1, 300, 10)
    assert torch.equal(positions(many, start=7), get_timing_signal_1d(300, 10, start_index=7))


def test_timing_table_follows_channels_and_dtype():
    positions = _Positions("timing", hidden_size=8, max_length=16)
    odd = torch.zeros(1, 3, 7)  # odd depth: a zero column, as get_timing_signal_1d
    assert torch.equal(positions(odd), get_timing_signal_1d(3, 7))
    half = positions(torch.zeros(1, 3, 8, dtype=torch.bfloat16))
    assert half.dtype == torch.bfloat16
    assert torch.equal(half, get_timing_signal_1d(3, 8).to(torch.bfloat16))
