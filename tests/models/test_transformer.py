"""The Transformer: every hparams set runs, cached decoding equals the full forward pass,
padding does not change an example's output, eval() turns dropout off."""

import pytest
import torch

from t2t import registry
from t2t.decode import protocol
from t2t.layers import attention
from t2t.models import transformer

TINY = dict(hidden_size=16, filter_size=32, num_heads=2, num_hidden_layers=1)
MIN_TRANSFORMER_SETS = 40


def tiny_hparams(name: str, **overrides):
    """A registered set scaled down to test size (other values as registered)."""
    hp = registry.hparams(name)
    values = dict(TINY)
    if hp.attention_key_channels:
        values["attention_key_channels"] = 8
    if hp.attention_value_channels:
        values["attention_value_channels"] = 8
    values.update(overrides)
    for key, value in values.items():
        hp.set_hparam(key, value)
    return hp


def transformer_sets():
    return [
        n
        for n in registry.list_hparams("transformer")
        if n != "transformer_encoder" and not n.startswith("transformer_moe")
    ]


def test_transformer_sets_registered():
    assert len(transformer_sets()) >= MIN_TRANSFORMER_SETS


@pytest.mark.parametrize("name", transformer_sets())
def test_every_transformer_set_runs_forward_and_backward(name, problem_hparams):
    torch.manual_seed(0)
    model = transformer.Transformer(tiny_hparams(name), problem_hparams())
    features = {"inputs": torch.randint(1, 11, (2, 5)), "targets": torch.randint(1, 11, (2, 4))}
    logits, losses = model(features)
    assert logits.shape == (2, 4, 11)
    # the extra losses too, as the trainer adds them (a VQ codebook learns from its own)
    sum(v for k, v in losses.items() if not k.startswith("training_")).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert torch.isfinite(losses["training"])


def _features(batch=3, source=5, target=7, vocab=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(2, vocab, (batch, source), generator=g)
    targets = torch.randint(2, vocab, (batch, target), generator=g)
    inputs[0, -2:] = 0  # some padding
    return {"inputs": inputs, "targets": targets}


@pytest.mark.parametrize(
    "name, has_inputs",
    [
        ("transformer_base", True),
        ("transformer_base_v1", True),
        ("transformer_relative", True),
        ("transformer_base", False),
        ("transformer_relative", False),
        ("transformer_librispeech_v2", True),  # conv_relu_conv FFN, cached in decoding
        ("transformer_librispeech_v2", False),
    ],
)
def test_cached_decoding_equals_full_forward(name, has_inputs, problem_hparams):
    torch.manual_seed(0)
    php = problem_hparams() if has_inputs else problem_hparams(inputs=None)
    model = transformer.Transformer(tiny_hparams(name), php).eval()
    features = _features()
    if not has_inputs:
        del features["inputs"]
    full_logits, _ = model(features)
    step_features = dict(features) if has_inputs else {"targets": features["targets"]}
    states = model.init_decode_states(step_features)
    targets = features["targets"]
    ids = torch.zeros(3, 1, dtype=torch.long)
    for i in range(targets.shape[1]):
        logits, states = model.decode_step(ids, i, states)
        torch.testing.assert_close(logits, full_logits[:, i], atol=1e-5, rtol=1e-5)
        ids = torch.cat([ids, targets[:, i : i + 1]], dim=1)


def test_example_alone_equals_example_padded_in_batch(problem_hparams):
    torch.manual_seed(0)
    model = transformer.Transformer(tiny_hparams("transformer_base"), problem_hparams()).eval()
    alone = {"inputs": torch.tensor([[5, 6, 7]]), "targets": torch.tensor([[3, 4, 1]])}
    batch = {
        "inputs": torch.tensor([[5, 6, 7, 0, 0], [2, 3, 4, 5, 6]]),
        "targets": torch.tensor([[3, 4, 1, 0, 0, 0], [9, 8, 7, 6, 5, 1]]),
    }
    logits_alone, loss_alone = model(alone)
    logits_batch, _ = model(batch)
    torch.testing.assert_close(logits_batch[0, :3], logits_alone[0], atol=1e-5, rtol=1e-5)
    first_only = {k: v[:1] for k, v in batch.items()}
    _, loss_padded = model(first_only)
    torch.testing.assert_close(loss_padded["training"], loss_alone["training"])


def test_eval_turns_dropout_and_label_smoothing_off(problem_hparams):
    torch.manual_seed(0)
    hp = tiny_hparams("transformer_base", layer_prepostprocess_dropout=0.5)
    model = transformer.Transformer(hp, problem_hparams())
    features = _features()
    model.train()
    a, _ = model(features)
    b, _ = model(features)
    assert not torch.allclose(a, b)
    model.eval()
    c, losses = model(features)
    d, _ = model(features)
    torch.testing.assert_close(c, d)
    # eval loss is plain cross-entropy (no smoothing)
    labels = features["targets"]
    xent = torch.nn.functional.cross_entropy(c.reshape(-1, 11), labels.reshape(-1))
    torch.testing.assert_close(losses["training"], xent)


def test_loss_is_mean_over_non_padding_tokens(problem_hparams):
    torch.manual_seed(0)
    hp = tiny_hparams("transformer_base", label_smoothing=0.0)
    model = transformer.Transformer(hp, problem_hparams()).eval()
    features = {"inputs": torch.tensor([[4, 5, 0]]), "targets": torch.tensor([[3, 4, 0, 0]])}
    logits, losses = model(features)
    expected = torch.nn.functional.cross_entropy(logits[0, :2], features["targets"][0, :2])
    torch.testing.assert_close(losses["training"], expected)
    assert losses["training_den"].item() == 2.0


def test_shared_embedding_is_one_tensor_and_pads_embed_to_zero(problem_hparams):
    model = transformer.Transformer(tiny_hparams("transformer_base"), problem_hparams())
    assert list(model.modality_weights.tables) == ["symbol_modality_11_16_shared"]
    emb = model.bottoms["inputs"](torch.tensor([[0, 3]]))
    assert emb[0, 0].abs().sum() == 0 and emb[0, 1].abs().sum() > 0


def test_different_vocabs_switch_sharing_off(problem_hparams):
    model = transformer.Transformer(tiny_hparams("transformer_base"), problem_hparams(11, 13))
    assert not model.hparams.shared_embedding_and_softmax_weights
    assert sorted(model.modality_weights.tables) == [
        "symbol_modality_11_16_input_emb",
        "symbol_modality_13_16_softmax",
        "symbol_modality_13_16_target_emb",
    ]


def test_decoder_only_model_has_no_encoder(problem_hparams):
    model = transformer.Transformer(tiny_hparams("transformer_base"), problem_hparams(inputs=None))
    assert model.encoder is None
    assert model.decoder.layers[0].encdec_attention is None
    logits, _ = model({"targets": torch.randint(1, 11, (2, 6))})
    assert logits.shape == (2, 6, 11)


def test_prepend_full_attention_sees_whole_inputs_part():
    # [a b 0 t1 t2]: the inputs part (a, b, separator) is fully visible to every position.
    padding = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]])
    bias = attention.attention_bias_prepend_inputs_full_attention(padding)[0, 0]
    visible = bias == 0
    assert visible[0].tolist() == [True, True, True, False, False]
    assert visible[3].tolist() == [True, True, True, True, False]
    assert visible[4].all()


def test_prepend_masked_attention_weights(problem_hparams):
    torch.manual_seed(0)
    hp = tiny_hparams("transformer_prepend")
    model = transformer.Transformer(hp, problem_hparams())
    # targets = inputs ++ [0] ++ targets
    features = {"inputs": torch.tensor([[4, 5, 1]]), "targets": torch.tensor([[4, 5, 1, 0, 7, 1]])}
    _, train_losses = model(features)
    assert train_losses["training_den"].item() == 5.0  # every non-zero label
    model.eval()
    _, eval_losses = model(features)
    assert eval_losses["training_den"].item() == 2.0  # only the target part


def test_unsupported_attention_type_is_a_clear_error(problem_hparams):
    hp = tiny_hparams("transformer_base")
    hp.self_attention_type = "local_mask_right"
    with pytest.raises(ValueError, match="self_attention_type"):
        transformer.Transformer(hp, problem_hparams())


def test_transformer_encoder_classifies(problem_hparams):
    torch.manual_seed(0)
    php = problem_hparams(vocab_out=3, targets="class_label")
    model = transformer.TransformerEncoder(tiny_hparams("transformer_base"), php)
    features = {"inputs": torch.randint(1, 11, (4, 6)), "targets": torch.tensor([0, 2, 1, 1])}
    logits, losses = model(features)
    assert logits.shape == (4, 1, 3)
    assert losses["training_den"].item() == 4.0  # class labels weigh every example
    losses["training"].backward()
    out = protocol.infer(model, {"inputs": features["inputs"]})
    assert out["outputs"].shape == (4, 1)


def test_target_space_embedding_is_added(problem_hparams):
    torch.manual_seed(0)
    model = transformer.Transformer(tiny_hparams("transformer_base"), problem_hparams()).eval()
    features = _features()
    a, _ = model(dict(features, target_space_id=torch.tensor(1)))
    b, _ = model(dict(features, target_space_id=torch.tensor(2)))
    c, _ = model(features)  # the problem's target_space_id (1)
    assert not torch.allclose(a, b)
    torch.testing.assert_close(a, c)


@pytest.mark.parametrize("has_inputs", [True, False])
def test_fast_greedy_infer_equals_slow_greedy(has_inputs, problem_hparams, search):
    torch.manual_seed(0)
    php = problem_hparams() if has_inputs else problem_hparams(inputs=None)
    model = transformer.Transformer(tiny_hparams("transformer_base"), php).eval()
    features = {"inputs": _features()["inputs"]}  # for a language model: a prefix
    fast = protocol.infer(model, features, decode_length=4)
    slow = protocol.slow_infer(model, features, decode_length=4)
    torch.testing.assert_close(fast["outputs"], slow["outputs"])
    if getattr(search, "is_stand_in", False):
        # inputs: input length + decode_length; LM: the 5-token prefix is stripped
        assert fast["outputs"].shape == (3, 9 if has_inputs else 4)


@pytest.mark.parametrize(
    "name", ["transformer_base", "transformer_relative", "transformer_librispeech_v2"]
)
def test_fast_beam_search_equals_slow_beam_search(name, problem_hparams, search):
    if getattr(search, "is_stand_in", False):
        pytest.skip("t2t.decode.beam_search is not available")
    torch.manual_seed(0)
    model = transformer.Transformer(tiny_hparams(name), problem_hparams()).eval()
    features = {"inputs": _features()["inputs"]}
    for top_beams in (1, 2):
        args = dict(decode_length=3, beam_size=3, top_beams=top_beams, alpha=0.6)
        fast = protocol.infer(model, features, **args)
        slow = protocol.slow_infer(model, features, **args)
        torch.testing.assert_close(fast["outputs"], slow["outputs"])
        torch.testing.assert_close(fast["scores"], slow["scores"], atol=1e-4, rtol=1e-4)
        expected_dims = 2 if top_beams == 1 else 3
        assert fast["outputs"].dim() == expected_dims
