"""Layers: the blocks models share, built from plain arguments (never an hparams object).

For example `attention` (multi-head attention, attention biases, the decoding cache),
`transformer_layers` (encoder and decoder stacks with T2T's layer pre/post-processing) and
`timing_signal` (sinusoidal positions). The numerics follow T2T's `common_layers` and
`common_attention`. Importing this package imports none of its modules.
"""
