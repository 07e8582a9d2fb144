"""SelfAttentionCache: in-place append and beam reordering equal the naive cat/index_select."""

import pytest
import torch

from t2t.decode.beam_search import _map_states
from t2t.layers.attention import MultiheadAttention, SelfAttentionCache


def _naive_and_cache(rows: int, capacity: int):
    cache = SelfAttentionCache(rows, 2, 3, 4, capacity=capacity)
    naive = {"k": torch.zeros(rows, 2, 0, 3), "v": torch.zeros(rows, 2, 0, 4)}
    return naive, cache


@pytest.mark.parametrize("capacity", [1, 3, 16])
def test_append_and_reorder_match_cat_and_index_select(capacity):
    """Appending past the capacity grows the buffers; reordering keeps the chosen rows."""
    gen = torch.Generator().manual_seed(capacity)
    naive, cache = _naive_and_cache(2, capacity)
    # Tiling 2 examples to 3 beams each, as beam search does before the first step.
    naive = _map_states(lambda t: t.repeat_interleave(3, dim=0), naive)
    cache = _map_states(lambda t: t.repeat_interleave(3, dim=0), cache)
    for step in range(7):
        k, v = torch.randn(6, 2, 1, 3, generator=gen), torch.randn(6, 2, 1, 4, generator=gen)
        naive = {"k": torch.cat([naive["k"], k], 2), "v": torch.cat([naive["v"], v], 2)}
        all_k, all_v = cache.append(k, v)
        assert torch.equal(all_k, naive["k"]) and torch.equal(all_v, naive["v"])
        rows = torch.randint(0, 6, (6,), generator=gen)
        naive = _map_states(lambda t, rows=rows: t.index_select(0, rows), naive)
        cache = _map_states(lambda t, rows=rows: t.index_select(0, rows), cache)
        assert cache.length == step + 1
        assert torch.equal(cache.k, naive["k"]) and torch.equal(cache.v, naive["v"])


@pytest.mark.parametrize(
    "rows",
    [
        [0, 1, 2, 3, 4, 5, 6, 7],  # nothing moves
        [1, 0, 2, 3, 4, 5, 6, 7],  # a swap: both rows are read before either is written
        [0, 0, 2, 3, 4, 5, 7, 7],  # two rows copied from their neighbours
        [2, 0, 1, 3, 4, 5, 6, 7],  # a 3-cycle (3 of 8 move: the in-place path)
        [7, 6, 5, 4, 3, 2, 1, 0],  # everything moves (the gather path)
        [0, 0, 0, 0, 4, 4, 4, 4],  # 6 of 8 move (the gather path)
    ],
)
def test_reorder_in_place_or_by_gather_matches_index_select(rows):
    """Few changed rows are copied in place, many are gathered: same keys and values."""
    gen = torch.Generator().manual_seed(len(set(rows)))
    naive, cache = _naive_and_cache(8, 16)
    rows = torch.tensor(rows)
    for _ in range(3):
        k, v = torch.randn(8, 2, 1, 3, generator=gen), torch.randn(8, 2, 1, 4, generator=gen)
        naive = {"k": torch.cat([naive["k"], k], 2), "v": torch.cat([naive["v"], v], 2)}
        cache.append(k, v)
        naive = _map_states(lambda t: t.index_select(0, rows), naive)
        assert cache.index_select(0, rows) is cache
        assert torch.equal(cache.k, naive["k"]) and torch.equal(cache.v, naive["v"])


def test_reorder_to_fewer_rows_and_bad_dims():
    naive, cache = _naive_and_cache(4, 8)
    k, v = torch.randn(4, 2, 2, 3), torch.randn(4, 2, 2, 4)
    cache.append(k, v)
    rows = torch.tensor([3, 1])
    cache.index_select(0, rows)
    assert torch.equal(cache.k, k[rows]) and torch.equal(cache.v, v[rows])
    with pytest.raises(ValueError, match="dim 0"):
        cache.index_select(1, rows)
    with pytest.raises(ValueError, match="dim 0"):
        cache.repeat_interleave(2, dim=1)


def test_attention_with_cache_equals_full_causal_attention():
    """Incremental self-attention through the cache equals attending over the whole prefix."""
    torch.manual_seed(0)
    attention = MultiheadAttention(8, 8, 8, 8, 8, num_heads=2).eval()
    x = torch.randn(3, 5, 8)
    causal = torch.triu(torch.full((5, 5), -1e9), diagonal=1)
    full = attention(x, bias=causal)
    cache = SelfAttentionCache(3, 2, 4, 4, capacity=2)
    steps = [attention(x[:, i : i + 1], cache=cache) for i in range(5)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=1e-5, atol=1e-5)
