"""IMDb sentiment (Maas et al. 2011): sentiment_imdb (8k subwords) and _characters."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from t2t import registry
from t2t.problems import generator_utils
from t2t.problems.problem import DatasetSplit, TaskID
from t2t.problems.text_problems import Text2ClassProblem, VocabType


@registry.register_problem
class SentimentImdb(Text2ClassProblem):
    """Positive/negative movie reviews; TRAIN reads aclImdb/train, EVAL aclImdb/test."""

    URL = "http://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"

    @property
    def is_generate_per_split(self) -> bool:
        """True: train and eval come from separate directories."""
        return True

    @property
    def dataset_splits(self) -> list[dict[str, Any]]:
        """10 train shards and 1 eval shard."""
        return [
            {"split": DatasetSplit.TRAIN, "shards": 10},
            {"split": DatasetSplit.EVAL, "shards": 1},
        ]

    @property
    def approx_vocab_size(self) -> int:
        """Size of the subword vocabulary (2**13)."""
        return 2**13

    @property
    def num_classes(self) -> int:
        """Two classes: negative and positive."""
        return 2

    def class_labels(self, data_dir: str | None) -> list[str]:
        """The label names, by class id: ["neg", "pos"]."""
        del data_dir
        return ["neg", "pos"]

    def doc_generator(self, imdb_dir: str, dataset: str, include_label: bool = False):
        """Documents of `pos/` (label 1) then `neg/` (label 0), in os.listdir order as T2T."""
        for subdir, label in (("pos", True), ("neg", False)):
            directory = os.path.join(imdb_dir, dataset, subdir)
            for filename in os.listdir(directory):
                with open(os.path.join(directory, filename), encoding="utf-8") as f:
                    doc = f.read().strip()
                yield (doc, label) if include_label else doc

    def generate_samples(self, data_dir, tmp_dir, dataset_split) -> Iterator[dict[str, Any]]:
        """{"inputs": review, "label": 0 or 1}, downloading and extracting the archive first."""
        archive = generator_utils.maybe_download(tmp_dir, os.path.basename(self.URL), self.URL)
        imdb_dir = os.path.join(tmp_dir, "aclImdb")
        if not os.path.exists(imdb_dir):
            generator_utils.extract_tar(archive, tmp_dir)
        dataset = "train" if dataset_split == DatasetSplit.TRAIN else "test"
        for doc, label in self.doc_generator(imdb_dir, dataset, include_label=True):
            yield {"inputs": doc, "label": int(label)}


# T2T's class is SentimentIMDB; its registered name is "sentiment_imdb" either way.
SentimentIMDB = SentimentImdb


@registry.register_problem
class SentimentImdbCharacters(SentimentImdb):
    """As sentiment_imdb, with a character vocabulary."""

    @property
    def vocab_type(self) -> str:
        """Characters (byte ids) instead of subwords."""
        return VocabType.CHARACTER

    def global_task_id(self) -> int:
        """T2T's task id for English character sentiment."""
        return TaskID.EN_CHR_SENT


SentimentIMDBCharacters = SentimentImdbCharacters
