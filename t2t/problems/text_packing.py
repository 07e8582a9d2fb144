"""T2T's generation-time packing of Text2Text examples (`packed_length`).

Several short examples share one record, told apart by `<stream>_segmentation` and
`<stream>_position` features. (Packing at read time, `pack_dataset`, is a different
step in the input pipeline.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from t2t.data import example_codec
from t2t.problems import generator_utils


def pack_examples(
    examples: Iterable[Mapping[str, list[int]]],
    has_inputs: bool,
    packed_length: int = 256,
    spacing: int = 2,
    queue_size: int = 10,
    chop_long_sequences: bool = False,
) -> Iterator[dict[str, list[int]]]:
    """T2T's generation-time packing: first-fit into up to `queue_size` open packed examples.

    Each packed example carries `<stream>_segmentation` (1, 2, ... per original example)
    and `<stream>_position` (0.. within each original example); language-model packs get
    `inputs = [0]`. Packed examples are not padded on disk.
    """
    streams = ["inputs", "targets"] if has_inputs else ["targets"]
    packers: list[dict[str, list[int]]] = []
    for example in examples:
        pieces = [list(example[s]) for s in streams]
        if chop_long_sequences and not has_inputs and len(pieces[0]) > packed_length:
            # T2T: every full fragment is its own example; the (maybe empty) rest is packed.
            num_fragments = len(pieces[0]) // packed_length
            for i in range(num_fragments):
                fragment = pieces[0][packed_length * i : packed_length * (i + 1)]
                yield _packed_output(_new_packer(streams, [fragment]), has_inputs)
            pieces = [pieces[0][packed_length * num_fragments :]]
        for packer in packers:
            if all(
                len(packer[s]) + spacing + len(p) <= packed_length for s, p in zip(streams, pieces)
            ):
                _add_to_packer(packer, streams, pieces, spacing)
                break
        else:
            if len(packers) == queue_size:
                yield _packed_output(packers.pop(0), has_inputs)
            packers.append(_new_packer(streams, pieces))
    for packer in packers:
        yield _packed_output(packer, has_inputs)


def _new_packer(streams: list[str], pieces: list[list[int]]) -> dict[str, list[int]]:
    packer = {}
    for stream, piece in zip(streams, pieces):
        packer[stream] = list(piece)
        packer[stream + "_segmentation"] = [1] * len(piece)
        packer[stream + "_position"] = list(range(len(piece)))
    return packer


def _add_to_packer(packer, streams, pieces, spacing) -> None:
    for stream, piece in zip(streams, pieces):
        segmentation = packer[stream + "_segmentation"]
        segment = segmentation[-1] + 1 if segmentation else 1
        packer[stream] += [0] * spacing + list(piece)
        packer[stream + "_segmentation"] += [0] * spacing + [segment] * len(piece)
        packer[stream + "_position"] += [0] * spacing + list(range(len(piece)))


def _packed_output(packer: dict[str, list[int]], has_inputs: bool) -> dict[str, list[int]]:
    if has_inputs:
        return packer
    return {"inputs": [0], **packer}


def pack_records(
    records: list[bytes], has_inputs: bool, packed_length: int, spacing: int
) -> list[bytes]:
    """Packs serialized Text2Text records (used after shuffling each shard)."""
    streams = ["inputs", "targets"] if has_inputs else ["targets"]
    examples = []
    for record in records:
        decoded = example_codec.decode_example(record)
        examples.append({s: decoded[s].tolist() for s in streams})
    packed = pack_examples(
        examples, has_inputs, packed_length, spacing=spacing, chop_long_sequences=not has_inputs
    )
    return [generator_utils.serialize_case(ex) for ex in packed]
