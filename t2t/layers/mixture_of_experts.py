"""Sparsely-gated mixtures of experts (Shazeer et al. 2017) as T2T's `expert_utils`.

Two layers:

- `LocalMoE` (T2T's `local_moe`): noisy top-k gating, every token to its k experts, no
  capacity limit; loss = loss_coef * (cv²(importance) + cv²(load)).
- `LocalMoETPU` (T2T's `local_moe_tpu`): softmax gating, top-2 per token, each sequence
  sends at most `capacity = min(length, int(2 * overhead * length / num_experts))` tokens
  to an expert (later tokens are dropped from that expert); loss = loss_coef *
  cv²(importance).

The experts run together as batched matrix products: their weights are [E, d_in, d_out]
tensors, tokens are grouped by expert into an [E, C, d] buffer, and results are scattered
back weighted by their gates. No Python loop runs over the experts.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.initializers import own_init


def cv_squared(x: torch.Tensor) -> torch.Tensor:
    """T2T's squared coefficient of variation of a sample (0 for an empty tensor)."""
    epsilon = 1e-10
    size = x.numel() + epsilon
    mean = x.float().sum() / size
    variance = (x.float() - mean).square().sum() / size
    return variance / (mean.square() + epsilon)


def _normal_cdf(x: torch.Tensor, stddev: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1.0 + torch.erf(x / (math.sqrt(2) * stddev + 1e-20)))


def prob_in_top_k(clean, noisy, noise_stddev, noisy_top_values, k: int) -> torch.Tensor:
    """P(each logit is in the top k) under fresh noise, differentiable (T2T's
    `_prob_in_top_k`). clean, noisy, noise_stddev: [N, E]; noisy_top_values: [N, >k]."""
    threshold_if_in = noisy_top_values[:, k : k + 1]  # [N, 1]: the (k+1)-th value
    threshold_if_out = noisy_top_values[:, k - 1 : k]  # [N, 1]: the k-th value
    is_in = noisy > threshold_if_in
    prob_if_in = _normal_cdf(clean - threshold_if_in, noise_stddev)
    prob_if_out = _normal_cdf(clean - threshold_if_out, noise_stddev)
    return torch.where(is_in, prob_if_in, prob_if_out)


class NoisyTopKGating(nn.Module):
    """T2T's `noisy_top_k_gating`: x [N, D] -> (gates [N, E] with k non-zeros, load [E]).

    Both weights start at zero, as in T2T. The noise (std softplus(x w_noise) + 1e-2) is
    added in training only; the load is then the differentiable expected count.
    """

    def __init__(self, depth: int, num_experts: int, k: int, noise_epsilon: float = 1e-2):
        super().__init__()
        self.num_experts, self.k, self.noise_epsilon = num_experts, k, noise_epsilon
        self.w_gate = own_init(nn.Parameter(torch.zeros(depth, num_experts)))
        self.w_noise = own_init(nn.Parameter(torch.zeros(depth, num_experts)))

    def forward(self, x: torch.Tensor):
        """x [N, D] -> (gates [N, E], load [E], top_k_indices [N, k], top_k_gates [N, k])."""
        clean = x @ self.w_gate  # [N, E]
        stddev = (F.softplus(x @ self.w_noise) + self.noise_epsilon) * float(self.training)
        noisy = clean + torch.randn_like(clean) * stddev
        top_values, top_indices = noisy.topk(min(self.k + 1, self.num_experts), dim=-1)
        top_k_gates = torch.softmax(top_values[:, : self.k], dim=-1)  # [N, k]
        top_k_indices = top_indices[:, : self.k]  # [N, k]
        gates = torch.zeros_like(clean).scatter(1, top_k_indices, top_k_gates)  # [N, E]
        if self.k < self.num_experts:
            load = prob_in_top_k(clean, noisy, stddev, top_values, self.k).sum(0)
        else:
            load = (gates > 0).float().sum(0)
        return gates, load, top_k_indices, top_k_gates


class BatchedExperts(nn.Module):
    """E feed-forward experts, run together: T2T's `ffn_expert_fn` (no biases, ReLU between
    layers, and T2T's rescaling by (d_in / input_size)^-0.5 after a layer whose input is
    not the model depth) or `batch_dense` pairs (`scale=False`).

    Args:
        num_experts: E.
        sizes: [input, hidden..., output] layer sizes.
        scale: apply T2T's ffn_expert_fn rescaling.
    """

    def __init__(self, num_experts: int, sizes: list[int], scale: bool = True) -> None:
        super().__init__()
        self.num_experts, self.sizes, self.scale = num_experts, sizes, scale
        self.weights = nn.ParameterList(
            nn.Parameter(torch.empty(num_experts, d_in, d_out))
            for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True)
        )  # each [E, d_in, d_out]
        for w in self.weights:  # batch_dense's own initializer: N(0, d_in^-0.5)
            nn.init.normal_(w, std=w.shape[1] ** -0.5)
            if not scale:
                own_init(w)  # kept; with scale, a model's initializer replaces it
            w._t2t_per_expert = True  # E separate [d_in, d_out] kernels in T2T

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [E, C, d_in] (C tokens per expert) -> [E, C, d_out]."""
        for i, w in enumerate(self.weights):
            x = torch.bmm(x, w)  # [E, C, d_{i+1}]
            if i < len(self.weights) - 1:
                x = F.relu(x)
            if self.scale and self.sizes[i] != self.sizes[0]:
                x = x * (self.sizes[i] / self.sizes[0]) ** -0.5
        return x


def group_by_expert(expert_ids: torch.Tensor, weights: torch.Tensor, num_experts: int):
    """Lays each (token, expert) assignment with a non-zero gate out in an [E, C] grid.

    Within an expert the tokens keep their order (T2T's SparseDispatcher does the same).

    Args:
        expert_ids: [N, k] the experts of each token.
        weights: [N, k] their gates; a zero gate drops that assignment.
        num_experts: E.

    Returns:
        (token, expert, slot, gate, capacity): four [M] tensors, one entry per kept
        assignment (the token, its expert, its place among that expert's tokens, its gate),
        and C, the most tokens any expert received.
    """
    keep = (weights != 0).reshape(-1)
    token = torch.arange(expert_ids.shape[0], device=expert_ids.device)
    token = token.repeat_interleave(expert_ids.shape[1])
    token, expert, gate = token[keep], expert_ids.reshape(-1)[keep], weights.reshape(-1)[keep]
    order = torch.argsort(expert, stable=True)  # group the assignments by expert
    token, expert, gate = token[order], expert[order], gate[order]
    counts = torch.bincount(expert, minlength=num_experts)  # [E]
    starts = torch.cumsum(counts, 0) - counts  # [E]
    slot = torch.arange(expert.shape[0], device=expert.device) - starts[expert]
    capacity = int(counts.max()) if expert.numel() else 0
    return token, expert, slot, gate, capacity


def dispatch_combine(
    x: torch.Tensor, expert_ids: torch.Tensor, weights: torch.Tensor, experts: nn.Module
) -> torch.Tensor:
    """Runs each token through its experts and sums their outputs weighted by the gates.

    Args:
        x: [N, D] tokens.
        expert_ids: [N, k] the experts of each token.
        weights: [N, k] their gates; a zero gate skips that expert (T2T's dispatcher).
        experts: batched experts, [E, C, D] -> [E, C, D_out] (`num_experts` attribute).

    Returns:
        [N, D_out] = Σ_j weights[n, j] * expert_{expert_ids[n, j]}(x[n]).
    """
    token, expert, slot, gate, capacity = group_by_expert(expert_ids, weights, experts.num_experts)
    buffer = x.new_zeros(experts.num_experts, capacity, x.shape[1])  # [E, C, D]
    buffer[expert, slot] = x[token]
    out = experts(buffer)  # [E, C, D_out]
    combined = x.new_zeros(x.shape[0], out.shape[-1])  # [N, D_out]
    return combined.index_add(0, token, out[expert, slot] * gate[:, None].to(out.dtype))


class LocalMoE(nn.Module):
    """T2T's `local_moe` with `ffn_expert_fn` experts: x [..., D] -> (y [..., D_out], loss).

    Args:
        depth: D.
        hidden_sizes: the experts' hidden layer sizes.
        output_size: D_out.
        num_experts: E (`moe_num_experts`).
        k: experts per token (`moe_k`).
        loss_coef: multiplier of the balancing loss (`moe_loss_coef`).
        experts: other batched experts ([E, C, D] -> [E, C, D_out], e.g. diet experts)
            instead of `ffn_expert_fn` ones.

    After each forward pass `last_expert_ids` holds the routing it used: [N, k], the
    experts of each of the N tokens of x flattened to [N, D] (detached; T2T kept no such
    record, it is for measuring the experts' load, e.g. benchmarks/moe_vs_dense.py).
    """

    def __init__(
        self, depth, hidden_sizes, output_size, num_experts, k=2, loss_coef=1e-2, experts=None
    ):
        super().__init__()
        self.loss_coef = loss_coef
        self.gating = NoisyTopKGating(depth, num_experts, k)
        if experts is None:
            experts = BatchedExperts(num_experts, [depth, *hidden_sizes, output_size])
        self.experts = experts
        self.last_expert_ids: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [..., D] -> (y [..., D_out], balancing loss [])."""
        flat = x.reshape(-1, x.shape[-1])  # [N, D]
        gates, load, indices, top_gates = self.gating(flat)
        self.last_expert_ids = indices.detach()  # [N, k]
        loss = self.loss_coef * (cv_squared(gates.sum(0)) + cv_squared(load))
        y = dispatch_combine(flat, indices, top_gates, self.experts)
        return y.reshape(*x.shape[:-1], -1), loss


class LocalMoETPU(nn.Module):
    """T2T's `local_moe_tpu`: top-2 experts with a per-sequence capacity.

    Args:
        depth: D.
        hidden_size: the experts' hidden size.
        output_size: D_out.
        num_experts: E.
        loss_coef: multiplier of cv²(importance).
    """

    def __init__(self, depth, hidden_size, output_size, num_experts, loss_coef=1e-3):
        super().__init__()
        self.num_experts, self.loss_coef = num_experts, loss_coef
        self.logits = nn.Linear(depth, num_experts)
        self.experts = BatchedExperts(num_experts, [depth, hidden_size, output_size], False)

    def forward(self, x: torch.Tensor, overhead: float = 1.0):
        """x [B, L, D] -> (y [B, L, D_out], balancing loss [])."""
        batch, length, _ = x.shape
        capacity = min(length, int(length * 2 * overhead / self.num_experts))
        gates = torch.softmax(self.logits(x).float(), dim=-1)  # [B, L, E]
        gate_1, index_1 = gates.max(dim=-1)  # [B, L]
        mask_1, slot_1 = self._fill(index_1, capacity, gates.new_zeros(batch, 1, self.num_experts))
        count_1 = mask_1.sum(dim=1, keepdim=True)  # [B, 1, E]
        # T2T steers the second choice away from experts expected to be full by this position.
        use_rate = (count_1 + 1.0) / length
        exhaustion = (capacity - count_1) / use_rate  # [B, 1, E]
        positions = torch.arange(length, device=x.device, dtype=gates.dtype)[None, :, None]
        masked = gates - mask_1 - (positions > exhaustion).to(gates.dtype)
        gate_2, index_2 = masked.max(dim=-1)  # [B, L]
        mask_2, slot_2 = self._fill(index_2, capacity, count_1)
        gate_1 = gate_1 * mask_1.sum(-1)
        gate_2 = gate_2 * mask_2.sum(-1)
        denom = gate_1 + gate_2 + 1e-9
        weights = torch.stack([gate_1 / denom, gate_2 / denom], -1)  # [B, L, 2]
        y = self._run(
            x,
            torch.stack([index_1, index_2], -1),
            torch.stack([slot_1, slot_2], -1),
            weights,
            capacity,
        )
        importance = (gates * (mask_1 + mask_2)).sum(dim=1)  # [B, E]
        y = y.reshape(batch, length, -1).to(x.dtype)  # [B, L, D_out]
        return y, self.loss_coef * cv_squared(importance)

    def _fill(self, index, capacity, already):
        """One-hot choices [B, L, E] kept while the expert has room, and their slots [B, L]."""
        mask = F.one_hot(index, self.num_experts).float()  # [B, L, E]
        position = (torch.cumsum(mask, dim=1) - mask + already) * mask  # exclusive cumsum
        mask = mask * (position < capacity).float()
        return mask, position.sum(-1).long()

    def _run(self, x, expert, slot, weights, capacity):
        """Scatter to [E, B·C, D] by (expert, sequence, slot), run, gather back weighted."""
        batch, length, depth = x.shape
        keep = (slot < capacity) & (weights != 0)  # [B, L, 2]
        b = torch.arange(batch, device=x.device)[:, None, None].expand_as(expert)[keep]
        e, s, w = expert[keep], slot[keep], weights[keep]
        t = torch.arange(length, device=x.device)[None, :, None].expand_as(expert)[keep]
        buffer = x.new_zeros(self.num_experts, batch * capacity, depth)  # [E, B*C, D]
        buffer[e, b * capacity + s] = x[b, t]
        out = self.experts(buffer)  # [E, B*C, D_out]
        y = x.new_zeros(batch * length, out.shape[-1])
        return y.index_add(0, b * length + t, out[e, b * capacity + s] * w[:, None].to(out.dtype))


class MoEFeedForward(nn.Module):
    """The Transformer's `ffn_layer` "local_moe" or "local_moe_tpu": x [B, T, D] -> [B, T, D].

    The balancing loss of the last forward pass is left in `aux_loss`, where
    `T2TModel.auxiliary_losses` collects it for the trainer (T2T appends it to `losses`).
    local_moe: experts with one hidden layer of `filter_size` (T2T's ffn_expert_fn).
    local_moe_tpu: hidden `filter_size // 2`, capacity overhead by mode.
    Departure from T2T's transformer: the gating noise is added in training only (T2T's
    transformer passes train=True always). `vq`: `t2t.layers.vq_gating.VQLocalMoE`
    arguments for local_moe with gating_type "vq" (None: noisy top-k gating).
    """

    def __init__(
        self,
        kind: str,
        depth: int,
        filter_size: int,
        num_experts: int,
        k: int = 2,
        loss_coef: float = 1e-2,
        overhead_train: float = 1.0,
        overhead_eval: float = 2.0,
        vq: dict | None = None,
    ) -> None:
        super().__init__()
        self.kind = kind
        self.overheads = (overhead_train, overhead_eval)
        self.aux_loss: torch.Tensor | None = None
        if kind == "local_moe" and vq is not None:  # gating_type "vq": VQLocalMoE arguments
            from t2t.layers.vq_gating import VQLocalMoE  # (vq_gating imports this module)

            self.moe = VQLocalMoE(depth, filter_size, num_experts, k, loss_coef, **vq)
        elif kind == "local_moe":
            self.moe = LocalMoE(depth, [filter_size], depth, num_experts, k, loss_coef)
        else:
            self.moe = LocalMoETPU(depth, filter_size // 2, depth, num_experts, loss_coef)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, T, D] -> [B, T, D]; the balancing loss goes to `aux_loss`."""
        if self.kind == "local_moe":
            y, loss = self.moe(x)
        else:
            y, loss = self.moe(x, self.overheads[0] if self.training else self.overheads[1])
        self.aux_loss = loss if self.aux_loss is None else self.aux_loss + loss
        return y
