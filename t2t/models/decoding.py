"""Glue between models and the one search implementation in `t2t.decode.beam_search`.

A model supplies `symbols_to_logits_fn(ids [N, i+1], i, states) -> (logits [N, V], states)`
and its initial states ([B, ...] tensors, expanded to the beams by the search); this module
picks greedy, sampling or beam search as T2T's `infer` does and formats the result.
"""

import importlib
from collections.abc import Callable

import torch

from t2t.hparams import HParams
from t2t.layers import modalities as mod

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

    `first_step_per_example` is beam search's (for step functions that take any number of
    rows: the first step then runs once per example instead of once per beam).

    Returns:
        {"outputs": [B, L] (or [B, top_beams, L] when top_beams > 1), "scores": [B] (or
        [B, top_beams])}; the start id is stripped, as T2T does.
    """
    # Imported here: training never needs the search. (t2t.decode re-exports the functions
    # under the module's name, so import the module by its full name.)
    search = importlib.import_module("t2t.decode.beam_search")

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
    if getattr(hparams, "sampling_method", "argmax") == "random":
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
    decode_length: int,
    beam_size: int,
    top_beams: int,
    alpha: float,
) -> dict[str, torch.Tensor]:
    """Decoding by re-running bottom/body/top on the growing targets (T2T's slow path).

    Args:
        model: a T2TModel.
        features: {"inputs": [B, S], ...}; for models without inputs, "inputs" (or
            "targets") is a prefix that is forced and then stripped.
        decode_length: extra length beyond the input (or prefix) length.
        beam_size, top_beams, alpha: search settings (class-label targets force beam 1).
    """
    class_label = model.target_modality == mod.CLASS_LABEL
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
        step_features = {k: v for k, v in features.items() if k not in step_states}
        step_features.update(step_states)
        step_features.pop("partial_targets", None)
        # targets so far plus one slot whose prediction we read (it is shifted out)
        step_features["targets"] = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], dim=1)
        if model.target_modality == mod.CLASS_LABEL:
            step_features["targets"] = step_features["targets"][:, :1]
        output = model.body(model.bottom(step_features))
        output = output[0] if isinstance(output, tuple) else output
        logits = model.top(output, step_features)[:, -1]  # [N, V]
        return force_prefix(logits, prefix, i), step_states

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
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
