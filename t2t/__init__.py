"""t2t: Tensor2Tensor rebuilt on PyTorch.

`import t2t` is cheap: it imports no model, problem or torch module. The registry loads
built-in modules on first use (see `t2t.registry`), and the two entry points for
applications load on first access:

    t2t.create_model(model="transformer", hparams_set="transformer_base",
                     problem="algorithmic_reverse_nlplike32k")    # an nn.Module
    t2t.load(output_dir).decode(["a sentence"], beam_size=4)       # a trained run
"""

__version__ = "0.1.0"

_LAZY = {
    "create_model": ("t2t.runs.build", "create_model"),
    "count_trainable_parameters": ("t2t.runs.build", "count_trainable_parameters"),
    "load": ("t2t.decode.api", "load"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 't2t' has no attribute {name!r}")
