"""The decoding protocol: a model that implements only `init_decode_states` and
`decode_step` gets greedy decoding and beam search from `t2t.decode.protocol.infer`.

The test model is a tiny recurrent decoder over the mean of its input embeddings: its
`body` (the slow path) and its cached step compute the same thing, so the cached search
must give the same ids and scores as the slow path, and greedy must equal beam size 1.
"""

import pytest
import torch
from torch import nn

from t2t.decode import protocol
from t2t.hparams import HParams, basic_params1
from t2t.models.t2t_model import T2TModel


class TinyRecurrent(T2TModel):
    """h_t = tanh(A·h_{t-1} + emb(y_{t-1}) + mean(inputs)); logits_t = top(h_t)."""

    def __init__(self, hparams: HParams, problem_hparams: HParams) -> None:
        super().__init__(hparams, problem_hparams)
        self.recurrent = nn.Linear(hparams.hidden_size, hparams.hidden_size)
        self.initialize_parameters()
        self.steps = 0  # decode_step calls, to see that the cached path ran

    def _cell(self, h: torch.Tensor, x: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.recurrent(h) + x + memory)  # [N, H]

    def body(self, features):
        memory = features["inputs"].mean(dim=1)  # [B, H]
        targets = features["targets"]  # [B, T, H]
        shifted = torch.cat([torch.zeros_like(targets[:, :1]), targets[:, :-1]], dim=1)
        h = torch.zeros_like(memory)
        outputs = []
        for t in range(shifted.shape[1]):
            h = self._cell(h, shifted[:, t], memory)
            outputs.append(h)
        return torch.stack(outputs, dim=1)  # [B, T, H]

    # ---- the decoding protocol, and nothing else ----

    def init_decode_states(self, features, max_length=None):
        memory = self.bottoms["inputs"](features["inputs"]).mean(dim=1)  # [B, H]
        return {"h": torch.zeros_like(memory), "shared": {"memory": memory}}

    def decode_step(self, ids, i, states):
        self.steps += 1
        x = self.target_bottom(ids[:, -1:])[:, 0]  # [N, H]
        if i == 0:
            x = torch.zeros_like(x)  # the shifted-in start position
        memory = states["shared"]["memory"]  # [B, H], the same for every beam
        memory = memory.repeat_interleave(x.shape[0] // memory.shape[0], dim=0)  # [N, H]
        h = self._cell(states["h"], x, memory)
        return self.top(h[:, None], {})[:, -1], {**states, "h": h}


@pytest.fixture
def model():
    hparams = basic_params1()
    hparams.hidden_size = 8
    problem = HParams(
        modality={"inputs": "symbol", "targets": "symbol"},
        vocab_size={"inputs": 13, "targets": 13},
        input_space_id=0,
        target_space_id=0,
        loss_multiplier=1.0,
    )
    torch.manual_seed(3)
    return TinyRecurrent(hparams, problem).eval()


INPUTS = torch.tensor([[4, 5, 6, 7], [8, 9, 3, 0], [2, 11, 0, 0]])


def test_only_the_pair_gives_beam_search(model):
    assert protocol.implements_protocol(model)
    fast = protocol.infer(model, {"inputs": INPUTS}, 5, beam_size=3, top_beams=2, alpha=0.6)
    assert model.steps > 0
    slow = protocol.slow_infer(model, {"inputs": INPUTS}, 5, beam_size=3, top_beams=2, alpha=0.6)
    assert fast["outputs"].shape == (3, 2, fast["outputs"].shape[-1])
    torch.testing.assert_close(fast["outputs"], slow["outputs"])
    torch.testing.assert_close(fast["scores"], slow["scores"], atol=1e-5, rtol=1e-5)


def test_only_the_pair_gives_greedy_equal_to_beam_one(model):
    greedy = protocol.infer(model, {"inputs": INPUTS}, 5)
    slow = protocol.slow_infer(model, {"inputs": INPUTS}, 5)
    torch.testing.assert_close(greedy["outputs"], slow["outputs"])
    beam1 = protocol.infer(model, {"inputs": INPUTS}, 5, beam_size=1)
    torch.testing.assert_close(greedy["outputs"], beam1["outputs"])


def test_partial_targets_are_forced_then_stripped(model):
    prefix = torch.tensor([[5, 6], [7, 8], [9, 10]])
    features = {"inputs": INPUTS, "partial_targets": prefix}
    for beam_size in (1, 3):
        fast = protocol.infer(model, features, 4, beam_size=beam_size)
        slow = protocol.slow_infer(model, features, 4, beam_size=beam_size)
        torch.testing.assert_close(fast["outputs"], slow["outputs"])
        free = protocol.infer(model, {"inputs": INPUTS}, 4, beam_size=beam_size)
        assert not torch.equal(fast["outputs"][:, :4], free["outputs"][:, :4])


def test_a_model_without_the_pair_decodes_through_the_slow_path(model):
    class NoCache(TinyRecurrent):
        init_decode_states = None
        decode_step = None

    plain = NoCache(model.hparams, model.problem_hparams).eval()
    plain.load_state_dict(model.state_dict())
    assert not protocol.implements_protocol(plain)
    slow = protocol.infer(plain, {"inputs": INPUTS}, 5, beam_size=3, alpha=0.6)
    fast = protocol.infer(model, {"inputs": INPUTS}, 5, beam_size=3, alpha=0.6)
    torch.testing.assert_close(slow["outputs"], fast["outputs"])
