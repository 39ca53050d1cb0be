r"""Supervised spike nets of Bolte & Wildani (Spikefinder 2017 poster): attended convolution, Inception stack.

Shapes and units, as everywhere in the package: calcium traces ``(B, T)`` at 100 Hz (10 ms bins), feature
maps ``(B, C, T)``, dataset ids ``(B,)`` (``long``, Spikefinder dataset number minus one), outputs ``(B, T)``
non-negative spike rates per 10 ms bin. ``forward`` never returns a loss; the losses below are pure
functions of predictions and targets.

* :func:`input_features`: the trace :math:`x`, its backward differences :math:`\Delta x`,
  :math:`\Delta^2 x`, their squares, and (``pooled=True``) a 5-sample moving average of all six.
  ``as_submitted=True`` reproduces the original code's bug, where the "differences" are copies of the trace
  (ORIGINAL_CODE.md §1.3).
* :class:`AttendedConv1d`: :math:`a_{t,f} = \tanh(E_{d,f})\, h_{t,f}`, a convolution whose filters are
  scaled by a learned per-dataset gain (§1.4).
* :class:`BolteNet` (the poster's "regular model", a reconstruction: attended first layer + Inception
  cells, §1.5) and :class:`SimplifiedBolteNet` (attended conv + one conv + 1x1 output, §1.6).
* :class:`Ensemble`: the mean rate of independently trained networks (seeds).
* :func:`pearson_loss` (multi-scale, §1.7), :func:`poisson_nll`, :func:`bce_clipped`.

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.
    Lakshminarayanan B, Pritzel A, Blundell C (2017). Simple and scalable predictive uncertainty estimation
    using deep ensembles. NeurIPS (ensembles of seeds).
    Rupprecht P et al. (2021). Nat Neurosci 24:1324-1337 (CASCADE averages five networks per model).

Taught in: book chapters "Supervised CNNs with attended convolution" and "What the embeddings learned".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "AttendedConv1d",
    "BolteConfig",
    "BolteNet",
    "ConvPReLUBN",
    "Ensemble",
    "InceptionCell",
    "SameConv1d",
    "SimplifiedBolteNet",
    "SimplifiedConfig",
    "backward_difference",
    "bce_clipped",
    "conv1d_same",
    "embedding_similarity",
    "input_features",
    "linear_filter_responses",
    "pearson_loss",
    "poisson_nll",
]

Reduction = Literal["mean", "none"]


# ---------------------------------------------------------------------------------------------------------
# Input features
# ---------------------------------------------------------------------------------------------------------


def backward_difference(x: Tensor, as_submitted: bool = False) -> Tensor:
    r"""Backward difference along time, same length as the input.

    As described: :math:`\Delta x_t = x_t - x_{t-1}` with :math:`x_{-1} := x_0`, so :math:`\Delta x_0 = 0`.
    As submitted (the original ``DeltaFeature`` bug, ORIGINAL_CODE.md §1.3): a tensor that is zero except
    for :math:`x_0` in the last slot is subtracted, so the result equals :math:`x` except
    :math:`\Delta x_{T-1} = x_{T-1} - x_0`; for ``x = 1..6`` it gives ``[1, 2, 3, 4, 5, 5]``.

    Args:
        x: ``(..., T)``.
        as_submitted: reproduce the bug.

    Returns:
        ``(..., T)``.
    """
    if as_submitted:
        out = x.clone()
        out[..., -1] = x[..., -1] - x[..., 0]
        return out
    return x - torch.cat([x[..., :1], x[..., :-1]], dim=-1)


def input_features(calcium: Tensor, *, as_submitted: bool = False, pooled: bool = True) -> Tensor:
    r"""Feature channels :math:`[x, \Delta x, \Delta^2 x, x^2, (\Delta x)^2, (\Delta^2 x)^2]` (+ pooled copies).

    :math:`\Delta^2 x` is :func:`backward_difference` applied twice. With ``as_submitted=True`` the same
    buggy layer is applied twice, so for ``x = 1..6``: :math:`\Delta x = [1,2,3,4,5,5]` and
    :math:`\Delta^2 x = [1,2,3,4,5,4]`. With ``pooled=True`` a centred 5-sample moving average of the six
    channels (stride 1, padding excluded from the mean, as Keras' 'same' pooling) is appended, as in the
    submitted model.

    Args:
        calcium: ``(B, T)`` normalised fluorescence at 100 Hz.
        as_submitted: the original code's copies instead of differences.
        pooled: append the 5-sample moving averages.

    Returns:
        ``(B, 6, T)``, or ``(B, 12, T)`` if ``pooled``.
    """
    if calcium.dim() != 2:
        raise ValueError(f"calcium must be (B, T), got shape {tuple(calcium.shape)}")
    d1 = backward_difference(calcium, as_submitted)
    d2 = backward_difference(d1, as_submitted)
    base = torch.stack([calcium, d1, d2], dim=1)  # (B, 3, T)
    feats = torch.cat([base, base.square()], dim=1)  # (B, 6, T)
    if pooled:
        feats = torch.cat(
            [feats, F.avg_pool1d(feats, 5, stride=1, padding=2, count_include_pad=False)], dim=1
        )
    return feats


def _n_features(pooled: bool) -> int:
    return 12 if pooled else 6


# ---------------------------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------------------------


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
    ties the model to one window length (ORIGINAL_CODE.md §1.5); here it is ``nn.PReLU(C)``.
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


def _output(z: Tensor, kind: str) -> Tensor:
    return torch.sigmoid(z) if kind == "sigmoid" else F.softplus(z)


def _check_common(n_datasets: int, dropout: float, output: str) -> None:
    if n_datasets < 1:
        raise ValueError(f"n_datasets must be >= 1, got {n_datasets}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if output not in ("sigmoid", "softplus"):
        raise ValueError(f"output must be 'sigmoid' or 'softplus', got {output!r}")


# ---------------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BolteConfig:
    """The regular model (reconstruction of the poster's; defaults from the submitted code, §1.5).

    Attributes:
        n_datasets: rows of the dataset embedding.
        as_submitted_features: use the original's copies instead of differences (§1.3).
        attend_channels: filters of the attended first layer.
        attend_kernel: its kernel in samples. 1 keeps the submitted model's receptive field of 45 samples
            (with ``as_submitted_features``); ``097a38a`` used 2.
        n_cells: Inception cells (3 submitted).
        width: scale of the Inception cells' and the head's channels (1 submitted; 0.25 is CPU-sized).
        dropout: before the output layer (0.5).
        output: ``"sigmoid"`` (original; a probability per bin) or ``"softplus"`` (an unbounded rate).
    """

    n_datasets: int = 10
    as_submitted_features: bool = False
    attend_channels: int = 256
    attend_kernel: int = 1
    n_cells: int = 3
    width: float = 1.0
    dropout: float = 0.5
    output: Literal["sigmoid", "softplus"] = "sigmoid"

    def __post_init__(self) -> None:
        _check_common(self.n_datasets, self.dropout, self.output)
        if self.attend_channels < 1 or self.attend_kernel < 1 or self.n_cells < 1:
            raise ValueError("attend_channels, attend_kernel and n_cells must be >= 1")
        if not self.width > 0:
            raise ValueError(f"width must be > 0, got {self.width}")


class BolteNet(nn.Module):
    """Regular model: features → attended conv (ReLU) → Inception cells → conv 64×5 tanh → 1×1 conv 128 tanh
    → dropout → 1×1 conv → sigmoid/softplus.

    The poster's model has an attended first layer *and* stacked Inception cells; no commit of the original
    code has both (ORIGINAL_CODE.md §1.1), so this is a reconstruction. Outputs are not cropped; cropping the
    window ends is the training loop's job.

    Receptive field (:attr:`receptive_field`): ``1 + 4`` (pooled features) ``+ 2`` (second difference; 0 with
    the as-submitted copies) ``+ (attend_kernel - 1) + 12 n_cells + 4`` (final k=5): 45 samples (0.45 s) as
    submitted, 47 with true differences.
    """

    def __init__(self, config: BolteConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or BolteConfig()
        self.attend = AttendedConv1d(
            _n_features(True), config.attend_channels, config.attend_kernel, config.n_datasets, nn.ReLU()
        )
        cells, channels = [], config.attend_channels
        for _ in range(config.n_cells):
            cells.append(InceptionCell(channels, config.width))
            channels = cells[-1].out_channels
        self.cells = nn.Sequential(*cells)
        h1, h2 = max(1, round(64 * config.width)), max(1, round(128 * config.width))
        self.head = nn.Sequential(
            SameConv1d(channels, h1, 5),
            nn.Tanh(),
            nn.Conv1d(h1, h2, 1),
            nn.Tanh(),
            nn.Dropout(config.dropout),
            nn.Conv1d(h2, 1, 1),
        )
        nn.init.xavier_normal_(self.head[-1].weight)  # Glorot-normal, as the original output layer

    @property
    def receptive_field(self) -> int:
        """Number of input samples that one output sample depends on."""
        c = self.config
        diff = 0 if c.as_submitted_features else 2
        return 1 + 4 + diff + (c.attend_kernel - 1) + (InceptionCell.receptive_field - 1) * c.n_cells + 4

    def forward(self, calcium: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args: ``calcium`` ``(B, T)`` at 100 Hz; ``dataset`` ``(B,)`` long or None. Returns ``(B, T)`` ≥ 0."""
        x = input_features(calcium, as_submitted=self.config.as_submitted_features, pooled=True)
        h = self.cells(self.attend(x, dataset))  # (B, 256, T)
        return _output(self.head(h).squeeze(1), self.config.output)


@dataclass(frozen=True)
class SimplifiedConfig:
    """The simplified model (closest code ``3e33447``, ORIGINAL_CODE.md §1.6).

    Attributes:
        n_datasets: rows of the dataset embedding.
        as_submitted_features: use the original's copies instead of differences.
        channels: filters of both conv layers and the 1×1 layer (512).
        kernel: kernel of both conv layers in samples (20).
        dropout: after each hidden layer (0.5).
        output: ``"sigmoid"`` or ``"softplus"``.
    """

    n_datasets: int = 10
    as_submitted_features: bool = False
    channels: int = 512
    kernel: int = 20
    dropout: float = 0.5
    output: Literal["sigmoid", "softplus"] = "sigmoid"

    def __post_init__(self) -> None:
        _check_common(self.n_datasets, self.dropout, self.output)
        if self.channels < 1 or self.kernel < 1:
            raise ValueError("channels and kernel must be >= 1")


class SimplifiedBolteNet(nn.Module):
    """Simplified model: 6 features → BatchNorm → attended conv (tanh) → conv (tanh) → 1×1 conv (tanh)
    → 1×1 output, dropout after each hidden layer.

    The original normalised over time (``BatchNormalization(axis=1)``), here over channels; its gain was
    :math:`E_d` without tanh, here :math:`\\tanh(E_d)` as in the poster's attended convolution.
    """

    def __init__(self, config: SimplifiedConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or SimplifiedConfig()
        self.norm = nn.BatchNorm1d(_n_features(False))
        self.attend = AttendedConv1d(_n_features(False), c.channels, c.kernel, c.n_datasets, nn.Tanh())
        self.body = nn.Sequential(
            nn.Dropout(c.dropout),
            SameConv1d(c.channels, c.channels, c.kernel),
            nn.Tanh(),
            nn.Dropout(c.dropout),
            nn.Conv1d(c.channels, c.channels, 1),
            nn.Tanh(),
            nn.Dropout(c.dropout),
            nn.Conv1d(c.channels, 1, 1),
        )

    @property
    def receptive_field(self) -> int:
        """Input samples one output depends on: ``2 (k - 1) + 1`` plus 2 for the second difference."""
        return 2 * (self.config.kernel - 1) + 1 + (0 if self.config.as_submitted_features else 2)

    def forward(self, calcium: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args: ``calcium`` ``(B, T)`` at 100 Hz; ``dataset`` ``(B,)`` long or None. Returns ``(B, T)`` ≥ 0."""
        x = self.norm(input_features(calcium, as_submitted=self.config.as_submitted_features, pooled=False))
        return _output(self.body(self.attend(x, dataset)).squeeze(1), self.config.output)


class Ensemble(nn.Module):
    """The mean spike rate of several networks, usually one layout trained from different seeds.

    .. math:: \\hat r_t = \\frac1M \\sum_{m=1}^{M} r^{(m)}_t

    Called like one of its members (same arguments, same output). Averaging independently trained networks
    removes part of the seed-to-seed variance of their predictions (Lakshminarayanan et al. 2017); CASCADE
    averages five networks per model (Rupprecht et al. 2021). Training an ``Ensemble`` as a whole (e.g.
    fine-tuning it) fits the mean rate, all members at once.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    @property
    def receptive_field(self) -> int:
        """The widest member's receptive field, in samples."""
        return max(m.receptive_field for m in self.members)

    def forward(self, calcium: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args and output as the members'; returns the mean of their ``(B, T)`` rates."""
        return torch.stack([m(calcium, dataset) for m in self.members]).mean(0)


# ---------------------------------------------------------------------------------------------------------
# Losses: pure functions of (prediction, target), both (B, T)
# ---------------------------------------------------------------------------------------------------------


def _reduce(x: Tensor, reduction: Reduction) -> Tensor:
    if reduction == "mean":
        return x.mean()
    if reduction == "none":
        return x
    raise ValueError(f"reduction must be 'mean' or 'none', got {reduction!r}")


def _check_pair(pred: Tensor, target: Tensor) -> None:
    if pred.shape != target.shape or pred.dim() != 2:
        raise ValueError(
            f"pred and target must both be (B, T), got {tuple(pred.shape)}, {tuple(target.shape)}"
        )


def _pearson_rows(x: Tensor, y: Tensor, eps: float) -> Tensor:
    xc = x - x.mean(-1, keepdim=True)
    yc = y - y.mean(-1, keepdim=True)
    # eps inside the square root: a window without spikes (yc = 0) scores 0 with a zero gradient, where
    # sqrt(0) + eps would give an infinite derivative of the square root, hence NaN gradients.
    return (xc * yc).sum(-1) / (xc.square().sum(-1) * yc.square().sum(-1) + eps).sqrt()


def pearson_loss(
    pred: Tensor, target: Tensor, depth: int = 2, eps: float = 1e-12, reduction: Reduction = "mean"
) -> Tensor:
    r"""Multi-scale negative Pearson correlation of the submitted code (ORIGINAL_CODE.md §1.7).

    .. math::

        L = -\sum_{k=0}^{\text{depth}} 2^k\, r\big(S^k \hat y, S^k y\big),

    where :math:`r` is the Pearson correlation of one window along time (with ``eps`` added under the
    square root of the denominator, so a constant window scores 0 and has a finite gradient) and :math:`S` the sliding 2-sample sum
    (:math:`(Sy)_t = y_t + y_{t+1}`, length :math:`T-1`). Depth 2 gives
    :math:`-(r_0 + 2 r_1 + 4 r_2)`, so a perfect prediction scores :math:`-7`.

    Args:
        pred: ``(B, T)`` predicted rates.
        target: ``(B, T)`` spike counts per bin.
        depth: number of 2-sample summations.
        eps: added to the product of variances under the square root in :math:`r`.
        reduction: ``"mean"`` over the batch, or ``"none"`` for ``(B,)``.
    """
    _check_pair(pred, target)
    if depth < 0 or pred.shape[-1] < depth + 2:
        raise ValueError(f"need depth >= 0 and T >= depth + 2, got depth={depth}, T={pred.shape[-1]}")
    loss = pred.new_zeros(pred.shape[0])
    x, y = pred, target
    for k in range(depth + 1):
        loss = loss - 2**k * _pearson_rows(x, y, eps)
        x, y = x[..., 1:] + x[..., :-1], y[..., 1:] + y[..., :-1]
    return _reduce(loss, reduction)


def poisson_nll(rate: Tensor, counts: Tensor, eps: float = 1e-8, reduction: Reduction = "mean") -> Tensor:
    r"""Poisson negative log-likelihood per bin, :math:`\lambda - n \log \lambda + \log n!`.

    Args:
        rate: ``(B, T)`` expected spike count per 10 ms bin, :math:`\lambda \ge 0` (``eps`` keeps the log
            finite).
        counts: ``(B, T)`` observed counts :math:`n`.
        reduction: ``"mean"`` over all bins, or ``"none"`` for ``(B, T)``.
    """
    _check_pair(rate, counts)
    nll = rate - counts * torch.log(rate + eps) + torch.lgamma(counts + 1)
    return _reduce(nll, reduction)


def bce_clipped(prob: Tensor, counts: Tensor, eps: float = 1e-7, reduction: Reduction = "mean") -> Tensor:
    r"""Binary cross-entropy with targets clipped to [0, 1]: :math:`y = \min(n, 1)`,
    :math:`-[y \log p + (1-y) \log(1-p)]`.

    The original code fed counts up to 4 per bin as BCE targets, which is not a likelihood
    (ORIGINAL_CODE.md §1.7); clipping makes the target "at least one spike in the bin".

    Args:
        prob: ``(B, T)`` probabilities in [0, 1] (clamped to ``[eps, 1 - eps]``).
        counts: ``(B, T)`` spike counts.
        reduction: ``"mean"`` over all bins, or ``"none"`` for ``(B, T)``.
    """
    _check_pair(prob, counts)
    p = prob.clamp(eps, 1 - eps)
    y = counts.clamp(0, 1)
    return _reduce(-(y * torch.log(p) + (1 - y) * torch.log1p(-p)), reduction)


# ---------------------------------------------------------------------------------------------------------
# What the attended layer learned
# ---------------------------------------------------------------------------------------------------------


def embedding_similarity(layer: AttendedConv1d, datasets: list[int] | None = None) -> Tensor:
    r"""Cosine similarity :math:`\cos(E_d, E_{d'})` between dataset embeddings (the poster's heatmap).

    Args:
        layer: an attended layer (e.g. ``model.attend``).
        datasets: Spikefinder dataset numbers (1-based) to compare (default: all rows).

    Returns:
        ``(D, D)`` matrix.
    """
    e = layer.embedding.weight.detach()
    if datasets is not None:
        e = e[torch.as_tensor(datasets) - 1]
    e = F.normalize(e, dim=1)
    return e @ e.T


def linear_filter_responses(model: BolteNet, half_width: int = 8) -> Tensor:
    r"""Impulse responses of the first-layer filters through the *linear* feature channels.

    The attended layer of :class:`BolteNet` sees 12 feature channels; six of them (:math:`x`,
    :math:`\Delta x`, :math:`\Delta^2 x` and their 5-sample moving averages) are linear in the trace, so
    filter :math:`f`'s pre-activation restricted to them is a temporal kernel on :math:`x`. It is measured
    here by feeding a unit impulse (squared channels set to zero).

    Returns:
        ``(F, 2 half_width + 1)``: entry ``[f, i]`` is the weight of :math:`x_{t+s}` in filter :math:`f`'s
        output at time :math:`t`, for the offset :math:`s = i - \text{half\_width}` (samples of 10 ms).
    """
    n = 2 * half_width + 1
    conv = model.attend.conv
    x = torch.zeros(1, 4 * n, dtype=conv.weight.dtype)
    x[0, 2 * n] = 1.0
    feats = input_features(x, as_submitted=model.config.as_submitted_features, pooled=True)
    feats[:, [3, 4, 5, 9, 10, 11]] = 0.0  # drop the squared channels (and their averages)
    with torch.no_grad():
        out = conv1d_same(feats, conv.weight)[0]  # (F, T), no bias
    return out[:, 2 * n - half_width : 2 * n + half_width + 1].flip(-1)
