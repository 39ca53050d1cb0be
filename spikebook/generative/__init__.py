"""Generative models :math:`p_\\theta(f \\mid s)` of fluorescence given spikes, and spike priors.

Every model has ``mean(spikes)``, ``sample(spikes, generator)`` and ``log_prob(f, spikes)``
on ``(..., C, T)`` tensors; see :mod:`spikebook.generative.base` for the shape convention.
"""

from spikebook.generative.base import CalciumModel
from spikebook.generative.mlphys import MLphys
from spikebook.generative.priors import BernoulliPrior
from spikebook.generative.scdf import SCDF
from spikebook.generative.scf import SCF

__all__ = ["SCDF", "SCF", "BernoulliPrior", "CalciumModel", "MLphys"]
