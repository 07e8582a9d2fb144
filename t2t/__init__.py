"""t2t: Tensor2Tensor rebuilt on PyTorch.

`import t2t` is cheap: it imports no model, problem or torch module. The registry loads
built-in modules on first use (see `t2t.registry`).
"""

__version__ = "0.1.0"
