r"""Layers of the supervised nets: 'same' convolutions, the attended convolution, the Inception cell.

Shapes: feature maps ``(B, C, T)``, dataset ids ``(B,)`` (``long``, Spikefinder dataset number minus one).

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.

Taught in: book chapter "Supervised CNNs with attended convolution".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["AttendedConv1d", "ConvPReLUBN", "InceptionCell", "SameConv1d", "conv1d_same"]


def conv1d_same(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``F.conv1d`` with 'same' output length (Keras' ``padding="same"``, which the submitted model used).

    An even kernel of width ``k`` pads ``(k − 1) // 2`` zeros on the left and ``k // 2`` on the right, as
    PyTorch's ``padding="same"`` does; the padding is written out here because PyTorch's own emits a
    warning for even kernels (it makes the same padded copy).

    Args: ``x`` ``(B, C, T)``; ``weight`` ``(F, C, k)``; ``bias`` ``(F,)`` or None. Returns ``(B, F, T)``.
    """
    k = weight.shape[-1]
    if k % 2:
        return F.conv1d(x, weight, bias, padding=k // 2)
    return F.conv1d(F.pad(x, ((k - 1) // 2, k // 2)), weight, bias)


class SameConv1d(nn.Conv1d):
    """An ``nn.Conv1d`` with 'same' output length for odd and even kernels alike (:func:`conv1d_same`)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(in_channels, out_channels, kernel_size)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, T)`` → ``(B, F, T)``."""
        return conv1d_same(x, self.weight, self.bias)


class AttendedConv1d(nn.Module):
    r"""Convolution whose filter activations are scaled by a learned per-dataset gain.

    .. math::

        a_{b,f,t} = \tanh(E_{d_b, f}) \; \phi\big((w * x_b)_{f,t} + c_f\big)

    with :math:`E \in \mathbb{R}^{D \times F}` an ``nn.Embedding(D, F)`` (one row per dataset, one gain per
    filter, constant over time; it can be negative) and :math:`\phi` the optional ``activation`` (ReLU in
    the original ``097a38a``), applied before the gain. ``dataset=None`` skips the scaling: the model
    "without dataset knowledge". The poster's "cosine similarity between learned embeddings" is
    :math:`\cos(E_d, E_{d'})`; its "dataset weighting under each filter" is :meth:`gains`.

    Args:
        in_channels: input channels ``C``.
        out_channels: number of filters ``F``.
        kernel_size: in samples ('same' padding; an even kernel pads one more sample on the right).
        n_datasets: rows of the embedding ``D`` (10 Spikefinder training sets).
        activation: module applied to the convolution before the gain, or None.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        n_datasets: int = 10,
        activation: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.conv = SameConv1d(in_channels, out_channels, kernel_size)
        self.embedding = nn.Embedding(n_datasets, out_channels)
        self.activation = activation if activation is not None else nn.Identity()

    def gains(self, dataset: Tensor) -> Tensor:
        """Per-filter gains :math:`\\tanh(E_d)`, ``(B, F)`` for ``dataset`` of shape ``(B,)``."""
        return torch.tanh(self.embedding(dataset))

    def forward(self, x: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args: ``x`` ``(B, C, T)``; ``dataset`` ``(B,)`` long or None. Returns ``(B, F, T)``."""
        h = self.activation(self.conv(x))  # (B, F, T)
        if dataset is None:
            return h
        return h * self.gains(dataset).unsqueeze(-1)  # gain constant over time


class ConvPReLUBN(nn.Sequential):
    """``conv_bn`` of the submitted model: Conv1d ('same') → PReLU (one slope per channel) → BatchNorm1d.

    The order PReLU-then-BN is the original's. Keras' PReLU learned one slope per (time, channel), which
    ties the model to one window length (original code: codekansas/spikefinder); here it is ``nn.PReLU(C)``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__(
            SameConv1d(in_channels, out_channels, kernel_size),
            nn.PReLU(out_channels),
            nn.BatchNorm1d(out_channels),
        )


class InceptionCell(nn.Module):
    """Inception cell of the submitted model: 4 parallel branches, concatenated to 256 channels.

    * a: conv_bn(64, 1)
    * b: conv_bn(48, 1) → conv_bn(64, 10)
    * c: conv_bn(64, 1) → conv_bn(96, 7) → conv_bn(96, 7)
    * d: AvgPool(7, stride 1, 'same') → conv_bn(32, 1)

    ``width`` scales every branch's channels (rounded, at least 1); ``width=1`` is the submitted cell,
    ``width=0.25`` a CPU-sized one with 64 output channels. Receptive field: 13 samples (branch c: 1 + 6 + 6).
    """

    receptive_field = 13

    def __init__(self, in_channels: int, width: float = 1.0) -> None:
        super().__init__()

        def w(c: int) -> int:
            return max(1, round(c * width))

        self.out_channels = w(64) + w(64) + w(96) + w(32)
        self.a = ConvPReLUBN(in_channels, w(64), 1)
        self.b = nn.Sequential(ConvPReLUBN(in_channels, w(48), 1), ConvPReLUBN(w(48), w(64), 10))
        self.c = nn.Sequential(
            ConvPReLUBN(in_channels, w(64), 1), ConvPReLUBN(w(64), w(96), 7), ConvPReLUBN(w(96), w(96), 7)
        )
        self.d = nn.Sequential(
            nn.AvgPool1d(7, stride=1, padding=3, count_include_pad=False), ConvPReLUBN(in_channels, w(32), 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        """``(B, C, T)`` → ``(B, out_channels, T)`` (256 channels at ``width=1``)."""
        return torch.cat([self.a(x), self.b(x), self.c(x), self.d(x)], dim=1)
