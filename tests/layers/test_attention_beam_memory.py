"""Beam decoding with encoder keys/values kept once per example (not tiled to the beams)."""

import torch

from t2t.layers.attention import MultiheadAttention


def test_beams_against_shared_memory_equal_beams_against_tiled_memory():
    torch.manual_seed(0)
    batch, beams, source, hidden = 3, 4, 7, 16
    attention = MultiheadAttention(hidden, hidden, hidden, hidden, hidden, num_heads=4).eval()
    memory = torch.randn(batch, source, hidden)
    padding = torch.zeros(batch, source)
    padding[1, 5:] = 1.0  # a padded example: its bias must reach all of its beams
    bias = (padding * -1e9)[:, None, None, :]  # [B, 1, 1, S]
    queries = torch.randn(batch * beams, 1, hidden)  # example-major rows, as beam search
    shared = attention(queries, bias=bias, cache=attention.memory_kv(memory), static_kv=True)
    tiled_memory = memory.repeat_interleave(beams, dim=0)
    tiled_bias = bias.repeat_interleave(beams, dim=0)
    tiled = attention(queries, tiled_memory, bias=tiled_bias)
    torch.testing.assert_close(shared, tiled, atol=1e-6, rtol=1e-5)
    # Rows are not mixed across examples: changing example 2's memory leaves 0 and 1 alone.
    memory[2] += 1.0
    changed = attention(queries, bias=bias, cache=attention.memory_kv(memory), static_kv=True)
    torch.testing.assert_close(changed[: 2 * beams], shared[: 2 * beams])
    assert not torch.allclose(changed[2 * beams :], shared[2 * beams :])
