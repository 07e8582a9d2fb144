"""A trained run as an object applications call: `t2t.load(output_dir).decode([...])`.

    m = t2t.load("~/t2t_train/ende")             # hparams, vocabulary, latest checkpoint
    m.decode(["Hello world."], beam_size=4, alpha=0.6)          # -> ["Hallo Welt."]
    m.decode(["Hello world."], return_beams=True)               # -> [[("Hallo Welt.", -0.3), ...]]

`load` reads the run's `run.json` and `hparams.json` (so no names need repeating), the
problem's vocabulary from the run's data_dir, and a checkpoint. t2t-decoder is built on it.
Given an export directory (t2t-exporter's, `t2t.runs.export_dir`), it reads everything
from there instead: no data_dir, no registered problem, no --t2t_usr_dir needed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import torch

from t2t.data import batching, text_encoder
from t2t.decode import decoding, protocol
from t2t.errors import T2TError
from t2t.hparams import join_overrides

log = logging.getLogger(__name__)


def _cut(text: str, width: int = 60) -> str:
    """`text` quoted, cut to `width` characters for a one-line message."""
    return repr(text if len(text) <= width else text[: width - 3] + "...")


class LoadedModel:
    """A model with its problem, hparams and vocabulary, ready to decode text.

    Attributes:
        model: the nn.Module (eval mode).
        hparams: the model hparams of the run.
        problem: the Problem instance.
        encoders: the problem's feature encoders ("inputs" when it has inputs, "targets").
        checkpoint: the checkpoint prefix loaded.
        run: the run.json record (problem, model, hparams_set, ...).
        export: the `t2t.runs.export_dir.Export` it was loaded from, or None for a run.
    """

    def __init__(self, experiment: Any, checkpoint: str, run: dict[str, Any]) -> None:
        self.model = experiment.model.eval()
        self.hparams = experiment.hparams
        self.problem = experiment.problem
        self.encoders = experiment.problem.feature_encoders(experiment.data_dir)
        self.checkpoint = checkpoint
        self.run = run
        self.export = None

    @property
    def device(self) -> torch.device:
        """The device the model's parameters live on (inputs are moved there)."""
        return next(self.model.parameters()).device

    def _input_encoder(self) -> Any:
        return self.encoders["inputs" if self.problem.has_inputs else "targets"]

    def encode(self, text: str) -> list[int]:
        """The ids of `text` for the model's input (no EOS).

        Raises:
            T2TError: `text` cannot be encoded, or gives an id outside the input vocabulary
                (one line naming the text, cut down, and the vocabulary size).
        """
        encoder = self._input_encoder()
        try:
            ids = list(encoder.encode(text))
        except KeyError as error:  # a token vocabulary without an OOV token
            raise T2TError(f"cannot encode {_cut(text)}: {error.args[0]}") from None
        except ValueError as error:  # e.g. a token that is not a number, for an id encoder
            raise T2TError(f"cannot encode {_cut(text)}: {error}") from None
        feature = "inputs" if self.problem.has_inputs else "targets"
        vocab_size = self.problem.get_hparams().vocab_size.get(feature)
        bad = [k for k, i in enumerate(ids) if vocab_size and not 0 <= i < vocab_size]
        if bad:
            what = f"id {ids[bad[0]]}"
            tokens = text.split()
            if type(encoder).__name__ == "TextEncoder" and len(tokens) == len(ids):
                what = f"token {tokens[bad[0]]!r} (id {ids[bad[0]]})"
            raise T2TError(
                f"{_cut(text)}: {what} is outside the {feature} vocabulary of "
                f"{vocab_size} ids (0-{vocab_size - 1})"
            )
        return ids

    def make_inputs_fn(self) -> decoding.MakeInputsFn | None:
        """lines -> the padded inputs batch, for a problem whose inputs are not text.

        Such a problem has `input_features_from_line(line, hparams)` (a speech problem: the
        line is an audio file's path; its features [T, ...]); None for text inputs.
        """
        featurize = getattr(self.problem, "input_features_from_line", None)
        if featurize is None:
            return None

        def make_inputs(lines: Sequence[str]) -> torch.Tensor:
            """Features of each line, zero-padded into one batch [B, T, ...]."""
            examples = [{"inputs": featurize(line, self.hparams)} for line in lines]
            return torch.from_numpy(batching.pad_batch(examples)["inputs"])

        return make_inputs

    def decode_ids(self, ids: Sequence[int]) -> str:
        """Target ids -> text (EOS and what follows it removed; a class label is kept whole).

        T2T cut class labels at EOS too, so class 1 decoded as "" (its accuracy was right,
        its files were not); here a label is never cut.
        """
        encoder = self.encoders["targets"]
        if isinstance(encoder, text_encoder.ClassLabelEncoder):
            return encoder.decode([int(i) for i in ids][:1])
        return encoder.decode(decoding.cut_at_eos(ids))

    def final_id(self, multiproblem_task_id: int = -1) -> int:
        """The id that ends each input: EOS, or the task id chosen for a MultiProblem.

        T2T's decode hparam `multiproblem_task_id` (-1: none) is a task's id, i.e. the shared
        vocabulary's size plus the task's index in `task_list`.

        Raises:
            T2TError: the id is not one of the problem's task ids (or, for a problem that is
                not a MultiProblem, outside the vocabulary).
        """
        if multiproblem_task_id < 0:
            return decoding.EOS_ID
        hp = self.problem.get_hparams(self.hparams)
        tasks = getattr(hp, "multiproblem_tasks", None)
        if tasks:
            if multiproblem_task_id not in [task_id for _, task_id, _ in tasks]:
                listed = ", ".join(f"{task_id} ({name})" for name, task_id, _ in tasks)
                raise T2TError(
                    f"multiproblem_task_id={multiproblem_task_id} is not a task of "
                    f"{self.problem.name}; its task ids: {listed}"
                )
            return multiproblem_task_id
        feature = "inputs" if self.problem.has_inputs else "targets"
        vocab_size = hp.vocab_size.get(feature)
        if vocab_size and multiproblem_task_id >= vocab_size:
            raise T2TError(
                f"multiproblem_task_id={multiproblem_task_id} is outside the {feature} "
                f"vocabulary of {vocab_size} ids ({self.problem.name} is not a MultiProblem)"
            )
        return multiproblem_task_id

    def decode_batch_fn(
        self,
        beam_size: int,
        alpha: float,
        top_beams: int,
        extra_length: int,
        final_id: int = decoding.EOS_ID,
        step_mode: str = "module",
    ) -> decoding.DecodeBatchFn:
        """`inputs [B, S] -> per example [(ids, score), ...]` for decoding.decode_lines.

        `final_id` is the id decode_lines ended each input with (see `final_id`);
        `step_mode`: see `t2t.decode.fast_step`.
        """

        def decode_batch(inputs: torch.Tensor) -> list[list[decoding.Beam]]:
            """Decodes `inputs` [B, S]; for a model without inputs they are prefixes to continue."""
            if not self.problem.has_inputs:
                return self._continue_prefixes(inputs, decode_rows, final_id)
            return decode_rows(inputs)

        def decode_rows(inputs: torch.Tensor) -> list[list[decoding.Beam]]:
            """Searches from `inputs` [B, S]: per row, `top_beams` (ids, score) pairs."""
            inputs = inputs.to(self.device)
            result = protocol.infer(
                self.model,
                {"inputs": inputs},
                extra_length,
                beam_size,
                top_beams,
                alpha,
                step_mode=step_mode,
            )
            outputs, scores = result["outputs"].cpu(), result["scores"]
            if outputs.dim() == 2:  # [B, L] -> [B, 1, L]
                outputs = outputs[:, None]
                scores = scores[:, None] if scores is not None else None
            beams = []
            for row in range(outputs.shape[0]):
                beams.append(
                    [
                        (
                            outputs[row, k].tolist(),
                            float(scores[row, k]) if scores is not None else 0.0,
                        )
                        for k in range(outputs.shape[1])
                    ]
                )
            return beams

        return decode_batch

    @staticmethod
    def _continue_prefixes(
        inputs: torch.Tensor, decode_rows: decoding.DecodeBatchFn, final_id: int = decoding.EOS_ID
    ) -> list[list[decoding.Beam]]:
        """Decodes language-model prefixes, rows of one prefix length at a time.

        The model forces every prefix position, padding included, so a padded shorter prefix
        would be continued after its padding (T2T batches them so; its LM decodes then
        depend on the batch). Grouping by length keeps a line's decode independent of the
        others. Each row of `inputs` [B, S] is ids + final id + padding; an EOS is dropped
        (T2T appends none to a language model's prefix), a multi-problem task id is kept:
        the model continues after it, as after the task id in its training examples.
        """
        kept = int(final_id != decoding.EOS_ID)
        lengths = (inputs == final_id).int().argmax(dim=1) + kept  # [B]
        lengths = lengths.tolist()
        results: list[list[decoding.Beam]] = [[] for _ in lengths]
        for length in sorted(set(lengths), reverse=True):
            rows = [row for row, n in enumerate(lengths) if n == length]
            for row, beams in zip(rows, decode_rows(inputs[rows, :length])):  # [b, length]
                results[row] = beams
        return results

    def decode(
        self,
        sentences: Sequence[str],
        beam_size: int = 4,
        alpha: float = 0.6,
        return_beams: bool = False,
        extra_length: int = 100,
        batch_size: int = 32,
        max_input_size: int = -1,
        multiproblem_task_id: int = -1,
    ) -> list[str] | list[list[tuple[str, float]]]:
        """Decodes sentences (batched by length; results in input order).

        Args:
            sentences: input texts (for a problem without inputs: prefixes to continue; for
                a speech problem: audio file paths).
            beam_size: 1 for greedy decoding.
            alpha: length penalty exponent ((5 + len) / 6) ** alpha.
            return_beams: return all beams with their scores instead of the best text.
            extra_length: decode up to input length + extra_length tokens.
            batch_size: sentences per batch.
            max_input_size: truncate inputs to this many ids (-1: no limit).
            multiproblem_task_id: for a MultiProblem model, the id of the task to decode
                (T2T's decode hparam of that name; -1: none), put after each input's ids.

        Returns:
            One string per sentence, or per sentence a list of (text, score), best first.
        """
        top_beams = beam_size if return_beams else 1
        final_id = self.final_id(multiproblem_task_id)
        fn = self.decode_batch_fn(beam_size, alpha, top_beams, extra_length, final_id)
        results = decoding.decode_lines(
            list(sentences),
            fn,
            self.encode,
            batch_size,
            max_input_size,
            make_inputs=self.make_inputs_fn(),
            final_id=final_id,
        )
        if return_beams:
            return [[(self.decode_ids(ids), score) for ids, score in beams] for beams in results]
        return [self.decode_ids(beams[0][0]) for beams in results]

    @torch.no_grad()
    def score(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Per pair, the model's mean token cross-entropy (nats) of the target given the input.

        As T2T's `t2t-decoder --score_file`: input and target each get EOS, the model runs
        in eval mode (no dropout, no label smoothing) one pair at a time, and the score is
        losses["training"] (EOS counted; times the problem's loss_multiplier, as in T2T).

        Args:
            pairs: (input, target) texts; the input is ignored for a problem without inputs.

        Returns:
            One score per pair (lower is more likely).
        """
        scores = []
        for source, target in pairs:
            targets = decoding.encode_batch([target], self._target_encode)  # [1, T]
            features = {"targets": targets.to(self.device)}
            if self.problem.has_inputs:
                features["inputs"] = decoding.encode_batch([source], self.encode).to(self.device)
            scores.append(float(self.model(features)[1]["training"]))
        return scores

    def _target_encode(self, text: str) -> list[int]:
        try:
            return list(self.encoders["targets"].encode(text))
        except KeyError as error:
            raise T2TError(f"cannot encode {text[:80]!r}: {error.args[0]}") from None


def load(
    output_dir: str,
    checkpoint: str | None = None,
    data_dir: str | None = None,
    device: str | None = None,
    hparams: str = "",
    verify: bool = True,
    quantize: str | None = None,
) -> LoadedModel:
    """Loads a t2t-trainer run for decoding.

    Args:
        output_dir: the run's --output_dir (with run.json, hparams.json, checkpoints).
        checkpoint: a checkpoint prefix or .safetensors path (default: the latest).
        data_dir: where the vocabulary is (default: the run's data_dir).
        device: "cpu", "cuda", ... (default: CUDA when available).
        hparams: extra hparams overrides.
        verify: verify the checkpoint's digest (False: skip it, for speed).
        quantize: "int8" to decode with int8 linear layers on a CPU (`t2t.decode.quantize`);
            None or "none" for float32.

    Raises:
        T2TError: not a run directory, no checkpoint, the vocabulary is missing, or a
            quantization this model or device cannot use; for an export directory, a
            damaged export (a digest mismatch, a missing file).
    """
    from t2t.runs import export_dir, run_files

    output_dir = os.path.expanduser(output_dir)
    if export_dir.is_export_dir(output_dir):
        if checkpoint or data_dir or hparams:
            raise T2TError(
                f"{output_dir} is an export directory: it has one checkpoint, its own "
                "vocabulary and hparams (checkpoint, data_dir and hparams cannot be given)"
            )
        return load_export(output_dir, device, verify, quantize)
    run = run_files.read_run(output_dir)
    run["hparams"] = join_overrides(run.get("hparams", ""), hparams)
    if data_dir:
        run["data_dir"] = data_dir
    from t2t.runs import digest

    with digest.verifying(verify):
        return load_run(output_dir, run, checkpoint, device, quantize)


def load_export(
    directory: str, device: str | None = None, verify: bool = True, quantize: str | None = None
) -> LoadedModel:
    """Loads a t2t-exporter directory for decoding (see `t2t.runs.export_dir`).

    Args:
        directory: the export directory (with manifest.json).
        device: "cpu", "cuda", ... (default: CUDA when available).
        verify: check the manifest's SHA-256 digests (False: sizes only, for speed).
        quantize: "int8" for int8 linear layers on a CPU (`t2t.decode.quantize`), "none"
            for float32, None for the export's default (t2t-exporter --quantize).

    Raises:
        DataError: not an export, or a damaged one.
        T2TError: a quantization this model or device cannot use.
    """
    import types

    from t2t.decode import quantize as quantization
    from t2t.runs import digest, export_dir

    export = export_dir.read_export(directory, verify)
    if quantize is None:  # the exporter's --quantize is the export's default
        quantize = export.decode_hparams.get("quantize")
    quantize = quantization.check_choice(quantize)
    if quantize != "none" and not device:
        device = "cpu"  # int8 kernels are CPU kernels
    if not device:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    with digest.verifying(verify):
        model = export_dir.build_model(export, device)
    quantization.quantize(model, quantize)
    experiment = types.SimpleNamespace(
        model=model, hparams=model.hparams, problem=export.problem, data_dir=None
    )
    loaded = LoadedModel(experiment, export.weights_path, export.run_record())
    loaded.export = export
    log.info("loaded export %s (%s, %s)", directory, export.model_name, export.problem.name)
    return loaded


def load_run(
    output_dir: str,
    run: dict[str, Any],
    checkpoint: str | None,
    device: str | None,
    quantize: str | None = None,
) -> LoadedModel:
    """Builds the model `run` describes (problem, model, hparams_set, hparams, data_dir),
    merging output_dir's hparams.json, loads `checkpoint` (default: the latest) and applies
    `quantize` ("int8" or None/"none")."""
    from t2t.decode import quantize as quantization
    from t2t.runs import build, checkpoints

    quantize = quantization.check_choice(quantize)
    if quantize != "none" and not device:
        device = "cpu"  # int8 kernels are CPU kernels

    exp = build.build_run(
        run["problem"],
        run["model"],
        run["hparams_set"],
        run.get("hparams", ""),
        os.path.expanduser(run["data_dir"]),
        output_dir,
    )
    prefix = checkpoint or checkpoints.latest_checkpoint(output_dir, need_state=False)
    if prefix is None:
        raise T2TError(f"no checkpoint in {output_dir}: train first, or pass a checkpoint")
    checkpoints.load_weights(exp.model, prefix)
    if not device:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    exp.model.to(device)
    quantization.quantize(exp.model, quantize)
    log.info(
        "loaded %s (%s, %s, %s%s)", prefix, run["model"], run["hparams_set"], run["problem"],
        "" if quantize == "none" else f", {quantize}",
    )  # fmt: skip
    return LoadedModel(exp, prefix, run)
