"""The convolutional zoo: Neural GPU, diagonal Neural GPU, ByteNet, SliceNet, and the
Evolved Transformer.

Parameter counts are pinned to T2T 1.15.7's, measured by
tests/golden/models/make_zoo_conv_param_counts.py (the original's graphs built on
`test_problem_hparams(35, 35)`, tf.trainable_variables counted) into
zoo_conv_param_counts.json. Forward/backward runs on every registered set of each family,
scaled down.
"""

import json
import pathlib

import pytest
import torch

import t2t
from t2t import registry
from t2t.decode import protocol
from t2t.hparams import HParams
from t2t.layers import conv_gru, convolutions

GOLDEN = pathlib.Path(__file__).parent.parent / "golden" / "models" / "zoo_conv_param_counts.json"
FAMILIES = {
    "neural_gpu": "neural_gpu",
    "diagonal_neural_gpu": "neural_gpu",
    "byte_net": "bytenet",
    "slice_net": "slicenet",
    "evolved_transformer": "evolved_transformer",
}
CASES = [(m, s) for m, prefix in FAMILIES.items() for s in registry.list_hparams(prefix)]
# Scaled down; SliceNet needs a depth its separabilities (-3, -2, 4) and 8 heads divide.
TINY = {
    "neural_gpu": "hidden_size=12,num_hidden_layers=2",
    "diagonal_neural_gpu": "hidden_size=12,num_hidden_layers=2",
    "byte_net": "hidden_size=8,num_hidden_layers=2,num_block_repeat=2",
    "slice_net": "hidden_size=48,num_hidden_layers=1",
    "evolved_transformer": "hidden_size=16,filter_size=32,num_heads=2,"
    "num_encoder_layers=2,num_decoder_layers=2",
}


def problem(vocab: int = 11, inputs: bool = True) -> HParams:
    names = ("inputs", "targets") if inputs else ("targets",)
    return HParams(
        modality={name: "symbol" for name in names},
        vocab_size={name: vocab for name in names},
        target_space_id=1,
    )


INPUTS = torch.tensor([[5, 6, 7, 8, 1], [8, 9, 1, 0, 0]])
TARGETS = torch.tensor([[8, 7, 6, 5, 1, 0], [9, 8, 1, 0, 0, 0]])


def tiny_model(model: str, hparams_set: str):
    torch.manual_seed(0)
    return t2t.create_model(model, hparams_set, hparams=TINY[model], problem_hparams=problem())


def test_cases_cover_every_set():
    assert len(CASES) >= 6
    assert {"slicenet_1", "slicenet_1noam", "slicenet_1tiny", "bytenet_base"} <= {
        s for _, s in CASES
    }


@pytest.mark.parametrize("key", sorted(json.loads(GOLDEN.read_text())["counts"]))
def test_parameter_counts_equal_t2t(key, monkeypatch):
    golden = json.loads(GOLDEN.read_text())
    model_name, set_name = key.split("/")
    if model_name not in registry.list_models():
        pytest.skip(f"{model_name} is not in this checkout")
    vocab = golden["vocab_size"]
    hparams = registry.hparams(set_name)
    model_class = registry.model(model_name)
    # counting only: skip the (slow) initialization
    monkeypatch.setattr(model_class, "initialize_parameters", lambda self: None)
    model = model_class(hparams, problem(vocab))
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert count == golden["counts"][key]


@pytest.mark.parametrize("model_name, hparams_set", CASES)
def test_forward_backward(model_name, hparams_set):
    model = tiny_model(model_name, hparams_set)
    logits, losses = model({"inputs": INPUTS, "targets": TARGETS})
    assert logits.shape == (2, 6, 11)
    assert torch.isfinite(losses["training"])
    sum(v for k, v in losses.items() if k in ("training", "extra")).backward()
    unused = set()
    if model_name.endswith("neural_gpu"):  # reads no targets; T2T builds their embedding too
        unused = {id(p) for n, p in model.named_parameters() if n.endswith("_target_emb")}
    trainable = [p for p in model.parameters() if p.requires_grad and id(p) not in unused]
    assert all(p.grad is not None for p in trainable)


@pytest.mark.parametrize("model_name", ["neural_gpu", "diagonal_neural_gpu"])
def test_neural_gpu_cached_decoding_equals_slow_path(model_name):
    model = tiny_model(model_name, "neural_gpu").eval()
    assert protocol.implements_protocol(model)
    for beam_size, top_beams in [(1, 1), (3, 2)]:
        features = {"inputs": INPUTS}
        fast = protocol.infer(model, features, 2, beam_size, top_beams, alpha=0.6)
        slow = protocol.slow_infer(model, features, 2, beam_size, top_beams, alpha=0.6)
        assert torch.equal(fast["outputs"], slow["outputs"])
        torch.testing.assert_close(fast["scores"], slow["scores"], atol=1e-5, rtol=1e-5)


def test_neural_gpu_padding_steps_are_no_ops():
    """A step at a padding position keeps the state (T2T's rule), while a real step
    updates every row, padded rows included (so outputs depend on the batch's padding)."""
    model = tiny_model("neural_gpu", "neural_gpu").eval()
    embedded = model.bottoms["inputs"](INPUTS[1:])  # [1, 5, 12]: 3 real positions, 2 PAD
    state = embedded.transpose(1, 2).unsqueeze(-1)  # [1, 12, 5, 1]
    for _ in range(3):  # the real steps only
        for cell in model.cells:
            state = cell(state)
    expected = state.squeeze(-1).transpose(1, 2)
    output = model.run(embedded)[0]
    torch.testing.assert_close(output, expected)
    assert torch.count_nonzero(output[0, 3:]) > 0  # padded rows were updated


def test_neural_gpu_extra_loss_and_first_step_output():
    model = tiny_model("diagonal_neural_gpu", "neural_gpu").eval()
    output, extra = model.run(model.bottoms["inputs"](INPUTS))
    assert output.shape == (2, 5, 12) and extra.dim() == 0 and extra >= 0


def test_left_padding_is_causal():
    torch.manual_seed(0)
    conv = convolutions.Conv2d(4, 4, (3, 1), dilation=(2, 1), padding="LEFT")
    x = torch.randn(1, 4, 7, 1)
    y = conv(x)
    x2 = x.clone()
    x2[:, :, 4:] = 5.0  # change the future
    assert y.shape == x.shape
    torch.testing.assert_close(conv(x2)[:, :, :4], y[:, :, :4])


def test_same_padding_puts_the_extra_row_after():
    """TF's SAME with an even kernel pads 0 before and 1 after (kernel 2)."""
    conv = convolutions.Conv2d(1, 1, (2, 1), bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, 10.0]).view(1, 1, 2, 1))
    x = torch.tensor([1.0, 2.0, 3.0]).view(1, 1, 3, 1)
    assert conv(x).flatten().tolist() == [21.0, 32.0, 3.0]


@pytest.mark.parametrize(
    "separability, expected",
    [
        (0, 3 * 8 + 8 * 8),  # separable: depthwise k·C_in + pointwise C_in·F
        (-2, 3 * 8 + 2 * (4 * 4)),  # two separable parts
        (2, 2 * (3 * 4 * 4) + 8 * 8 + 8),  # two conv parts, then a 1x1 conv with bias
        (1, 3 * 8 * 8),
    ],
)
def test_subseparable_parameter_counts(separability, expected):
    module = convolutions.subseparable_conv(8, 8, (3, 1), bias=False, separability=separability)
    assert sum(p.numel() for p in module.parameters()) == expected
    assert module(torch.randn(2, 8, 5, 1)).shape == (2, 8, 5, 1)


def test_diagonal_shift_moves_thirds_of_the_channels():
    x = torch.arange(1.0, 4.0).view(1, 1, 1, 3).expand(1, 6, 1, 3)  # columns 1, 2, 3
    shift = conv_gru.diagonal_shift_filter(6)
    y = torch.nn.functional.conv2d(x, shift, padding=(0, 1), groups=6)
    assert y[0, :2, 0].tolist() == [[1.0, 2.0, 3.0]] * 2  # kept
    assert y[0, 2:4, 0].tolist() == [[0.0, 1.0, 2.0]] * 2  # from the left
    assert y[0, 4:, 0].tolist() == [[2.0, 3.0, 0.0]] * 2  # from the right


def test_conv_kernels_start_with_tf_fans():
    """uniform_unit_scaling on a [3, 1, C, C] kernel: limit sqrt(3 / (3·C))."""
    torch.manual_seed(0)
    model = t2t.create_model(
        "neural_gpu",
        "neural_gpu",
        hparams="hidden_size=12,initializer=uniform_unit_scaling",
        problem_hparams=problem(),
    )
    weight = model.cells[0].candidate.weight  # [12, 12, 3, 1]
    assert weight.abs().max() <= (3.0 / (3 * 12)) ** 0.5
    assert weight.abs().max() > 0.9 * (3.0 / (3 * 12)) ** 0.5
    gates_bias = model.cells[0].gates.bias
    assert torch.all(gates_bias == 1.0)


@pytest.mark.parametrize("has_inputs", [True, False])
def test_evolved_transformer_cached_decoding_equals_slow_path(has_inputs):
    torch.manual_seed(0)
    model = t2t.create_model(
        "evolved_transformer",
        "evolved_transformer_tiny",
        hparams=TINY["evolved_transformer"],
        problem_hparams=problem(inputs=has_inputs),
    ).eval()
    assert protocol.implements_protocol(model)
    # more steps than the conv windows (10, 6) so that they roll over
    features = {"inputs": INPUTS}
    for beam_size, top_beams in [(1, 1), (3, 2)]:
        fast = protocol.infer(model, features, 12, beam_size, top_beams, alpha=0.6)
        slow = protocol.slow_infer(model, features, 12, beam_size, top_beams, alpha=0.6)
        assert torch.equal(fast["outputs"], slow["outputs"])
        torch.testing.assert_close(fast["scores"], slow["scores"], atol=1e-4, rtol=1e-4)


def test_evolved_transformer_freezes_below_the_top_decoder_layers():
    model = t2t.create_model(
        "evolved_transformer",
        "evolved_transformer_tpu_basic",
        hparams="hidden_size=16,filter_size=32,num_heads=2,num_hidden_layers=3,"
        "num_trainable_top_decoder_layers=1",
        problem_hparams=problem(),
    )
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(
        n.startswith(("decoder.layers.2.", "decoder.final.")) or n.endswith("_softmax")
        for n in trainable
    )
    assert not model.hparams.shared_embedding_and_softmax_weights


def test_slicenet_runs_the_encoder_only_for_class_labels():
    labels = HParams(
        modality={"inputs": "symbol", "targets": "class_label"},
        vocab_size={"inputs": 11, "targets": 3},
    )
    model = t2t.create_model(
        "slice_net", "slicenet_1tiny", hparams=TINY["slice_net"], problem_hparams=labels
    )
    assert not hasattr(model, "decoder")
    logits, losses = model({"inputs": INPUTS, "targets": torch.tensor([0, 2])})
    assert logits.shape == (2, 1, 3) and torch.isfinite(losses["training"])
