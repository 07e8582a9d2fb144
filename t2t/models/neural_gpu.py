"""The Neural GPU and the diagonal Neural GPU (T2T's `models/neural_gpu.py`).

Their hparams sets are in `t2t.models.neural_gpu_hparams` (re-exported here).

The Neural GPU (arXiv:1511.08228) reads only the inputs: the embedded inputs are the
initial state, a stack of convolutional GRUs (`num_hidden_layers`, one set of weights)
runs once per input position, and the final state, one vector per input position, is the
output. As in T2T, a step at an input position that is padding (an all-zero embedding)
leaves the state unchanged, and dropout (`dropout`) is applied to the state entering each
step.

The body returns the state cut or zero-padded to the targets' length: T2T's output has the
inputs' length, and its loss zero-pads the shorter of logits and targets (the top has no
bias, so a zero vector gives the zero logits T2T pads with). Decoding reads position i of
the one output (the decoding protocol below runs the body once).

T2T's diagonal Neural GPU returns the state after the *first* step (it takes element 0 of
`tf.scan`'s stacked states), while its extra loss, twice the mean gate saturation cost,
averages over every step; we do the same.
"""

import torch
from torch import nn

from t2t import registry
from t2t.layers.conv_gru import ConvGRU, DiagonalConvGRU
from t2t.layers.dropout import dropout_with_broadcast_dims
from t2t.layers.sequence_ops import fit_length
from t2t.models.t2t_model import Features, T2TModel


def input_padding(inputs: torch.Tensor) -> torch.Tensor:
    """[B, S, H] -> bool [B, S]: True where the embedding is (near) zero, T2T's test."""
    return inputs.abs().sum(dim=-1) < 1e-5


class _NeuralGpuBase(T2TModel):
    """The parts both Neural GPUs share: the body around `run`, and decoding."""

    def run(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """inputs [B, S, H] -> (output [B, S, H], extra loss or None)."""
        raise NotImplementedError

    def body(self, features: Features):
        """inputs [B, S, H] -> [B, T, H] (T the targets' length), and the extra loss."""
        output, extra = self.run(features["inputs"])
        if "targets" in features:
            output = fit_length(output, features["targets"].shape[1])
        return output if extra is None else (output, {"extra": extra})

    # ---- the decoding protocol: one forward pass, read position by position ----------

    def init_decode_states(self, features: Features, max_length: int | None = None) -> dict:
        """Runs the body once on the input ids [B, S]; the logits are shared by all beams."""
        del max_length
        output, _ = self.run(self.bottoms["inputs"](features["inputs"]))
        return {"shared": {"logits": self.top(output, {})}}  # [B, S, V]

    def decode_step(self, ids: torch.Tensor, i: int, states: dict):
        """ids [N, i+1] -> (logits [N, V] of position i: zeros past the inputs, states)."""
        logits = states["shared"]["logits"]  # [B, S, V]
        beams = ids.shape[0] // logits.shape[0]
        if i >= logits.shape[1]:
            return logits.new_zeros(ids.shape[0], logits.shape[2]), {}
        return logits[:, i].repeat_interleave(beams, dim=0), {}


@registry.register_model("neural_gpu")
class NeuralGpu(_NeuralGpuBase):
    """T2T's `neural_gpu`: convolutional GRUs run once per input position."""

    def __init__(self, hparams, problem_hparams=None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        kernel = (hp.kernel_height, hp.kernel_width)
        self.cells = nn.ModuleList(
            ConvGRU(hp.hidden_size, kernel) for _ in range(hp.num_hidden_layers)
        )
        self.dropout = hp.dropout
        self.initialize_parameters()

    def run(self, inputs: torch.Tensor) -> tuple[torch.Tensor, None]:
        """inputs [B, S, H] -> (the final state [B, S, H], None)."""
        state = inputs.transpose(1, 2).unsqueeze(-1)  # [B, H, S, 1]: channels first
        padding = input_padding(inputs)  # [B, S]
        for position in range(inputs.shape[1]):
            x = dropout_with_broadcast_dims(state, self.dropout, (), self.training)
            for cell in self.cells:
                x = cell(x)
            keep = padding[:, position, None, None, None]  # [B, 1, 1, 1]
            state = torch.where(keep, state, x)
        return state.squeeze(-1).transpose(1, 2), None  # [B, S, H]


@registry.register_model("diagonal_neural_gpu")
class DiagonalNeuralGpu(_NeuralGpuBase):
    """T2T's `diagonal_neural_gpu`: diagonal convolutional GRUs with a saturation loss."""

    def __init__(self, hparams, problem_hparams=None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        kernel = (hp.kernel_height, hp.kernel_width)
        self.cells = nn.ModuleList(
            DiagonalConvGRU(hp.hidden_size, kernel, hp.dropout) for _ in range(hp.num_hidden_layers)
        )
        self.initialize_parameters()

    def run(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """inputs [B, S, H] -> (the state after the first step [B, S, H], 2 * mean cost)."""
        state = inputs.transpose(1, 2).unsqueeze(-1)  # [B, H, S, 1]
        padding = input_padding(inputs)  # [B, S]
        costs, first = [], None
        for position in range(inputs.shape[1]):
            x = state
            for cell in self.cells:
                x, cost = cell(x)  # T2T keeps the last layer's cost of each step
            state = torch.where(padding[:, position, None, None, None], state, x)
            costs.append(cost)
            first = state if first is None else first
        output = first.squeeze(-1).transpose(1, 2)  # [B, S, H]
        return output, 2.0 * torch.stack(costs).mean()


# The hparams set lives in neural_gpu_hparams.py; re-exported for T2T's `models.neural_gpu.<set>()`.
from t2t.models.neural_gpu_hparams import neural_gpu  # noqa: E402, F401
