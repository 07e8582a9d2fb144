"""Every registered model runs forward and backward with each of its hparams sets, scaled
down; every model decodes through the shared search (slow path or its own fast path)."""

import pytest
import torch

from t2t import registry
from t2t.decode import protocol

TINY = dict(hidden_size=16, num_hidden_layers=1)


def _sets(prefix: str, exclude: tuple[str, ...] = ()) -> list[str]:
    return [n for n in registry.list_hparams(prefix) if n not in exclude]


LSTM_PLAIN = ["lstm_seq2seq"]
LSTM_ATTENTION = [n for n in _sets("lstm_") if "attention" in n or n == "lstm_asr_v1"]
# Which hparams sets each model is meant for.
MODEL_SETS = {
    "transformer": [n for n in _sets("transformer_") if not n.startswith("transformer_moe")],
    "transformer_encoder": ["transformer_tiny", "transformer_base_v1", "transformer_relative"],
    "lstm_seq2seq": LSTM_PLAIN,
    "lstm_encoder": LSTM_PLAIN,
    "lstm_seq2seq_bidirectional_encoder": LSTM_PLAIN,
    "lstm_seq2seq_attention": LSTM_ATTENTION,
    "lstm_seq2seq_attention_bidirectional_encoder": LSTM_ATTENTION,
    # every universal_transformer set: tests/models/test_universal_transformer.py
    "universal_transformer": ["universal_transformer_tiny", "adaptive_universal_transformer_tiny"],
    "universal_transformer_encoder": ["universal_transformer_tiny"],
    # every set: tests/models/test_transformer_moe_attention_lm.py
    "transformer_moe": ["transformer_moe_base"],
    "attention_lm": ["attention_lm_small"],
    # every set: tests/models/test_attention_lm_moe.py
    "attention_lm_moe": ["attention_lm_moe_tiny"],
    "neural_gpu": ["neural_gpu"],  # the convolutional zoo: more in test_zoo_conv.py
    "diagonal_neural_gpu": ["neural_gpu"],
    "byte_net": ["bytenet_base"],
    "slice_net": ["slicenet_1tiny"],
    "evolved_transformer": ["evolved_transformer_tiny"],
    "multi_model": ["multimodel_tiny"],  # both sets: tests/models/test_multimodel.py
    # every set: tests/models/test_transformer_memory.py
    "transformer_memory": ["transformer_wikitext103_l4k_memory_v0"],
}
LANGUAGE_MODELS = {"attention_lm", "attention_lm_moe", "transformer_memory"}  # no inputs
# T2T's behaviour: an example's output depends on its batch's input padding (the Neural
# GPU's state spans the padded length; SliceNet's attention does not mask padding).
PADDING_DEPENDENT = {"neural_gpu", "diagonal_neural_gpu", "slice_net"}
READS_NO_TARGETS = {"neural_gpu", "diagonal_neural_gpu"}  # the Neural GPU reads inputs only
CASES = [(model, hp) for model, sets in MODEL_SETS.items() for hp in sets]
MIN_CASES = 60


def tiny(name: str):
    hp = registry.hparams(name)
    values = dict(TINY)
    if "filter_size" in hp:
        values.update(filter_size=32, num_heads=2)
        for key in ("attention_key_channels", "attention_value_channels"):
            if hp.get(key):
                values[key] = 8
    if "separability" in hp:  # SliceNet: 8 heads and separabilities -3, -2, 4 divide 48
        values["hidden_size"] = 48
    if "attention_layer_size" in hp:
        values["attention_layer_size"] = 12
    for key, value in values.items():
        hp.set_hparam(key, value)
    return hp


# Image classifiers run over every one of their sets in test_image_models.py.
IMAGE_MODELS = ["resnet", "revnet", "shake_shake", "xception"]


def test_every_registered_model_has_sets_and_enough_cases():
    assert sorted([*MODEL_SETS, *IMAGE_MODELS]) == registry.list_models()
    assert len(CASES) >= MIN_CASES
    assert len(LSTM_ATTENTION) >= 5


def _problem(model: str, problem_hparams):
    if model in LANGUAGE_MODELS:
        return problem_hparams(inputs=None)
    if model.endswith("encoder") and not model.startswith("lstm_seq2seq"):
        return problem_hparams(vocab_out=3, targets="class_label")
    return problem_hparams()


def _features(model: str):
    g = torch.Generator().manual_seed(0)
    features = {"inputs": torch.randint(1, 11, (2, 5), generator=g)}
    features["inputs"][1, 3:] = 0
    if model.endswith("encoder") and not model.startswith("lstm_seq2seq"):
        features["targets"] = torch.tensor([0, 2])
    else:
        features["targets"] = torch.randint(1, 11, (2, 4), generator=g)
        features["targets"][0, 2:] = 0
    return features


@pytest.mark.parametrize("model_name, hparams_set", CASES)
def test_forward_backward(model_name, hparams_set, problem_hparams):
    torch.manual_seed(0)
    model = registry.model(model_name)(tiny(hparams_set), _problem(model_name, problem_hparams))
    logits, losses = model(_features(model_name))
    assert logits.shape[0] == 2 and logits.shape[-1] in (3, 11)
    assert torch.isfinite(losses["training"])
    # the extra losses too, as the trainer adds them (a VQ codebook learns from its own)
    sum(v for k, v in losses.items() if not k.startswith("training_")).backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    if model_name in READS_NO_TARGETS:  # T2T builds their target embedding all the same
        unused = {id(p) for n, p in model.named_parameters() if n.endswith("_target_emb")}
        trainable = [p for p in trainable if id(p) not in unused]
    assert all(p.grad is not None for p in trainable)


@pytest.mark.parametrize("model_name", sorted(MODEL_SETS))
def test_infer_and_padding_invariance(model_name, problem_hparams, search):
    torch.manual_seed(0)
    model = registry.model(model_name)(
        tiny(MODEL_SETS[model_name][0]), _problem(model_name, problem_hparams)
    ).eval()
    features = _features(model_name)
    result = protocol.infer(model, {"inputs": features["inputs"]}, decode_length=3)
    assert result["outputs"].shape[0] == 2
    if model_name.endswith("encoder") and not model_name.startswith("lstm_seq2seq"):
        return  # class_label top mean-pools padding positions too, as T2T does
    if model_name in PADDING_DEPENDENT:
        return
    alone = {k: v[1:, :3] for k, v in features.items()}
    logits_alone, _ = model(alone)
    logits_batch, _ = model({k: v[1:] for k, v in features.items()})
    torch.testing.assert_close(logits_batch[:, :3], logits_alone, atol=1e-5, rtol=1e-5)
