"""The LSTM seq2seq models implement the decoding protocol: the cached step equals the
full forward pass, and cached beam search equals the slow path."""

import pytest
import torch

from t2t import registry
from t2t.decode import protocol

from .test_every_model import LSTM_ATTENTION, tiny

_PAD_ONE_HOT = torch.nn.functional.one_hot(torch.tensor(0), 11).float()  # [V]

CASES = [
    ("lstm_seq2seq", "lstm_seq2seq"),
    ("lstm_seq2seq_bidirectional_encoder", "lstm_seq2seq"),
    *[("lstm_seq2seq_attention", name) for name in LSTM_ATTENTION],
    ("lstm_seq2seq_attention_bidirectional_encoder", "lstm_luong_attention_multi"),
]


def _model(model_name, hparams_set, problem_hparams, **overrides):
    torch.manual_seed(0)
    hp = tiny(hparams_set)
    hp.num_hidden_layers = 2
    for key, value in overrides.items():
        hp.set_hparam(key, value)
    return registry.model(model_name)(hp, problem_hparams()).eval()


@pytest.mark.parametrize("model_name, hparams_set", CASES)
def test_cached_step_equals_full_forward(model_name, hparams_set, problem_hparams):
    model = _model(model_name, hparams_set, problem_hparams)
    assert protocol.implements_protocol(model)
    inputs = torch.tensor([[3, 4, 5, 6, 7], [8, 9, 2, 0, 0]])
    targets = torch.tensor([[5, 6, 7, 8], [9, 2, 3, 4]])  # no PAD inside
    full_logits, _ = model({"inputs": inputs, "targets": targets})
    states = model.init_decode_states({"inputs": inputs})
    shared = states.pop("shared", None)
    ids = torch.zeros(2, 1, dtype=torch.long)
    for i in range(targets.shape[1]):
        step_states = {**states, "shared": shared} if shared is not None else states
        logits, states = model.decode_step(ids, i, step_states)
        states.pop("shared", None)
        torch.testing.assert_close(logits, full_logits[:, i], atol=1e-5, rtol=1e-5)
        ids = torch.cat([ids, targets[:, i : i + 1]], dim=1)


@pytest.mark.parametrize("model_name, hparams_set", [CASES[0], CASES[-1]])
def test_cached_beam_search_equals_slow_path(model_name, hparams_set, problem_hparams):
    model = _model(model_name, hparams_set, problem_hparams)
    # The slow path treats a decoded PAD (id 0) as padding (T2T's lengths count non-zero
    # embeddings); the cached step does not. An untrained model may decode PAD: forbid it.
    top = model.top
    model.top = lambda output, features: top(output, features) - 1e4 * _PAD_ONE_HOT
    features = {"inputs": torch.tensor([[3, 4, 5, 6, 7], [8, 9, 2, 0, 0]])}
    for beam_size, top_beams in ((1, 1), (3, 1), (3, 2)):
        args = dict(decode_length=4, beam_size=beam_size, top_beams=top_beams, alpha=0.6)
        fast = protocol.infer(model, features, **args)
        slow = protocol.slow_infer(model, features, **args)
        torch.testing.assert_close(fast["outputs"], slow["outputs"])
        torch.testing.assert_close(fast["scores"], slow["scores"], atol=1e-4, rtol=1e-4)
