"""The Universal Transformer (Dehghani et al. 2018), as T2T's `universal_transformer.py`.

Models: `universal_transformer` (encoder-decoder; decoder-only without "inputs") and
`universal_transformer_encoder` (encoder only, e.g. for classification). The recurrence in
depth is `universal_transformer_stack.UniversalTransformerStack`; the sets are in
`universal_transformer_hparams`. With recurrence_type "act" the body returns T2T's ponder
loss, act_loss_weight * mean(N(t) + R(t)) of encoder plus decoder, as "act_loss"; the
trainer adds it to the training loss.

As in T2T, decoding takes the slow path (T2T has no cached decoding for this family: an
ACT step count depends on every position, so a position cannot be computed alone).
"""

import torch
from torch import nn

from t2t import registry
from t2t.hparams import HParams
from t2t.layers import act
from t2t.layers import attention as attn
from t2t.layers.dropout import dropout_with_broadcast_dims, parse_broadcast_dims
from t2t.layers.sequence_ops import embedding_to_padding, shift_right
from t2t.models.research.universal_transformer_stack import UniversalTransformerStack
from t2t.models.t2t_model import Features, T2TModel
from t2t.models.transformer import _Positions, layer_config


def _positions(hparams: HParams) -> _Positions:
    """Input positions: none when the stack adds them at every step (T2T sets pos=None)."""
    pos = None if hparams.add_position_timing_signal else hparams.get("pos")
    return _Positions(pos, hparams.hidden_size, hparams.max_length)


class _PreparedDropout(nn.Module):
    """layer_prepostprocess_dropout on the prepared encoder or decoder input."""

    def __init__(self, hparams: HParams) -> None:
        super().__init__()
        self.rate = hparams.layer_prepostprocess_dropout
        self.dims = parse_broadcast_dims(hparams.layer_prepostprocess_dropout_broadcast_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, H] -> [B, T, H]."""
        return dropout_with_broadcast_dims(x, self.rate, self.dims, self.training)


class UniversalEncoder(nn.Module):
    """T2T's `transformer_prepare_encoder` + `universal_transformer_encoder`.

    Args:
        hparams: a universal_transformer set.
        default_target_space: the problem's target_space_id, used when features have none.
    """

    def __init__(self, hparams: HParams, default_target_space: int = 0) -> None:
        super().__init__()
        self.default_target_space = default_target_space
        self.target_space_embedding = None
        if hparams.use_target_space_embedding:
            self.target_space_embedding = nn.Parameter(torch.zeros(32, hparams.hidden_size))
        self.positions = _positions(hparams)
        self.dropout = _PreparedDropout(hparams)
        self.stack = UniversalTransformerStack(hparams, layer_config(hparams), False, False)

    def forward(self, inputs: torch.Tensor, target_space_id=None):
        """Embedded inputs [B, S, H] -> (output [B, S, H], memory bias [B, 1, 1, S], ACT
        counters or None)."""
        padding = embedding_to_padding(inputs)  # [B, S]
        bias = attn.attention_bias_ignore_padding(padding)  # [B, 1, 1, S]
        x = inputs
        if self.target_space_embedding is not None:
            if target_space_id is None:
                target_space_id = self.default_target_space
            ids = torch.as_tensor(target_space_id, device=x.device).reshape(-1).long()  # [1 or B]
            x = x + self.target_space_embedding[ids][:, None, :]  # [1 or B, 1, H]
        x = self.dropout(self.positions(x))
        output, halting = self.stack(x, bias, padding=padding)
        return output, bias, halting


def _act_loss(hparams: HParams, *haltings: act.HaltingState | None) -> dict:
    """{"act_loss": weight * Σ mean(N + R)} for ACT with a non-zero weight, else {}."""
    if hparams.recurrence_type != "act" or hparams.act_loss_weight == 0:
        return {}
    total = sum(act.ponder_loss(h) for h in haltings if h is not None)
    return {"act_loss": hparams.act_loss_weight * total}


@registry.register_model
class UniversalTransformer(T2TModel):
    """Encoder-decoder Universal Transformer; decoder-only when the problem has no "inputs".

    Args:
        hparams: a universal_transformer set (e.g. `universal_transformer_base`).
        problem_hparams: the problem's hparams.
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        hp = self.hparams
        self.encoder = None
        if self.has_input:
            self.encoder = UniversalEncoder(hp, getattr(problem_hparams, "target_space_id", 0))
        self.positions = _positions(hp)
        self.dropout = _PreparedDropout(hp)
        self.decoder = UniversalTransformerStack(hp, layer_config(hp), True, self.has_input)
        self.initialize_parameters()

    def body(self, features: Features):
        """{"inputs": [B, S, H], "targets": [B, T, H]} -> ([B, T, H], {"act_loss"} for ACT).

        With "encoder_output" and "encoder_bias" in `features` (`slow_decoding_states`), the
        encoder is not run again.
        """
        memory = memory_bias = enc_halting = None
        if "encoder_output" in features:
            memory, memory_bias = features["encoder_output"], features["encoder_bias"]
        elif self.has_input:
            memory, memory_bias, enc_halting = self.encoder(
                features["inputs"], features.get("target_space_id")
            )
        targets = features["targets"]  # [B, T, H]
        causal = attn.attention_bias_lower_triangle(targets.shape[1], targets.device)
        x = self.dropout(self.positions(shift_right(targets)))
        output, dec_halting = self.decoder(x, causal, memory, memory_bias)
        losses = _act_loss(self.hparams, enc_halting, dec_halting)
        return (output, losses) if losses else output

    def slow_decoding_states(self, features: Features) -> dict[str, torch.Tensor]:
        """The encoder's output of `features` ({"inputs": ids [B, S], ...}), computed once for
        the slow decoding path, which otherwise re-runs the encoder at every step:
        {"encoder_output": [B, S, H], "encoder_bias": [B, 1, 1, S]} ({} without inputs)."""
        if not self.has_input:
            return {}
        bottomed = self.bottom({k: v for k, v in features.items() if k != "targets"})
        memory, memory_bias, _ = self.encoder(bottomed["inputs"], bottomed.get("target_space_id"))
        return {"encoder_output": memory, "encoder_bias": memory_bias}


@registry.register_model
class UniversalTransformerEncoder(T2TModel):
    """Encoder-only Universal Transformer (e.g. for classification with a class_label top).

    Args:
        hparams: a universal_transformer set.
        problem_hparams: the problem's hparams; it must have "inputs".
    """

    def __init__(self, hparams: HParams, problem_hparams: HParams | None = None) -> None:
        super().__init__(hparams, problem_hparams)
        target_space = getattr(problem_hparams, "target_space_id", 0)
        self.encoder = UniversalEncoder(self.hparams, target_space)
        self.initialize_parameters()

    def body(self, features: Features):
        """{"inputs": [B, S, H]} -> (encoder output [B, S, H], {"act_loss"} for ACT)."""
        output, _, halting = self.encoder(features["inputs"], features.get("target_space_id"))
        losses = _act_loss(self.hparams, halting)
        return (output, losses) if losses else output

    def predict(self, features: Features) -> dict[str, torch.Tensor]:
        """Class-label prediction: {"inputs": [B, S]} -> {"outputs": [B, 1], "scores": [B]}."""
        body = self.body(self.bottom({"inputs": features["inputs"]}))
        if isinstance(body, tuple):
            body = body[0]
        log_probs = torch.log_softmax(self.top(body, features)[:, -1].float(), dim=-1)  # [B, V]
        scores, outputs = log_probs.max(dim=-1)
        return {"outputs": outputs[:, None], "scores": scores}
