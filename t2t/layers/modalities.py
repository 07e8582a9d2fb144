"""Modalities: how a feature enters the model (bottom) and leaves it (top, loss).

T2T names modality variables by type, vocab size and depth (`symbol_modality_V_H/shared`),
and that naming decides which features share an embedding: inputs and targets with the
same vocab share one table when `shared_embedding_and_softmax_weights` (or
`shared_embedding`) is on, and the softmax reuses it under the first flag. `ModalityWeights`
keeps tables under the same keys, so sharing and parameter counts match T2T's.

Shapes drop T2T's singleton dims: ids [B, T], embeddings [B, T, H], logits [B, T, V];
class labels: ids [B] or [B, 1], logits [B, 1, V].
"""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from t2t.errors import HParamsError
from t2t.layers.common import own_init

SYMBOL = "symbol"
SYMBOL_WEIGHTS_ALL = "symbol_weights_all"
SYMBOL_ONE_HOT = "symbol_one_hot"
CLASS_LABEL = "class_label"
IDENTITY = "identity"
REAL = "real"
REAL_L2_LOSS = "real_l2_loss"
MODALITY_TYPES = (
    SYMBOL,
    SYMBOL_WEIGHTS_ALL,
    SYMBOL_ONE_HOT,
    CLASS_LABEL,
    IDENTITY,
    REAL,
    REAL_L2_LOSS,
)
_SYMBOLS = (SYMBOL, SYMBOL_WEIGHTS_ALL)


def check_modality_type(modality: str, feature: str) -> None:
    """Raises HParamsError naming the supported types if `modality` is not one."""
    if modality not in MODALITY_TYPES:
        raise HParamsError(
            f"modality {modality!r} of feature {feature!r} is not supported; "
            f"supported: {', '.join(MODALITY_TYPES)}"
        )


def modality_name(modality: str, vocab_size: int | None, hidden_size: int) -> str:
    """T2T's `get_name`: the variable scope of a modality."""
    if modality in _SYMBOLS or modality == SYMBOL_ONE_HOT:
        return f"symbol_modality_{vocab_size}_{hidden_size}"
    if modality == CLASS_LABEL:
        return f"class_label_modality_{vocab_size}_{hidden_size}"
    return f"{modality}_modality"


def weights_nonzero(labels: torch.Tensor) -> torch.Tensor:
    """1.0 where the label is not PAD (0)."""
    return (labels != 0).float()


def weights_all(labels: torch.Tensor) -> torch.Tensor:
    """1.0 everywhere."""
    return torch.ones_like(labels, dtype=torch.float32)


def weights_prepend_inputs_to_targets(labels: torch.Tensor) -> torch.Tensor:
    """1.0 on non-zero labels after the first 0 (the target part of [inputs 0 targets])."""
    past_first_zero = torch.cumsum((labels == 0).long(), dim=1) > 0
    return (past_first_zero & (labels != 0)).float()


def weights_fn_for(modality: str):
    """T2T's default weights_fn: non-padding for symbol-like targets, all ones otherwise."""
    return weights_nonzero if modality in (SYMBOL, SYMBOL_ONE_HOT) else weights_all


class _SmoothedCrossEntropy(torch.autograd.Function):
    """Per-position Σ_v soft_v · (-log p_v) against the smoothed target, with its gradient.

    The forward is the plain formula; the backward writes the gradient of that same
    function, softmax - soft target, in one exp pass and two in-place updates. Autograd
    through log_softmax, gather and sum builds it from a zero fill, a scatter, an add and
    the log-softmax backward over [N, V]: about 10 % of a tiny Transformer's training step.
    """

    @staticmethod
    def forward(ctx, logits, labels, confidence: float, low: float):
        """logits [..., V] float, labels [...] long -> xent [...]."""
        log_probs = torch.log_softmax(logits, dim=-1)  # [..., V]
        nll = -log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)  # [...]
        xent = confidence * nll
        if low > 0.0:
            # Σ_v soft_v · (-log p_v) = confidence·nll + low·(Σ_v -log p_v - nll)
            xent = xent + low * (-log_probs.sum(dim=-1) - nll)
        ctx.save_for_backward(log_probs, labels)
        ctx.confidence, ctx.low = confidence, low
        return xent

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_xent):
        """d xent / d logits = softmax - soft target (soft sums to 1), times grad_xent."""
        log_probs, labels = ctx.saved_tensors
        grad = torch.exp(log_probs)  # softmax [..., V]
        if ctx.low > 0.0:
            grad.sub_(ctx.low)
        index = labels.unsqueeze(-1)  # [..., 1]
        on_label = torch.full(
            index.shape, ctx.low - ctx.confidence, dtype=grad.dtype, device=grad.device
        )
        grad.scatter_add_(-1, index, on_label)
        grad.mul_(grad_xent.unsqueeze(-1))
        return grad, None, None, None


def padded_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    label_smoothing: float,
    weights_fn=weights_nonzero,
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's label-smoothed cross-entropy, as (numerator, denominator).

    The smoothed target puts 1 - label_smoothing on the label and label_smoothing / (V - 1)
    on every other id; the constant entropy of that target is subtracted, so the value is a
    KL divergence (0 for a perfect prediction; plain cross-entropy when label_smoothing is 0).

    Args:
        logits: [B, T, V] (or [B, V] with labels [B]); computed in float32.
        labels: [B, T] ids; logits and labels are zero-padded to the same length T.
        label_smoothing: T2T's label_smoothing.
        weights_fn: labels -> weights [B, T].

    Returns:
        (Σ xent · weights, Σ weights), both float32 scalars.
    """
    if (
        logits.dim() == labels.dim() + 1
        and logits.dim() >= 3
        and logits.shape[1] != labels.shape[1]
    ):
        # Only when the lengths differ: F.pad always copies, and on [B, T, V] logits that
        # copy (and its backward) cost ~5 % of a training step.
        length = max(logits.shape[1], labels.shape[1])
        logits = F.pad(logits, [0, 0, 0, length - logits.shape[1]])
        labels = F.pad(labels, [0, length - labels.shape[1]])
    logits = logits.float()
    vocab_size = logits.shape[-1]
    confidence = 1.0 - label_smoothing
    low = (1.0 - confidence) / max(vocab_size - 1, 1)
    xent = _SmoothedCrossEntropy.apply(logits, labels.long(), confidence, low)
    if low > 0.0:
        normalizing = -(
            confidence * math.log(confidence) + (vocab_size - 1) * low * math.log(low + 1e-20)
        )
        xent = xent - normalizing
    weights = weights_fn(labels)
    return (xent * weights).sum(), weights.sum()


class ModalityWeights(nn.Module):
    """The embedding / softmax tables of all symbol modalities, keyed as T2T names them.

    Args:
        hidden_size: embedding depth.
    """

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.tables = nn.ParameterDict()

    def table(self, scope: str, part: str, vocab_size: int, depth: int | None = None) -> str:
        """Creates (once) the table `<scope>_<part>` [V, depth] ~ N(0, depth^-0.5).

        depth defaults to hidden_size (a softmax over a wider body output is wider).
        Returns the table's key.
        """
        key = f"{scope}_{part}"
        depth = depth or self.hidden_size
        if key not in self.tables:
            weight = torch.randn(vocab_size, depth) * depth**-0.5
            self.tables[key] = own_init(nn.Parameter(weight))
        return key

    def __getitem__(self, key: str) -> nn.Parameter:
        return self.tables[key]


class SymbolBottom(nn.Module):
    """Embeds ids: gather rows, × sqrt(H) (multiply_embedding_mode "sqrt_depth"), PAD -> 0.

    The zero vector at PAD is how the Transformer later finds padding. symbol_dropout drops
    ids to 0 without rescaling (T2T's `dropout_no_scaling`).
    """

    def __init__(
        self,
        weights: ModalityWeights,
        key: str,
        multiply_embedding_mode: str,
        symbol_dropout: float,
    ) -> None:
        super().__init__()
        self.weights = [weights]  # a list: the owner registers the tables, not this view
        self.key = key
        self.multiplier = (
            math.sqrt(weights.hidden_size) if multiply_embedding_mode == "sqrt_depth" else 1.0
        )
        self.symbol_dropout = symbol_dropout

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] -> [B, T, H]."""
        if self.training and self.symbol_dropout > 0.0:
            keep = torch.rand(ids.shape, device=ids.device) >= self.symbol_dropout
            ids = ids * keep
        emb = F.embedding(ids, self.weights[0][self.key])  # [B, T, H]
        # One multiply by (multiplier or 0) per position: the same values as scaling, then
        # zeroing PAD, with one [B, T, H] pass (and one in the backward) fewer.
        scale = (ids != 0).unsqueeze(-1).to(emb.dtype) * self.multiplier  # [B, T, 1]
        return emb * scale


class SymbolTop(nn.Module):
    """Logits = x · Wᵀ with the (possibly shared) table W, no bias. [B, T, H] -> [B, T, V]."""

    def __init__(self, weights: ModalityWeights, key: str) -> None:
        super().__init__()
        self.weights = [weights]
        self.key = key

    @property
    def linear_weight(self) -> torch.Tensor:
        """W [V, H], the table the logits multiply by (see `t2t.layers.packed_linear`)."""
        return self.weights[0][self.key]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.linear_weight)


class ClassLabelBottom(nn.Module):
    """Class-label embedding [V, H] × sqrt(H) (scope initializer, as T2T): [B] -> [B, 1, H]."""

    def __init__(self, vocab_size: int, hidden_size: int, multiply_embedding_mode: str) -> None:
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(vocab_size, hidden_size))
        nn.init.normal_(self.kernel, std=hidden_size**-0.5)  # replaced by the model initializer
        self.multiplier = hidden_size**0.5 if multiply_embedding_mode == "sqrt_depth" else 1.0

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        ids = ids.reshape(ids.shape[0], -1)  # [B, 1]
        return F.embedding(ids, self.kernel) * self.multiplier


class ClassLabelTargetsBottom(nn.Module):
    """Class-label targets enter the decoder as zeros: [B] -> [B, 1, H]."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.hidden_size = hidden_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(ids.shape[0], 1, self.hidden_size, device=ids.device)


class ClassLabelTop(nn.Module):
    """Mean over positions, then dense(V) with bias: [B, T, H] -> [B, 1, V]."""

    def __init__(self, hidden_size: int, vocab_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x.mean(dim=1, keepdim=True))


class IdentityBottom(nn.Module):
    """Casts to float; no variables."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.float()


class Identity(nn.Module):
    """Returns its input (identity / symbol_one_hot tops)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class OneHotBottom(nn.Module):
    """symbol_one_hot inputs: ids [B, T] -> one-hot [B, T, V]."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.vocab_size = vocab_size

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.one_hot(ids.long(), self.vocab_size).float()


class RealBottom(nn.Module):
    """Dense(H) on real-valued inputs: [B, T, C] (or [B, T]) -> [B, T, H]."""

    def __init__(self, in_depth: int, hidden_size: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_depth, hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        return self.dense(x.unsqueeze(-1) if x.dim() == 2 else x)


def modality_loss(
    modality: str,
    logits: torch.Tensor,
    targets: torch.Tensor,
    label_smoothing: float,
    weights_fn=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """T2T's loss of a target modality, as (numerator, denominator).

    Args:
        modality: the target modality type.
        logits: top output ([B, T, V]; class labels [B, 1, V]; real [B, T, C]).
        targets: labels ([B, T] ids; class labels [B] or [B, 1]; real [B, T] or [B, T, C]).
        label_smoothing: for the cross-entropy losses.
        weights_fn: overrides the modality's default weights.
    """
    weights_fn = weights_fn or weights_fn_for(modality)
    if modality == CLASS_LABEL:
        targets = targets.reshape(targets.shape[0], -1)  # [B, 1]
    if modality == REAL_L2_LOSS:
        predictions = logits
        if predictions.dim() != targets.dim():
            predictions = predictions.squeeze(-1)
        weights = weights_fn(targets)
        return ((predictions - targets.float()) ** 2 * weights).sum(), weights.sum()
    if modality == SYMBOL_ONE_HOT:
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        nll = -log_probs.gather(-1, targets.long().unsqueeze(-1)).squeeze(-1)
        return nll.mean(), torch.tensor(1.0, device=logits.device)
    return padded_cross_entropy(logits, targets.long(), label_smoothing, weights_fn)
