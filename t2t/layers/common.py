"""The shared building blocks under their former common name (T2T's `common_layers`).

The blocks live one concept per module: `initializers`, `dropout`, `norms`,
`prepostprocess`, `ffn` and `sequence_ops`. New code imports them from there; this module
re-exports them for code written against `t2t.layers.common`. Add nothing here.
"""

from t2t.layers.dropout import dropout_with_broadcast_dims, parse_broadcast_dims
from t2t.layers.ffn import DenseReluDense
from t2t.layers.initializers import (
    init_tf_variable_,
    initialize_module,
    own_init,
    variance_scaling_,
)
from t2t.layers.norms import LayerNorm
from t2t.layers.prepostprocess import PrePostProcess
from t2t.layers.sequence_ops import embedding_to_padding, shift_right

__all__ = [
    "DenseReluDense",
    "LayerNorm",
    "PrePostProcess",
    "dropout_with_broadcast_dims",
    "embedding_to_padding",
    "init_tf_variable_",
    "initialize_module",
    "own_init",
    "parse_broadcast_dims",
    "shift_right",
    "variance_scaling_",
]
