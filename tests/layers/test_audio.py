"""Speech features and the speech bottom equal T2T 1.15.7's on fixed waveforms.

The goldens (tests/golden/audio/audio_goldens.npz) were made by running the original's
`common_audio.compute_mel_filterbank_features`, `add_delta_deltas`,
`SpeechRecognitionProblem.preprocess_example` and `modalities.speech_recognition_bottom`
(with its variables set to stored values) under TensorFlow 1.15, dither 0:
tests/golden/audio/make_audio_feature_goldens.py.
"""

import os

import numpy as np
import pytest
import torch

from t2t.layers import audio
from t2t.modalities.speech_recognition import SpeechRecognitionBottom

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "golden", "audio", "audio_goldens.npz")
CONFIG = audio.AudioFeatureConfig(dither=0.0)


@pytest.fixture(scope="module")
def golden():
    return dict(np.load(GOLDEN))


def _close(ours: np.ndarray, expected: np.ndarray, worst: float, mean: float = 1e-5) -> None:
    """Equal up to float32 rounding, as it shows through a log.

    Frames near the log floor (mel energy ~1e-3 of a signal whose FFT peaks near 100) carry
    FFT rounding of ~1e-6 relative to the peak: a few 1e-3 after the log. So a few cells
    may differ by `worst`; on average they must agree to `mean`.
    """
    assert ours.shape == expected.shape
    diff = np.abs(ours.astype(np.float64) - expected)
    assert diff.max() <= worst, f"max difference {diff.max()}"
    assert diff.mean() <= mean, f"mean difference {diff.mean()}"


def _batch(golden) -> torch.Tensor:
    waves = [golden[f"wave_{i}"] for i in range(3)]
    batch = np.zeros((3, max(len(w) for w in waves)), np.float32)
    for i, w in enumerate(waves):
        batch[i, : len(w)] = w
    return torch.from_numpy(batch)


@pytest.mark.parametrize("apply_mask, key", [(False, "fbank_nomask"), (True, "fbank_mask")])
def test_filterbanks_equal_t2t(golden, apply_mask, key):
    ours = audio.mel_filterbanks(_batch(golden), CONFIG, apply_mask=apply_mask).numpy()
    _close(ours, golden[key], worst=1e-2, mean=3e-5)
    # In the mel domain the two agree to float32 rounding of the spectrum.
    np.testing.assert_allclose(np.exp(ours), np.exp(golden[key]), rtol=1e-4, atol=1e-5)


def test_delta_deltas_equal_t2t(golden):
    fbanks = torch.from_numpy(golden["fbank_mask"])
    ours = audio.add_delta_deltas(fbanks).numpy()
    np.testing.assert_allclose(ours, golden["deltas_mask"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_utterance_features_equal_preprocess_example(golden, index):
    wave = torch.from_numpy(golden[f"wave_{index}"])
    ours = audio.utterance_features(wave, CONFIG).numpy()
    expected = golden[f"inputs_{index}"]
    assert ours.shape == expected.shape  # [T + 250, 80, 3]
    assert not ours[-250:].any()
    _close(ours, expected, worst=5e-2, mean=1e-4)


def _t2t_variables(golden) -> dict[str, torch.Tensor]:
    """The values the golden script gave T2T's bottom variables, drawn again in its order."""
    rng = np.random.RandomState(1)
    shapes = {
        "conv2d/kernel": (3, 3, 3, 128),
        "conv2d_1/kernel": (3, 3, 128, 128),
        "conv2d_2/kernel": (3, 19, 128, 16),
    }
    values: dict[str, torch.Tensor] = {}
    for name in golden["var_names"]:
        short = str(name).split("speech_recognition_modality/")[1]
        depth = 16 if short.startswith("layer_norm_2") else 128
        shape = shapes.get(short, (depth,))
        value = rng.uniform(-0.2, 0.2, size=shape).astype(np.float32)
        values[short] = torch.from_numpy(value + (1.0 if "scale" in short else 0.0))
    return values


def _load_t2t_bottom(golden) -> SpeechRecognitionBottom:
    bottom = SpeechRecognitionBottom(CONFIG, hidden_size=16, preproc_in_bottom=True)
    variables = _t2t_variables(golden)
    for i, suffix in enumerate(["", "_1", "_2"], start=1):
        kernel = variables[f"conv2d{suffix}/kernel"]  # TF layout [kh, kw, in, out]
        getattr(bottom, f"conv{i}").weight.data = kernel.permute(3, 2, 0, 1).contiguous()
        norm = getattr(bottom, f"norm{i}")
        norm.scale.data = variables[f"layer_norm{suffix}/layer_norm_scale"]
        norm.bias.data = variables[f"layer_norm{suffix}/layer_norm_bias"]
    return bottom


def test_bottom_normalisation_equals_t2t(golden):
    bottom = _load_t2t_bottom(golden)
    ours = bottom.features(_batch(golden)[:, :, None, None]).numpy()
    expected = golden["bottom_normalized"]
    # T2T's batch-wide divisor leaves a tiny variance, so values are ~100s: compare relative.
    scale = np.abs(expected).mean()
    assert scale > 10
    _close(ours / scale, expected / scale, worst=1e-2, mean=1e-5)


def test_bottom_output_equals_t2t(golden):
    bottom = _load_t2t_bottom(golden).eval()
    with torch.no_grad():
        ours = bottom(_batch(golden)[:, :, None, None]).numpy()  # [B, T', H]
    expected = golden["bottom_out"][:, :, 0, :]  # T2T keeps a unit dim: [B, T', 1, H]
    _close(ours, expected, worst=5e-2, mean=1e-4)


def test_features_run_batched_on_any_device_and_dither_is_random():
    waves = torch.randn(2, 4000) * 0.1
    config = audio.AudioFeatureConfig()
    gen1, gen2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    a = audio.batch_features(waves, config, gen1)
    b = audio.batch_features(waves, config, gen2)
    assert a.shape == (2, 25, 80, 3)
    assert not torch.equal(a, b)
    if torch.cuda.is_available():
        c = audio.batch_features(waves.cuda(), audio.AudioFeatureConfig(dither=0.0))
        d = audio.batch_features(waves, audio.AudioFeatureConfig(dither=0.0))
        torch.testing.assert_close(c.cpu(), d, atol=1e-3, rtol=1e-3)


def test_mel_matrix_rejects_edges_above_nyquist():
    with pytest.raises(ValueError, match="upper_edge_hertz"):
        audio.mel_weight_matrix(80, 257, 16000, 20.0, 9000.0)
