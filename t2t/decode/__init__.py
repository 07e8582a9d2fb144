"""Decoding: beam search, greedy decoding and sampling over a model's cached step function."""

from t2t.decode.beam_search import beam_search, greedy_search, sample, select_top_beams

__all__ = ["beam_search", "greedy_search", "sample", "select_top_beams"]
