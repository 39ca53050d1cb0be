"""Generative models :math:`p_\\theta(f \\mid s)` of fluorescence given spikes, and spike priors.

Every model has ``mean(spikes)``, ``sample(spikes, generator)`` and ``log_prob(f, spikes)``
on ``(..., C, T)`` tensors (``(..., C, 1+S, T)`` for the soma + spines model :class:`Dendritic`); see :mod:`spikebook.generative.base` for the shape convention.
"""

from spikebook.generative.base import CalciumModel
from spikebook.generative.dendritic import Dendritic, join_events, split_events
from spikebook.generative.mlphys import MLphys, hill_from_polynomial
from spikebook.generative.priors import BernoulliPrior
from spikebook.generative.scdf import SCDF
from spikebook.generative.scf import SCF

__all__ = [
    "SCDF",
    "SCF",
    "BernoulliPrior",
    "CalciumModel",
    "Dendritic",
    "MLphys",
    "hill_from_polynomial",
    "join_events",
    "split_events",
]
