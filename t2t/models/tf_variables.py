"""T2T (TensorFlow) variable names of our Transformer's parameters, to load T2T weights.

T2T names every variable by its scope, e.g.
`transformer/body/encoder/layer_0/self_attention/multihead_attention/q/kernel`; dense
kernels are [in, out] (torch's Linear weight is [out, in]) and symbol embeddings are split
into `symbol_modality_num_shards` row shards `weights_0 .. weights_{n-1}`.
"""

import re

import numpy as np
import torch

from t2t.errors import DataError

_SYMBOL_PARTS = ("shared", "input_emb", "target_emb", "softmax")

# (our name pattern, T2T name template); {stack}, {i}, {sub}, {proc}, {p} are filled in.
_RULES = [
    (r"encoder\.target_space_embedding", "body/target_space_embedding/kernel"),
    (
        r"encoder\.stack\.final\.norm\.(?P<p>scale|bias)",
        "body/encoder/layer_prepostprocess/layer_norm/layer_norm_{p}",
    ),
    (
        r"decoder\.final\.norm\.(?P<p>scale|bias)",
        "body/decoder/layer_prepostprocess/layer_norm/layer_norm_{p}",
    ),
]
_SUBLAYER = re.compile(
    r"(?:encoder\.stack|decoder)\.layers\.(?P<i>\d+)\.(?P<sub>self_attention|encdec_attention|ffn)"
    r"\.(?P<rest>.+)"
)
_REST = {
    "pre.norm.scale": "layer_prepostprocess/layer_norm/layer_norm_scale",
    "pre.norm.bias": "layer_prepostprocess/layer_norm/layer_norm_bias",
    "post.norm.scale": "layer_postprocess/layer_norm/layer_norm_scale",
    "post.norm.bias": "layer_postprocess/layer_norm/layer_norm_bias",
    "sublayer.q.weight": "multihead_attention/q/kernel",
    "sublayer.k.weight": "multihead_attention/k/kernel",
    "sublayer.v.weight": "multihead_attention/v/kernel",
    "sublayer.output_transform.weight": "multihead_attention/output_transform/kernel",
    "sublayer.relative_keys": (
        "multihead_attention/dot_product_attention_relative/relative_positions_keys/embeddings"
    ),
    "sublayer.relative_values": (
        "multihead_attention/dot_product_attention_relative/relative_positions_values/embeddings"
    ),
    "sublayer.conv1.weight": "conv1/kernel",
    "sublayer.conv1.bias": "conv1/bias",
    "sublayer.conv2.weight": "conv2/kernel",
    "sublayer.conv2.bias": "conv2/bias",
}


def tf_name(param_name: str, model_name: str = "transformer") -> str:
    """The T2T variable name (without ":0") of one of our Transformer parameters.

    Symbol tables map to their shard prefix (`.../shared/weights`).

    Raises:
        KeyError: a parameter with no T2T counterpart.
    """
    table = re.fullmatch(r"modality_weights\.tables\.(?P<key>.+)", param_name)
    if table:
        key = table["key"]
        part = next(p for p in _SYMBOL_PARTS if key.endswith("_" + p))  # "input_emb" has "_"
        return f"{model_name}/{key[: -len(part) - 1]}/{part}/weights"
    for pattern, template in _RULES:
        match = re.fullmatch(pattern, param_name)
        if match:
            return f"{model_name}/" + template.format(**match.groupdict())
    match = _SUBLAYER.fullmatch(param_name)
    if match and match["rest"] in _REST:
        stack = "encoder" if param_name.startswith("encoder") else "decoder"
        return f"{model_name}/body/{stack}/layer_{match['i']}/{match['sub']}/{_REST[match['rest']]}"
    raise KeyError(f"no T2T variable for parameter {param_name}")


def _shards(variables: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    names = [n for n in variables if re.fullmatch(re.escape(prefix) + r"_\d+(:0)?", n)]
    if not names:
        raise DataError(f"T2T variables lack {prefix}_0 ... (symbol modality shards)")
    names.sort(key=lambda n: int(re.search(r"_(\d+)(:0)?$", n)[1]))
    return np.concatenate([variables[n] for n in names], axis=0)


def load_tf_variables(
    model: torch.nn.Module, variables: dict[str, np.ndarray], model_name: str = "transformer"
) -> None:
    """Copies T2T variables (name -> array, names with or without ":0") into `model`.

    Raises:
        DataError: a parameter whose T2T variable is missing or has another shape.
    """
    plain = {name.removesuffix(":0"): value for name, value in variables.items()}
    with torch.no_grad():
        for name, param in model.named_parameters():
            source = tf_name(name, model_name)
            if source.endswith("/weights") and "_modality_" in source:
                value = _shards(plain, source)
            elif source in plain:
                value = plain[source]
            else:
                raise DataError(f"T2T variables lack {source} (for {name})")
            if name.endswith(".weight") and "modality_weights" not in name:
                value = value.T  # TF dense kernel [in, out] -> torch [out, in]
            if tuple(value.shape) != tuple(param.shape):
                raise DataError(f"{source}: shape {value.shape}, expected {tuple(param.shape)}")
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))
