"""The speech_recognition modality and the ASR hparams sets on speech inputs.

The conv stack's values equal T2T's: tests/layers/test_audio.py::test_bottom_output_equals_t2t.
"""

import pytest
import torch

from t2t import registry
from t2t.decode import protocol
from t2t.layers.audio import AudioFeatureConfig
from t2t.modalities.names import ModalityType
from t2t.modalities.speech_recognition import SpeechRecognitionBottom, audio_config
from t2t.runs.build import create_model

TINY = {
    "transformer": "hidden_size=16,filter_size=32,num_heads=2,num_encoder_layers=1,"
    "num_decoder_layers=1",
    "lstm_seq2seq_attention": "hidden_size=16,num_hidden_layers=1",
}


def test_registered_under_t2t_s_name():
    modality = registry.Registries.modalities[ModalityType.SPEECH_RECOGNITION]
    assert modality().scope_name(None, None) == "speech_recognition_modality"


@pytest.mark.parametrize("frames", [1, 7, 8, 9, 33])
def test_bottom_shortens_time_four_times(frames):
    bottom = SpeechRecognitionBottom(AudioFeatureConfig(), hidden_size=8)
    out = bottom(torch.randn(2, frames, 80, 3))
    # pad 8, two VALID 3x3 convs of stride 2, pad 2 and a VALID height-3 conv
    t = (((frames + 8 - 3) // 2 + 1) - 3) // 2 + 1
    assert out.shape == (2, t, 8)
    assert (out >= 0).all()  # ends in a ReLU


def test_bottom_without_deltas_and_fewer_bins():
    config = AudioFeatureConfig(num_mel_bins=40, add_delta_deltas=False)
    bottom = SpeechRecognitionBottom(config, hidden_size=8)
    assert bottom.conv1.in_channels == 1 and bottom.conv3.kernel_size == (3, 9)
    assert bottom(torch.randn(1, 20, 40, 1)).shape == (1, 6, 8)


def test_conv_kernels_use_tf_s_fans():
    bottom = SpeechRecognitionBottom(AudioFeatureConfig(), hidden_size=64)
    # uniform_unit_scaling, gain 1: limit sqrt(3 / fan_avg), fans count the 3x3 field
    limit = (3.0 / ((9 * 128 + 9 * 128) / 2)) ** 0.5
    weight = bottom.conv2.weight
    assert weight.abs().max() <= limit and weight.abs().max() > 0.9 * limit
    assert bottom.conv1.bias is None


def test_audio_config_reads_the_audio_hparams():
    hparams = registry.hparams("transformer_librispeech_v1")
    hparams.add_hparam("audio_num_mel_bins", 40)
    hparams.add_hparam("audio_dither", 0.0)
    config = audio_config(hparams)
    assert (config.num_mel_bins, config.dither, config.frame_step) == (40, 0.0, 10.0)


@pytest.mark.parametrize(
    "model, hparams_set",
    [("transformer", "transformer_librispeech_v1"), ("lstm_seq2seq_attention", "lstm_asr_v1")],
)
def test_models_train_and_decode_on_filterbank_inputs(model, hparams_set):
    torch.manual_seed(0)
    net = create_model(model, hparams_set, problem="librispeech_clean_small", hparams=TINY[model])
    inputs = torch.randn(2, 40, 80, 3)
    inputs[1, 30:] = 0  # a shorter utterance, zero-padded
    targets = torch.randint(2, 200, (2, 6))
    logits, losses = net({"inputs": inputs, "targets": targets})
    assert logits.shape == (2, 6, 256)
    losses["training"].backward()
    assert net.bottoms["inputs"].conv1.weight.grad.abs().sum() > 0
    net.eval()
    out = protocol.infer(net, {"inputs": inputs}, decode_length=4, beam_size=1)
    # greedy: each step's argmax equals the full forward pass on the decoded prefix
    decoded = out["outputs"][:, :4]
    with torch.no_grad():
        full, _ = net({"inputs": inputs, "targets": decoded})
    assert torch.equal(full.argmax(-1)[:, :4], decoded)


def test_transformer_librispeech_runs_with_its_conv_relu_conv_ffn():
    hparams = registry.hparams("transformer_librispeech")
    assert (hparams.ffn_layer, hparams.conv_first_kernel, hparams.hidden_size) == (
        "conv_relu_conv",
        9,
        384,
    )
    torch.manual_seed(0)
    net = create_model(
        "transformer", "transformer_librispeech", problem="librispeech_clean_small",
        hparams="hidden_size=16,filter_size=32,num_encoder_layers=1,num_decoder_layers=1",
    )  # fmt: skip
    logits, losses = net({"inputs": torch.randn(1, 24, 80, 3), "targets": torch.tensor([[9, 1]])})
    assert logits.shape == (1, 2, 256) and torch.isfinite(losses["training"])
