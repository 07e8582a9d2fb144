"""Packed rows: each example of a row computes exactly what it computes alone.

A row packs several examples (t2t.data.packing); the Transformer keeps them apart with
segment biases and per-example positions. Run unpacked one by one (no padding), every
example must give the same logits and losses as inside the packed row. Without the segment
handling the later examples of a row attend to the earlier ones and these tests fail.
"""

import numpy as np
import pytest
import torch

from t2t.data.packing import pack_sequences
from t2t.layers import attention
from t2t.models import transformer

from .conftest import make_problem_hparams
from .test_transformer import tiny_hparams

VOCAB = 13


def _examples(seed: int, has_inputs: bool, count: int = 5) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        example = {"targets": np.append(rng.integers(2, VOCAB, rng.integers(2, 6)), 1)}
        if has_inputs:
            example["inputs"] = np.append(rng.integers(2, VOCAB, rng.integers(1, 7)), 1)
        examples.append(example)
    return examples


def _model(has_inputs: bool, **overrides) -> transformer.Transformer:
    torch.manual_seed(0)
    hparams = tiny_hparams("transformer_base", num_hidden_layers=2, **overrides)
    for name in ("layer_prepostprocess_dropout", "attention_dropout", "relu_dropout"):
        hparams.set_hparam(name, 0.0)
    hparams.set_hparam("label_smoothing", 0.0)
    inputs = "symbol" if has_inputs else None
    problem = make_problem_hparams(VOCAB, VOCAB, inputs=inputs)
    return transformer.Transformer(hparams, problem).eval()


def _per_token_nll(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none"
    ).view(targets.shape)


def _check_equivalence(model, examples, length, keys):
    rows = list(pack_sequences(examples, length, keys))
    assert len(rows) < len(examples), "the test needs rows holding several examples"
    batch = {name: torch.from_numpy(np.stack([r[name] for r in rows])) for name in rows[0]}
    with torch.no_grad():
        packed_logits, packed_losses = model(batch)
        alone = []
        for example in examples:
            features = {k: torch.from_numpy(example[k])[None] for k in keys}
            alone.append(model(features))
    checked = 0
    packed_num = 0.0
    for row_index, row in enumerate(rows):
        for segment in range(1, int(row["targets_segmentation"].max()) + 1):
            where = np.flatnonzero(row["targets_segmentation"] == segment)
            example_targets = row["targets"][where]
            match = [
                i for i, ex in enumerate(examples) if np.array_equal(ex["targets"], example_targets)
            ]
            logits_alone, losses_alone = alone[match[0]]
            logits_packed = packed_logits[row_index, where]
            torch.testing.assert_close(logits_packed, logits_alone[0], rtol=1e-5, atol=1e-5)
            nll = _per_token_nll(logits_packed[None], torch.from_numpy(example_targets)[None])
            torch.testing.assert_close(nll.sum(), losses_alone["training_num"])
            packed_num += float(nll.sum())
            checked += 1
    assert checked == len(examples)
    # The model's loss over the packed batch is the sum of the examples' losses.
    assert packed_losses["training_num"].item() == pytest.approx(packed_num, rel=1e-5)
    total_alone = sum(float(losses["training_num"]) for _, losses in alone)
    assert packed_losses["training_num"].item() == pytest.approx(total_alone, rel=1e-5)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"pos": "emb"},
        {"self_attention_type": "dot_product_relative", "max_relative_position": 3},
        {"layer_preprocess_sequence": "none", "layer_postprocess_sequence": "dan"},
    ],
    ids=["timing", "emb", "relative", "post_norm"],
)
def test_packed_encoder_decoder_equals_examples_alone(overrides):
    model = _model(has_inputs=True, **overrides)
    _check_equivalence(model, _examples(1, has_inputs=True, count=7), 16, ("inputs", "targets"))


def test_packed_language_model_equals_examples_alone():
    model = _model(has_inputs=False)
    _check_equivalence(model, _examples(2, has_inputs=False, count=6), 14, ("targets",))


def test_packed_row_differs_without_segments():
    """Guard for the tests above: the same row read as one example gives other logits."""
    model = _model(has_inputs=True)
    examples = _examples(1, has_inputs=True, count=7)
    row = next(iter(pack_sequences(examples, 16)))
    assert row["targets_segmentation"].max() >= 2
    packed = {k: torch.from_numpy(v)[None] for k, v in row.items()}
    plain = {k: packed[k] for k in ("inputs", "targets")}
    with torch.no_grad():
        with_segments, _ = model(packed)
        without, _ = model(plain)
    second = torch.from_numpy(row["targets_segmentation"] == 2)
    assert not torch.allclose(with_segments[0, second], without[0, second], atol=1e-3)


def test_same_segment_bias():
    query = torch.tensor([[1, 1, 2, 0]])
    memory = torch.tensor([[1, 2, 2]])
    bias = attention.attention_bias_same_segment(query, memory)
    assert bias.shape == (1, 1, 4, 3)
    expected = torch.tensor([[0, 1, 1], [0, 1, 1], [1, 0, 0], [1, 1, 1]]) * attention.NEG_INF
    assert torch.equal(bias[0, 0], expected.float())


def test_decoding_packed_features_is_refused():
    model = _model(has_inputs=True)
    features = {
        "inputs": torch.tensor([[3, 1]]),
        "inputs_segmentation": torch.tensor([[1, 1]]),
        "targets_segmentation": torch.tensor([[1]]),
    }
    with pytest.raises(ValueError, match="decoding packed examples"):
        model.init_decode_states(features)
