"""Our Transformer as two ONNX graphs, the encoder and one cached decoder step.

    onnx/encoder.onnx   inputs [B, S] int64 -> memory_bias [B, 1, 1, S] and, per decoder
                        layer i, the encoder-decoder keys/values encdec_k_i, encdec_v_i
                        [B, heads, S, depth]
    onnx/decoder_step.onnx
                        ids [N, 1] (the last token; 0 at step 0), step [1] int64,
                        memory_bias, encdec_k_i / encdec_v_i (N rows), and per layer the
                        self-attention cache past_k_i / past_v_i [N, heads, step, depth]
                        -> logits [N, V] and present_k_i / present_v_i (one position more)

The graphs are traced from the model's own modules with `torch.onnx.export` (TorchScript
exporter). `OnnxTranslator` runs them with ONNX Runtime under our search
(`t2t.decode.protocol.run_search`: T2T's greedy and beam search), so its decodes equal
`t2t.load(...).decode`, the search being the same code and the graphs the same maths.
Needs the `export` extra (onnx, onnxruntime).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from t2t.decode import protocol
from t2t.errors import MissingExtraError, T2TError
from t2t.hparams import HParams
from t2t.layers.timing_signal import timing_signal_at

ENCODER_FILE = "encoder.onnx"
STEP_FILE = "decoder_step.onnx"
OPSET = 17


class EncoderGraph(nn.Module):
    """The encoder half of `Transformer.init_decode_states`, as a graph."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """inputs [B, S] -> (memory_bias [B, 1, 1, S], k_0, v_0, k_1, v_1, ...)."""
        embedded = self.model.bottoms["inputs"](inputs)  # [B, S, H]
        memory, memory_bias = self.model.encoder(embedded)
        outputs = [memory_bias]
        for layer in self.model.decoder.layers:
            kv = layer.encdec_attention.sublayer.memory_kv(memory)  # [B, h, S, d] each
            outputs += [kv["k"], kv["v"]]
        return tuple(outputs)


class StepGraph(nn.Module):
    """`Transformer.decode_step` with its cache as plain tensors and the step as a tensor."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.num_layers = len(model.decoder.layers)

    def forward(
        self, ids: torch.Tensor, step: torch.Tensor, memory_bias: torch.Tensor, *caches
    ) -> tuple[torch.Tensor, ...]:
        """ids [N, 1], step [1], memory_bias [N, 1, 1, S], then encdec k/v per layer and
        past k/v per layer -> (logits [N, V], present k/v per layer)."""
        layers = self.num_layers
        encdec, past = caches[: 2 * layers], caches[2 * layers :]
        x = self.model.target_bottom(ids)  # [N, 1, H]
        x = x * (step > 0).to(x.dtype)  # the GO symbol is a zero vector at step 0
        x = x + timing_signal_at(step, x.shape[-1]).to(x.dtype)  # [1, H] broadcast
        cache = {
            f"layer_{i}": {
                "self": {"k": past[2 * i], "v": past[2 * i + 1]},
                "encdec": {"k": encdec[2 * i], "v": encdec[2 * i + 1]},
            }
            for i in range(layers)
        }
        out = self.model.decoder(x, None, None, memory_bias, cache=cache)
        logits = self.model.top(out, {})[:, -1]  # [N, V]
        present = []
        for i in range(layers):
            present += [cache[f"layer_{i}"]["self"]["k"], cache[f"layer_{i}"]["self"]["v"]]
        return (logits, *present)


def check_exportable(model: nn.Module) -> None:
    """Raises T2TError unless `model` is an encoder-decoder Transformer with timing signals."""
    if type(model).__name__ != "Transformer" or not model.has_input:
        raise T2TError(
            "the onnx format exports the encoder-decoder `transformer` model "
            f"(this is {type(model).__name__}{'' if model.has_input else ' without inputs'})"
        )
    if getattr(model.hparams, "pos", "timing") != "timing":
        raise T2TError(f"hparams.pos={model.hparams.pos!r}: the onnx format needs 'timing'")


def _names(prefix: str, layers: int) -> list[str]:
    return [f"{prefix}_{kind}_{i}" for i in range(layers) for kind in ("k", "v")]


def export(model: nn.Module, output_dir: str) -> list[str]:
    """Writes encoder.onnx and decoder_step.onnx of `model` into output_dir.

    Returns:
        The two paths.
    """
    check_exportable(model)
    os.makedirs(output_dir, exist_ok=True)
    model = model.eval()
    layers = len(model.decoder.layers)
    encoder_path = os.path.join(output_dir, ENCODER_FILE)
    step_path = os.path.join(output_dir, STEP_FILE)
    inputs = torch.tensor([[3, 4, 5, 6, 7, 8, 9, 10, 11, 1], [3, 4, 5, 1, 0, 0, 0, 0, 0, 0]])
    inputs = inputs.clamp(max=model.vocab_sizes["inputs"] - 1)
    encoder_names = ["memory_bias", *_names("encdec", layers)]
    with torch.no_grad(), warnings.catch_warnings():
        # Tracing notes each Python-level shape test; the branches it bakes in are the
        # ones every later call takes (eval mode, CPU, equal row counts).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            EncoderGraph(model), (inputs,), encoder_path, dynamo=False, opset_version=OPSET,
            input_names=["inputs"], output_names=encoder_names,
            dynamic_axes={"inputs": {0: "batch", 1: "length"},
                          **{n: {0: "batch", 3 if n == "memory_bias" else 2: "length"}
                             for n in encoder_names}},
        )  # fmt: skip
        encoded = EncoderGraph(model)(inputs)
        rows = inputs.shape[0]
        past = []
        for layer in model.decoder.layers:
            attention = layer.self_attention.sublayer
            heads = attention.num_heads
            past += [
                torch.zeros(rows, heads, 2, attention.q.out_features // heads),
                torch.zeros(rows, heads, 2, attention.v.out_features // heads),
            ]
        step_inputs = (torch.tensor([[3], [4]]), torch.tensor([2]), *encoded, *past)
        input_names = ["ids", "step", *encoder_names, *_names("past", layers)]
        output_names = ["logits", *_names("present", layers)]
        axes = {"ids": {0: "rows"}, "logits": {0: "rows"}, "memory_bias": {0: "rows", 3: "length"}}
        axes.update({n: {0: "rows", 2: "length"} for n in _names("encdec", layers)})
        axes.update({n: {0: "rows", 2: "past"} for n in _names("past", layers)})
        axes.update({n: {0: "rows", 2: "present"} for n in _names("present", layers)})
        torch.onnx.export(
            StepGraph(model), step_inputs, step_path, dynamo=False, opset_version=OPSET,
            input_names=input_names, output_names=output_names, dynamic_axes=axes,
        )  # fmt: skip
    return [encoder_path, step_path]


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError(
            "running the onnx format needs onnxruntime: pip install 't2t[export]'"
        ) from None
    return onnxruntime


class OnnxTranslator:
    """Decodes with an export's ONNX graphs under ONNX Runtime and our search.

    Args:
        model_dir: the directory with encoder.onnx and decoder_step.onnx.
        threads: intra-op threads (0: ONNX Runtime's default).
    """

    def __init__(self, model_dir: str, threads: int = 0) -> None:
        ort = _onnxruntime()
        paths = [os.path.join(model_dir, name) for name in (ENCODER_FILE, STEP_FILE)]
        for path in paths:
            if not os.path.isfile(path):
                raise T2TError(f"{path} does not exist: export with --export_format=onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        self.encoder, self.step = (
            ort.InferenceSession(p, options, providers=["CPUExecutionProvider"]) for p in paths
        )
        self.layers = (len(self.encoder.get_outputs()) - 1) // 2
        self.vocab_size = int(self.step.get_outputs()[0].shape[1] or 0)

    def decode_ids(
        self,
        inputs: torch.Tensor,
        beam_size: int = 1,
        alpha: float = 0.0,
        top_beams: int = 1,
        extra_length: int = 50,
        vocab_size: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """As `protocol.infer` on inputs [B, S] (ids + EOS, 0-padded): {"outputs", "scores"}."""
        encoded = self.encoder.run(None, {"inputs": inputs.numpy()})
        shared = [torch.from_numpy(a) for a in encoded]  # memory bias, then encdec k/v
        states = {}
        for i in range(self.layers):
            k, v = shared[1 + 2 * i], shared[2 + 2 * i]
            states[f"past_{i}"] = {
                "k": torch.zeros(k.shape[0], k.shape[1], 0, k.shape[3]),
                "v": torch.zeros(v.shape[0], v.shape[1], 0, v.shape[3]),
            }
        batch = inputs.shape[0]

        def step_fn(ids: torch.Tensor, i: int, step_states: dict) -> tuple[torch.Tensor, dict]:
            """One graph step on N rows: shared states repeated to N, caches as ONNX inputs."""
            per_row = ids.shape[0] // batch
            feed = {"ids": ids[:, -1:].numpy(), "step": np.array([i], dtype=np.int64)}
            names = ["memory_bias", *_names("encdec", self.layers)]
            for name, value in zip(names, shared):
                feed[name] = value.repeat_interleave(per_row, dim=0).numpy()
            for j in range(self.layers):
                feed[f"past_k_{j}"] = step_states[f"past_{j}"]["k"].contiguous().numpy()
                feed[f"past_v_{j}"] = step_states[f"past_{j}"]["v"].contiguous().numpy()
            out = [torch.from_numpy(a) for a in self.step.run(None, feed)]
            new_states = {
                f"past_{j}": {"k": out[1 + 2 * j], "v": out[2 + 2 * j]} for j in range(self.layers)
            }
            return out[0], new_states

        return protocol.run_search(
            step_fn, batch, torch.device("cpu"), states, inputs.shape[1] + extra_length,
            vocab_size or self.vocab_size, HParams(sampling_method="argmax"), beam_size,
            top_beams, alpha, first_step_per_example=True,
        )  # fmt: skip

    def decode_lists(
        self, inputs: Sequence[Sequence[int]], **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """`decode_ids` of id lists (each with EOS), padded with 0 into one batch."""
        width = max(len(ids) for ids in inputs)
        batch = torch.zeros(len(inputs), width, dtype=torch.long)
        for row, ids in enumerate(inputs):
            batch[row, : len(ids)] = torch.tensor(list(ids), dtype=torch.long)
        return self.decode_ids(batch, **kwargs)
