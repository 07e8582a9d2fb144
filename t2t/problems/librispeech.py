"""LibriSpeech (Panayotov et al. 2015, openslr.org/12): T2T's six speech problems.

Each split is an openslr archive, `<split>.tar.gz`, downloaded into --tmp_dir (or placed
there beforehand) and extracted to `LibriSpeech/<split>/<speaker>/<chapter>/` with one
`<speaker>-<chapter>.trans.txt` ("<utt_id> <TRANSCRIPT>" lines) beside the
`<utt_id>.flac` files. Examples are written sorted by utterance id within each split, as
T2T: 100 train shards (shuffled), 1 dev shard (shuffled), 1 test shard (not shuffled).

- librispeech: train-clean-100 + train-clean-360 + train-other-500; dev-clean + dev-other;
  test-clean + test-other.
- librispeech_clean_small: train-clean-100; dev-clean; test-clean.
- librispeech_clean: train-clean-100 + train-clean-360; dev-clean; test-clean.
- librispeech_noisy: train-other-500; dev-other; test-other.
- librispeech_train_full_test_clean / _other: read librispeech's train files and
  librispeech_clean's (or librispeech_noisy's) dev and test files; they generate nothing.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator, Sequence

from t2t import registry
from t2t.errors import DataError
from t2t.problems import generator_utils, safe_extract
from t2t.problems.problem import Modes
from t2t.problems.speech_recognition import SpeechRecognitionProblem

_URL = "http://www.openslr.org/resources/12/"
_TRAIN = [(_URL + f"{name}.tar.gz", name) for name in ("train-clean-100", "train-clean-360")]
_TRAIN += [(_URL + "train-other-500.tar.gz", "train-other-500")]
_DEV = [(_URL + f"{name}.tar.gz", name) for name in ("dev-clean", "dev-other")]
_TEST = [(_URL + f"{name}.tar.gz", name) for name in ("test-clean", "test-other")]

Datasets = Sequence[tuple[str, str]]


def collect_data(directory: str, input_ext: str, transcription_ext: str) -> dict[str, tuple]:
    """Walks `directory` for transcript files: {root/utt_id: (utt_id, media path, text)}.

    A file whose name contains `transcription_ext` holds "utt_id text" lines; the media
    file is `utt_id.input_ext` beside it (T2T's `_collect_data`).

    Raises:
        DataError: an utterance id appears twice.
    """
    data_files: dict[str, tuple] = {}
    for root, _, filenames in os.walk(directory):
        for transcript in sorted(f for f in filenames if transcription_ext in f):
            with open(os.path.join(root, transcript), encoding="utf-8") as f:
                for line in f:
                    parts = line.strip().split(" ", 1)
                    if len(parts) != 2:
                        continue
                    media_base, label = parts
                    key = os.path.join(root, media_base)
                    if key in data_files:
                        raise DataError(f"{transcript}: utterance {media_base} appears twice")
                    media_path = os.path.join(root, f"{media_base}.{input_ext}")
                    data_files[key] = (media_base, media_path, label)
    return data_files


def _extract_new_members(archive: str, tmp_dir: str) -> None:
    """Extracts the members not yet in tmp_dir (T2T skips files already there)."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = [m for m in tar if not os.path.isfile(os.path.join(tmp_dir, m.name))]
    except (tarfile.ReadError, EOFError) as error:
        raise DataError(
            f"{archive}: damaged archive ({error}); delete it to download again"
        ) from None
    if members:
        safe_extract.extract_tar(archive, tmp_dir, members)


@registry.register_problem
class Librispeech(SpeechRecognitionProblem):
    """LibriSpeech, clean and noisy (960 h of training audio)."""

    TRAIN_DATASETS: Datasets = _TRAIN
    DEV_DATASETS: Datasets = _DEV
    TEST_DATASETS: Datasets = _TEST

    num_train_shards = 100

    @property
    def num_shards(self) -> int:
        """100 training shards."""
        return self.num_train_shards

    @property
    def use_subword_tokenizer(self) -> bool:
        """False: character targets."""
        return False

    @property
    def use_train_shards_for_dev(self) -> bool:
        """False: dev comes from the dev archives."""
        return False

    def generator(
        self,
        data_dir: str,
        tmp_dir: str,
        datasets: Datasets,
        eos_list: list[int] | None = None,
        start_from: int = 0,
        how_many: int = 0,
    ) -> Iterator[dict[str, list]]:
        """The examples of `datasets` ((url, split) pairs), each split sorted by utterance id.

        Args:
            data_dir: unused (the encoders need no vocabulary).
            tmp_dir: where archives are downloaded (or placed) and extracted.
            datasets: the archives to read.
            eos_list: unused (T2T's signature).
            start_from: skip this many examples of each split.
            how_many: stop after this many examples in all (0: all).
        """
        del data_dir, eos_list
        count = 0
        for url, subdir in datasets:
            filename = os.path.basename(url)
            archive = generator_utils.maybe_download(tmp_dir, filename, url)
            _extract_new_members(archive, tmp_dir)
            raw_dir = os.path.join(tmp_dir, "LibriSpeech", subdir)
            pairs = sorted(collect_data(raw_dir, "flac", "txt").values())
            for utt_id, media_file, text in pairs[start_from:]:
                if how_many > 0 and count == how_many:
                    return
                count += 1
                example = self.example_from_sample(
                    {"audio": media_file, "transcript": text, "utt_id": utt_id}
                )
                example["spk_id"] = [utt_id.split("-")[0]]
                yield example

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Test shard first (final name), then train and dev, shuffled."""
        del task_id
        train_paths = self.training_filepaths(data_dir, self.num_shards, shuffled=False)
        dev_paths = self.dev_filepaths(data_dir, self.num_dev_shards, shuffled=False)
        test_paths = self.test_filepaths(data_dir, self.num_test_shards, shuffled=True)
        generator_utils.generate_files(
            self.generator(data_dir, tmp_dir, self.TEST_DATASETS), test_paths
        )
        generator_utils.generate_dataset_and_shuffle(
            self.generator(data_dir, tmp_dir, self.TRAIN_DATASETS),
            train_paths,
            self.generator(data_dir, tmp_dir, self.DEV_DATASETS),
            dev_paths,
        )


@registry.register_problem
class LibrispeechCleanSmall(Librispeech):
    """100 h of clean training audio; clean dev and test."""

    TRAIN_DATASETS = _TRAIN[:1]
    DEV_DATASETS = _DEV[:1]
    TEST_DATASETS = _TEST[:1]


@registry.register_problem
class LibrispeechClean(Librispeech):
    """460 h of clean training audio; clean dev and test."""

    TRAIN_DATASETS = _TRAIN[:2]
    DEV_DATASETS = _DEV[:1]
    TEST_DATASETS = _TEST[:1]


@registry.register_problem
class LibrispeechNoisy(Librispeech):
    """500 h of noisy ("other") training audio; noisy dev and test."""

    TRAIN_DATASETS = _TRAIN[2:]
    DEV_DATASETS = _DEV[1:]
    TEST_DATASETS = _TEST[1:]


class _TrainFullTestSubset(Librispeech):
    """Reads librispeech's train files and another problem's dev and test files."""

    EVAL_PROBLEM = "librispeech_clean"

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Generates nothing: its files are librispeech's and EVAL_PROBLEM's.

        Raises:
            DataError: always, naming the problems to generate.
        """
        raise DataError(
            f"{self.name} reads the files of other problems: generate librispeech and "
            f"{self.EVAL_PROBLEM} data (t2t-datagen --problem=librispeech, then "
            f"--problem={self.EVAL_PROBLEM}, same --data_dir)"
        )

    def filepattern(self, data_dir: str, mode: str, shard: int | None = None) -> str:
        """librispeech-train* (TRAIN), <EVAL_PROBLEM>-dev* (EVAL, PREDICT), -test* (TEST)."""
        shard_str = f"-{shard:05d}" if shard is not None else ""
        if mode == Modes.TRAIN:
            name, suffix = "librispeech", "train"
        elif mode in (Modes.EVAL, Modes.PREDICT):
            name, suffix = self.EVAL_PROBLEM, "dev"
        elif mode == "test":
            name, suffix = self.EVAL_PROBLEM, "test"
        else:
            raise ValueError(f"unknown mode {mode!r}: use train, eval, infer or test")
        return f"{os.path.join(data_dir, name)}-{suffix}{shard_str}*"


@registry.register_problem
class LibrispeechTrainFullTestClean(_TrainFullTestSubset):
    """Train on all 960 h, evaluate on clean data."""

    EVAL_PROBLEM = "librispeech_clean"


@registry.register_problem
class LibrispeechTrainFullTestOther(_TrainFullTestSubset):
    """Train on all 960 h, evaluate on noisy ("other") data."""

    EVAL_PROBLEM = "librispeech_noisy"
