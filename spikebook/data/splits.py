"""Splits across whole neurons: cross-validation folds and held-out sets that cannot leak.

A neuron's recordings are never split between training and test: its windows are correlated, so a
network that saw part of a neuron would be scored on data it has in effect seen. Unlike the original
code (codekansas/spikefinder), which shuffles windows overlapping by 200 samples and keeps the last 300 of
them for validation, every split here deals whole neurons:

* :func:`neuron_folds`: cross-validation folds over neurons (the GCaMP6 recordings).
* :func:`split_by_neuron`, :func:`leave_one_dataset_out`, :func:`official_split`: a held-out set of
  Spikefinder neurons, returned as a :class:`NeuronSplit`.

Taught in: book chapters "Real GCaMP6 recordings" and 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from spikebook.validate import non_negative_int, positive_int

if TYPE_CHECKING:  # the splits read only a neuron's key, split and dataset: no need to load the readers
    from spikebook.data.spikefinder import SpikefinderNeuron

__all__ = ["NeuronSplit", "leave_one_dataset_out", "neuron_folds", "official_split", "split_by_neuron"]


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


class NeuronSplit(NamedTuple):
    """Two disjoint sets of whole neurons (no neuron, hence no window, is in both)."""

    train: list[SpikefinderNeuron]
    held_out: list[SpikefinderNeuron]


def _check_unique(neurons: Sequence[SpikefinderNeuron]) -> None:
    keys = [n.key for n in neurons]
    if len(set(keys)) != len(keys):
        raise ValueError("the same neuron (split, dataset, column) appears twice in the input")


def split_by_neuron(
    neurons: Sequence[SpikefinderNeuron], held_out_fraction: float = 0.2, seed: int = 0
) -> NeuronSplit:
    """Hold out a random fraction of the neurons of every dataset (stratified by ``(split, dataset)``).

    Unlike the original code's validation windows (codekansas/spikefinder: the last 300 of the shuffled,
    overlapping windows, which share samples with training windows), a neuron's whole recording goes to one
    side. Each dataset with at least two neurons gives ``max(1, round(held_out_fraction * n))`` of them to
    ``held_out``; a dataset with one neuron stays in ``train``.

    Args:
        neurons: the neurons to split (keys must be unique).
        held_out_fraction: in (0, 1).
        seed: seed of the ``numpy.random.Generator`` that picks the neurons.
    """
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    _check_unique(neurons)
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, int], list[SpikefinderNeuron]] = {}
    for n in neurons:
        groups.setdefault((n.split, n.dataset), []).append(n)
    held: set[tuple[str, int, int]] = set()
    for _, group in sorted(groups.items()):
        if len(group) < 2:
            continue
        k = min(len(group) - 1, max(1, round(held_out_fraction * len(group))))
        held.update(group[i].key for i in rng.choice(len(group), size=k, replace=False))
    return NeuronSplit([n for n in neurons if n.key not in held], [n for n in neurons if n.key in held])


def leave_one_dataset_out(neurons: Sequence[SpikefinderNeuron], dataset: int) -> NeuronSplit:
    """Hold out every neuron of one dataset number, from the train *and* the test split.

    Test sets 1-5 come from the same experiments as training sets 1-5, so leaving dataset ``d`` out
    removes both from training.
    """
    _check_unique(neurons)
    if not any(n.dataset == dataset for n in neurons):
        raise ValueError(f"no neuron of dataset {dataset} in the input")
    return NeuronSplit(
        [n for n in neurons if n.dataset != dataset], [n for n in neurons if n.dataset == dataset]
    )


def official_split(neurons: Sequence[SpikefinderNeuron]) -> NeuronSplit:
    """The challenge's split: training neurons vs the official test neurons (different neurons)."""
    _check_unique(neurons)
    return NeuronSplit([n for n in neurons if n.split == "train"], [n for n in neurons if n.split == "test"])
