"""Attention of a trained model on one sentence, for notebooks and the Insights server.

    import t2t, t2t.visualization as vis
    view = vis.attention_view(t2t.load("~/t2t_train/ende"), "Hello world.")
    view.translation          # "Hallo Welt."
    view.input_pieces         # ["Hello_", "world_", "._", "<EOS>"]          (S pieces)
    view.output_pieces        # ["Hall", "o_", "Welt_", "._", "<EOS>"]       (T pieces)
    view.encoder_self[0]      # layer 0: [heads, S, S]
    view.decoder_self[0]      # layer 0: [heads, T, T]
    view.encoder_decoder[0]   # layer 0: [heads, T, S]

As T2T's visualization did, the sentence is decoded first (greedy by default; beam search
with `beam_size`), then the model runs its teacher-forced forward pass with the decoded
output as targets, and the weights of every attention layer are recorded
(`t2t.layers.attention.recording_attention`). Row q of a matrix is the distribution of
query position q over the keys: it sums to 1. The input ends with EOS, as the model saw
it; the output ends with EOS when the search produced one.

`load_model` builds the model from the names T2T's visualization took (model_dir,
data_dir, problem, hparams_set, hparams), for a directory with or without run.json;
`AttentionVisualizer` keeps T2T's notebook class and its `get_vis_data_from_string`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from t2t.decode import decoding
from t2t.decode.api import LoadedModel
from t2t.errors import T2TError
from t2t.layers.attention import AttentionRecorder, recording_attention

KINDS = ("encoder_self", "decoder_self", "encoder_decoder")


@dataclasses.dataclass
class AttentionView:
    """A decoded sentence with the attention weights of its teacher-forced forward pass.

    Attributes:
        source: the input text.
        translation: the best decode, as text (what `LoadedModel.decode` returns for it).
        input_ids: the S input ids (EOS last; empty for a problem without inputs).
        output_ids: the T output ids fed as targets (EOS last when the search ended; for a
            problem without inputs, the prefix and its continuation).
        input_pieces: the S input subword pieces (reserved ids as "<EOS>", "<pad>").
        output_pieces: the T output subword pieces.
        beams: (text, score) of every beam kept, best first (one for greedy decoding).
        beam_ids: the ids of each beam, up to and including its EOS (for a problem without
            inputs: the prefix and its continuation).
        encoder_self: per encoder layer, float32 [heads, S, S].
        decoder_self: per decoder layer, float32 [heads, T, T] (causal: 0 above the diagonal).
        encoder_decoder: per decoder layer, float32 [heads, T, S].
    """

    source: str
    translation: str
    input_ids: list[int]
    output_ids: list[int]
    input_pieces: list[str]
    output_pieces: list[str]
    beams: list[tuple[str, float]]
    beam_ids: list[list[int]]
    encoder_self: list[np.ndarray]
    decoder_self: list[np.ndarray]
    encoder_decoder: list[np.ndarray]

    def to_json(self) -> dict[str, Any]:
        """The view as JSON-ready lists (matrices as nested lists of floats)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["beams"] = [{"text": text, "score": score} for text, score in self.beams]
        for kind in KINDS:
            out[kind] = [layer.tolist() for layer in out[kind]]
        return out


def load_model(
    model_dir: str,
    data_dir: str | None = None,
    problem: str | None = None,
    hparams_set: str | None = None,
    hparams: str = "",
    model: str | None = "transformer",
    t2t_usr_dir: str | None = None,
    checkpoint: str | None = None,
    device: str | None = None,
) -> LoadedModel:
    """Loads a trained model from T2T's names (those given win over the run's run.json).

    Args:
        model_dir: the training run's output dir (checkpoints; run.json when t2t-trainer
            wrote it).
        data_dir: where the problem's vocabulary is.
        problem, hparams_set, model: registered names (needed when model_dir has no run.json).
        hparams: hparams overrides, appended to the run's.
        t2t_usr_dir: a user directory to import first (custom problems, models, hparams sets).
        checkpoint: a checkpoint prefix (default: the latest in model_dir).
        device: "cpu", "cuda", ... (default: CUDA when available).

    Raises:
        T2TError: a missing name, directory, checkpoint or vocabulary, an unknown name.
    """
    import os

    from t2t.compat.usr_dir import import_usr_dir
    from t2t.decode.api import load_run
    from t2t.runs import run_files

    import_usr_dir(t2t_usr_dir)
    model_dir = os.path.expanduser(model_dir)
    if not os.path.isdir(model_dir):
        raise T2TError(f"model_dir {model_dir} is not a directory")
    given = {"problem": problem, "model": model, "hparams_set": hparams_set, "data_dir": data_dir}
    run = run_files.resolve_run(model_dir, given, hparams)
    return load_run(model_dir, run, checkpoint, device)


def attention_view(
    loaded: LoadedModel,
    sentence: str,
    beam_size: int = 1,
    alpha: float = 0.6,
    extra_length: int = 100,
) -> AttentionView:
    """Decodes `sentence` and records the attention of every layer and head on the result.

    Args:
        loaded: a model from `t2t.load` or `load_model`.
        sentence: the input text (for a problem without inputs: a prefix to continue).
        beam_size: 1 for greedy decoding; more keeps that many beams (all in `beams`).
        alpha: the length penalty exponent of beam search.
        extra_length: decode up to input length + extra_length tokens.

    Returns:
        The `AttentionView` (shapes in its docstring).

    Raises:
        T2TError: the sentence cannot be encoded, or the model has no attention layers.
    """
    input_ids = [*loaded.encode(sentence), decoding.EOS_ID]
    search = loaded.decode_batch_fn(beam_size, alpha, beam_size, extra_length)
    beams = search(torch.tensor([input_ids]))[0]  # [(ids, score), ...], best first
    beam_ids = [until_eos(ids) for ids, _ in beams]
    translation = loaded.decode_ids(beam_ids[0])
    if not loaded.problem.has_inputs:  # the targets are the prefix and its continuation
        prefix, input_ids = input_ids[:-1], []
        if beam_size > 1:  # several beams come back with their prefix (T2T's rule), one without
            translation = loaded.decode_ids(beam_ids[0][len(prefix) :])
        else:
            beam_ids = [prefix + ids for ids in beam_ids]
    output_ids = beam_ids[0] or [decoding.EOS_ID]
    weights = attention_weights(loaded, input_ids, output_ids)
    inputs_encoder = loaded.encoders.get("inputs")
    return AttentionView(
        source=sentence,
        translation=translation,
        input_ids=input_ids,
        output_ids=output_ids,
        input_pieces=pieces(inputs_encoder, input_ids) if input_ids else [],
        output_pieces=pieces(loaded.encoders["targets"], output_ids),
        beams=[(loaded.decode_ids(ids), float(score)) for ids, score in beams],
        beam_ids=beam_ids,
        **weights,
    )


@torch.no_grad()
def attention_weights(
    loaded: LoadedModel, input_ids: list[int], output_ids: list[int]
) -> dict[str, list[np.ndarray]]:
    """The attention weights of the teacher-forced forward pass on one example.

    Args:
        loaded: the model.
        input_ids: S input ids (EOS included); empty for a problem without inputs.
        output_ids: T target ids.

    Returns:
        {"encoder_self": per layer [heads, S, S], "decoder_self": per layer [heads, T, T],
        "encoder_decoder": per layer [heads, T, S]}, float32 numpy arrays.

    Raises:
        T2TError: the model computed no attention (it has no attention layers).
    """
    model = loaded.model
    features = {"targets": torch.tensor([output_ids], device=loaded.device)}  # [1, T]
    if input_ids:
        features["inputs"] = torch.tensor([input_ids], device=loaded.device)  # [1, S]
    was_training = model.training
    model.eval()
    try:
        with recording_attention() as recorder:
            model(features)
    finally:
        model.train(was_training)
    if not recorder.records:
        name = loaded.run.get("model", type(model).__name__)
        raise T2TError(f"model {name} has no attention layers to show")
    return _by_kind(model, recorder)


def _by_kind(model: torch.nn.Module, recorder: AttentionRecorder) -> dict[str, list[np.ndarray]]:
    """Sorts the recorded weights into the three kinds, by the attention module's path.

    Paths name where a layer sits (e.g. "encoder.stack.layers.0.self_attention.sublayer",
    "decoder.layers.1.encdec_attention.sublayer"); within a kind, layers run in order.
    """
    names = {id(module): name for name, module in model.named_modules()}
    out: dict[str, list[np.ndarray]] = {kind: [] for kind in KINDS}
    for module, weights in recorder.records:
        parts = names.get(id(module), "").split(".")
        if any("encdec" in part for part in parts):
            kind = "encoder_decoder"
        elif "encoder" in parts:
            kind = "encoder_self"
        else:
            kind = "decoder_self"
        out[kind].append(weights[0].float().cpu().numpy())  # [B=1, h, Lq, Lk] -> [h, Lq, Lk]
    return out


def until_eos(ids: list[int]) -> list[int]:
    """`ids` up to and including the first EOS (all of them when there is none)."""
    ids = [int(i) for i in ids]
    return ids[: ids.index(decoding.EOS_ID) + 1] if decoding.EOS_ID in ids else ids


def pieces(encoder: Any, ids: list[int]) -> list[str]:
    """The text of each id's piece ("<EOS>" for EOS); bytes pieces decoded as UTF-8."""
    if hasattr(encoder, "decode_list"):
        out = encoder.decode_list(ids)
    else:  # an encoder without pieces: each id decoded alone
        out = [encoder.decode([i]) for i in ids]
    return [p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in out]


class AttentionVisualizer:
    """T2T's notebook helper: a model to decode sentences and show their attention.

    Args:
        hparams_set, model_name, data_dir, problem_name: as in T2T.
        beam_size: 1 (default, as T2T) for greedy decoding.
        model_dir: the trained run (T2T's notebook restored the checkpoint separately).
        hparams: hparams overrides.
        t2t_usr_dir: a user directory with the problem, model or hparams set.
    """

    def __init__(
        self,
        hparams_set: str,
        model_name: str,
        data_dir: str,
        problem_name: str,
        beam_size: int = 1,
        model_dir: str = "",
        hparams: str = "",
        t2t_usr_dir: str | None = None,
    ) -> None:
        if not model_dir:
            raise T2TError("AttentionVisualizer needs model_dir, the trained run to load")
        self.beam_size = beam_size
        self.loaded = load_model(
            model_dir, data_dir, problem_name, hparams_set, hparams, model_name, t2t_usr_dir
        )

    def get_vis_data_from_string(self, input_string: str) -> tuple:
        """T2T's tuple: (output string, input pieces, output pieces, (enc, dec, encdec)).

        Each attention list holds one array per layer of shape [1, heads, q_len, k_len], as
        T2T's did (batch of one).
        """
        view = attention_view(self.loaded, input_string, self.beam_size)
        atts = tuple([m[None] for m in getattr(view, kind)] for kind in KINDS)
        return view.translation, view.input_pieces, view.output_pieces, atts
