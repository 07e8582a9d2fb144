"""Checking the shards t2t-datagen finds already written, before it skips generating them.

Generation is skipped when every shard of a split exists. A shard damaged since (a disk
error, a copy cut short, a flipped byte) would then only show up in training; instead each
existing shard's records are read once with their framing and CRCs checked, and a damaged
one is reported naming the file, the offset and what to delete.
"""

from __future__ import annotations

from collections.abc import Sequence

from t2t.data import tfrecord
from t2t.errors import DataError


def check_existing_shards(paths: Sequence[str]) -> None:
    """Raises DataError if any of the (existing) TFRecord shards is truncated or corrupt."""
    for path in paths:
        try:
            tfrecord.count_records(path, verify=True)
        except DataError as err:
            raise DataError(
                f"existing shard is damaged: {err}; delete {path} and run t2t-datagen again "
                "to regenerate it"
            ) from None
