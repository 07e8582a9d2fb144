"""The Universal Transformer's recurrence in depth (T2T's `universal_transformer_util`).

One Transformer layer (or `num_inrecurrence_layers` of them), its weights shared, is
applied `num_rec_steps` times; before each step the position signal (sinusoids, starting
at `position_start_index`) and the step signal (learned or sinusoid, one row per step) are
added or concatenated. `recurrence_type` says how the steps are joined: "basic" (the
output is the next input), "highway"/"skip" (gated with the state / the original inputs),
"dwa" (attention over all earlier states), "gru"/"lstm" (a gated transition in depth) and
"act" (adaptive computation time: each position halts on its own, see `t2t.layers.act`).
The layers are t2t's Transformer layers (`t2t.layers.transformer_layers`).
"""

import torch
from torch import nn

from t2t.errors import HParamsError
from t2t.hparams import HParams
from t2t.layers import act
from t2t.layers import transformer_layers as tl
from t2t.layers.initializers import own_init
from t2t.layers.prepostprocess import PrePostProcess
from t2t.layers.sepconv import SepconvReluSepconv
from t2t.layers.sru import SRU
from t2t.layers.timing_signal import add_timing_signal_1d, get_timing_signal_1d

RECURRENCE_TYPES = ("basic", "highway", "skip", "dwa", "gru", "lstm", "act")
ACT_TYPES = ("basic", "accumulated", "global", "random")


def _preprocess(cfg: tl.LayerConfig) -> PrePostProcess:
    """T2T's `layer_preprocess` (its own norm variables at every call site)."""
    return PrePostProcess(
        cfg.hidden_size,
        cfg.layer_preprocess_sequence,
        cfg.layer_prepostprocess_dropout,
        cfg.norm_type,
        cfg.norm_epsilon,
        cfg.layer_prepostprocess_dropout_broadcast_dims,
    )


def _dense(in_depth: int, out_depth: int, bias_init: float | None = 0.0) -> nn.Linear:
    """A dense layer whose bias starts at `bias_init` (None: no bias)."""
    layer = nn.Linear(in_depth, out_depth, bias=bias_init is not None)
    if bias_init is not None:
        nn.init.constant_(layer.bias, bias_init)
        own_init(layer.bias)
    return layer


class StepLayer(nn.Module):
    """One Transformer layer of the recurrence: self-attention, encoder-decoder attention
    (decoder with an encoder), then the transition (T2T's "fc" FFN or "sepconv").

    Args:
        cfg: the layer settings.
        decoder: decoder layer (causal sepconv padding, encoder-decoder attention).
        has_encoder: whether a decoder layer attends to an encoder output.
        ffn_type: `transformer_ffn_type`, "fc" or "sepconv"; None for no transition.
    """

    def __init__(
        self, cfg: tl.LayerConfig, decoder: bool, has_encoder: bool, ffn_type: str | None
    ) -> None:
        super().__init__()
        base = tl.DecoderLayer(cfg, has_encoder) if decoder else tl.EncoderLayer(cfg)
        self.self_attention = base.self_attention
        self.encdec_attention = base.encdec_attention if decoder else None
        self.sepconv = ffn_type == "sepconv"
        if ffn_type is None:  # gru/lstm transitions without the FFN: T2T builds none
            self.ffn = None
        elif ffn_type == "fc":
            self.ffn = base.ffn
        elif self.sepconv:
            padding = "LEFT" if decoder else "SAME"
            sepconv = SepconvReluSepconv(
                cfg.hidden_size, cfg.filter_size, cfg.hidden_size, 3, 5, padding, cfg.relu_dropout
            )
            self.ffn = tl.Sublayer(cfg, sepconv)
        else:
            raise HParamsError(f"transformer_ffn_type must be fc or sepconv, got {ffn_type!r}")

    def attend(self, x, ctx: "StackContext") -> torch.Tensor:
        """T2T's attention unit: self-attention (+ encoder-decoder attention). [B, T, H]."""
        x = self.self_attention(x, bias=ctx.self_bias)
        if self.encdec_attention is not None:
            x = self.encdec_attention(x, ctx.memory, bias=ctx.memory_bias)
        return x

    def transition(self, x, ctx: "StackContext") -> torch.Tensor:
        """T2T's ffn unit. [B, T, H] -> [B, T, H]."""
        if self.sepconv:
            return self.ffn(x, ctx.nonpadding)
        return self.ffn(x, mask=ctx.pad_remover_mask)

    def forward(self, x: torch.Tensor, ctx: "StackContext") -> torch.Tensor:
        """x [B, T, H] -> [B, T, H]; a layer without transition only attends."""
        if self.ffn is None:
            return self.attend(x, ctx)
        return self.transition(self.attend(x, ctx), ctx)


class StackContext:
    """What every step sees: the biases, the encoder memory and the padding masks."""

    def __init__(self, self_bias, memory=None, memory_bias=None, nonpadding=None, remover=False):
        self.self_bias = self_bias
        self.memory = memory
        self.memory_bias = memory_bias
        self.nonpadding = nonpadding  # [B, T, 1] or None
        self.pad_remover_mask = nonpadding if remover else None


class UniversalTransformerStack(nn.Module):
    """T2T's `universal_transformer_encoder` / `_decoder` after the input preparation.

    Args:
        hparams: a universal_transformer hparams set.
        cfg: the Transformer layer settings of `hparams`.
        decoder: build the decoder (causal) stack.
        has_encoder: whether the decoder attends to an encoder output.

    Raises:
        HParamsError: an unknown recurrence_type, act_type or timing option.
    """

    def __init__(self, hparams: HParams, cfg: tl.LayerConfig, decoder: bool, has_encoder: bool):
        super().__init__()
        hp = self.hparams = hparams
        self.kind = hp.recurrence_type
        if self.kind == "rnn":  # listed in T2T's comment, but its get_ut_layer has no branch
            raise HParamsError("recurrence_type 'rnn' is named in T2T but never implemented there")
        if self.kind not in RECURRENCE_TYPES:
            raise HParamsError(f"Unknown recurrence type: {self.kind}")
        if self.kind == "act" and hp.act_type not in ACT_TYPES:
            raise HParamsError(f"Unknown act type: {hp.act_type}")
        if self.kind in ("gru", "lstm") and hp.add_step_timing_signal:
            raise HParamsError(f"recurrence_type={self.kind} needs add_step_timing_signal=false")
        self.decoder = decoder
        self.use_pad_remover = cfg.use_pad_remover and not decoder
        size = cfg.hidden_size

        def layers(count: int, kind: str | None = hp.transformer_ffn_type) -> nn.ModuleList:
            return nn.ModuleList(StepLayer(cfg, decoder, has_encoder, kind) for _ in range(count))

        mix = hp.mix_with_transformer or ""
        self.before = layers(hp.num_mixedin_layers if "before_ut" in mix else 0)
        gated = self.kind in ("gru", "lstm")
        no_ffn = gated and not hp.add_ffn_unit_to_the_transition_function
        # A gru/lstm step runs only the first layer's attention (and FFN), as in T2T.
        self.layers = layers(
            1 if gated else hp.num_inrecurrence_layers, None if no_ffn else hp.transformer_ffn_type
        )
        self.after = layers(hp.num_mixedin_layers if "after_ut" in mix else 0)
        self.num_steps = hp.act_max_steps if self.kind == "act" else hp.num_rec_steps
        self._build_step_signals(size)
        self._build_recurrence(cfg, size)
        self.final = _preprocess(cfg)

    def _build_step_signals(self, size: int) -> None:
        hp = self.hparams
        if hp.add_or_concat_timing_signal not in ("add", "concat"):
            raise HParamsError("add_or_concat_timing_signal must be add or concat")
        concat = hp.add_or_concat_timing_signal == "concat"
        channels = size * (2 if concat and hp.add_position_timing_signal else 1)
        self.step_embedding = None
        if hp.add_step_timing_signal:
            if hp.step_timing_signal_type not in ("learned", "sinusoid"):
                raise HParamsError("step_timing_signal_type must be learned or sinusoid")
            if hp.step_timing_signal_type == "learned":
                weight = torch.randn(self.num_steps, channels) * channels**-0.5  # [S, C]
                self.step_embedding = own_init(nn.Parameter(weight))
            channels *= 2 if concat else 1
        self.concat_projection = None
        if concat and hp.add_position_timing_signal:
            self.concat_projection = _dense(channels, size, bias_init=None)
        self.sru = SRU(size) if hp.add_sru else None

    def _build_recurrence(self, cfg: tl.LayerConfig, size: int) -> None:
        hp = self.hparams
        if self.kind in ("highway", "skip"):
            # "dense_dropconnect" is a plain dense layer in T2T too: its dropout is passed as
            # a kernel regularizer, whose loss T2T never adds (dropconnect_dropout is inert).
            if hp.gate_ffn_layer not in ("dense", "dense_dropconnect"):
                raise HParamsError(f"gate_ffn_layer {hp.gate_ffn_layer!r}: use dense")
            gates = _gate_inputs(hp)
            self.gate_norms = nn.ModuleList(_preprocess(cfg) for _ in gates)
            self.transform_gate = _dense(len(gates) * size, size, hp.transform_bias_init)
            self.carry_gate = None
            if not hp.couple_carry_transform_gates:
                self.carry_norms = nn.ModuleList(_preprocess(cfg) for _ in gates)
                self.carry_gate = _dense(len(gates) * size, size, -hp.transform_bias_init)
        elif self.kind == "dwa":
            steps = hp.num_rec_steps + 1
            if hp.depth_embedding:
                weight = torch.randn(steps, size) * size**-0.5  # [steps, H]
                self.depth_embedding = own_init(nn.Parameter(weight))
            self.dwa_weights = _dense(size, size if hp.dwa_elements else 1)
        elif self.kind in ("gru", "lstm"):
            self.transition_norm = _preprocess(cfg)
            self.output_norm = _preprocess(cfg)
            if self.kind == "gru":
                self.gru_gates = nn.ModuleDict(
                    {
                        "update_gate": _dense(2 * size, size, 1.0),
                        "reset_gate": _dense(2 * size, size, 1.0),
                        "candidate": _dense(2 * size, size, 0.0),
                    }
                )
            else:
                names = ("input", "forget", "output", "input_modulation")
                self.lstm_gates = nn.ModuleDict({n: _dense(2 * size, size) for n in names})
        elif self.kind == "act":
            self.halting = _dense(size, 1, hp.act_halting_bias_init)

    # ---- forward -------------------------------------------------------------------

    def forward(
        self,
        x: torch.Tensor,
        self_bias: torch.Tensor | None,
        memory: torch.Tensor | None = None,
        memory_bias: torch.Tensor | None = None,
        padding: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, act.HaltingState | None]:
        """Runs the recurrence and the final preprocess.

        Args:
            x: [B, T, H] prepared input (embedding, dropout; no positions when
                add_position_timing_signal).
            self_bias: self-attention bias broadcastable to [B, heads, T, T].
            memory: [B, S, H] encoder output (decoder), or None.
            memory_bias: bias broadcastable to [B, heads, T, S], or None.
            padding: [B, T], 1.0 at padding (the encoder's inputs), or None.

        Returns:
            (output [B, T, H], the ACT counters for "act", else None).
        """
        nonpadding = None if padding is None else (1.0 - padding).unsqueeze(-1).to(x.dtype)
        ctx = StackContext(self_bias, memory, memory_bias, nonpadding, self.use_pad_remover)
        x = self._vanilla(x, self.before, ctx)
        halting = None
        if self.kind == "act":
            x, halting = self._act(x, ctx)
        else:
            x = self._fixed_steps(x, ctx)
        x = self._vanilla(x, self.after, ctx)
        return self.final(None, x), halting

    def _vanilla(self, x, layers, ctx) -> torch.Tensor:
        """Plain Transformer layers mixed in before or after the recurrence."""
        if not len(layers):
            return x
        if self.hparams.add_position_timing_signal:
            x = add_timing_signal_1d(x)
        for layer in layers:
            x = layer(x, ctx)
        return x

    def _apply_layers(self, x, ctx) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, ctx)
        return x

    def step_preprocess(self, x: torch.Tensor, step: int) -> torch.Tensor:
        """T2T's `step_preprocess`: position and step signals, projection, SRU. [B, T, H]."""
        hp = self.hparams
        concat = hp.add_or_concat_timing_signal == "concat"
        if hp.add_position_timing_signal:
            signal = get_timing_signal_1d(
                x.shape[1], x.shape[2], start_index=self._position_start(x, step), device=x.device
            ).to(x.dtype)  # [1, T, C]
            x = torch.cat([x, signal.expand_as(x)], -1) if concat else x + signal
        if hp.add_step_timing_signal:
            signal = self._step_signal(step, x.shape[-1], x)  # [C]
            x = torch.cat([x, signal.expand_as(x)], -1) if concat else x + signal
        if self.concat_projection is not None:
            x = self.concat_projection(x)
        if self.sru is not None:
            x = self.sru(x)
        return x

    def _position_start(self, x: torch.Tensor, step: int) -> int:
        start = self.hparams.position_start_index
        if not start:
            return 0
        if start == "random":  # shift every position by one random offset
            return int(torch.randint(x.shape[1], ()))
        if start == "step":
            return int(x.shape[1] * step / self.num_steps)
        raise HParamsError(f"position_start_index must be None, random or step, got {start!r}")

    def _step_signal(self, step: int, channels: int, like: torch.Tensor) -> torch.Tensor:
        if self.step_embedding is not None:
            return self.step_embedding[step] * channels**0.5  # [C]
        signal = get_timing_signal_1d(self.num_steps, channels, device=like.device)
        return signal[0, step].to(like.dtype)  # [C]

    def _fixed_steps(self, x: torch.Tensor, ctx: StackContext) -> torch.Tensor:
        """Every recurrence type but ACT: num_rec_steps steps (T2T's foldl)."""
        state, inputs = x, x
        memory = torch.zeros_like(x) if self.kind == "lstm" else None
        if self.kind == "dwa":
            memory = [x]  # the input, then the state after each step
        for step in range(self.hparams.num_rec_steps):
            if self.kind == "basic":
                state = self._apply_layers(self.step_preprocess(state, step), ctx)
            elif self.kind in ("highway", "skip"):
                state = self._gated(state, inputs, step, ctx)
            elif self.kind == "dwa":
                state = self._depthwise_attention(memory, step, ctx)
                memory.append(state)
            elif self.kind == "gru":
                state = self._gru(state, step, ctx)
            else:
                state, memory = self._lstm(state, memory, step, ctx)
        if self.kind == "lstm" and self.hparams.use_memory_as_final_state:
            return memory
        return state

    def _gate(self, dense, norms, gate_inputs, ctx) -> torch.Tensor:
        """T2T's `_ffn_layer_multi_inputs` with sigmoid: zeros at pads when pads are removed."""
        normed = [norm(None, g) for norm, g in zip(norms, gate_inputs, strict=True)]
        gate = torch.sigmoid(dense(torch.cat(normed, dim=-1)))
        return gate if ctx.pad_remover_mask is None else gate * ctx.pad_remover_mask

    def _gated(self, state, inputs, step, ctx) -> torch.Tensor:
        """highway: state·carry + transformed·transform; skip: inputs·carry + ..."""
        transformed = self._apply_layers(self.step_preprocess(state, step), ctx)
        named = {"s": state, "t": transformed, "i": inputs}
        gate_inputs = [named[c] for c in _gate_inputs(self.hparams)]
        transform = self._gate(self.transform_gate, self.gate_norms, gate_inputs, ctx)
        if self.carry_gate is None:
            carry = 1.0 - transform
        else:
            carry = self._gate(self.carry_gate, self.carry_norms, gate_inputs, ctx)
        kept = state if self.kind == "highway" else inputs
        return kept * carry + transformed * transform

    def _depthwise_attention(self, memory, step, ctx) -> torch.Tensor:
        """dwa: a softmax-weighted sum of the states before `step`, then the layers.

        As in T2T, step 0 sums no state (its slice of the memory is empty) and the softmax
        runs over the output channels of the weighting layer, not over the steps.
        """
        if step == 0:
            summed = torch.zeros_like(memory[0])
        else:
            states = torch.stack(memory[:step])  # [step, B, T, H]
            if self.hparams.depth_embedding:
                depth = self.depth_embedding[:step] * states.shape[-1] ** 0.5  # [step, H]
                states = states + depth[:, None, None, :]
            weights = torch.softmax(self.dwa_weights(states), dim=-1)  # [step, B, T, H or 1]
            summed = (states * weights).sum(dim=0)  # [B, T, H]
        return self._apply_layers(self.step_preprocess(summed, step), ctx)

    def _transition_input(self, state, step, ctx) -> torch.Tensor:
        x = self.layers[0].attend(self.step_preprocess(state, step), ctx)
        if self.hparams.add_ffn_unit_to_the_transition_function:
            x = self.layers[0].transition(x, ctx)
        return self.transition_norm(None, x)

    def _gru(self, state, step, ctx) -> torch.Tensor:
        """A GRU in depth: the attention output is its input, the state its hidden state."""
        x = self._transition_input(state, step, ctx)
        gates = self.gru_gates
        update = self._masked(torch.sigmoid(gates["update_gate"](torch.cat([x, state], -1))), ctx)
        reset = self._masked(torch.sigmoid(gates["reset_gate"](torch.cat([x, state], -1))), ctx)
        candidate = torch.tanh(gates["candidate"](torch.cat([x, reset * state], -1)))
        candidate = self._masked(candidate, ctx)
        # T2T mixes the candidate with the transition *input*, not the previous state.
        return self.output_norm(None, (1.0 - update) * x + update * candidate)

    def _lstm(self, state, memory, step, ctx) -> tuple[torch.Tensor, torch.Tensor]:
        """An LSTM in depth: returns (output, cell memory)."""
        x = self._transition_input(state, step, ctx)
        both = torch.cat([x, state], -1)
        gates = {name: self._masked(dense(both), ctx) for name, dense in self.lstm_gates.items()}
        input_gate = self._masked(torch.sigmoid(gates["input"]), ctx)
        forget = torch.sigmoid(gates["forget"] + self.hparams.lstm_forget_bias)
        output_gate = self._masked(torch.sigmoid(gates["output"]), ctx)
        modulation = self._masked(torch.tanh(gates["input_modulation"]), ctx)
        memory = memory * forget + input_gate * modulation
        return self.output_norm(None, torch.tanh(memory) * output_gate), memory

    @staticmethod
    def _masked(x, ctx) -> torch.Tensor:
        """Zeros at pads where T2T's pad remover drops them from a gate layer."""
        return x if ctx.pad_remover_mask is None else x * ctx.pad_remover_mask

    def _act(self, x: torch.Tensor, ctx: StackContext):
        """Adaptive computation time: steps until every position halts or act_max_steps."""
        hp = self.hparams
        threshold = 1.0 - hp.act_epsilon
        shape = x.shape[:1] if hp.act_type == "global" else x.shape[:2]
        halting = act.HaltingState.zeros(tuple(shape), x)
        state, previous = x, torch.zeros_like(x)
        step = 0
        while step <= hp.act_max_steps and halting.should_continue(threshold, hp.act_max_steps):
            state = self.step_preprocess(state, step)
            if hp.act_type == "random":
                p = torch.rand(tuple(shape), device=x.device, dtype=x.dtype)
            else:
                p = torch.sigmoid(self.halting(state)).squeeze(-1)  # [B, T]
                if hp.act_type == "global":
                    p = p.mean(dim=1)  # [B]
            weights = act.act_update(p, halting, threshold)
            weights = weights.view(*weights.shape, *([1] * (x.dim() - weights.dim())))
            state = self._apply_layers(state, ctx)
            if hp.act_type == "accumulated":
                previous = state * weights + previous
            else:
                previous = state * weights + previous * (1.0 - weights)
            step += 1
        return previous, halting


def _gate_inputs(hparams: HParams) -> str:
    """Which of state "s", transformed state "t", inputs "i" feed the highway/skip gates.

    T2T reads `hparams.gates_inputs` but no registered set defines it (its highway and skip
    sets fail there); its docstring recommends "i", used here unless a set adds the name.
    """
    value = hparams.get("gates_inputs", "i")
    if not value or set(value) - set("sti"):
        raise HParamsError(f"gates_inputs must be letters of 'sti', got {value!r}")
    return "".join(c for c in "sti" if c in value)
