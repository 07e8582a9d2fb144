"""CNN / Daily Mail summarisation: summarize_cnn_dailymail32k (data spec, 4.4).

Stories come from two Google-Drive tarballs (`cnn/stories/`, `dailymail/stories/`), the
split lists from abisee/cnn-dailymail (a story file is sha1(url).story). URLs are module
attributes so tests and local mirrors can replace them.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from t2t import registry
from t2t.problems import generator_utils
from t2t.problems.problem import DatasetSplit
from t2t.problems.text_problems import Text2TextProblem

logger = logging.getLogger(__name__)

CNN_STORIES_DRIVE_URL = (
    "https://drive.google.com/uc?export=download&id=0BwmD_VLjROrfTHk4NFg2SndKcjQ"
)
DAILYMAIL_STORIES_DRIVE_URL = (
    "https://drive.google.com/uc?export=download&id=0BwmD_VLjROrfM1BxdkxVaTY2bWs"
)
_URL_LISTS = "https://raw.githubusercontent.com/abisee/cnn-dailymail/master/url_lists/"
SPLIT_URLS = {
    DatasetSplit.TRAIN: ("all_train.txt", _URL_LISTS + "all_train.txt"),
    DatasetSplit.EVAL: ("all_val.txt", _URL_LISTS + "all_val.txt"),
    DatasetSplit.TEST: ("all_test.txt", _URL_LISTS + "all_test.txt"),
}
END_TOKENS = [".", "!", "?", "...", "'", "`", '"', "\u2019", "\u201d", ")"]


def _download_stories(tmp_dir: str, name: str, url: str) -> list[str]:
    final_dir = os.path.join(tmp_dir, name, "stories")
    if not os.path.exists(final_dir):
        if url.startswith("https://drive.google.com"):
            archive = generator_utils.maybe_download_from_drive(tmp_dir, f"{name}_stories.tgz", url)
        else:
            archive = generator_utils.maybe_download(tmp_dir, f"{name}_stories.tgz", url)
        generator_utils.extract_tar(archive, tmp_dir)
    return sorted(glob.glob(os.path.join(final_dir, "*")))


def maybe_download_corpora(tmp_dir: str, dataset_split: str) -> tuple[list[str], str]:
    """(all story files, path of the split's url list)."""
    all_files = _download_stories(tmp_dir, "cnn", CNN_STORIES_DRIVE_URL)
    all_files += _download_stories(tmp_dir, "dailymail", DAILYMAIL_STORIES_DRIVE_URL)
    filename, url = SPLIT_URLS.get(dataset_split, SPLIT_URLS[DatasetSplit.TEST])
    return all_files, generator_utils.maybe_download(tmp_dir, filename, url)


def example_splits(url_file: str, all_files: list[str]) -> list[str]:
    """The story files of the urls listed in `url_file` (missing ones skipped)."""
    by_name = {os.path.basename(f): f for f in all_files}
    files = []
    with open(url_file, encoding="utf-8") as f:
        for line in f:
            name = hashlib.sha1(line.strip().encode("utf-8")).hexdigest() + ".story"
            if name in by_name:
                files.append(by_name[name])
            else:
                logger.info("Missing file: %s", line.strip())
    return files


def _fix_run_on_sentence(line: str) -> str:
    if "@highlight" in line or not line or line[-1] in END_TOKENS:
        return line
    return line + "."


def story_and_summary(path: str) -> tuple[str, str] | None:
    """(story, summary) of a .story file, or None without article text or highlights."""
    story, summary, in_highlights = [], [], False
    with open(path, "rb") as f:
        for raw in f:
            line = _fix_run_on_sentence(raw.strip().decode("utf-8", errors="replace"))
            if not line:
                continue
            if line.startswith("@highlight"):
                if not story:
                    return None  # highlights before any article text
                in_highlights = True
            elif in_highlights:
                summary.append(line)
            else:
                story.append(line)
    if not story or not summary:
        return None
    return " ".join(story), " ".join(summary)


def example_generator(all_files: list[str], urls_path: str) -> Iterator[tuple[str, str]]:
    """(story, summary) of each story file of the split listed in `urls_path`; stories
    without article text or highlights are skipped."""
    for path in example_splits(urls_path, all_files):
        pair = story_and_summary(path)
        if pair is not None:
            yield pair


def _write_raw_text(pairs: list[tuple[str, str]], tmp_dir: str, dataset_split: str) -> None:
    tag = {DatasetSplit.TRAIN: "train", DatasetSplit.EVAL: "dev"}.get(dataset_split, "test")
    base = os.path.join(tmp_dir, f"cnndm.{tag}")
    with open(base + ".source", "w", encoding="utf-8") as src:
        with open(base + ".target", "w", encoding="utf-8") as tgt:
            for story, summary in pairs:
                src.write(story + "\n")
                tgt.write(summary + "\n")


@registry.register_problem
class SummarizeCnnDailymail32k(Text2TextProblem):
    """Story -> highlights; 100 train / 10 dev / 10 test shards; 32k shared subwords."""

    @property
    def dataset_splits(self) -> list[dict[str, Any]]:
        """Train, dev and test, with 100, 10 and 10 shards."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 100},
            {"split": DatasetSplit.EVAL, "shards": 10},
            {"split": DatasetSplit.TEST, "shards": 10},
        ]

    @property
    def is_generate_per_split(self) -> bool:
        """True: each split is generated from its own URL list."""
        return True

    def generate_text_for_vocab(self, data_dir: str, tmp_dir: str) -> Iterator[str]:
        """Story and summary of each training example, joined by a space."""
        all_files, urls_path = maybe_download_corpora(tmp_dir, DatasetSplit.TRAIN)
        for story, summary in example_generator(all_files, urls_path):
            yield story + " " + summary

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, str]]:
        """{"inputs": story, "targets": summary} of the split; also writes the raw
        cnndm.<split>.source/.target files into `tmp_dir`, as T2T does."""
        all_files, urls_path = maybe_download_corpora(tmp_dir, dataset_split)
        pairs = list(example_generator(all_files, urls_path))
        _write_raw_text(pairs, tmp_dir, dataset_split)  # cnndm.<split>.source/.target, as T2T
        for story, summary in pairs:
            yield {"inputs": story, "targets": summary}
