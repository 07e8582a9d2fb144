"""Mixture of experts routed by vector quantization (T2T's `expert_utils.vq_gating` with the
discrete bottleneck of `layers/vq_discrete.py`, Roy et al. 2018).

Each token goes to the expert whose codebook vector is nearest: the codebook has one entry
per expert (2**z of them, z = log2(num_experts), in `num_blocks` blocks of hidden/num_blocks
each). The gate of the chosen expert is 1. The extra loss is

    q_loss + beta * e_loss  (+ mean(count_per_expert * softmax(scales)) with use_scales)

where q_loss = mean((sg(x) - codebook[x])²) trains the codebook and e_loss = mean((x -
sg(codebook[x]))²) commits the tokens to it; with `use_scales` the squared distances are
divided by softmax(scales), a learned per-expert weighting.

With `ema` the codebook is not trained by q_loss but follows exponential moving averages
(decay `decay`) of each entry's token count and token sum, the counts Laplace-smoothed
with `epsilon`; the loss is then beta * e_loss (+ the scale loss). With `soft_em` each
token draws `num_samples` entries from softmax(-distance) (unscaled, as in T2T); its
centroid is the mean of the drawn entries and its expert the most drawn one.

Departures from T2T 1.15.7, kept on purpose:
- With `ema`, T2T updates the codebook whenever the loss is computed, in evaluation too;
  here only in training mode.
- T2T sizes the first layer's codebook from hparams.z_size (4, i.e. 16 entries) and later
  ones from the expert count (its vq_gating rewrites z_size); with 32 experts the first
  layer then fails (16 distances divided by 32 scales). Every codebook here has one entry per
  expert, as the sets mean.
- T2T's bottleneck also builds two dense layers ("vch2" hidden->filter_size and "vcfin"
  filter_size->hidden) whose output vq_gating never uses; they are created here only when
  `residual_centroids` needs them. (T2T's top-k path builds an unused codebook too.)
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from t2t.errors import HParamsError
from t2t.layers.initializers import own_init
from t2t.layers.mixture_of_experts import BatchedExperts, dispatch_combine


def codebook_size(num_experts: int) -> int:
    """The number of codebook entries for `num_experts` (2**log2(E), T2T's z_size)."""
    z = int(math.log(num_experts, 2))
    if 2**z != num_experts:
        raise HParamsError(
            f"VQ gating needs a power of 2 experts, got moe_num_experts={num_experts}"
        )
    return num_experts


class VQGating(nn.Module):
    """Nearest-codebook-entry gating: x [N, D] -> (expert ids [N, k], loss []).

    Args:
        depth: D.
        num_experts: E, a power of 2.
        k: experts per token; k > 1 first projects each token to k tokens (dense D -> k·D).
        beta: weight of the commitment loss.
        num_blocks: codebook blocks (the token is cut into num_blocks slices).
        use_scales: learn per-expert scales that divide the distances.
        ema: update the codebook by exponential moving averages instead of q_loss.
        decay: the moving averages' decay.
        epsilon: the Laplace smoothing of the moving-average counts.
        soft_em: sample `num_samples` entries per token instead of taking the nearest.
        num_samples: draws per token with `soft_em`.
    """

    def __init__(
        self,
        depth: int,
        num_experts: int,
        k: int = 1,
        beta: float = 0.25,
        num_blocks: int = 1,
        use_scales: bool = True,
        ema: bool = False,
        decay: float = 0.999,
        epsilon: float = 1e-5,
        soft_em: bool = False,
        num_samples: int = 10,
    ) -> None:
        super().__init__()
        if depth % num_blocks:
            raise HParamsError(f"hidden_size {depth} does not split into num_blocks={num_blocks}")
        bits = int(math.log(codebook_size(num_experts), 2))
        if bits % num_blocks:
            raise HParamsError(f"log2(moe_num_experts)={bits} does not split into {num_blocks}")
        self.num_experts, self.k, self.beta, self.num_blocks = num_experts, k, beta, num_blocks
        self.bits_per_block = bits // num_blocks
        entries, block_dim = 2**self.bits_per_block, depth // num_blocks
        # TF's variance_scaling(uniform) over [blocks, entries, block_dim]: fan_in = blocks·entries
        limit = math.sqrt(3.0 / (num_blocks * entries))
        means = torch.empty(num_blocks, entries, block_dim).uniform_(-limit, limit)
        self.means = own_init(nn.Parameter(means))  # [nb, V, D/nb]
        self.scales = own_init(nn.Parameter(torch.ones(num_experts))) if use_scales else None
        self.project = nn.Linear(depth, depth * k) if k > 1 else None
        self.ema, self.decay, self.epsilon = ema, decay, epsilon
        self.soft_em, self.num_samples = soft_em, num_samples
        if ema:  # T2T's non-trainable "ema_count" and "ema_means" (a copy of the initial means)
            self.register_buffer("ema_count", torch.zeros(num_blocks, entries))  # [nb, V]
            self.register_buffer("ema_means", means.clone())  # [nb, V, D/nb]
            # No loss reaches the codebook now (VQLocalMoE's residual centroids turn it back
            # on); a parameter without gradients would stop DistributedDataParallel.
            self.means.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [N, D] -> (expert ids [N, k], loss [])."""
        n = x.shape[0]
        if self.project is not None:
            x = self.project(x).reshape(n * self.k, -1)  # [N*k, D]
        sliced = x.reshape(x.shape[0], self.num_blocks, -1)  # [M, nb, D/nb]
        means = self.means.to(x.dtype)
        scales = None
        if self.scales is not None:
            scales = torch.softmax(self.scales.float(), dim=0)  # [E]
        hot = self._assign(sliced.detach(), means.detach(), scales)  # [M, nb, V]
        nearest = hot.argmax(dim=-1)  # [M, nb] (soft_em: the most drawn entry, first on ties)
        if self.soft_em:
            chosen = torch.einsum("mbv,bvd->mbd", hot.to(x.dtype), means)  # [M, nb, D/nb]
        else:
            chosen = means[torch.arange(self.num_blocks, device=x.device)[None], nearest]
        e_loss = (sliced - chosen.detach()).square().mean()
        if self.ema:
            # The codebook follows the moving averages; q_loss would move it a second way.
            loss = self.beta * e_loss
            if self.training:
                self._ema_update(sliced.detach().float(), hot.float())
        else:
            q_loss = (sliced.detach() - chosen).square().mean()
            loss = q_loss + self.beta * e_loss
        weights = 2 ** (self.bits_per_block * torch.arange(self.num_blocks, device=x.device))
        expert = (nearest * weights).sum(-1).reshape(n, self.k)  # [N, k]
        if scales is not None:
            counts = torch.bincount(expert.reshape(-1), minlength=self.num_experts)  # [E]
            loss = loss + (counts.to(scales.dtype) * scales).mean()
        return expert, loss

    @torch.no_grad()
    def _assign(
        self, sliced: torch.Tensor, means: torch.Tensor, scales: torch.Tensor | None
    ) -> torch.Tensor:
        """Codebook assignments of sliced tokens [M, nb, d]: one-hot, or with soft_em the
        fraction of `num_samples` draws that fell on each entry -> [M, nb, V]."""
        dist = (
            sliced.square().sum(-1, keepdim=True)  # [M, nb, 1]
            + means.square().sum(-1)[None]  # [1, nb, V]
            - 2 * torch.einsum("mbd,bvd->mbv", sliced, means)
        )  # [M, nb, V]
        entries = means.shape[1]
        if self.soft_em:  # T2T samples from softmax(-dist) and ignores the scales here
            probs = torch.softmax(-dist.float(), dim=-1).reshape(-1, entries)  # [M*nb, V]
            draws = torch.multinomial(probs, self.num_samples, replacement=True)  # [M*nb, S]
            hot = F.one_hot(draws, entries).float().mean(dim=1)  # [M*nb, V]
            return hot.reshape(dist.shape)
        if scales is not None:
            dist = dist / scales.reshape(1, 1, -1).to(dist.dtype)  # (needs nb = 1, V = E)
        return F.one_hot(dist.argmin(dim=-1), entries).float()  # [M, nb, V]

    @torch.no_grad()
    def _ema_update(self, sliced: torch.Tensor, hot: torch.Tensor) -> None:
        """Move the codebook to the moving averages of its tokens (T2T's `ema` branch).

        Args:
            sliced: the tokens [M, nb, d].
            hot: their assignments [M, nb, V].
        """
        counts = hot.sum(dim=0)  # [nb, V]
        token_sums = torch.einsum("mbv,mbd->bvd", hot, sliced)  # [nb, V, d]
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # The averages of the global batch, so that every process keeps the same codebook
            # (T2T's towers all updated one shared variable).
            torch.distributed.all_reduce(counts)
            torch.distributed.all_reduce(token_sums)
        keep = 1.0 - self.decay  # TF's assign_moving_average: v -= (v - value) * (1 - decay)
        self.ema_count.sub_((self.ema_count - counts) * keep)
        self.ema_means.sub_((self.ema_means - token_sums) * keep)
        total = self.ema_count.sum(dim=-1, keepdim=True)  # [nb, 1]
        # Laplace smoothing over all 2**bits codes (T2T uses 2**z_size, not entries per block)
        codes = 2 ** (self.bits_per_block * self.num_blocks)
        count = (self.ema_count + self.epsilon) / (total + codes * self.epsilon) * total
        self.means.copy_(self.ema_means / count[..., None])

    def centroids(self, expert: torch.Tensor) -> torch.Tensor:
        """The codebook vectors of expert ids [N] -> [N, D] (T2T's bottleneck `embed`)."""
        mask = 2**self.bits_per_block - 1
        blocks = torch.arange(self.num_blocks, device=expert.device)
        per_block = (expert[:, None] >> (self.bits_per_block * blocks)[None]) & mask  # [N, nb]
        return self.means[blocks[None], per_block].reshape(expert.shape[0], -1)  # [N, D]


class VQLocalMoE(nn.Module):
    """T2T's `local_moe` with gating_type "vq": x [..., D] -> (y [..., D], loss).

    Args:
        depth: D.
        filter_size: the experts' hidden size (T2T's ffn_expert_fn, no biases).
        num_experts: E.
        k: experts per token (gates are all 1).
        loss_coef: multiplier of the gating loss (T2T's transformer leaves local_moe's 1e-2).
        beta, num_blocks, use_scales: see `VQGating`.
        **codebook: `VQGating`'s ema, decay, epsilon, soft_em and num_samples.
        residual_centroids: add each token's expert centroid, through T2T's two ReLU dense
            layers (vch2, vcfin), to the output.
    """

    def __init__(
        self,
        depth: int,
        filter_size: int,
        num_experts: int,
        k: int = 1,
        loss_coef: float = 1e-2,
        beta: float = 0.25,
        num_blocks: int = 1,
        use_scales: bool = True,
        residual_centroids: bool = False,
        **codebook,
    ) -> None:
        super().__init__()
        self.loss_coef = loss_coef
        self.gating = VQGating(depth, num_experts, k, beta, num_blocks, use_scales, **codebook)
        self.experts = BatchedExperts(num_experts, [depth, filter_size, depth])
        self.centroid_layers = None
        if residual_centroids:
            self.gating.means.requires_grad_(True)  # the centroids train the codebook too
            self.centroid_layers = nn.ModuleList(
                [nn.Linear(depth, filter_size), nn.Linear(filter_size, depth)]
            )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [..., D] -> (y [..., D], gating loss [])."""
        flat = x.reshape(-1, x.shape[-1])  # [N, D]
        expert, loss = self.gating(flat)  # [N, k]
        gates = torch.ones(expert.shape, dtype=flat.dtype, device=flat.device)
        y = dispatch_combine(flat, expert, gates, self.experts)  # [N, D]
        if self.centroid_layers is not None:
            # T2T's vq_gating looks up k·N discrete codes but squeezes them as N; k = 1 here.
            h = self.gating.centroids(expert[:, 0]).to(flat.dtype)
            for layer in self.centroid_layers:
                h = layer(F.relu(h))
            y = y + h
        return y.reshape(*x.shape[:-1], -1), self.loss_coef * loss


def vq_arguments(hparams) -> dict:
    """`VQLocalMoE` keyword arguments from T2T's VQ-gating hparams.

    Raises:
        HParamsError: a bottleneck option t2t does not implement (random_top_k > 1,
            num_residuals > 1).
    """
    hp = hparams
    if hp.get("random_top_k", 1) > 1:
        raise HParamsError("random_top_k > 1 is not supported for VQ gating")
    if hp.get("num_residuals", 1) != 1:
        raise HParamsError("num_residuals != 1 is not supported for VQ gating")
    if hp.get("use_scales", 1) and hp.get("num_blocks", 1) != 1:
        raise HParamsError("use_scales needs num_blocks=1 (one scale per codebook entry)")
    return dict(
        beta=hp.get("beta", 0.25),
        num_blocks=hp.get("num_blocks", 1),
        use_scales=bool(hp.get("use_scales", 1)),
        residual_centroids=bool(hp.get("residual_centroids", 0)),
        ema=bool(hp.get("ema", False)),
        decay=hp.get("decay", 0.999),
        epsilon=hp.get("epsilon", 1e-5),
        soft_em=bool(hp.get("soft_em", False)),
        num_samples=hp.get("num_samples", 10),
    )
