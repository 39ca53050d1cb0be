r"""Constrained deconvolution (CDEC) with OASIS: the first baseline of Table 1 of Speiser et al. (2017).

:func:`cdec` deconvolves each trace under the AR(p) calcium model of eq. (2) with the spikes relaxed to
non-negative reals, its parameters estimated from the trace (Friedrich et al. 2017): a point estimate that
needs no generative model. :func:`ar1_gamma` is OASIS's AR(1) estimator without its shrinkage of the root,
for callers that pass the decay to :func:`cdec` as a known ``tau_d``.

Conventions: traces are ``(N, T)``, time on the last axis, sampled at ``fs`` Hz; time constants in seconds.
Works in numpy (as OASIS does) and returns numpy arrays.

References:
    Friedrich J, Zhou P, Paninski L (2017), "Fast online deconvolution of calcium imaging data",
    PLoS Comput Biol 13(3):e1005423 (OASIS).
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), "Fast amortized inference
    of neural activity from calcium imaging data with variational autoencoders", NeurIPS,
    Table 1 ("CDEC").

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from oasis.functions import GetSn, deconvolve, estimate_time_constant

from spikebook.seeding import numpy_seeded
from spikebook.validate import as_traces, finite, positive, rate_hz

__all__ = ["MIN_STEPS", "CdecResult", "ar1_gamma", "cdec"]

#: Shortest trace :func:`cdec` accepts when it estimates parameters (samples). OASIS estimates the
#: AR coefficients from ``10 + p`` autocovariance lags and the noise from a Welch spectrum; on
#: fewer samples both are meaningless.
MIN_STEPS = 32


class CdecResult(NamedTuple):
    """Output of :func:`cdec`, one row per trace.

    Attributes:
        spikes: Inferred activity :math:`\\hat s_t \\ge 0`, ``(N, T)``, in fluorescence units (a
            spike of the SCF model appears as :math:`\\alpha\\delta`), not counts.
        calcium: Denoised fluorescence :math:`\\hat c_t` without baseline, ``(N, T)``.
        baseline: Fluorescence baseline :math:`\\hat b`, ``(N,)``.
        gamma: AR coefficients :math:`\\hat\\gamma_i` per step, ``(N, p)``.
        noise_sd: Noise standard deviation :math:`\\hat\\sigma` used in the constraint, ``(N,)``.
    """

    spikes: np.ndarray
    calcium: np.ndarray
    baseline: np.ndarray
    gamma: np.ndarray
    noise_sd: np.ndarray


def cdec(f: Any, fs: float, p: int = 1, penalty: int = 0, seed: int | None = 0, **kwargs: Any) -> CdecResult:
    r"""Constrained deconvolution (CDEC) of each trace with OASIS: the first baseline of Table 1.

    For each trace :math:`y` OASIS solves the noise-constrained problem

    .. math:: \min_{\hat s, \hat c, b} \|\hat s\|_q \quad \text{s.t.} \quad
        \|b + \hat c - y\|^2 \le \hat\sigma^2 T, \qquad
        \hat s_t = \hat c_t - \sum_{i=1}^p \hat\gamma_i \hat c_{t-i} \ge 0,

    the AR model of eq. (2) with the spikes relaxed to non-negative reals (``p = 1`` or ``2``).

    ``penalty`` is OASIS's ``penalty`` argument of :func:`oasis.functions.deconvolve`:

    * ``1``: :math:`q = 1`, the convex L1 problem above (solved exactly, through its dual
      variable :math:`\lambda` such that the residual meets the noise constraint).
    * ``0`` (default): :math:`q = 0`, a *locally optimal* L0 solution: OASIS first solves the
      L1 problem, then, for AR(1), greedily re-adds spikes at the L1 spike positions in order
      of decreasing size, refitting the calcium, and stops as soon as the residual meets the
      noise constraint :math:`\|y - b - \hat c\|^2 < \hat\sigma^2 T`; for AR(2) it bisects a
      minimum spike size :math:`s_{\min}` over the sorted L1 spike sizes, keeping the largest
      one that still meets the constraint. This removes the many small spikes of the L1
      solution and undoes its shrinkage of the amplitudes.

    Parameters are estimated by OASIS from each trace (:func:`oasis.functions.deconvolve` with
    ``tau_d=None``): the noise :math:`\hat\sigma` by ``GetSn`` (mean power-spectral density
    between 0.25 and 0.5 of the Nyquist frequency, Welch's method); the AR coefficients by
    least squares on the autocovariance at ``10 + p`` lags corrected for the noise
    (Yule-Walker style), with the AR roots then shrunk by a "fudge factor" of 0.98 (so AR(1)
    estimates are biased low by ~2%: 0.95 comes back as ~0.93); the baseline :math:`b` jointly
    with :math:`\lambda`. Roots outside (0, 1) are replaced by OASIS with 0.95 or 0.15 plus
    noise from numpy's global RNG, which ``seed`` makes reproducible.

    Args:
        f: Fluorescence, ``(T,)`` (one trace, ``N = 1``) or ``(N, T)``; numpy array or tensor,
            cast to float64.
        fs: Sampling rate in Hz (passed to OASIS as ``framerate``; needed when ``tau_d`` is
            given).
        p: AR order, 1 (decay only) or 2 (rise and decay).
        penalty: 0 (L0, default) or 1 (L1); see above.
        seed: Seed for numpy's global RNG while OASIS runs (state restored afterwards); ``None``
            leaves it alone.
        **kwargs: Passed on to :func:`oasis.functions.deconvolve`, e.g. ``tau_d`` and ``tau_r``
            (known time constants in seconds: ``tau_d`` alone for ``p = 1``, both for
            ``p = 2``), ``sn`` (known noise sd), ``b`` (known baseline), ``optimize_g`` (number
            of large isolated events used to refine :math:`\gamma`, AR(1) is reliable, AR(2)
            experimental). ``b_nonneg`` defaults to ``False`` here, unlike OASIS, because
            fluorescence of the package's models can have a negative baseline
            (:math:`\beta = -0.3` in the paper's SCF data); with ``True`` the baseline is
            clipped at 0 and the spikes absorb the difference.

    Returns:
        A :class:`CdecResult` with ``spikes`` and ``calcium`` ``(N, T)``, ``baseline`` and
        ``noise_sd`` ``(N,)``, ``gamma`` ``(N, p)``. For AR(1) OASIS sets ``s_0 = 0``: calcium
        present at the start is explained as an initial condition, not as a spike (AR(2) has no
        such rule). Values that are zero up to round-off (~1e-20, inside OASIS's pools) are
        left as they are; count events with a small threshold, not ``> 0``.

    Raises:
        TypeError: If ``f`` is not real-valued (integers are fine) or ``fs`` not a number.
        ValueError: If ``f`` is not 1-D or 2-D, is empty, holds NaN or infinite values, a
            trace is constant (OASIS would return NaN spikes for AR(1) and fail with "math
            domain error" for AR(2): the noise and autocovariance estimates are 0), a trace is
            shorter than :data:`MIN_STEPS` while parameters are estimated, ``p`` is not 1 or 2,
            ``penalty`` is not 0 or 1, ``fs`` is not positive, the time constants in
            ``kwargs`` do not match ``p``, or ``tau_d``, ``tau_r`` or ``sn`` are not positive and
            finite, or ``b`` not finite.

    References:
        Friedrich, Zhou & Paninski 2017, PLoS Comput Biol 13(3):e1005423 (OASIS);
        Speiser et al. 2017, NeurIPS, Table 1 ("CDEC").

    Taught in: book chapter 'SCF data: Table 1, first column'.
    """
    if p not in (1, 2):
        raise ValueError(f"p (AR order) must be 1 or 2, got {p!r}")
    if penalty not in (0, 1) or isinstance(penalty, bool):
        raise ValueError(f"penalty must be 0 (L0) or 1 (L1), got {penalty!r}")
    fs = rate_hz(fs, "fs")
    if "g" in kwargs or "framerate" in kwargs:
        raise ValueError("pass time constants as tau_d / tau_r (seconds), not g or framerate")
    tau_d, tau_r = kwargs.pop("tau_d", None), kwargs.pop("tau_r", None)
    if tau_d is None and tau_r is not None:
        raise ValueError("tau_r needs tau_d (seconds)")
    # OASIS takes any number: tau_d = 0 divides by zero, < 0 gives no spikes, NaN gives NaN spikes
    if tau_d is not None:
        tau_d = positive(tau_d, "tau_d")
    if tau_r is not None and p == 2:
        tau_r = positive(tau_r, "tau_r")
    for name, check in (("sn", positive), ("b", finite)):  # sn < 0 gives all-zero spikes
        if kwargs.get(name) is not None:
            kwargs[name] = check(kwargs[name], name)
    if tau_d is not None and p == 2 and not tau_r:
        raise ValueError("p=2 with a known tau_d also needs a positive tau_r (seconds)")
    if tau_d is not None and p == 1 and tau_r:
        raise ValueError(f"p=1 has no rise time, got tau_r={tau_r}")
    # OASIS's own switch: tau_r=0 is AR(1); tau_d=None with tau_r=None estimates an AR(2).
    tau_r = (tau_r if tau_d is not None else None) if p == 2 else 0
    kwargs.setdefault("b_nonneg", False)

    # NaN is refused: OASIS would silently propagate it (AR(1): NaN spikes, AR(2): NaN baseline and
    # all-zero spikes). Remove padding first (spikebook.infer handles it by runs of finite samples).
    traces = np.asarray(as_traces(f, "f", allow_nan=False)[0], dtype=np.float64)  # float64 for OASIS, no copy if so
    n_traces, n_steps = traces.shape
    if tau_d is None and n_steps < MIN_STEPS:
        raise ValueError(f"traces need at least {MIN_STEPS} samples to estimate parameters, got T={n_steps}")
    constant = np.ptp(traces, axis=1) == 0
    if constant.any():
        raise ValueError(
            f"traces {np.flatnonzero(constant)[:10].tolist()} are constant: OASIS estimates noise and AR "
            "coefficients of 0 and returns NaN spikes (AR(1)) or fails with 'math domain error' (AR(2))"
        )

    spikes, calcium = np.empty_like(traces), np.empty_like(traces)
    baseline, noise_sd, gamma = np.empty(n_traces), np.empty(n_traces), np.empty((n_traces, p))
    sn = kwargs.pop("sn", None)
    with numpy_seeded(seed):
        for i, y in enumerate(traces):
            # deconvolve estimates sn with GetSn when it is not given; computing it here gives the same
            # value and lets us return it.
            noise_sd[i] = GetSn(y) if sn is None else sn
            out = deconvolve(
                y, tau_d=tau_d, tau_r=tau_r, framerate=fs, sn=noise_sd[i], penalty=penalty, **kwargs
            )
            calcium[i], spikes[i], baseline[i], gamma[i] = out.c, out.s, out.b, out.g
    # OASIS leaves tiny negative round-off (~1e-16) in s = c - g c_{t-1}; the constraint is s >= 0.
    np.maximum(spikes, 0.0, out=spikes)
    return CdecResult(spikes, calcium, baseline, gamma, noise_sd)


def ar1_gamma(traces: np.ndarray, fudge_factor: float = 1.0, seed: int = 0) -> np.ndarray:
    r"""AR(1) decay per sample estimated from each trace with OASIS's estimator, by default unshrunk.

    OASIS (``estimate_time_constant``) fits :math:`\gamma` by least squares to the autocovariance at lags
    1 … 10, the lag-0 term corrected by the noise variance :math:`\hat\sigma^2` (``GetSn``), and then
    multiplies the AR root by ``fudge_factor``. :func:`oasis.functions.deconvolve` (hence :func:`cdec` with
    estimated parameters) uses 0.98, which biases :math:`\hat\gamma` low by ~2%; ``fudge_factor=1`` removes
    that bias, and :math:`\tau_d = -1 / (f_s \log\hat\gamma)` seconds passes the estimate to :func:`cdec`.

    Args:
        traces: Fluorescence ``(N, T)``.
        fudge_factor: Shrinkage of the estimated root (1: none; OASIS's default 0.98).
        seed: Seed of numpy's global RNG while OASIS runs (it draws a replacement for roots outside
            (0, 1)); the caller's state is restored.

    Returns:
        :math:`\hat\gamma` per trace, ``(N,)``, in (0, 1).

    References:
        Friedrich, Zhou & Paninski 2017, PLoS Comput Biol 13(3):e1005423 (OASIS).

    Taught in: book chapter 'SCF data: Table 1, first column'.
    """
    traces = np.asarray(traces, dtype=np.float64)
    with numpy_seeded(seed):
        gamma = np.array([estimate_time_constant(y, p=1, sn=GetSn(y), fudge_factor=fudge_factor)[0] for y in traces])
    return np.clip(gamma, 1e-3, 1 - 1e-6)
