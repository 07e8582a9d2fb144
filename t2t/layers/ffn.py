"""Feed-forward blocks: T2T's "dense_relu_dense" and "conv_relu_conv"."""

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from t2t.layers.dropout import dropout_with_broadcast_dims


class DenseReluDense(nn.Module):
    """T2T's "dense_relu_dense" FFN: dense(filter, ReLU) -> dropout -> dense(depth).

    The two layers carry biases (T2T's `conv1`, `conv2`).
    """

    def __init__(
        self,
        depth: int,
        filter_size: int,
        relu_dropout: float = 0.0,
        broadcast_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.conv1 = nn.Linear(depth, filter_size)
        self.conv2 = nn.Linear(filter_size, depth)
        self.relu_dropout = relu_dropout
        self.broadcast_dims = list(broadcast_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [B, T, depth] -> [B, T, depth]."""
        h = F.relu(self.conv1(x))  # [B, T, F]
        h = dropout_with_broadcast_dims(h, self.relu_dropout, self.broadcast_dims, self.training)
        return self.conv2(h)


class ConvReluConv(nn.Module):
    """T2T's "conv_relu_conv" FFN: a width-k convolution (ReLU), dropout, then dense(depth).

    As T2T's `tpu_conv1d`, the convolution is k dense layers on shifted copies of the input,
    summed and scaled by k^-0.5 (the first carries the bias). "SAME" centres the taps,
    "LEFT" (the decoder) looks only back. T2T's quirk is kept: its first tap reads the
    unshifted input, so the taps' offsets are 0, then first + 1, ..., first + k - 1 (first =
    -(k - 1) // 2 for SAME, -(k - 1) for LEFT); a LEFT convolution never sees position t-k+1.

    Args:
        depth: input and output size.
        filter_size: hidden size.
        kernel_size: k (T2T's `conv_first_kernel`; odd for "SAME").
        padding: "SAME" (encoder) or "LEFT" (decoder, causal).
        relu_dropout: dropout on the hidden activations.
        broadcast_dims: dims along which the dropout mask is shared.
    """

    def __init__(
        self,
        depth: int,
        filter_size: int,
        kernel_size: int,
        padding: str = "SAME",
        relu_dropout: float = 0.0,
        broadcast_dims: Sequence[int] = (),
    ) -> None:
        super().__init__()
        if padding not in ("SAME", "LEFT") or (padding == "SAME" and kernel_size % 2 == 0):
            raise ValueError(f"conv_relu_conv needs padding SAME (odd kernel) or LEFT, got "
                             f"{padding} with kernel {kernel_size}")  # fmt: skip
        self.kernel_size = kernel_size
        self.first = -((kernel_size - 1) // 2) if padding == "SAME" else -(kernel_size - 1)
        self.taps = nn.ModuleList(
            nn.Linear(depth, filter_size, bias=(i == 0)) for i in range(kernel_size)
        )
        self.conv2 = nn.Linear(filter_size, depth)
        self.relu_dropout = relu_dropout
        self.broadcast_dims = list(broadcast_dims)

    def _conv1(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, D] -> [B, T, F]: T2T's tpu_conv1d of width k."""
        k, first = self.kernel_size, self.first
        if k == 1:
            return self.taps[0](x)
        padded = F.pad(x, (0, 0, -first, first + k - 1))  # [B, T + k - 1, D]
        windows = padded.unfold(1, k, 1)  # [B, T, D, k]: padded[t + j] for j < k
        # tap 0 reads x[t] (= padded[t - first]); tap i >= 1 reads padded[t + i]
        index = torch.tensor([-first, *range(1, k)], device=x.device)
        weight = torch.stack([tap.weight for tap in self.taps])  # [k, F, D]
        h = torch.einsum("btdk,kfd->btf", windows.index_select(3, index), weight)
        return (h + self.taps[0].bias) * k**-0.5

    def forward(
        self,
        x: torch.Tensor,
        nonpadding: torch.Tensor | None = None,
        cache: dict | None = None,
    ) -> torch.Tensor:
        """x: [B, T, D] -> [B, T, D].

        Args:
            x: the layer input.
            nonpadding: optional [B, T, 1]; padding positions are zeroed before the conv.
            cache: for one decoding step (T = 1): {"f": [B, <k, D] the last inputs},
                replaced by the window that includes x.
        """
        if nonpadding is not None and self.kernel_size != 1:
            x = x * nonpadding
        if cache is not None:
            x = torch.cat([cache["f"], x], dim=1)[:, -self.kernel_size :]  # [B, <=k, D]
            cache["f"] = x
        h = self._conv1(x)
        if cache is not None:
            h = h[:, -1:]  # [B, 1, F]: the step's position
        h = F.relu(h)
        h = dropout_with_broadcast_dims(h, self.relu_dropout, self.broadcast_dims, self.training)
        return self.conv2(h)
