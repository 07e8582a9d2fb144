"""The static-shape decoding step, optionally compiled: less per-step overhead at small batch.

At one to four sentences a cached decoding step is a few hundred small PyTorch operations
and module calls; their dispatch costs more than their arithmetic. A model that supports
it (`supports_static_decoding()`, the Transformer) has a static-shape form of its own
`decode_step`: fixed-size key/value buffers with a mask instead of a cache that grows, and
the step index as a 0-dim tensor. It runs the same modules and weights as the module
path (there is no second implementation of the layers); only the cache and the bias
differ, so it decodes the same ids (tests/decode/test_fast_step.py). With every step of
the same shapes, `torch.compile` turns it into one graph that serves all steps.

Modes (`fast_infer(step_mode=...)`, the decode hparam `step_mode`, the benchmark's
``--step_mode``):

* ``"module"``: the protocol's plain `decode_step` (the default).
* ``"static"``: the static-shape step, eager (a reference; no faster by itself).
* ``"compiled"``: the static-shape step through `torch.compile` (inductor). The first
  call of each new shape compiles (tens of seconds on a small CPU; inductor caches the
  generated code on disk, so later processes compile faster); a step that fails to
  compile (no C++ compiler, an unsupported op) warns once and runs eagerly from then on.
  The first step of a beam search (one row per example) always runs eagerly.
"""

from __future__ import annotations

import warnings
import weakref

import torch

from t2t.errors import HParamsError

STEP_MODES = ("module", "static", "compiled")

# Per model: (its decode_step function, the compiled callable, or None after a failure).
_OPTIONS: dict = {}
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_step_mode(step_mode: str) -> None:
    """Raises HParamsError (a ValueError) for a step mode not in `STEP_MODES`."""
    if step_mode not in STEP_MODES:
        raise HParamsError(f"step_mode {step_mode!r} is not one of {', '.join(STEP_MODES)}")


def supports_static(model) -> bool:
    """Whether `model` has the static-shape form of its decoding step."""
    check = getattr(model, "supports_static_decoding", None)
    return callable(check) and bool(check())


def _compile(step):
    """`torch.compile` of a step function (inductor; shapes static until they change)."""
    return torch.compile(step, dynamic=None, fullgraph=False, options=_OPTIONS)


def _compiled_step(model):
    """The compiled form of `model.decode_step`, made once per model and step function;
    None when compiling failed before."""
    step = model.decode_step
    key = getattr(step, "__func__", step)
    entry = _COMPILED.get(model)
    if entry is None or entry[0] is not key:
        entry = (key, _compile(step))
        _COMPILED[model] = entry
    return entry[1]


def _disable(model, error: Exception) -> None:
    step = model.decode_step
    _COMPILED[model] = (getattr(step, "__func__", step), None)
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    warnings.warn(
        f"t2t: the compiled decoding step failed ({type(error).__name__}: {first_line}); "
        "decoding with the eager static step",
        RuntimeWarning,
        stacklevel=3,
    )


class StaticStep:
    """A protocol step function ``(ids [N, i+1], i, states) -> (logits [N, V], states)``
    that runs `model.decode_step` in its static-shape form.

    Args:
        model: a model with `supports_static_decoding()`; its states come from
            ``init_decode_states(..., static=True)``.
        compiled: run the steps after the first through `torch.compile`.
    """

    def __init__(self, model, compiled: bool) -> None:
        self.model = model
        self.compiled = compiled

    def __call__(self, ids: torch.Tensor, i: int, states: dict) -> tuple[torch.Tensor, dict]:
        """One step: only the last ids [N, 1] are passed on, so every step has one shape."""
        # [N, 1], contiguous: a view of ids would have a stride that changes every step,
        # which the compiled step would take for a new shape (and recompile).
        last = ids[:, -1:].contiguous()
        position = torch.tensor(i, dtype=torch.long, device=ids.device)
        step = _compiled_step(self.model) if self.compiled and i > 0 else None
        if step is not None:
            try:
                return step(last, position, states)
            except Exception as error:  # noqa: BLE001  (any compiler failure: run eagerly)
                _disable(self.model, error)
        return self.model.decode_step(last, position, states)
