"""Block-wise reductions over a step's logits equal the plain torch reductions."""

import pytest
import torch

from t2t.decode.reductions import CHUNK, argmax_rows, log_normalizer, row_candidates

# Widths: below the block path's threshold, whole blocks, a ragged tail of 1 and of 63.
WIDTHS = [3 * CHUNK, 36 * CHUNK, 50 * CHUNK + 1, 50 * CHUNK + 63, 8000]


def _rows(width: int, seed: int) -> list[torch.Tensor]:
    """Random rows, rows full of ties, and rows whose maximum sits in the ragged tail."""
    gen = torch.Generator().manual_seed(seed)
    ties = torch.randint(0, 3, (6, width), generator=gen).float()
    tail_max = torch.randn(4, width, generator=gen)
    tail_max[:, -1] = 50.0  # the last position holds the maximum
    tail_max[1, -2] = 50.0  # ... twice: the first copy wins
    return [torch.randn(6, width, generator=gen), ties, tail_max]


@pytest.mark.parametrize("width", WIDTHS)
def test_argmax_rows_equals_torch_argmax(width):
    for x in _rows(width, width):
        index, peak = argmax_rows(x)
        assert torch.equal(index, x.argmax(dim=-1))  # first position of the maximum
        assert torch.equal(peak, x.amax(dim=-1, keepdim=True))


def test_reductions_take_strided_rows():
    """Step functions may return views (a transposed or sliced table)."""
    table = torch.randn(40 * CHUNK + 3, 5)
    x = table.t()  # [5, V], not contiguous
    index, peak = argmax_rows(x)
    assert torch.equal(index, x.argmax(dim=-1))
    assert torch.equal(peak, x.amax(dim=-1, keepdim=True))
    values, indices = row_candidates(x, 9)
    assert torch.equal(values.sort(-1).values, torch.topk(x, 9).values.sort(-1).values)
    assert torch.equal(x.gather(1, indices), values)


def test_argmax_rows_ties_go_to_the_lowest_index():
    x = torch.zeros(3, 40 * CHUNK)
    x[0, [5, 700, 2000]] = 1.0
    x[1, [CHUNK * 7 + 3, CHUNK * 7 + 1]] = 2.0  # two in one block
    index, _ = argmax_rows(x)  # row 2: all equal -> position 0
    assert index.tolist() == [5, CHUNK * 7 + 1, 0]


def test_argmax_rows_counts_nan_as_the_maximum():
    x = torch.randn(2, 20 * CHUNK + 5)
    x[0, 900] = float("nan")
    x[0, 1000] = float("nan")
    x[1, -1] = float("nan")  # in the ragged tail
    index, peak = argmax_rows(x)
    assert torch.equal(index, x.argmax(dim=-1))
    assert index.tolist() == [900, 20 * CHUNK + 4]
    assert bool(peak.isnan().all())


@pytest.mark.parametrize("width", WIDTHS)
def test_row_candidates_keep_the_largest(width):
    """Block-wise candidates: nothing left out exceeds the smallest value kept."""
    for x in _rows(width, width + 1):
        values, indices = row_candidates(x, 9)
        assert torch.equal(x.gather(1, indices), values)
        assert torch.equal(values.sort(-1).values, torch.topk(x, 9).values.sort(-1).values)
        assert all(len(set(row.tolist())) == 9 for row in indices)  # 9 distinct positions


@pytest.mark.parametrize("width", [7, 8000, 300_000])
def test_log_normalizer_is_logsumexp(width):
    """T2T's formula log(sum(exp(x - max))) + max; row blocks do not change it."""
    x = torch.randn(5, width, generator=torch.Generator().manual_seed(width)) * 4.0
    expected = torch.logsumexp(x.double(), dim=-1, keepdim=True).float()
    got = log_normalizer(x)
    assert torch.allclose(got, expected, rtol=0, atol=1e-5)
    assert torch.equal(log_normalizer(x, peak=x.amax(dim=-1, keepdim=True)), got)
    assert torch.equal(log_normalizer(x.view(5, 1, width)).view(5, 1), got)  # any leading dims


def test_log_normalizer_of_infinite_rows():
    """A row of -inf has max -inf, replaced by 0 as TF does: normaliser -inf, no NaN."""
    x = torch.full((2, 300), float("-inf"))
    x[1, 4] = 0.0
    assert log_normalizer(x).view(-1).tolist() == [float("-inf"), 0.0]
