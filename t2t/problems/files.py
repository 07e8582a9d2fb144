"""Where a problem's data files are: shard names per split and the files of a mode."""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING

from t2t.errors import DataError
from t2t.problems import generator_utils

if TYPE_CHECKING:
    from t2t.problems.problem import Problem


def _filepaths(
    problem: Problem, tag: str, data_dir: str, num_shards: int, shuffled: bool
) -> list[str]:
    name = problem.dataset_filename()
    if not shuffled:
        name += generator_utils.UNSHUFFLED_SUFFIX
    return generator_utils._data_filenames(f"{name}-{tag}", data_dir, num_shards)


def data_files(problem: Problem, data_dir: str, mode: str, shard: int | None = None) -> list[str]:
    """Sorted data files of `mode` ("train", "eval"/"infer" -> dev, "test").

    Raises:
        DataError: no file matches (with the command that generates the data).
    """
    pattern = problem.filepattern(os.path.expanduser(data_dir), mode, shard)
    files = sorted(
        f for f in glob.glob(pattern) if not f.endswith(generator_utils.INCOMPLETE_SUFFIX)
    )
    if not files:
        raise DataError(
            f"no data files match {pattern}. Generate them with: t2t-datagen "
            f"--problem={problem.name} --data_dir={data_dir}"
        )
    return files
