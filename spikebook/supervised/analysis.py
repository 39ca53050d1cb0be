r"""What the attended layer learned: similarity of the dataset embeddings, the filters' temporal kernels.

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.

Taught in: book chapter "What the embeddings learned".
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from spikebook.supervised.features import SQUARED_CHANNELS, input_features
from spikebook.supervised.layers import AttendedConv1d, conv1d_same
from spikebook.supervised.models import BolteNet
from spikebook.validate import positive_int

__all__ = ["embedding_similarity", "linear_filter_responses"]


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

    The attended layer of :class:`~spikebook.supervised.BolteNet` sees 12 feature channels; six of them
    (:math:`x`, :math:`\Delta x`, :math:`\Delta^2 x` and their 5-sample moving averages) are linear in the
    trace, so filter :math:`f`'s pre-activation restricted to them is a temporal kernel on :math:`x`. It is
    measured here by feeding a unit impulse (squared channels set to zero).

    Returns:
        ``(F, 2 half_width + 1)``: entry ``[f, i]`` is the weight of :math:`x_{t+s}` in filter :math:`f`'s
        output at time :math:`t`, for the offset :math:`s = i - \text{half\_width}` (samples of 10 ms).
    """
    n = 2 * positive_int(half_width, "half_width") + 1
    conv = model.attend.conv
    x = torch.zeros(1, 4 * n, dtype=conv.weight.dtype)
    x[0, 2 * n] = 1.0
    feats = input_features(x, as_submitted=model.config.as_submitted_features, pooled=True)
    feats[:, list(SQUARED_CHANNELS)] = 0.0  # drop the squared channels (and their averages)
    with torch.no_grad():
        out = conv1d_same(feats, conv.weight)[0]  # (F, T), no bias
    return out[:, 2 * n - half_width : 2 * n + half_width + 1].flip(-1)
