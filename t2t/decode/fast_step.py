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
* ``"compiled"``: the static-shape step through `torch.compile` (inductor), with the
  weights frozen into the graph (`freezing`: constant-folded, laid out for the CPU's
  matrix kernels) and, on CPU, a C++ wrapper around the generated kernels (`cpp_wrapper`:
  no Python between them). Greedy decoding runs the search's own bookkeeping (argmax,
  normaliser, score, EOS) in the same graph (`greedy_decode`), so a step is one call.
  The first call of each new shape compiles (tens of seconds on a small CPU); a step that
  fails to compile (no C++ compiler, an unsupported op) warns once and runs eagerly from
  then on. The first step of a beam search (one row per example) always runs eagerly.
  Frozen weights are the model's at compile time: a change to them (training, loading a
  checkpoint into the same model) is noticed by the parameters' versions and compiles again.

The compiled functions take the states as a flat list of tensors (`flatten_states`), so
that the compiled code checks a few tensors per call rather than walking nested dicts.
"""

from __future__ import annotations

import types
import warnings
import weakref
from collections.abc import Callable

import torch

from t2t.decode.beam_search import sample_update
from t2t.errors import HParamsError

STEP_MODES = ("module", "static", "compiled")

# Inductor settings of the compiled step (see the module docstring); the C++ wrapper on
# CPU only (on a GPU the kernel launches are asynchronous and the wrapper needs the CUDA
# toolkit's compiler).
INDUCTOR_OPTIONS = {"freezing": True}
CPU_INDUCTOR_OPTIONS = {**INDUCTOR_OPTIONS, "cpp_wrapper": True}

# Per model: {(kind, step function, states layout, weights' versions): the compiled
# callable}.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Models whose step failed to compile: they decode eagerly from then on.
_FAILED: weakref.WeakSet = weakref.WeakSet()

Paths = tuple[tuple[str, ...], ...]


def check_step_mode(step_mode: str) -> None:
    """Raises HParamsError (a ValueError) for a step mode not in `STEP_MODES`."""
    if step_mode not in STEP_MODES:
        raise HParamsError(f"step_mode {step_mode!r} is not one of {', '.join(STEP_MODES)}")


def supports_static(model) -> bool:
    """Whether `model` has the static-shape form of its decoding step."""
    check = getattr(model, "supports_static_decoding", None)
    return callable(check) and bool(check())


def flatten_states(states: dict, prefix: tuple[str, ...] = ()) -> tuple[Paths, list]:
    """(key paths, tensors) of a nested dict of tensors, in insertion order.

    Raises:
        TypeError: a leaf that is not a tensor (static decode states are tensors only).
    """
    paths: list[tuple[str, ...]] = []
    leaves: list[torch.Tensor] = []
    for key, value in states.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            sub_paths, sub_leaves = flatten_states(value, path)
            paths.extend(sub_paths)
            leaves.extend(sub_leaves)
        elif isinstance(value, torch.Tensor):
            paths.append(path)
            leaves.append(value)
        else:
            raise TypeError(f"static decode state {'/'.join(path)} is a {type(value).__name__}")
    return tuple(paths), leaves


def unflatten_states(paths: Paths, leaves: list) -> dict:
    """The nested dict `flatten_states` flattened."""
    states: dict = {}
    for path, leaf in zip(paths, leaves):
        node = states
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = leaf
    return states


class _Compiled:
    """`torch.compile` of `fn` (inductor; shapes static until they change) with the
    inductor settings `options`.

    Calling it runs the compiled code's guards and compiles when they fail, with the
    settings set around the call: inductor reads some of them (cpp_wrapper) outside
    torch.compile's own options. `unchecked` is the call for the later steps of a decode,
    inside `skip_guards()`: no guards, so no compile, and no settings to set (32 us a call).
    """

    def __init__(self, fn: Callable, options: dict) -> None:
        # A copy of the function with its own code object: torch.compile keeps its graphs
        # per code object, up to a limit (8), and every model and layout would otherwise
        # share one.
        own = types.FunctionType(
            fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
        )
        self.unchecked = torch.compile(own, dynamic=None, fullgraph=False)
        self.options = options

    def __call__(self, *args):
        with torch._inductor.config.patch(self.options):
            return self.unchecked(*args)


def skip_guards():
    """The context for a decode's steps after its first: each has the shapes of the first,
    which the compiled code's guards checked, so they need not run again (they walk every
    parameter of the model, ~0.1 ms a step)."""
    return torch.compiler.set_stance("default", skip_guard_eval_unsafe=True)


def _weights_key(model) -> tuple:
    """Identity and version of every parameter and buffer: frozen into the compiled graph,
    so a change to any of them needs a new graph."""
    # Straight from each module's dicts: `parameters()` builds names and a set, and this
    # runs once a decode.
    tensors = [
        t
        for module in model.modules()
        for table in (module._parameters, module._buffers)
        for t in table.values()
        if t is not None
    ]
    # Tensors made under torch.inference_mode (a table a decode extends) have no version
    # counter; a new one has a new address.
    return tuple((t.data_ptr(), -1 if t.is_inference() else t._version) for t in tensors)


def _compiled(model, kind: str, paths: Paths, make: Callable) -> Callable | None:
    """The compiled `make(decode_step, paths)` for `model`'s current step function, states
    layout and weights; None after a failure."""
    if model in _FAILED:
        return None
    step = model.decode_step
    key = (kind, getattr(step, "__func__", step), paths, _weights_key(model))
    entries = _COMPILED.setdefault(model, {})
    if key not in entries:
        stale = [k for k in entries if k[:3] == key[:3]]
        for old in stale:  # the same step on older weights: drop its frozen graph
            del entries[old]
        on_cpu = all(p.device.type == "cpu" for p in model.parameters())
        options = CPU_INDUCTOR_OPTIONS if on_cpu else INDUCTOR_OPTIONS
        entries[key] = _Compiled(make(step, paths), options)
    return entries[key]


def _disable(model, error: Exception) -> None:
    """After a failure the model decodes eagerly from then on, with one warning."""
    _FAILED.add(model)
    _COMPILED.pop(model, None)
    first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    warnings.warn(
        f"t2t: the compiled decoding step failed ({type(error).__name__}: {first_line}); "
        "decoding with the eager static step",
        RuntimeWarning,
        stacklevel=3,
    )


def _flat_step(decode_step: Callable, paths: Paths) -> Callable:
    """decode_step over flat states: (last [N, 1], position, *leaves) -> logits [N, V]."""

    def step(last, position, *leaves):
        logits, _ = decode_step(last, position, unflatten_states(paths, list(leaves)))
        return logits

    return step


class StaticStep:
    """A protocol step function ``(ids [N, i+1], i, states) -> (logits [N, V], states)``
    that runs `model.decode_step` in its static-shape form.

    The static states are fixed-size buffers that the step writes in place, so the states
    returned are the ones passed in.

    Args:
        model: a model with `supports_static_decoding()`; its states come from
            ``init_decode_states(..., static=True)``.
        compiled: run the steps after the first through `torch.compile`.
    """

    def __init__(self, model, compiled: bool) -> None:
        self.model = model
        self.compiled = compiled
        self.checked = False  # whether a compiled step of this decode ran with its guards
        self.step: tuple | None = None  # (states layout, its compiled step) of this decode

    def __call__(self, ids: torch.Tensor, i: int, states: dict) -> tuple[torch.Tensor, dict]:
        """One step: only the last ids [N, 1] are passed on, so every step has one shape."""
        # [N, 1], a fresh tensor: a view of ids has a stride that changes every step (even
        # at N = 1, where `.contiguous()` keeps the view), which the compiled step would
        # take for a new shape (and recompile with slower, stride-generic code).
        last = ids[:, -1:].clone(memory_format=torch.contiguous_format)
        position = torch.tensor(i, dtype=torch.long, device=ids.device)
        if self.compiled and i > 0:
            paths, leaves = flatten_states(states)
            if self.step is None or self.step[0] != paths:  # looked up once a decode
                self.step = (paths, _compiled(self.model, "step", paths, _flat_step))
            step = self.step[1]
            if step is not None:
                try:
                    return self._run(step, last, position, leaves), states
                except Exception as error:  # noqa: BLE001  (any compiler failure: run eagerly)
                    _disable(self.model, error)
        return self.model.decode_step(last, position, states)

    def _run(self, step: _Compiled, last, position, leaves: list) -> torch.Tensor:
        """The compiled step; its guards run at the first compiled step of the decode only:
        later steps have the same shapes (the states are reordered, never resized)."""
        if self.checked:
            with skip_guards():
                return step.unchecked(last, position, *leaves)
        logits = step(last, position, *leaves)
        self.checked = True
        return logits


def _flat_greedy_step(decode_step: Callable, paths: Paths, eos_id: int) -> Callable:
    """A greedy step over flat states: (last [N, 1], position, scores [N], hit_eos [N],
    *leaves) -> (next ids [N, 1], scores, hit_eos): the model's step and `sample_update`."""

    def step(last, position, scores, hit_eos, *leaves):
        logits, _ = decode_step(last, position, unflatten_states(paths, list(leaves)))
        next_id, scores, hit_eos = sample_update(logits, scores, hit_eos, eos_id)
        return next_id.unsqueeze(1), scores, hit_eos

    return step


def greedy_decode(
    model, states: dict, batch_size: int, decode_length: int, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Greedy decoding with the model's static step and the search's bookkeeping in one
    compiled graph: `sample` at temperature 0 from the start id 0, one call a step.

    Args:
        model: a model with `supports_static_decoding()`.
        states: its static decode states, "shared" included (B rows).
        batch_size: B.
        decode_length: the maximum number of generated tokens.
        eos_id: the end-of-sequence id.

    Returns:
        (ids [B, L] with the start id first, scores [B]) as `sample` returns them; None when
        the step cannot be compiled (after one warning), for the caller's eager loop.
    """
    paths, leaves = flatten_states(states)
    kind = f"greedy:{eos_id}"
    make = lambda fn, p: _flat_greedy_step(fn, p, eos_id)  # noqa: E731
    step = _compiled(model, kind, paths, make)
    if step is None:
        return None
    device = leaves[0].device if leaves else torch.device("cpu")
    last = torch.zeros(batch_size, 1, dtype=torch.long, device=device)
    scores = torch.zeros(batch_size, dtype=torch.float32, device=device)
    hit_eos = torch.zeros(batch_size, dtype=torch.bool, device=device)
    generated = [last]

    def run(i: int, call: Callable) -> bool:
        """Step i through `call`; whether every sequence has ended."""
        nonlocal last, scores, hit_eos
        position = torch.tensor(i, dtype=torch.long, device=device)
        last, scores, hit_eos = call(last, position, scores, hit_eos, *leaves)
        generated.append(last)
        return bool(hit_eos.all())

    if decode_length > 0:
        try:
            done = run(0, step)  # with its guards: compiles on the first decode of a shape
        except Exception as error:  # noqa: BLE001  (any compiler failure: run eagerly)
            _disable(model, error)
            return None
        with skip_guards():  # later steps: the same shapes and state tensors
            for i in range(1, decode_length):
                if done:
                    break
                done = run(i, step.unchecked)
    return torch.cat(generated, dim=1), scores
