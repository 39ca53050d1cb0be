"""Cross-validation folds over whole neurons.

A neuron's recordings are never split between training and test: its windows are correlated, so a
network that saw part of a neuron would be scored on data it has in effect seen
(:func:`spikebook.data.spikefinder.split_by_neuron` applies the same rule to one held-out set).

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import numpy as np

from spikebook.validate import non_negative_int, positive_int

__all__ = ["neuron_folds"]


def neuron_folds(n_neurons: int, n_folds: int = 4, seed: int = 0) -> np.ndarray:
    """Fold index of each neuron: a seeded permutation dealt round-robin (fold sizes differ by ≤ 1).

    Args:
        n_neurons: How many neurons, at least ``n_folds``.
        n_folds: How many folds.
        seed: Seed of the ``numpy.random.Generator`` that draws the permutation.

    Returns:
        ``(n_neurons,)`` ints in ``[0, n_folds)``.
    """
    n_neurons, n_folds = positive_int(n_neurons, "n_neurons"), positive_int(n_folds, "n_folds")
    if n_neurons < n_folds:
        raise ValueError(f"need at least {n_folds} neurons for {n_folds} folds, got {n_neurons}")
    order = np.random.default_rng(non_negative_int(seed, "seed")).permutation(n_neurons)
    folds = np.empty(n_neurons, dtype=int)
    folds[order] = np.arange(n_neurons) % n_folds
    return folds
