"""Indicator priors: where MLphys (eq. 4) starts for each GCaMP6 indicator, before VIMCO learns it.

An unsupervised method has to start its generative model somewhere; for real recordings the values come
from the literature. Here they come from MLspike's published GCaMP6s model (Deneux et al. 2016), its
polynomial nonlinearity mapped onto eq. (4)'s Hill form (:func:`~spikebook.generative.hill_from_polynomial`).
Every value is learned per one-minute segment from there (:mod:`spikebook.recipes.gcamp`).

References:
    Deneux et al. (2016). Accurate spike estimation from noisy calcium signals for ultrafast
    three-dimensional imaging of large neuronal populations in vivo. Nat. Commun. 7:12190.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch

from spikebook.generative.mlphys import MLphys, hill_from_polynomial

__all__ = ["DRIFT_START", "INITIAL_MLPHYS", "MLSPIKE_GCAMP6S", "Indicator", "MLspikeModel", "indicator_mlphys"]

#: The two indicators of Chen et al. (2013).
Indicator = Literal["GCaMP6s", "GCaMP6f"]


class MLspikeModel(NamedTuple):
    """An indicator model in MLspike's parametrisation (Deneux et al. 2016).

    Attributes:
        a: ΔF/F of one spike.
        tau: Decay time constant in seconds.
        ton: Rise time constant in seconds.
        pnonlin: Coefficients of the polynomial nonlinearity (:func:`~spikebook.generative.hill_from_polynomial`).
    """

    a: float
    tau: float
    ton: float
    pnonlin: tuple[float, float]


#: MLspike's GCaMP6s model, the values MLspike users' code labels "Deneux values for GCaMP6s" (a public
#: lab pipeline's ``DENEUX16`` defaults).
MLSPIKE_GCAMP6S = MLspikeModel(a=0.07, tau=1.3, ton=0.02, pnonlin=(0.73, -0.05))

#: Starting values of the MLphys parameters per indicator (:class:`~spikebook.generative.MLphys`'s names
#: and units): :data:`MLSPIKE_GCAMP6S` for GCaMP6s; GCaMP6f shares its amplitude, nonlinearity and rise,
#: with the faster decay Suite2p documents for GCaMP6f (0.7 s). Both start MLphys's sub-frame ``delay``
#: (not in the paper) at half a frame: with spikes counted in the first frame sampled after them, a spike
#: falls on average half a frame before the sample it is counted at.
INITIAL_MLPHYS: dict[str, dict[str, float]] = {
    indicator: {"tau_decay": tau_decay, "tau_on": MLSPIKE_GCAMP6S.ton, "delay": 0.5, **hill}
    for hill in (hill_from_polynomial(MLSPIKE_GCAMP6S.a, MLSPIKE_GCAMP6S.pnonlin),)  # one fit, shared
    for indicator, tau_decay in (("GCaMP6s", MLSPIKE_GCAMP6S.tau), ("GCaMP6f", 0.7))
}

#: Start of the random-walk step s.d. of MLspike's drifting baseline (:mod:`spikebook.generative.drift`),
#: as a fraction of the noise s.d.: a walk of :math:`\sigma/30` per frame wanders by about
#: :math:`0.4\,\sigma` in 2 s, the size of the slow structure the constant-baseline fits leave in their
#: residuals (a label-free measure).
DRIFT_START = 1 / 30


def indicator_mlphys(indicator: Indicator, sigma: torch.Tensor, fs: float, drifting: bool = False) -> MLphys:
    """MLphys with one parameter set per cell at the indicator's :data:`INITIAL_MLPHYS` values.

    Args:
        indicator: ``"GCaMP6s"`` or ``"GCaMP6f"``.
        sigma: Noise s.d. per cell (ΔF/F), ``(C,)``; the baseline :math:`\\beta` starts at 0 (traces whose
            slow baseline was removed).
        fs: Frame rate in Hz.
        drifting: Add MLspike's random-walk baseline, its step s.d. starting at :data:`DRIFT_START`
            times ``sigma``.

    Returns:
        The model of ``C`` cells.
    """
    if indicator not in INITIAL_MLPHYS:
        raise ValueError(f"indicator must be one of {sorted(INITIAL_MLPHYS)}, got {indicator!r}")
    n = sigma.shape[0]
    values = {k: torch.full((n,), v) for k, v in INITIAL_MLPHYS[indicator].items()}
    drift = sigma * DRIFT_START if drifting else None
    return MLphys(**values, beta=torch.zeros(n), sigma=sigma, fs=fs, drift=drift)
