"""Tiny speech corpora for tests: synthesised audio in LibriSpeech's archive layout, or in
the manifest layout of a user's SpeechRecognitionProblem.

LibriSpeech archives are `<split>.tar.gz` holding `LibriSpeech/<split>/<spk>/<chapter>/`
with `<spk>-<chapter>-<nnnn>.flac` files and `<spk>-<chapter>.trans.txt`
("<utt_id> <TRANSCRIPT>" lines), as on openslr.org/12.
"""

import os
import tarfile

import numpy as np
import soundfile

SPLITS = (
    "train-clean-100", "train-clean-360", "train-other-500",
    "dev-clean", "dev-other", "test-clean", "test-other",
)  # fmt: skip
WORDS = "A CAT THE DOG RUNS OVER GREEN RIVER SMALL TREE".split()


def utterance(seed: int, seconds: float = 0.25, rate: int = 16000) -> np.ndarray:
    """int16 samples: a sine sweep whose range depends on `seed`, plus a little noise."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * rate)) / rate
    start = 200 + 100 * (seed % 7)
    sweep = 0.3 * np.sin(2 * np.pi * (start * t + 800 * t**2))
    noise = rng.uniform(-0.01, 0.01, size=t.shape)
    return np.round((sweep + noise) * 32767).astype(np.int16)


def transcript(seed: int) -> str:
    """A short deterministic upper-case transcript."""
    return " ".join(WORDS[(seed * 3 + k) % len(WORDS)] for k in range(1 + seed % 3))


def split_utterances(split: str) -> list[tuple[str, int]]:
    """(utt_id, seed) of a split: 2 speakers x 1 chapter x 2 utterances."""
    base = SPLITS.index(split) * 10
    speakers = [(base + 100, 7), (base + 101, 9)]
    return [
        (f"{spk}-{chapter}-{n:04d}", base + 2 * i + n)
        for i, (spk, chapter) in enumerate(speakers)
        for n in range(2)
    ]


def write_librispeech_archive(tmp_dir: str, split: str) -> dict[str, tuple[np.ndarray, str]]:
    """Writes tmp_dir/<split>.tar.gz; returns {utt_id: (int16 samples, transcript)}."""
    staging = os.path.join(tmp_dir, "staging")
    written = {}
    chapters: dict[str, list[str]] = {}
    for utt_id, seed in split_utterances(split):
        spk, chapter, _ = utt_id.split("-")
        directory = os.path.join(staging, "LibriSpeech", split, spk, chapter)
        os.makedirs(directory, exist_ok=True)
        samples = utterance(seed, seconds=0.2 + 0.05 * (seed % 3))
        soundfile.write(os.path.join(directory, f"{utt_id}.flac"), samples, 16000)
        text = transcript(seed)
        chapters.setdefault(directory, []).append(f"{utt_id} {text}")
        written[utt_id] = (samples, text)
    for directory, lines in chapters.items():
        spk, chapter = directory.split(os.sep)[-2:]
        with open(os.path.join(directory, f"{spk}-{chapter}.trans.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    with tarfile.open(os.path.join(tmp_dir, f"{split}.tar.gz"), "w:gz") as tar:
        tar.add(os.path.join(staging, "LibriSpeech", split), f"LibriSpeech/{split}")
    return written


def write_all_librispeech(tmp_dir: str) -> dict[str, dict[str, tuple[np.ndarray, str]]]:
    """Every split's archive in tmp_dir: {split: {utt_id: (samples, transcript)}}."""
    return {split: write_librispeech_archive(tmp_dir, split) for split in SPLITS}


def write_manifest_corpus(tmp_dir: str, sizes=(("train", 6), ("dev", 2))) -> dict:
    """wav files and `<split>.tsv` manifests (path<TAB>transcript): {split: [(path, text)]}."""
    corpus = {}
    os.makedirs(os.path.join(tmp_dir, "wavs"), exist_ok=True)
    seed = 0
    for split, count in sizes:
        rows = []
        for _ in range(count):
            path = os.path.join("wavs", f"{split}{seed}.wav")
            soundfile.write(os.path.join(tmp_dir, path), utterance(seed), 16000)
            rows.append((path, transcript(seed)))
            seed += 1
        with open(os.path.join(tmp_dir, f"{split}.tsv"), "w") as f:
            f.writelines(f"{path}\t{text}\n" for path, text in rows)
        corpus[split] = rows
    return corpus
