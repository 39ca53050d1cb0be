"""Fig. 2B: how many sampled spikes belong to each true spike.

A factorized posterior that is unsure of a spike's timing spreads its count over several bins; a correlated
one keeps the count and moves the spike. Counting sampled spikes per true spike shows the difference.

Taught in: book chapter "Correlated posteriors".
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from spikebook.metrics import as_numpy
from spikebook.validate import non_negative_int

__all__ = ["count_histogram", "count_sampled_spikes"]


def count_sampled_spikes(samples: Tensor | np.ndarray, true_spikes: Tensor | np.ndarray,
                         half_width: int = 2) -> np.ndarray:
    """For every true spike, the number of sampled spikes that belong to it (Fig. 2B).

    A sampled spike at bin :math:`t` belongs to the true spike nearest to :math:`t` if that one lies at
    most ``half_width`` bins away (ties go to the earlier true spike); otherwise it belongs to none. So
    when the windows :math:`[\\tau - w, \\tau + w]` of two true spikes overlap, the bins they share are
    split between them by distance and **no sampled spike is counted twice**: the counts of a train add
    up to the number of its spikes that lie within ``half_width`` of some true spike. A posterior that
    is certain about the number of spikes but unsure of their timing gives a count of exactly 1 for
    every true spike (the paper's DS-NF); a factorized posterior that spreads a probability of ~1 over a
    few bins gives 0, 1, 2, ... spikes with a Poisson-binomial spread (DS-F).

    Args:
        samples: Sampled spike trains, shape ``(K, T)`` for one trace or ``(K, B, T)`` for B traces,
            values in {0, 1} (counts > 1 are counted with their value).
        true_spikes: True spike trains, shape ``(T,)`` or ``(B, T)`` matching ``samples``, values in {0, 1}.
        half_width: Window half-width :math:`w` in bins (2 bins ≈ 33 ms at 60 Hz).

    Returns:
        Counts, int64, shape ``(K, N)`` where N is the number of true spikes, ordered by trace and then
        by time (traces concatenated for a batch).

    Raises:
        ValueError: On shape mismatches, a negative ``half_width``, or non-binary true spikes.
        TypeError: If ``half_width`` is not an int.

    References:
        Speiser et al. (2017), Fig. 2B ("Number of spikes sampled for every true spike").
    """
    samples = as_numpy(samples)
    truth = as_numpy(true_spikes)
    half_width = non_negative_int(half_width, "half_width")
    if samples.ndim == 2 and truth.ndim == 1:
        samples, truth = samples[:, None], truth[None]
    if samples.ndim != 3 or truth.ndim != 2 or samples.shape[1:] != truth.shape:
        raise ValueError(f"need samples (K, T) with true spikes (T,), or (K, B, T) with (B, T); got "
                         f"{samples.shape} and {truth.shape}")
    if ((truth != 0) & (truth != 1)).any():
        raise ValueError("true spikes must be binary (one spike per bin at most)")
    counts = [_count_one_trace(samples[:, b], truth[b], half_width) for b in range(truth.shape[0])]
    return np.concatenate(counts, axis=1)


def _count_one_trace(samples: np.ndarray, truth: np.ndarray, half_width: int) -> np.ndarray:
    """:func:`count_sampled_spikes` for samples ``(K, T)`` and one true train ``(T,)``."""
    k, n_bins = samples.shape
    spike_bins = np.flatnonzero(truth)  # (N,) sorted
    n_true = len(spike_bins)
    if n_true == 0:
        return np.zeros((k, 0), dtype=np.int64)
    bins = np.arange(n_bins)
    right = np.searchsorted(spike_bins, bins)  # first true spike at or after t
    left = np.clip(right - 1, 0, n_true - 1)
    right = np.clip(right, 0, n_true - 1)
    d_left, d_right = np.abs(bins - spike_bins[left]), np.abs(spike_bins[right] - bins)
    nearest = np.where(d_left <= d_right, left, right)  # (T,), ties → the earlier true spike
    inside = np.minimum(d_left, d_right) <= half_width  # (T,)
    owner = nearest[inside]  # (M,) true-spike index of each bin that belongs to one
    flat = (np.arange(k)[:, None] * n_true + owner[None, :]).ravel()  # (K·M,)
    weights = samples[:, inside].ravel()
    return np.bincount(flat, weights=weights, minlength=k * n_true).reshape(k, n_true).round().astype(np.int64)


def count_histogram(counts: np.ndarray, max_count: int = 4) -> np.ndarray:
    """Histogram of per-true-spike counts: how many (sample, true spike) pairs have 0, 1, ... spikes.

    Args:
        counts: Output of :func:`count_sampled_spikes`, any shape, non-negative ints.
        max_count: The last bin holds all counts ≥ ``max_count``.

    Returns:
        Number of pairs per count, int64, shape ``(max_count + 1,)``.
    """
    counts = np.asarray(counts)
    if (counts < 0).any():
        raise ValueError("counts must be non-negative")
    return np.bincount(np.minimum(counts, max_count).ravel().astype(np.int64), minlength=max_count + 1)
