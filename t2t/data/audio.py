"""Reading audio files as T2T's speech problems see them: 16 kHz mono, int16 steps.

    samples = read_audio("1272-128104-0000.flac")     # float32 [N] in [-1, 1]

T2T converted every file with `sox --rate 16k --bits 16 --channel 1` to a wav beside it,
read the int16 samples and divided them by 32767 (int16's max). Here, with kept libraries
and no temporary files: `soundfile` (libsndfile) decodes wav, flac, ogg and (libsndfile >=
1.1) mp3; channels are averaged to mono (sox's mix-down); `soxr` (libsoxr, the resampler
sox itself uses, at its default high quality) converts other rates to 16 kHz; samples are
rounded to int16 steps and divided by 32767. A 16-bit 16 kHz mono file - all of
LibriSpeech - gives exactly T2T's values. Departure: sox adds TPDF dither when it reduces a
file's bit depth; we round, so files of more than 16 bits differ by under one step.

Both libraries come with the `audio` extra (`pip install t2t[audio]`).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from t2t.errors import DataError, MissingExtraError

INT16_MAX = 32767  # T2T divides by np.iinfo(np.int16).max


def _soundfile() -> Any:
    try:
        import soundfile
    except ImportError:
        raise MissingExtraError(
            "reading audio needs the soundfile package: pip install t2t[audio]"
        ) from None
    return soundfile


def _resample(samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    try:
        import soxr
    except ImportError:
        raise MissingExtraError(
            f"resampling {rate} Hz audio to {target_rate} Hz needs the soxr package: "
            "pip install t2t[audio]"
        ) from None
    return soxr.resample(samples, rate, target_rate)


def to_int16_steps(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) -> float32 multiples of 1/32767, as T2T stored them."""
    steps = np.clip(np.round(samples * INT16_MAX), -INT16_MAX - 1, INT16_MAX)
    return (steps / INT16_MAX).astype(np.float32)


def read_audio(path: str, sample_rate: int = 16000) -> np.ndarray:
    """Decodes an audio file to T2T's waveform: mono, `sample_rate` Hz, int16 steps.

    Args:
        path: a wav, flac, ogg (or mp3) file.
        sample_rate: the rate to resample to (T2T's audio_sample_rate).

    Returns:
        float32 [N], samples / 32767.

    Raises:
        DataError: the file is missing or cannot be decoded.
        MissingExtraError: soundfile (or soxr, when resampling) is not installed.
    """
    soundfile = _soundfile()
    if not os.path.isfile(path):
        raise DataError(f"audio file {path} does not exist")
    try:
        info = soundfile.info(path)
        if info.channels == 1 and info.samplerate == sample_rate and info.subtype == "PCM_16":
            data = soundfile.read(path, dtype="int16", always_2d=False)[0]
            return (data.astype(np.float32) / INT16_MAX).astype(np.float32)
        data, rate = soundfile.read(path, dtype="float64", always_2d=True)  # [N, channels]
    except (RuntimeError, soundfile.LibsndfileError) as error:
        raise DataError(f"cannot decode audio file {path}: {error}") from None
    mono = data.mean(axis=1)
    if rate != sample_rate:
        mono = _resample(mono, rate, sample_rate)
    # libsndfile scales int16 by 1/32768; sox's int16 steps are what T2T divides by 32767.
    return to_int16_steps(mono * (32768.0 / INT16_MAX if info.subtype == "PCM_16" else 1.0))


def write_audio(path: str, samples: np.ndarray, sample_rate: int = 16000) -> None:
    """Writes float samples (full scale 1.0) as 16-bit PCM; the format follows the suffix
    (.wav, .flac, ...)."""
    soundfile = _soundfile()
    steps = np.clip(np.round(np.asarray(samples) * INT16_MAX), -INT16_MAX - 1, INT16_MAX)
    soundfile.write(path, steps.astype(np.int16), sample_rate, subtype="PCM_16")


class AudioEncoder:
    """T2T's `audio_encoder.AudioEncoder`: a file path <-> its waveform samples.

    Args:
        num_reserved_ids: must be 0 (as in T2T).
        sample_rate: the rate files are converted to.
    """

    def __init__(self, num_reserved_ids: int = 0, sample_rate: int = 16000) -> None:
        if num_reserved_ids != 0:
            raise ValueError("AudioEncoder reserves no ids: num_reserved_ids must be 0")
        self._sample_rate = sample_rate

    @property
    def num_reserved_ids(self) -> int:
        """0: waveform samples are not ids."""
        return 0

    @property
    def vocab_size(self) -> int:
        """256, the value T2T declares (unused: samples are floats)."""
        return 256

    def encode(self, s: str) -> list[float]:
        """The samples of the audio file at path `s` (see `read_audio`)."""
        return read_audio(s, self._sample_rate).tolist()

    def decode(self, ids: Any) -> str:
        """Writes samples to a temporary .wav file and returns its path."""
        handle, path = tempfile.mkstemp(suffix=".wav")
        os.close(handle)
        write_audio(path, np.asarray(ids, dtype=np.float64), self._sample_rate)
        return path

    def decode_list(self, ids: Any) -> list[str]:
        """[decode(ids)], as T2T."""
        return [self.decode(ids)]
