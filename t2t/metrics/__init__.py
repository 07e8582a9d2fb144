"""Evaluation metrics: T2T's BLEU (t2t-bleu compatible), ROUGE and per-token metrics."""
