"""Reading audio files as T2T's sox conversion gave them: 16 kHz mono, samples / 32767."""

import numpy as np
import pytest

soundfile = pytest.importorskip("soundfile")

from t2t.data import audio  # noqa: E402
from t2t.errors import DataError  # noqa: E402


def _int16_tone(n: int, rate: int = 16000) -> np.ndarray:
    t = np.arange(n) / rate
    return np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


@pytest.mark.parametrize("suffix", ["wav", "flac"])
def test_16k_mono_16bit_is_int16_over_32767(tmp_path, suffix):
    steps = _int16_tone(1600)
    path = str(tmp_path / f"a.{suffix}")
    soundfile.write(path, steps, 16000, subtype="PCM_16")
    samples = audio.read_audio(path)
    assert samples.dtype == np.float32
    np.testing.assert_array_equal(samples, (steps.astype(np.float32) / 32767).astype(np.float32))


def test_stereo_is_averaged_and_other_rates_resampled(tmp_path):
    rate = 44100
    t = np.arange(rate // 2) / rate  # 0.5 s
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = str(tmp_path / "stereo.wav")
    soundfile.write(path, np.stack([left, np.zeros_like(left)], axis=1), rate, subtype="FLOAT")
    samples = audio.read_audio(path)
    assert abs(len(samples) - 8000) <= 1
    # averaged channels: amplitude 0.25; the 440 Hz tone survives the resampling
    assert 0.24 < np.abs(samples[1000:7000]).max() < 0.26
    spectrum = np.abs(np.fft.rfft(samples[:8000]))
    assert abs(np.argmax(spectrum) * 16000 / 8000 - 440) <= 2
    np.testing.assert_array_equal(samples * 32767, np.round(samples * 32767))


def test_audio_encoder_round_trip(tmp_path):
    encoder = audio.AudioEncoder()
    samples = (_int16_tone(800) / 32767).tolist()
    path = encoder.decode(samples)
    np.testing.assert_allclose(encoder.encode(path), samples, atol=1e-7)
    assert encoder.vocab_size == 256 and encoder.num_reserved_ids == 0


def test_missing_or_bad_files_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        audio.read_audio(str(tmp_path / "missing.flac"))
    bad = tmp_path / "bad.flac"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(DataError, match="cannot decode"):
        audio.read_audio(str(bad))
