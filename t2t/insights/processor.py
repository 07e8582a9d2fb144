"""A query -> T2T's Insights visualizations, for one configured model.

`/debug` answers `{"result": [processing, graph, beams, attention]}`. The first two are
T2T's: "processing" (the source text, the target's subword pieces, the detokenised
output) and "graph" (the beam-search tree: a vertex per prefix, an edge per piece with
"label", "label_id", "completed" (EOS), "score", "log_probability" and
"total_log_probability"). T2T dumped every step's alive and finished beams through the
TF debugger; here the tree is that of the beams the search returns, and each edge's
log-probabilities come from the teacher-forced forward pass on those beams (which the
cached search computes the same, up to float rounding). "beams" lists the beams with their
scores, "attention" the attention matrices of every layer and head (t2t.visualization).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import torch

from t2t import visualization
from t2t.decode import decoding
from t2t.decode.api import LoadedModel
from t2t.errors import T2TError
from t2t.insights.configuration import ModelEntry

MAX_QUERY_CHARS = 2000  # a query longer than this is refused (400), not decoded
ATTENTION_DECIMALS = 5  # weights are rounded in the JSON: rows sum to 1 within 1e-4


class Processor:
    """Loads one configured model and answers queries with its visualizations.

    Args:
        entry: the model's configuration entry.
        t2t_usr_dir: user directory to import (the entry's "t2t_usr_dir" wins).
        decode_hparams: decode settings (the entry's "decode_hparams" are applied after).
        device: "cpu", "cuda", ... (default: CUDA when available).

    Raises:
        T2TError: the model cannot be loaded (missing directory, checkpoint, name...).
    """

    def __init__(
        self,
        entry: ModelEntry,
        t2t_usr_dir: str = "",
        decode_hparams: str = "",
        device: str | None = None,
    ) -> None:
        spec = entry.transformer
        self.entry = entry
        self.decode_hp = decoding.decode_hparams(decode_hparams)
        if spec["decode_hparams"]:
            self.decode_hp.parse(spec["decode_hparams"])
        try:
            self.loaded: LoadedModel = visualization.load_model(
                spec["model_dir"],
                spec["data_dir"] or None,
                spec["problem"] or None,
                spec["hparams_set"] or None,
                spec["hparams"],
                spec["model"] or None,
                spec["t2t_usr_dir"] or t2t_usr_dir or None,
                device=device,
            )
        except T2TError as error:
            raise T2TError(f"model {entry.label!r}: {error}") from None
        self._lock = threading.Lock()  # one query at a time through the model

    def process(self, query: str, beam_size: int | None = None, alpha: float | None = None):
        """The visualizations of `query` (see the module docstring).

        Args:
            query: the source text.
            beam_size: beams to search (default: the decode hparams' beam_size).
            alpha: length penalty (default: the decode hparams' alpha).

        Returns:
            {"result": [processing, graph, beams, attention]}.

        Raises:
            T2TError: the query is empty, too long, or cannot be encoded.
        """
        if not query.strip():
            raise T2TError("the query is empty: type a sentence to translate")
        if len(query) > MAX_QUERY_CHARS:
            raise T2TError(f"the query has {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
        beam_size = beam_size or self.decode_hp.beam_size
        alpha = self.decode_hp.alpha if alpha is None else alpha
        with self._lock:
            view = visualization.attention_view(
                self.loaded, query, beam_size, alpha, self.decode_hp.extra_length
            )
            log_probs = token_log_probs(self.loaded, view.input_ids, view.beam_ids)
        beams = [
            {"text": text, "score": score, "ids": ids, "pieces": self._pieces(ids)}
            for (text, score), ids in zip(view.beams, view.beam_ids)
        ]
        graph = search_graph(beams, log_probs)
        return {
            "result": [
                self._processing(view),
                {
                    "visualization_name": "graph",
                    "title": "Graph",
                    "name": "graph",
                    "search_graph": graph,
                },
                {"visualization_name": "beams", "title": "Beams", "name": "beams", "beams": beams},
                attention_json(view),
            ]
        }

    def _pieces(self, ids: list[int]) -> list[str]:
        return visualization.pieces(self.loaded.encoders["targets"], ids)

    @staticmethod
    def _processing(view: visualization.AttentionView) -> dict[str, Any]:
        """T2T's "processing" visualization."""
        length = len(decoding.cut_at_eos(view.output_ids))
        return {
            "visualization_name": "processing",
            "title": "Processing",
            "name": "processing",
            "query_processing": {
                "source_processing": [{"step_name": "Initial", "segment": [{"text": view.source}]}],
                "target_processing": [
                    {  # T2T's pieces stop before EOS
                        "step_name": "Initial",
                        "segment": [{"text": p} for p in view.output_pieces[:length]],
                    },
                    {"step_name": "Final", "segment": [{"text": view.translation}]},
                ],
            },
        }


@torch.no_grad()
def token_log_probs(
    loaded: LoadedModel, input_ids: list[int], sequences: list[list[int]]
) -> list[list[float]]:
    """Per sequence, the log-probability of each token given the input and the tokens before.

    The sequences run as one batch through the teacher-forced forward pass (padding after a
    sequence does not change its earlier positions: the decoder is causal).

    Returns:
        One list per sequence, of its length.
    """
    length = max(1, max(len(s) for s in sequences))
    targets = torch.zeros(len(sequences), length, dtype=torch.long)  # [K, T]
    for row, ids in enumerate(sequences):
        targets[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    features = {"targets": targets.to(loaded.device)}
    if input_ids:
        inputs = torch.tensor([input_ids], device=loaded.device)  # [1, S]
        features["inputs"] = inputs.expand(len(sequences), -1)  # [K, S]
    logits = loaded.model(features)[0].float()  # [K, T, V] (or [K, T, 1, 1, V])
    logits = logits.reshape(len(sequences), length, -1)  # [K, T, V]
    log_probs = torch.log_softmax(logits, dim=-1)
    picked = log_probs.gather(-1, targets.to(logits.device)[..., None])[..., 0]  # [K, T]
    return [picked[row, : len(ids)].tolist() for row, ids in enumerate(sequences)]


def search_graph(beams: list[dict[str, Any]], log_probs: list[list[float]]) -> dict[str, Any]:
    """T2T's search graph of the returned beams: {"node": [...], "edge": [...]}.

    Vertex 0 is the empty prefix; each beam adds the vertices of its prefixes not seen yet.
    An edge's data: "label" (the piece), "label_id", "completed" (the piece is EOS),
    "log_probability" (of the piece), "total_log_probability" (of the prefix), and
    "score": the beam's search score on its last edge, the total log-probability elsewhere.
    """
    nodes: list[dict[str, list[int]]] = [{"in_edge_index": [], "out_edge_index": []}]
    edges: list[dict[str, Any]] = []
    vertex_of: dict[tuple[int, ...], int] = {(): 0}
    for beam, beam_log_probs in zip(beams, log_probs):
        total = 0.0
        ids = beam["ids"]
        for k, token in enumerate(ids):
            total += beam_log_probs[k]
            prefix = tuple(ids[: k + 1])
            if prefix in vertex_of:
                continue
            vertex_of[prefix] = len(nodes)
            nodes.append({"in_edge_index": [len(edges)], "out_edge_index": []})
            source = vertex_of[prefix[:-1]]
            nodes[source]["out_edge_index"].append(len(edges))
            last = k == len(ids) - 1
            edges.append(
                {
                    "source_index": source,
                    "target_index": vertex_of[prefix],
                    "data": {
                        "label": beam["pieces"][k],
                        "label_id": token,
                        "completed": token == decoding.EOS_ID,
                        "log_probability": beam_log_probs[k],
                        "total_log_probability": total,
                        "score": beam["score"] if last else total,
                    },
                }
            )
    return {"node": nodes, "edge": edges}


def attention_json(view: visualization.AttentionView) -> dict[str, Any]:
    """The "attention" visualization: pieces and, per kind, [layer][head][query][key]."""
    attention: dict[str, Any] = {
        "input_pieces": view.input_pieces,
        "output_pieces": view.output_pieces,
    }
    for kind in visualization.KINDS:
        layers = getattr(view, kind)
        attention[kind] = [
            np.round(m.astype(np.float64), ATTENTION_DECIMALS).tolist() for m in layers
        ]
    return {
        "visualization_name": "attention",
        "title": "Attention",
        "name": "attention",
        "attention": attention,
    }
