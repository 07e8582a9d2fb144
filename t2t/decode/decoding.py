"""Decoding text files and lists of sentences with a trained model, as t2t-decoder does.

The model side is one function, `decode_batch(inputs [B, S]) -> per example, a list of
(ids, score) beams`, so this module is independent of the model family. What is kept
from T2T: decode hparams and their defaults, the default output file name, inputs sorted
by decreasing length for speed and written back in input order, the `return_beams` /
`write_beam_scores` line format, and EOS cut-off of the outputs.
"""

import functools
import logging
import os
import string
import time
from collections.abc import Callable, Sequence

import torch

from t2t import inert
from t2t.decode import fast_step
from t2t.errors import T2TError
from t2t.hparams import HParams

log = logging.getLogger(__name__)

EOS_ID = 1
DEFAULT_DECODE_BATCH_SIZE = 32

Beam = tuple[list[int], float]
DecodeBatchFn = Callable[[torch.Tensor], list[list[Beam]]]
MakeInputsFn = Callable[[Sequence[str]], torch.Tensor]


def decode_hparams(overrides: str = "") -> HParams:
    """T2T's decode hparams with their defaults, then `overrides` ("beam_size=4,alpha=0.6")."""
    hparams = HParams(
        save_images=False,
        log_results=True,
        extra_length=100,
        min_length_ratio=0.0,
        batch_size=0,
        beam_size=4,
        alpha=0.6,
        eos_penalty=0.0,
        block_size=0,
        guess_and_check_top_k=0,
        guess_and_check_epsilon=-1,
        insertion_parallel=False,
        return_beams=False,
        write_beam_scores=False,
        max_input_size=-1,
        identity_output=False,
        num_samples=-1,
        delimiter="\n",
        decode_to_file="",
        decode_reference="",
        decode_in_memory=False,
        decode_timeout_mins=240,
        summaries_log_dir="decode",
        shards=1,
        shard_id=0,
        shards_start_offset=0,
        shard_google_format=False,
        num_decodes=1,
        force_decode_length=False,
        display_decoded_images=False,
        multiproblem_task_id=-1,
        frames_per_second=10,
        skip_eos_postprocess=False,
        border_percent=2,
        max_display_outputs=10,
        max_display_decodes=5,
        vgg_ckpt_path="",
        mlperf_decode_step=0.0,
        mlperf_threshold=25.0,
        mlperf_success=False,
        export_extra_infer_outputs="",
        # t2t's own: the decoding step, "module", "static" or "compiled" (t2t.decode.fast_step)
        step_mode="module",
    )
    defaults = hparams.values()
    hparams.parse(overrides)
    fast_step.check_step_mode(hparams.step_mode)
    inert.warn_changed("decode hparam", defaults, hparams.values())
    return hparams


def default_output_filename(
    decode_from_file: str, model: str, hparams_set: str, problem: str, beam_size: int, alpha: float
) -> str:
    """T2T's name for decodes: `<file>.<model>.<hparams_set>.<problem>.beam4.alpha0.6.decodes`."""
    suffix = f"beam{beam_size}.alpha{alpha}.decodes"
    if suffix in decode_from_file:  # T2T checks containment, not the end of the name
        return decode_from_file
    return f"{decode_from_file}.{model}.{hparams_set}.{problem}.{suffix}"


def read_inputs(path: str, delimiter: str = "\n") -> list[str]:
    """The records of a file split on `delimiter`, stripped; a trailing empty one dropped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        records = [record.strip() for record in f.read().split(delimiter)]
    if records and not records[-1]:
        records.pop()
    return records


def read_prefixes(path: str, delimiter: str = "\n", repeat: int = 1) -> list[str]:
    """The prefixes a language model continues, read as T2T does for problems without inputs.

    Records are not stripped; a trailing empty one is dropped; the list is repeated `repeat`
    times (decode hparam num_decodes); a record ending in ASCII punctuation gets a space, so
    that a subword vocabulary (which joins punctuation and the following space) sees the
    token complete.
    """
    with open(path, encoding="utf-8", errors="replace") as f:
        records = f.read().split(delimiter)
    if records and not records[-1]:
        records.pop()
    records *= max(1, repeat)
    return [r + " " if r and r[-1] in string.punctuation else r for r in records]


def write_records(path: str, records: Sequence[str], delimiter: str = "\n") -> None:
    """Writes records, each followed by `delimiter`, under a temporary name then renamed:
    an interrupted run never leaves a decodes file that looks complete."""
    from t2t.data.output_paths import check_output_file, writing

    check_output_file(path)
    tmp = f"{path}.incomplete"
    try:
        with writing(path), open(tmp, "w", encoding="utf-8") as f:
            for record in records:
                f.write(record + delimiter)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def length_sorted_order(lines: Sequence[str]) -> list[int]:
    """Indices of `lines` by decreasing token count (stable), as T2T batches them."""
    return sorted(range(len(lines)), key=lambda i: -len(lines[i].split()))


def cut_at_eos(ids: Sequence[int]) -> list[int]:
    """The ids before the first EOS."""
    ids = list(ids)
    return ids[: ids.index(EOS_ID)] if EOS_ID in ids else ids


def encode_batch(
    lines: Sequence[str],
    encode: Callable[[str], list[int]],
    max_input_size: int = -1,
    final_id: int = EOS_ID,
) -> torch.Tensor:
    """Encodes lines, truncates to max_input_size-1 ids, appends `final_id` and pads with 0.

    `final_id` is EOS, or the task id of a multi-problem's task: T2T decodes a MultiProblem
    model for one task by ending each input with that task's id (decode hparam
    multiproblem_task_id), as its training examples have it after the inputs.

    Returns:
        LongTensor[B, S].
    """
    encoded = []
    for line in lines:
        ids = list(encode(line))
        if max_input_size > 0:
            ids = ids[: max_input_size - 1]
        encoded.append(ids + [final_id])
    width = max(len(ids) for ids in encoded)
    batch = torch.zeros(len(encoded), width, dtype=torch.long)
    for row, ids in enumerate(encoded):
        batch[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return batch


def format_beams(
    beams: list[Beam],
    decode: Callable[[list[int]], str],
    return_beams: bool,
    write_beam_scores: bool,
    skip_eos_postprocess: bool = False,
) -> str:
    """One output line: the best decode, or all beams tab-separated (with scores if asked).

    Args:
        beams: (ids, score) pairs of one example, best first.
        decode: ids -> text (the targets encoder's decode).
        return_beams: write every beam, not only the best (decode hparam return_beams).
        write_beam_scores: append each beam's score ("\t%.2f") when writing every beam.
        skip_eos_postprocess: keep the ids after the first EOS (decode hparam of that name).
    """
    texts = []
    for ids, score in beams if return_beams else beams[:1]:
        text = decode(list(ids) if skip_eos_postprocess else cut_at_eos(ids))
        if return_beams and write_beam_scores:
            text += f"\t{score:.2f}"
        texts.append(text)
    return "\t".join(texts)


def decode_lines(
    lines: Sequence[str],
    decode_batch: DecodeBatchFn,
    encode: Callable[[str], list[int]],
    batch_size: int = DEFAULT_DECODE_BATCH_SIZE,
    max_input_size: int = -1,
    first_line: int = 1,
    make_inputs: MakeInputsFn | None = None,
    final_id: int = EOS_ID,
) -> list[list[Beam]]:
    """Decodes `lines` in length-sorted batches; returns the beams in input order.

    Args:
        lines: the input lines (one example each).
        decode_batch: inputs LongTensor [B, S] -> per example its beams [(ids, score), ...].
        encode: line -> ids (no EOS; `encode_batch` appends it).
        batch_size: lines per batch.
        max_input_size: > 0 truncates each line to max_input_size - 1 ids before EOS.
        first_line: the number of `lines[0]` in error messages.
        make_inputs: lines -> the inputs batch, for inputs that are not ids (e.g. a speech
            problem's audio file paths -> padded features [B, T, ...]); replaces `encode`.
        final_id: the id ending each line's ids: EOS, or a multi-problem task id (see
            `encode_batch`).

    Raises:
        T2TError: a line cannot be encoded; the message names its number (lines counted
            from `first_line`).
    """
    order = length_sorted_order(lines)
    results: list[list[Beam]] = [[] for _ in lines]
    start_time, num_tokens = time.time(), 0
    make_batch = make_inputs or functools.partial(
        encode_batch, encode=encode, max_input_size=max_input_size, final_id=final_id
    )
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        try:
            inputs = make_batch([lines[i] for i in indices])
        except T2TError:  # name the first line (in input order) that cannot be encoded
            for i in sorted(indices):
                try:
                    make_batch([lines[i]])
                except T2TError as error:
                    raise T2TError(f"line {first_line + i}: {error}") from None
            raise
        for index, beams in zip(indices, decode_batch(inputs)):
            results[index] = beams
            num_tokens += len(cut_at_eos(beams[0][0]))
    elapsed = max(time.time() - start_time, 1e-9)
    log.info(
        "Decoded %d lines in %.2f s (%.1f lines/s, %.1f output tokens/s)",
        len(lines),
        elapsed,
        len(lines) / elapsed,
        num_tokens / elapsed,
    )
    return results
