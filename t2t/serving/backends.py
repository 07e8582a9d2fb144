"""What the server decodes with: our model (`TorchBackend`) or its CTranslate2 export.

A backend turns text into input ids (`encode`), decodes a batch of id lists under one set
of options (`decode`: per input, its beams (ids, score), best first) and ids back into
text (`text`). The server batches requests and calls `decode` from one worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from t2t.decode import decoding
from t2t.decode.quantize import check_choice
from t2t.errors import MissingExtraError, T2TError
from t2t.runs import export_dir

Beams = list[tuple[list[int], float]]


@dataclass(frozen=True)
class DecodeOptions:
    """How to decode: T2T's decode hparams (beam_size 1: greedy)."""

    beam_size: int = 4
    alpha: float = 0.6
    n_best: int = 1
    extra_length: int = 100


class Backend:
    """Base of the backends: the export's encoders, and a `decode` to implement.

    Args:
        loaded: a `t2t.decode.api.LoadedModel` of an export (encoders, problem, export).
    """

    name = "t2t"

    def __init__(self, loaded: Any) -> None:
        self.loaded = loaded
        self.has_inputs = bool(loaded.problem.has_inputs)

    @property
    def input_vocab_size(self) -> int:
        """Ids an input may hold: [0, input_vocab_size)."""
        feature = "inputs" if self.has_inputs else "targets"
        return int(self.loaded.problem.get_hparams().vocab_size[feature])

    def encode(self, text: str) -> list[int]:
        """Input ids of `text` (no EOS). Raises T2TError for text the vocabulary cannot encode."""
        return self.loaded.encode(text)

    def text(self, ids: Sequence[int]) -> str:
        """Target ids -> text (cut at EOS)."""
        return self.loaded.decode_ids(list(ids))

    def decode(self, inputs: list[list[int]], options: DecodeOptions) -> list[Beams]:
        """Per input ids (no EOS), its `options.n_best` beams (ids, score), best first."""
        raise NotImplementedError


class TorchBackend(Backend):
    """Our own decoding (`LoadedModel.decode_batch_fn`: T2T's beam search with a KV cache)."""

    name = "t2t"

    def decode(self, inputs: list[list[int]], options: DecodeOptions) -> list[Beams]:
        """One padded batch through the model (inputs get EOS as in t2t-decoder)."""
        batch = decoding.encode_batch(inputs, lambda ids: ids)  # [B, S]: ids + EOS, 0-padded
        fn = self.loaded.decode_batch_fn(
            options.beam_size, options.alpha, options.n_best, options.extra_length
        )
        with torch.inference_mode():
            return fn(batch)


class CTranslate2Backend(Backend):
    """The export's CTranslate2 model (`<export_dir>/ctranslate2`), with the export's encoders.

    Scores are CTranslate2's (log-prob sum, over length ** alpha when alpha > 0).
    """

    name = "ctranslate2"

    def __init__(
        self, loaded: Any, device: str = "cpu", threads: int = 0, compute_type: str = "float32"
    ) -> None:
        super().__init__(loaded)
        if not self.has_inputs:
            raise T2TError("the ctranslate2 backend serves models with inputs only")
        model_dir = os.path.join(loaded.export.directory, "ctranslate2")
        self.translator = Translator(model_dir, device, threads, compute_type)

    def decode(self, inputs: list[list[int]], options: DecodeOptions) -> list[Beams]:
        """CTranslate2's translate_batch on the ids (+ EOS); outputs end with EOS as ours."""
        longest = max(len(ids) for ids in inputs) + 1
        return self.translator.decode_ids(
            [list(ids) + [decoding.EOS_ID] for ids in inputs],
            beam_size=options.beam_size,
            alpha=options.alpha,
            num_hypotheses=options.n_best,
            max_length=longest + options.extra_length,
        )


def open_backend(
    export_dir: str, backend: str = "t2t", device: str = "cpu", threads: int = 0,
    verify: bool = True, quantize: str | None = None,
) -> Backend:  # fmt: skip
    """Loads an export directory for serving.

    Args:
        export_dir: t2t-exporter's directory.
        backend: "t2t" (our model) or "ctranslate2" (needs the export's ctranslate2/).
        device: "cpu" or "cuda".
        threads: CPU threads for decoding (0: the library's default).
        verify: check the manifest's digests.
        quantize: "int8": int8 linear layers (ours, `t2t.decode.quantize`) or CTranslate2's
            int8 compute type; None or "none": float32.

    Raises:
        T2TError: an unknown backend, a missing or damaged export.
    """
    from t2t.decode.api import load_export

    if backend not in ("t2t", "ctranslate2"):
        raise T2TError(f"--backend={backend}: use t2t or ctranslate2")
    if threads > 0 and backend == "t2t":
        torch.set_num_threads(threads)
    if backend == "ctranslate2":
        loaded = load_export(export_dir, device, verify)
        if quantize is None:
            quantize = loaded.export.decode_hparams.get("quantize")
        compute_type = "int8" if check_choice(quantize) == "int8" else "float32"
        return CTranslate2Backend(loaded, device, threads, compute_type)
    loaded = load_export(export_dir, device, verify, quantize)
    return TorchBackend(loaded)


class Translator:
    """The CTranslate2 model of an export, decoding our ids.

    Args:
        model_dir: the CTranslate2 model directory (`<export_dir>/ctranslate2`).
        device: "cpu" or "cuda".
        threads: intra-op threads (0: CTranslate2's default).
        compute_type: CTranslate2's compute type ("float32", "int8", ...).

    Raises:
        T2TError: no such directory. MissingExtraError: ctranslate2 is not installed.
    """

    def __init__(
        self, model_dir: str, device: str = "cpu", threads: int = 0, compute_type: str = "float32"
    ) -> None:
        if not os.path.isdir(model_dir):
            raise T2TError(f"{model_dir} does not exist: export with --export_format=ctranslate2")
        try:
            import ctranslate2
        except ImportError:
            raise MissingExtraError(
                "the ctranslate2 backend needs ctranslate2: pip install 't2t[export]'"
            ) from None
        self.translator = ctranslate2.Translator(
            model_dir, device=device, compute_type=compute_type, intra_threads=threads
        )

    def decode_ids(
        self,
        inputs: Sequence[Sequence[int]],
        beam_size: int = 1,
        alpha: float = 0.0,
        num_hypotheses: int = 1,
        max_length: int = 256,
    ) -> list[Beams]:
        """Per input ids (with EOS), `num_hypotheses` (ids ending in EOS, score), best first.

        Scores are CTranslate2's: the sum of token log-probs, divided by
        length ** alpha when alpha > 0 (not T2T's ((5 + length) / 6) ** alpha).
        """
        results = self.translator.translate_batch(
            [export_dir.ct2_tokens(list(ids)) for ids in inputs],
            beam_size=beam_size,
            length_penalty=alpha,
            num_hypotheses=num_hypotheses,
            max_decoding_length=max_length,
            min_decoding_length=0,  # CTranslate2 defaults to 1; T2T allows EOS first
            return_scores=True,
            return_end_token=True,
        )
        return [
            [(export_dir.ct2_ids(h), float(s)) for h, s in zip(r.hypotheses, r.scores)]
            for r in results
        ]
