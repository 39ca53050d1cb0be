r"""Input features of the supervised nets: the trace, its backward differences, their squares, pooled copies.

Shapes and units: calcium ``(B, T)`` at 100 Hz (10 ms bins), features ``(B, C, T)``.

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.

Taught in: book chapter "Supervised CNNs with attended convolution".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["SQUARED_CHANNELS", "backward_difference", "input_features", "n_features"]

#: Channels of :func:`input_features` (pooled) that are squares of the trace or of its differences, or
#: moving averages of those squares: the others are linear in the trace.
SQUARED_CHANNELS = (3, 4, 5, 9, 10, 11)


def backward_difference(x: Tensor, as_submitted: bool = False) -> Tensor:
    r"""Backward difference along time, same length as the input.

    As described: :math:`\Delta x_t = x_t - x_{t-1}` with :math:`x_{-1} := x_0`, so :math:`\Delta x_0 = 0`.
    As submitted (the original ``DeltaFeature`` bug, original code: codekansas/spikefinder): a tensor that is zero except
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


def n_features(pooled: bool) -> int:
    """Channels of :func:`input_features`: 12 with the pooled copies, 6 without."""
    return 12 if pooled else 6
