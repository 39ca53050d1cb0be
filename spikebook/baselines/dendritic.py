r"""Foopsi-RR, the dendritic baseline of Table 1 (§3.4) of Speiser et al. (2017).

CDEC (:func:`spikebook.baselines.deconvolution.cdec`) of the soma and of each spine, then a robust
regression (:func:`remove_bap`) that subtracts from each spine's deconvolved activity the part explained by
the soma's: the back-propagating action potentials (bAPs), after Chen et al. (2013).

Conventions: fluorescence ``(N, 1+S, T)``, soma first (the layout of :class:`spikebook.generative.Dendritic`),
sampled at ``fs`` Hz; numpy arrays in and out.

References:
    Chen T-W et al. (2013), "Ultrasensitive fluorescent proteins for imaging neuronal activity", Nature
    499:295 (robust regression of spine on dendrite signals).
    Speiser et al. (2017), NeurIPS, §3.4 and Table 1 ("Foopsi-RR").

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from sklearn.linear_model import HuberRegressor
from torch import Tensor

from spikebook.baselines.deconvolution import cdec

__all__ = ["BapRegression", "FoopsiRRResult", "foopsi_rr", "remove_bap"]


class BapRegression(NamedTuple):
    """Output of :func:`remove_bap`.

    Attributes:
        local: Spine activity not explained by the soma, :math:`\\max(0, a_s - w_s a_c)`, ``(N, S, T)``:
            the estimate of the synaptic inputs.
        slope: Robust regression slope :math:`w_s` of each spine on the soma, ``(N, S)``.
    """

    local: np.ndarray
    slope: np.ndarray


class FoopsiRRResult(NamedTuple):
    """Output of :func:`foopsi_rr`.

    Attributes:
        soma: Deconvolved somatic activity (the estimate of the somatic spikes), ``(N, T)``.
        spines: Estimated synaptic inputs of each spine, ``(N, S, T)`` (see :class:`BapRegression`).
        spines_deconvolved: Deconvolved spine activity before the bAP part is removed, ``(N, S, T)``.
        slope: Regression slope of each spine on the soma, ``(N, S)``.
    """

    soma: np.ndarray
    spines: np.ndarray
    spines_deconvolved: np.ndarray
    slope: np.ndarray


def remove_bap(soma: Any, spines: Any, epsilon: float = 1.35, active: float | None = 1e-3) -> BapRegression:
    r"""Subtract from each spine's activity the part that follows the soma's, by robust regression.

    For each spine :math:`s` of each recording, fit :math:`a_{s,t} \approx w_s a_{c,t}` with
    scikit-learn's :class:`~sklearn.linear_model.HuberRegressor` (Huber loss with threshold ``epsilon``
    in units of a jointly estimated scale, no L2 penalty, no intercept) over the bins where the soma is
    active (:math:`a_{c,t}` above ``active`` times its maximum). Those are the bins where a
    back-propagating AP can reach the spine; a synaptic input that coincides with one is an outlier the
    Huber loss down-weights. (Fitting on all bins instead lets the many bins where both are zero shrink
    the robust scale until the fit is a median regression whose slope is often 0.) The local (synaptic)
    activity is the positive part of the residual, on every bin,

    .. math:: \hat a^{\mathrm{loc}}_{s,t} = \max(0,\; a_{s,t} - w_s a_{c,t}).

    Args:
        soma: Somatic activity :math:`a_c \ge 0`, ``(T,)`` or ``(N, T)`` (e.g. deconvolved spikes).
        spines: Spine activity :math:`a_s`, ``(S, T)`` or ``(N, S, T)``.
        epsilon: Huber threshold (> 1; scikit-learn's default 1.35, 95% efficiency for Gaussian noise).
        active: A bin counts as somatically active above this fraction of the soma's maximum; ``None``
            fits on all bins (with an intercept).

    Returns:
        :class:`BapRegression` with ``(N, S, T)`` local activity and ``(N, S)`` slopes (0 where the soma
        has fewer than two active bins).

    Raises:
        ValueError: On mismatched shapes, NaN or infinite values, ``epsilon <= 1`` or ``active`` outside
            [0, 1).

    References:
        Chen et al. 2013, Nature 499:295 (robust regression of spine on dendrite signals);
        Speiser et al. 2017, §3.4 (Foopsi-RR).

    Taught in: book chapter "Dendritic spines".
    """
    soma, spines = np.asarray(soma, dtype=np.float64), np.asarray(spines, dtype=np.float64)
    if soma.ndim == 1:
        soma, spines = soma[None], spines[None]
    if soma.ndim != 2 or spines.ndim != 3 or spines.shape[0] != soma.shape[0] or spines.shape[-1] != soma.shape[-1]:
        raise ValueError(f"need soma (N, T) and spines (N, S, T), got {soma.shape} and {spines.shape}")
    if not (np.isfinite(soma).all() and np.isfinite(spines).all()):
        raise ValueError("soma and spines must be finite")
    if not epsilon > 1:
        raise ValueError(f"epsilon must be > 1, got {epsilon}")
    if active is not None and not 0 <= active < 1:
        raise ValueError(f"active must lie in [0, 1) or be None, got {active}")
    n, n_spines, _ = spines.shape
    slope, offset = np.zeros((n, n_spines)), np.zeros((n, n_spines))
    for i in range(n):
        if active is None:
            bins = np.ones(soma.shape[-1], bool)
        else:
            bins = soma[i] > active * soma[i].max() if soma[i].max() > 0 else np.zeros(soma.shape[-1], bool)
        if bins.sum() < 2:  # no somatic activity: nothing to remove
            continue
        x = soma[i, bins, None]  # (T_active, 1)
        for j in range(n_spines):
            y = spines[i, j, bins]
            if np.ptp(y) == 0 and y[0] == 0:  # the spine never responds with the soma
                continue
            fit = HuberRegressor(epsilon=epsilon, alpha=0.0, fit_intercept=active is None, max_iter=500).fit(x, y)
            slope[i, j], offset[i, j] = fit.coef_[0], fit.intercept_
    local = np.maximum(spines - slope[..., None] * soma[:, None, :] - offset[..., None], 0.0)
    return BapRegression(local, slope)


def foopsi_rr(f: Any, fs: float, penalty: int = 1, epsilon: float = 1.35, seed: int | None = 0, **kwargs: Any) -> FoopsiRRResult:
    r"""Foopsi-RR: constrained deconvolution of soma and spines, then robust regression (Table 1, §3.4).

    "We first apply constrained deconvolution to somatic and dendritic calcium traces, and then use
    robust linear regression to identify and subtract deconvolved components of the spine signal that
    correlated with global back-propagated action potential" (Speiser et al. 2017, §3.4, after Chen et al.
    2013). Each compartment's trace is deconvolved by :func:`cdec` (OASIS, AR(1), parameters estimated
    from the trace); the soma's deconvolved activity is the somatic estimate; :func:`remove_bap` turns
    each spine's deconvolved activity into a synaptic estimate.

    Args:
        f: Fluorescence ``(1+S, T)`` or ``(N, 1+S, T)``, soma first (the layout of
            :class:`spikebook.generative.Dendritic`).
        fs: Sampling rate in Hz.
        penalty: OASIS penalty, 1 (L1, default) or 0 (L0); see :func:`cdec`.
        epsilon: Huber threshold of :func:`remove_bap`.
        seed: Seed for OASIS (see :func:`cdec`).
        **kwargs: Passed on to :func:`cdec` (e.g. ``tau_d`` in seconds).

    Returns:
        :class:`FoopsiRRResult`: somatic estimate ``(N, T)``, synaptic estimates ``(N, S, T)``, ...

    Raises:
        ValueError: If ``f`` is not ``(1+S, T)`` / ``(N, 1+S, T)`` with ``S >= 1``, or as :func:`cdec`.

    References:
        Chen et al. 2013, Nature 499:295; Pnevmatikakis et al. 2016, Neuron 89:285 (constrained
        deconvolution); Friedrich et al. 2017 (OASIS); Speiser et al. 2017, §3.4 and Table 1.

    Taught in: book chapter "Dendritic spines".
    """
    if isinstance(f, Tensor):
        f = f.detach().cpu().numpy()
    f = np.asarray(f, dtype=np.float64)
    if f.ndim == 2:
        f = f[None]
    if f.ndim != 3 or f.shape[1] < 2:
        raise ValueError(f"f must be (1+S, T) or (N, 1+S, T) with S >= 1 (soma first), got shape {f.shape}")
    n, n_comp, n_steps = f.shape
    deconvolved = cdec(f.reshape(-1, n_steps), fs, p=1, penalty=penalty, seed=seed, **kwargs).spikes
    deconvolved = deconvolved.reshape(n, n_comp, n_steps)
    soma, spines = deconvolved[:, 0], deconvolved[:, 1:]
    regression = remove_bap(soma, spines, epsilon)
    return FoopsiRRResult(soma, regression.local, spines, regression.slope)
