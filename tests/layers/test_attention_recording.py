"""recording_attention: the weights of every attention call, without changing the outputs."""

import threading

import torch

from t2t.layers.attention import (
    MultiheadAttention,
    attention_bias_ignore_padding,
    attention_bias_lower_triangle,
    recording_attention,
)


def layer(**kwargs) -> MultiheadAttention:
    torch.manual_seed(0)
    return MultiheadAttention(8, 8, 8, 8, 8, num_heads=2, **kwargs).eval()


def test_records_softmax_weights_and_keeps_the_output():
    attention = layer()
    x = torch.randn(2, 5, 8)  # [B, L, D]
    padding = torch.zeros(2, 5)
    padding[1, 3:] = 1.0  # the second example has 3 real positions
    bias = attention_bias_ignore_padding(padding)  # [B, 1, 1, L]
    with torch.no_grad():
        plain = attention(x, bias=bias)  # the fused kernel
        with recording_attention() as recorder:
            recorded = attention(x, bias=bias)
    torch.testing.assert_close(recorded, plain, atol=1e-6, rtol=1e-5)
    [(module, weights)] = recorder.records
    assert module is attention and weights.shape == (2, 2, 5, 5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 5))
    assert weights[1, :, :, 3:].abs().max() < 1e-6  # no weight on the padding


def test_memory_and_relative_attention_are_recorded_in_call_order():
    relative, plain = layer(max_relative_position=3), layer()
    x, memory = torch.randn(1, 4, 8), torch.randn(1, 6, 8)
    with torch.no_grad(), recording_attention() as recorder:
        relative(x, bias=attention_bias_lower_triangle(4))
        plain(x, memory)
    assert [m for m, _ in recorder.records] == [relative, plain]
    causal, encdec = (w for _, w in recorder.records)
    assert causal.shape == (1, 2, 4, 4) and torch.triu(causal[0, 0], 1).abs().max() < 1e-6
    assert encdec.shape == (1, 2, 4, 6)


def test_nothing_is_recorded_outside_the_block_or_from_another_thread():
    attention, x = layer(), torch.randn(1, 3, 8)
    with recording_attention() as recorder:
        thread = threading.Thread(target=attention, args=(x,))
        thread.start()
        thread.join()
    attention(x)
    assert recorder.records == []
