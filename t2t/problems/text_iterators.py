"""Sample iterators over text files (T2T's `text_problems.*_iterator` functions).

Each yields samples: dicts of text (or labels, numbers) per feature, ready for a
problem's `generate_samples`. `t2t.problems.text_problems` re-exports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Sample = dict[str, Any]


def txt_line_iterator(txt_path: str) -> Iterator[str]:
    """Each line of the file, stripped."""
    with open(txt_path, encoding="utf-8") as f:
        for line in f:
            yield line.strip()


def text2text_txt_iterator(source_txt_path: str, target_txt_path: str) -> Iterator[Sample]:
    """{"inputs": line, "targets": line} for parallel files (stops at the shorter)."""
    for inputs, targets in zip(
        txt_line_iterator(source_txt_path), txt_line_iterator(target_txt_path)
    ):
        yield {"inputs": inputs, "targets": targets}


def text2text_txt_iterator_with_label(source_txt_path, target_txt_path) -> Iterator[Sample]:
    """Targets lines `text\\tExtra_Label: N` -> {"inputs", "targets", "extra_label": [N]}."""
    pattern = re.compile(r"(.*)\tExtra_Label: (.*)")
    for inputs, line in zip(txt_line_iterator(source_txt_path), txt_line_iterator(target_txt_path)):
        match = pattern.match(line)
        if not match:
            raise ValueError(f"target line without '\\tExtra_Label: ': {line!r}")
        yield {"inputs": inputs, "targets": match.group(1), "extra_label": [int(match.group(2))]}


def text2text_txt_iterator_with_index(source_txt_path, target_txt_path) -> Iterator[Sample]:
    """Adds "idx": [line number]."""
    for i, sample in enumerate(text2text_txt_iterator(source_txt_path, target_txt_path)):
        sample["idx"] = [i]
        yield sample


def text2text_distill_iterator(source_txt_path, target_txt_path, distill_txt_path):
    """Adds "dist_targets" text from a third parallel file."""
    for inputs, targets, dist in zip(
        txt_line_iterator(source_txt_path),
        txt_line_iterator(target_txt_path),
        txt_line_iterator(distill_txt_path),
    ):
        yield {"inputs": inputs, "targets": targets, "dist_targets": dist}


def text2self_txt_iterator(txt_path: str) -> Iterator[Sample]:
    """{"targets": line} for each line."""
    for line in txt_line_iterator(txt_path):
        yield {"targets": line}


def text2class_txt_iterator(source_txt_path, label_txt_path, class_strs=None):
    """{"inputs": line, "label": int}; labels are ints, or indices into `class_strs`."""
    class_strs = [s.strip() for s in class_strs] if class_strs else None
    for inputs, label in zip(txt_line_iterator(source_txt_path), txt_line_iterator(label_txt_path)):
        label = label.strip()
        yield {"inputs": inputs, "label": class_strs.index(label) if class_strs else int(label)}


def text2real_txt_iterator(source_txt_path, target_txt_path):
    """{"inputs": line, "targets": [floats]} for parallel files."""
    for inputs, targets in zip(
        txt_line_iterator(source_txt_path), txt_line_iterator(target_txt_path)
    ):
        yield {"inputs": inputs, "targets": [float(x) for x in targets.split()]}


def text2text_txt_tab_iterator(txt_path: str) -> Iterator[Sample]:
    """Lines `inputs\\ttargets` (split at the first tab; lines without a tab skipped)."""
    for line in txt_line_iterator(txt_path):
        if line and "\t" in line:
            inputs, targets = line.split("\t", 1)
            yield {"inputs": inputs.strip(), "targets": targets.strip()}
