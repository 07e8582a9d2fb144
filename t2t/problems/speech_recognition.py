"""Speech recognition problems: audio in, characters out (T2T's `speech_recognition.py`).

`SpeechRecognitionProblem` is T2T's base: targets are UTF-8 bytes + 2 with EOS (vocab 256 as
T2T declares), inputs use the speech_recognition modality, and `preprocess_example` turns the
stored `waveforms` into normalised log-mel filterbanks (+ deltas) with 250 zero frames, or
passes the waveform on to the bottom (`audio_preproc_in_bottom`). Evaluation adds edit
distance and word error rate.

For your own audio and transcripts, subclass it and register it (in a `--t2t_usr_dir`):

    @registry.register_problem
    class MySpeech(SpeechRecognitionProblem):
        pass

and put manifests in --tmp_dir: `train.tsv`, `dev.tsv` (and optionally `test.tsv`), one
utterance a line, `path<TAB>transcript` (paths relative to the manifest). Or override
`generate_samples` to yield {"audio": path, "transcript": text} from anywhere.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from t2t.data import text_encoder
from t2t.data.audio import AudioEncoder, read_audio
from t2t.errors import DataError
from t2t.hparams import HParams
from t2t.layers.audio import utterance_features
from t2t.modalities.names import ModalityType
from t2t.modalities.speech_recognition import audio_config
from t2t.problems import generator_utils
from t2t.problems.problem import (
    DatasetSplit,
    Metrics,
    Modes,
    Problem,
    SpaceID,
    VarLenFeature,
    preprocess_example_common,
)

log = logging.getLogger(__name__)

# What T2T's SpeechRecognitionProblem adds to model hparams when they lack it.
AUDIO_HPARAMS = {
    "audio_preproc_in_bottom": False,
    "audio_keep_example_waveforms": False,
    "audio_sample_rate": 16000,
    "audio_preemphasis": 0.97,
    "audio_dither": 1.0 / 32767,
    "audio_frame_length": 25.0,
    "audio_frame_step": 10.0,
    "audio_lower_edge_hertz": 20.0,
    "audio_upper_edge_hertz": 8000.0,
    "audio_num_mel_bins": 80,
    "audio_add_delta_deltas": True,
    "num_zeropad_frames": 250,
}


class ByteTextEncoderWithEos(text_encoder.ByteTextEncoder):
    """Each UTF-8 byte + 2, then EOS (T2T's speech targets)."""

    def encode(self, s: str) -> list[int]:
        """Byte ids of `s` followed by EOS (1)."""
        return super().encode(s) + [text_encoder.EOS_ID]


def add_audio_hparams(model_hparams: Any) -> None:
    """Adds T2T's audio_* hparams (and num_zeropad_frames) that `model_hparams` lacks."""
    for name, value in AUDIO_HPARAMS.items():
        if getattr(model_hparams, name, None) is not None:
            continue
        if hasattr(model_hparams, "add_hparam"):
            model_hparams.add_hparam(name, value)
        else:
            setattr(model_hparams, name, value)


def _dither_generator(waveform: np.ndarray) -> torch.Generator:
    """A generator seeded by the waveform's bytes: the pipeline stays a function of its seed
    (T2T drew fresh dither each time; here an utterance keeps its dither across epochs)."""
    return torch.Generator().manual_seed(zlib.crc32(waveform.tobytes()))


def waveform_to_inputs(waveform: np.ndarray, hparams: Any) -> np.ndarray:
    """The "inputs" feature of one utterance as the model hparams ask for it.

    Args:
        waveform: float32 [N] samples.
        hparams: model hparams with the audio_* values (T2T's defaults where missing).

    Returns:
        [N, 1, 1] waveform when `audio_preproc_in_bottom`, else filterbanks
        [T + num_zeropad_frames, num_mel_bins, channels] float32.
    """
    waveform = np.asarray(waveform, dtype=np.float32)
    if getattr(hparams, "audio_preproc_in_bottom", False):
        return waveform[:, None, None]
    config = audio_config(hparams)
    generator = _dither_generator(waveform) if config.dither > 0 else None
    with torch.no_grad():
        features = utterance_features(torch.from_numpy(waveform), config, generator)
    return features.numpy()


class SpeechRecognitionProblem(Problem):
    """Base class of speech recognition problems (T2T's), plus a manifest-reading datagen."""

    # Shards written by the default generate_data (train, dev, test).
    num_train_shards = 10
    num_dev_shards = 1
    num_test_shards = 1

    def hparams(self, defaults: HParams, model_hparams: Any) -> None:
        """Speech inputs, 256 byte targets, AUDIO_SPECTRAL -> EN_CHR; adds audio_* hparams."""
        add_audio_hparams(model_hparams)
        defaults.modality = {
            "inputs": ModalityType.SPEECH_RECOGNITION,
            "targets": ModalityType.SYMBOL,
        }
        defaults.vocab_size = {"inputs": None, "targets": 256}
        defaults.input_space_id = self.input_space_id
        defaults.target_space_id = self.target_space_id

    @property
    def is_character_level(self) -> bool:
        """True: targets are bytes."""
        return True

    @property
    def input_space_id(self) -> int:
        """SpaceID.AUDIO_SPECTRAL."""
        return SpaceID.AUDIO_SPECTRAL

    @property
    def target_space_id(self) -> int:
        """SpaceID.EN_CHR."""
        return SpaceID.EN_CHR

    def feature_encoders(self, data_dir: str | None) -> dict[str, Any]:
        """inputs None (floats, not text), waveforms AudioEncoder, targets bytes + EOS."""
        del data_dir
        return {"inputs": None, "waveforms": AudioEncoder(), "targets": ByteTextEncoderWithEos()}

    def example_reading_spec(self) -> tuple[dict[str, Any], None]:
        """waveforms float32 and targets int64, both variable-length."""
        return {"waveforms": VarLenFeature(np.float32), "targets": VarLenFeature(np.int64)}, None

    def preprocess_example(self, example: dict, mode: str, hparams: Any) -> Any:
        """waveforms -> inputs (`waveform_to_inputs`), then T2T's common preprocessing."""
        example["inputs"] = waveform_to_inputs(example["waveforms"], hparams)
        if not getattr(hparams, "audio_keep_example_waveforms", False):
            del example["waveforms"]
        return preprocess_example_common(example, mode, hparams)

    def input_features_from_line(self, line: str, hparams: Any) -> np.ndarray:
        """Decoding from a file: `line` is an audio file's path -> its "inputs" feature.

        The file is read as at datagen (`read_audio`) and preprocessed as in the pipeline
        (features, then `max_input_seq_length`).

        Raises:
            DataError: the file is missing or cannot be decoded.
        """
        path = os.path.expanduser(line.strip())
        waveform = read_audio(path, sample_rate=audio_config(hparams).sample_rate)
        example = {"inputs": waveform_to_inputs(waveform, hparams)}
        return preprocess_example_common(example, Modes.PREDICT, hparams)["inputs"]

    def eval_metrics(self) -> list[str]:
        """The default metrics, edit distance and word error rate."""
        return super().eval_metrics() + [Metrics.EDIT_DISTANCE, Metrics.WORD_ERROR_RATE]

    # ---- datagen from (audio, transcript) pairs --------------------------------------

    def generate_samples(
        self, data_dir: str, tmp_dir: str, dataset_split: str
    ) -> Iterator[dict[str, str]]:
        """{"audio": path, "transcript": text} of a split, from `tmp_dir/<split>.tsv`.

        Each manifest line is `path<TAB>transcript`; a relative path is relative to the
        manifest. The split names are train, dev and test.

        Raises:
            DataError: the manifest is missing or a line has no tab.
        """
        del data_dir
        name = {DatasetSplit.TRAIN: "train", DatasetSplit.EVAL: "dev"}.get(dataset_split, "test")
        manifest = os.path.join(tmp_dir, f"{name}.tsv")
        if not os.path.isfile(manifest):
            raise DataError(
                f"{self.name}: {manifest} is missing; write one line per utterance, "
                "'path<TAB>transcript', or override generate_samples"
            )
        with open(manifest, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                if "\t" not in line:
                    raise DataError(f"{manifest}:{number}: expected 'path<TAB>transcript'")
                path, transcript = line.rstrip("\n").split("\t", 1)
                yield {"audio": os.path.join(tmp_dir, path), "transcript": transcript.strip()}

    def example_from_sample(self, sample: dict[str, str]) -> dict[str, list]:
        """T2T's stored features of one utterance: waveforms, waveform_lens, targets,
        raw_transcript, utt_id, spk_id (ids default to the file's name and "0")."""
        encoders = self.get_feature_encoders()
        waveform = encoders["waveforms"].encode(sample["audio"])
        utt_id = sample.get("utt_id") or os.path.splitext(os.path.basename(sample["audio"]))[0]
        return {
            "waveforms": waveform,
            "waveform_lens": [len(waveform)],
            "targets": encoders["targets"].encode(sample["transcript"]),
            "raw_transcript": [sample["transcript"]],
            "utt_id": [utt_id],
            "spk_id": [sample.get("spk_id") or "0"],
        }

    def _examples(self, data_dir: str, tmp_dir: str, split: str) -> Iterator[dict[str, list]]:
        for sample in self.generate_samples(data_dir, tmp_dir, split):
            yield self.example_from_sample(sample)

    def generate_data(self, data_dir: str, tmp_dir: str, task_id: int = -1) -> None:
        """Writes shuffled train and dev shards (and test, when `test.tsv` exists)."""
        del task_id
        train = self.training_filepaths(data_dir, self.num_train_shards, shuffled=False)
        dev = self.dev_filepaths(data_dir, self.num_dev_shards, shuffled=False)
        generator_utils.generate_dataset_and_shuffle(
            self._examples(data_dir, tmp_dir, DatasetSplit.TRAIN),
            train,
            self._examples(data_dir, tmp_dir, DatasetSplit.EVAL),
            dev,
        )
        if os.path.isfile(os.path.join(tmp_dir, "test.tsv")):
            test = self.test_filepaths(data_dir, self.num_test_shards, shuffled=True)
            generator_utils.generate_files(
                self._examples(data_dir, tmp_dir, DatasetSplit.TEST), test
            )
