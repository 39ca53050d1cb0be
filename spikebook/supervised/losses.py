r"""Losses of the supervised nets: pure functions of a prediction and a target, both ``(B, T)``.

* :func:`pearson_loss`: the multi-scale negative Pearson correlation of the submitted code (§1.7);
* :func:`poisson_nll`: the Poisson negative log-likelihood of spike counts per bin;
* :func:`bce_clipped`: binary cross-entropy with the counts clipped to "at least one spike in the bin".

:data:`LOSSES` maps the names a training configuration uses to them.

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.

Taught in: book chapter "Supervised CNNs with attended convolution".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor

from spikebook.validate import non_negative_int, one_of

__all__ = ["LOSSES", "bce_clipped", "pearson_loss", "poisson_nll"]

Reduction = Literal["mean", "none"]


def _reduce(x: Tensor, reduction: Reduction) -> Tensor:
    one_of(reduction, ("mean", "none"), "reduction")
    return x.mean() if reduction == "mean" else x


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
    r"""Multi-scale negative Pearson correlation of the submitted code (original code: codekansas/spikefinder).

    .. math::

        L = -\sum_{k=0}^{\text{depth}} 2^k\, r\big(S^k \hat y, S^k y\big),

    where :math:`r` is the Pearson correlation of one window along time (with ``eps`` added under the
    square root of the denominator, so a constant window scores 0 and has a finite gradient) and :math:`S`
    the sliding 2-sample sum (:math:`(Sy)_t = y_t + y_{t+1}`, length :math:`T-1`). Depth 2 gives
    :math:`-(r_0 + 2 r_1 + 4 r_2)`, so a perfect prediction scores :math:`-7`.

    Args:
        pred: ``(B, T)`` predicted rates.
        target: ``(B, T)`` spike counts per bin.
        depth: number of 2-sample summations.
        eps: added to the product of variances under the square root in :math:`r`.
        reduction: ``"mean"`` over the batch, or ``"none"`` for ``(B,)``.
    """
    _check_pair(pred, target)
    depth = non_negative_int(depth, "depth")
    if pred.shape[-1] < depth + 2:
        raise ValueError(f"need T >= depth + 2, got depth={depth}, T={pred.shape[-1]}")
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
    (original code: codekansas/spikefinder); clipping makes the target "at least one spike in the bin".

    Args:
        prob: ``(B, T)`` probabilities in [0, 1] (clamped to ``[eps, 1 - eps]``).
        counts: ``(B, T)`` spike counts.
        reduction: ``"mean"`` over all bins, or ``"none"`` for ``(B, T)``.
    """
    _check_pair(prob, counts)
    p = prob.clamp(eps, 1 - eps)
    y = counts.clamp(0, 1)
    return _reduce(-(y * torch.log(p) + (1 - y) * torch.log1p(-p)), reduction)


#: The losses by the name :class:`spikebook.training.supervised.SupervisedConfig` gives them, each called
#: as ``loss(rate, spikes)`` with its defaults (``"pearson"``: depth 2, the submission's).
LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "pearson": pearson_loss,
    "poisson": poisson_nll,
    "bce": bce_clipped,
}
