"""The decoding protocol, and the one place that chooses and runs a search for a model.

A model family gets greedy decoding, sampling and beam search (T2T's semantics: length
penalty `alpha`, `top_beams`, forced `partial_targets`, EOS) by implementing two methods:

    init_decode_states(features, max_length) -> states
        The initial decode state for a batch: `features` as `infer` takes them
        ({"inputs": [B, S], ...}, or a prefix for a model without inputs); `max_length`
        the steps to reserve cache room for. Returns a nested dict of tensors (or objects
        with `index_select`, like `SelfAttentionCache`) with first dim B: the search
        expands them to the beams and reorders them with the surviving beams. States that
        are the same for every beam of an example (the encoder output) go under the key
        `"shared"`: the search neither expands nor reorders them, and hands them back
        unchanged at every step.
    decode_step(ids, i, states) -> (logits, states)
        One cached step: ids [N, i+1] (the start id 0 first, N = B or B·beams, rows in
        batch-major order), i the step; returns logits [N, V] for position i (equal to
        position i of the full forward pass) and the new states. It must accept any number
        of rows N (beam search runs its first step once per example).

Optional, for speed only: `decode_step_modules()` lists the modules that run at every
step; on CPU their linear maps use MKL-packed weights for the duration of the loop.
`supports_static_decoding()` says that `init_decode_states(features, max_length,
static=True)` gives fixed-size states and that `decode_step` takes the step as a 0-dim
tensor with them (`t2t.decode.fast_step`: the same step with the same shapes every time,
which `torch.compile` turns into one graph).

Models without the pair decode through the slow path (`slow_infer`: bottom/body/top
re-run on the growing targets). A model whose prediction is not a search (an encoder-only
classifier) implements `predict(features) -> {"outputs", "scores"}` instead. Models never
import this package: `infer(model, features, ...)` is the entry point.
"""

from collections.abc import Callable

import torch

from t2t.decode import beam_search as search
from t2t.decode import fast_step
from t2t.hparams import HParams
from t2t.layers.packed_linear import packed_linears
from t2t.modalities.names import ModalityType

EOS_ID = 1
StepFn = Callable[[torch.Tensor, int, dict], tuple[torch.Tensor, dict]]


def _first_two(result) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(ids, scores) from a search result tuple (ids, scores[, states])."""
    if isinstance(result, tuple):
        return result[0], result[1] if len(result) > 1 else None
    return result, None


def run_search(
    symbols_to_logits_fn: StepFn,
    batch_size: int,
    device: torch.device,
    states: dict,
    decode_length: int,
    vocab_size: int,
    hparams: HParams,
    beam_size: int = 1,
    top_beams: int = 1,
    alpha: float = 0.0,
    eos_id: int = EOS_ID,
    first_step_per_example: bool = False,
) -> dict[str, torch.Tensor]:
    """Runs greedy / sampling (beam_size 1) or beam search from the start id 0.

    Args:
        symbols_to_logits_fn: the step, ``(ids [N, i+1], i, states) -> (logits [N, V],
            states)``, N = B (greedy, sampling) or B * beam_size (beam search).
        batch_size: B.
        device: where the ids are created.
        states: the step's initial states, nested dicts of tensors with first dim B.
        decode_length: the maximum number of generated tokens.
        vocab_size: V.
        hparams: reads `sampling_method` ("random" samples, else argmax), `sampling_temp`
            and `sampling_keep_top_k` when beam_size is 1.
        beam_size: > 1 for beam search.
        top_beams: beams returned per example (beam search only); 1 also lets the search
            stop early, as T2T does.
        alpha: length penalty exponent of beam search.
        eos_id: the end-of-sequence id.
        first_step_per_example: beam search's option for step functions that take any
            number of rows: the first step then runs once per example instead of once per
            beam.

    Returns:
        {"outputs": [B, L] (or [B, top_beams, L] when top_beams > 1), "scores": [B] (or
        [B, top_beams])}; the start id is stripped, as T2T does.
    """
    initial_ids = torch.zeros(batch_size, dtype=torch.long, device=device)
    if beam_size > 1:
        ids, scores = _first_two(
            search.beam_search(
                symbols_to_logits_fn,
                initial_ids,
                beam_size,
                decode_length,
                vocab_size,
                alpha,
                states=states,
                eos_id=eos_id,
                stop_early=(top_beams == 1),
                first_step_per_example=first_step_per_example,
            )
        )
        if top_beams == 1:
            return {"outputs": ids[:, 0, 1:], "scores": scores[:, 0]}
        return {"outputs": ids[:, :top_beams, 1:], "scores": scores[:, :top_beams]}
    if _samples(hparams):
        result = search.sample(
            symbols_to_logits_fn,
            initial_ids,
            decode_length,
            states=states,
            eos_id=eos_id,
            temperature=hparams.sampling_temp,
            top_k=hparams.sampling_keep_top_k,
        )
    else:
        result = search.greedy_search(
            symbols_to_logits_fn, initial_ids, decode_length, states=states, eos_id=eos_id
        )
    ids, scores = _first_two(result)
    return {"outputs": ids[:, 1:], "scores": scores}


def _samples(hparams: HParams) -> bool:
    """Whether searches of one beam sample (`sampling_method` "random") or take the argmax."""
    return getattr(hparams, "sampling_method", "argmax") == "random"


def force_prefix(logits: torch.Tensor, prefix: torch.Tensor | None, i: int) -> torch.Tensor:
    """While i < prefix length, logits become 0 at the prefix id and -1e9 elsewhere.

    T2T forces `partial_targets` this way. logits [N, V]; prefix [B, P] with N = B·beams in
    batch-major order (T2T tiles the prefix beam-major, which mismatches its own beam
    layout for batch > 1; we repeat each row instead).
    """
    if prefix is None or i >= prefix.shape[1]:
        return logits
    column = prefix[:, i].repeat_interleave(logits.shape[0] // prefix.shape[0])  # [N]
    forced = torch.full_like(logits, -1e9)
    forced.scatter_(1, column[:, None], 0.0)
    return forced


def slow_infer(
    model,
    features: dict[str, torch.Tensor],
    decode_length: int = 50,
    beam_size: int = 1,
    top_beams: int = 1,
    alpha: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Decoding by re-running bottom/body/top on the growing targets (T2T's slow path).

    A model with `slow_decoding_states(features)` computes what does not change between
    steps (an encoder's output) once; those states travel with the beams like "inputs".

    Args:
        model: a T2TModel.
        features: {"inputs": [B, S], ...}; for models without inputs, "inputs" (or
            "targets") is a prefix that is forced and then stripped.
        decode_length: extra length beyond the input (or prefix) length.
        beam_size, top_beams, alpha: search settings (class-label targets force beam 1).
    """
    class_label = model.target_modality == ModalityType.CLASS_LABEL
    states = {}
    if model.has_input:
        inputs = features["inputs"]
        states["inputs"] = inputs
        prefix = features.get("partial_targets")
        decode_length += inputs.shape[1]
    else:
        prefix = features.get("inputs", features.get("targets"))
    if prefix is not None:
        decode_length += prefix.shape[1]
    if class_label:  # one prediction, greedy (T2T forces beam 1 and length 1)
        beam_size, top_beams, decode_length = 1, 1, 1
    for name in ("target_space_id", "input_space_id"):
        if name in features and features[name].dim() == 1:
            states[name] = features[name]
    batch = (prefix if prefix is not None else features["inputs"]).shape[0]

    def symbols_to_logits_fn(ids, i, step_states):
        """One uncached step: the whole model on ids [N, i+1] -> (logits [N, V], states)."""
        step_features = {k: v for k, v in features.items() if k not in step_states}
        step_features.update(step_states)
        step_features.pop("partial_targets", None)
        # targets so far plus one slot whose prediction we read (it is shifted out)
        step_features["targets"] = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], dim=1)
        if model.target_modality == ModalityType.CLASS_LABEL:
            step_features["targets"] = step_features["targets"][:, :1]
        output = model.body(model.bottom(step_features))
        output = output[0] if isinstance(output, tuple) else output
        logits = model.top(output, step_features)[:, -1]  # [N, V]
        return force_prefix(logits, prefix, i), step_states

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            encoded = getattr(model, "slow_decoding_states", None)  # the encoder, run once
            if callable(encoded):
                states.update(encoded(features))
            result = run_search(
                symbols_to_logits_fn,
                batch,
                (prefix if prefix is not None else features["inputs"]).device,
                states,
                decode_length,
                model.vocab_sizes["targets"],
                model.hparams,
                beam_size,
                top_beams,
                alpha,
            )
    finally:
        model.train(was_training)
    if prefix is not None and (beam_size <= 1 or top_beams <= 1):
        result["outputs"] = result["outputs"][..., prefix.shape[1] :]
    return result


def implements_protocol(model) -> bool:
    """Whether `model` implements the decoding protocol (init_decode_states + decode_step)."""
    return callable(getattr(model, "init_decode_states", None)) and callable(
        getattr(model, "decode_step", None)
    )


def _lm_prefix(features: dict[str, torch.Tensor]) -> torch.Tensor:
    """The prefix a model without inputs continues: "inputs", else "targets" (T2T's choice)."""
    prefix = features.get("inputs", features.get("targets"))
    if prefix is None:
        raise ValueError("decoding a model without inputs needs an 'inputs' or 'targets' prefix")
    return prefix


def fast_infer(
    model,
    features: dict[str, torch.Tensor],
    decode_length: int = 50,
    beam_size: int = 1,
    top_beams: int = 1,
    alpha: float = 0.0,
    step_mode: str = "module",
) -> dict[str, torch.Tensor]:
    """Cached decoding through the protocol's pair (T2T's `_fast_decode`).

    Args and returns as `infer`.
    """
    fast_step.check_step_mode(step_mode)
    static = step_mode != "module" and fast_step.supports_static(model)
    has_input = getattr(model, "has_input", "inputs" in features)
    prefix = features.get("partial_targets") if has_input else _lm_prefix(features)
    source_length = features["inputs"].shape[1] if has_input else 0
    total_length = source_length + decode_length
    if prefix is not None:
        total_length += prefix.shape[1]
    if static:
        states = model.init_decode_states(features, max_length=total_length, static=True)
        decode_step = fast_step.StaticStep(model, compiled=step_mode == "compiled")
    else:
        states = model.init_decode_states(features, max_length=total_length)
        decode_step = model.decode_step
    # Beam-invariant states (the encoder's keys/values): neither tiled nor reordered.
    shared = states.pop("shared", None)

    def symbols_to_logits_fn(ids, i, step_states):
        """One cached step via `model.decode_step`: ids [N, i+1] -> (logits [N, V], new states)."""
        if shared is not None:
            step_states = {**step_states, "shared": shared}
        logits, step_states = decode_step(ids, i, step_states)
        step_states.pop("shared", None)
        return force_prefix(logits, prefix, i), step_states

    batch = features["inputs"].shape[0] if has_input else prefix.shape[0]
    modules = model.decode_step_modules() if hasattr(model, "decode_step_modules") else []
    greedy = beam_size <= 1 and not _samples(model.hparams)
    if step_mode == "compiled":
        modules = []  # the compiler lays out the weights itself
    # Every step multiplies the same weights by batch x beams rows: pack them once.
    with packed_linears(modules, batch * max(beam_size, 1)):
        if static and step_mode == "compiled" and greedy and prefix is None:
            # The step and the greedy bookkeeping in one compiled graph.
            with_shared = {**states, "shared": shared} if shared is not None else states
            found = fast_step.greedy_decode(model, with_shared, batch, total_length, EOS_ID)
            if found is not None:
                return {"outputs": found[0][:, 1:], "scores": found[1]}
        result = run_search(
            symbols_to_logits_fn,
            batch,
            next(model.parameters()).device,
            states,
            total_length,
            model.vocab_sizes["targets"],
            model.hparams,
            beam_size,
            top_beams,
            alpha,
            first_step_per_example=True,  # the protocol's decode_step takes any number of rows
        )
    if prefix is not None and (beam_size <= 1 or top_beams <= 1):
        result["outputs"] = result["outputs"][..., prefix.shape[1] :]
    return result


def infer(
    model,
    features: dict[str, torch.Tensor],
    decode_length: int = 50,
    beam_size: int = 1,
    top_beams: int = 1,
    alpha: float = 0.0,
    step_mode: str = "module",
) -> dict[str, torch.Tensor]:
    """Decodes targets with `model`: the fast path when it implements the protocol.

    Args:
        model: a T2TModel.
        features: {"inputs": [B, S]} (+ "target_space_id", "partial_targets"); for a model
            without inputs, "inputs" (or "targets") is a prefix to continue.
        decode_length: extra tokens beyond the input length (T2T's decode_length, i.e. the
            decode hparam extra_length); beyond the prefix length for language models.
        beam_size: 1 for greedy (or sampling, per hparams.sampling_method).
        top_beams: beams returned (<= beam_size).
        alpha: length-penalty exponent.
        step_mode: "module" (the protocol's step), "static" or "compiled" (the model's
            static-shape step, eager or through torch.compile; see `t2t.decode.fast_step`;
            models without it use their module step).

    Returns:
        {"outputs": [B, L] or [B, top_beams, L], "scores": [B] or [B, top_beams]}, the
        start id stripped (and a language model's prefix, unless several beams are kept).
    """
    was_training = model.training
    model.eval()
    try:
        if callable(getattr(model, "predict", None)):
            with torch.no_grad():
                return model.predict(features)
        if not implements_protocol(model):
            return slow_infer(model, features, decode_length, beam_size, top_beams, alpha)
        # inference_mode: no autograd bookkeeping at all (less per-op overhead than no_grad).
        with torch.inference_mode():
            return fast_infer(
                model, features, decode_length, beam_size, top_beams, alpha, step_mode
            )
    finally:
        model.train(was_training)
