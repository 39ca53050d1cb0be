r"""Baselines of Table 1 of Speiser et al. (2017): constrained deconvolution (CDEC) and MCMC.

Two classical spike-inference methods that the recognition networks are compared with on the
simulated SCF data:

* :func:`cdec`: constrained (non-negative, sparse) deconvolution with OASIS (Friedrich et al.
  2017), parameters estimated from each trace. A point estimate, no generative model needed.
* :func:`gibbs_scf`: a (block) Gibbs sampler over binary spike trains under the SCF model of
  eq. (2) with *known* parameters and an i.i.d. Bernoulli prior, in the spirit of Pnevmatikakis
  et al. (2013). It returns posterior spike probabilities, the same quantity a DeepSpike
  recognition model outputs, so it is the reference the amortised posterior is measured
  against. :func:`scf_kernel` gives the fluorescence response to one spike that it uses.
* :func:`foopsi_rr`: the dendritic baseline of Table 1 (§3.4): CDEC of soma and spines, then a
  robust regression (:func:`remove_bap`) that subtracts from each spine's deconvolved activity the
  part explained by the soma's (the back-propagating action potentials).

Conventions: traces are ``(N, T)`` (``(..., T)`` for :func:`gibbs_scf`), time on the last axis,
sampled at ``fs`` Hz; rates in Hz, time constants in seconds. :func:`cdec` works in numpy (as
OASIS does) and returns numpy arrays; :func:`gibbs_scf` works on torch tensors in float64 and
returns tensors.

References:
    Friedrich J, Zhou P, Paninski L (2017), "Fast online deconvolution of calcium imaging data",
    PLoS Comput Biol 13(3):e1005423 (OASIS).
    Pnevmatikakis EA, Merel J, Pakman A, Paninski L (2013), "Bayesian spike inference from
    calcium imaging data", arXiv:1311.6864.
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), "Fast amortized inference
    of neural activity from calcium imaging data with variational autoencoders", NeurIPS,
    Table 1.

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

import copy
import math
from typing import Any, NamedTuple

import numpy as np
import torch
from oasis.functions import GetSn, deconvolve
from sklearn.linear_model import HuberRegressor
from torch import Tensor

from spikebook.generative import SCF
from spikebook.seeding import numpy_seeded
from spikebook.validate import as_traces, rate_hz

__all__ = [
    "KERNEL_TOL",
    "MIN_STEPS",
    "BapRegression",
    "CdecResult",
    "FoopsiRRResult",
    "GibbsResult",
    "cdec",
    "foopsi_rr",
    "gibbs_scf",
    "remove_bap",
    "scf_kernel",
]

#: Shortest trace :func:`cdec` accepts when it estimates parameters (samples). OASIS estimates the
#: AR coefficients from ``10 + p`` autocovariance lags and the noise from a Welch spectrum; on
#: fewer samples both are meaningless.
MIN_STEPS = 32

#: The spike kernel of :func:`gibbs_scf` is cut after its last lag where it is at least this
#: fraction of its peak (relative truncation error of the likelihood ~ ``KERNEL_TOL``).
KERNEL_TOL = 1e-6


# ---------------------------------------------------------------------------------------------------- CDEC


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
            ``penalty`` is not 0 or 1, ``fs`` is not positive, or the time constants in
            ``kwargs`` do not match ``p``.

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


# ---------------------------------------------------------------------------------------------------- Foopsi-RR


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
    the robust scale until the fit is a median regression whose slope is often 0; on the chapter's data
    this choice raises the spine score by ~0.05.) The local (synaptic) activity is the positive part of
    the residual, on every bin,

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


# ---------------------------------------------------------------------------------------------------- Gibbs


class GibbsResult(NamedTuple):
    """Output of :func:`gibbs_scf`; ``...`` is the batch shape of the input traces.

    Attributes:
        marginals: Posterior spike probabilities :math:`p(s_t = 1 \\mid f)`, ``(..., T)``:
            the average over the sweeps after burn-in.
        last_sample: The spike train of the last sweep, ``(..., T)``, 0 or 1.
        log_joint: :math:`\\log p(f \\mid s) + \\log p(s)` after each sweep (burn-in included),
            ``(..., n_sweeps)``, in nats; for checking mixing.
        kernel_length: Number of lags :math:`L` of the truncated spike kernel (see
            :func:`scf_kernel`); blocks at least :math:`L + B - 1` samples apart were drawn in
            parallel.
    """

    marginals: Tensor
    last_sample: Tensor
    log_joint: Tensor
    kernel_length: int


def _check_linear(model: Any) -> None:
    """Raise TypeError unless ``model`` is an SCF whose fluorescence is linear in the spikes.

    SCDF subclasses SCF but reads out a nonlinear dye state, so ``isinstance`` alone is not enough.
    """
    if not isinstance(model, SCF) or type(model).indicator is not SCF.indicator:
        raise TypeError(
            f"model must be an SCF (fluorescence linear in the spikes), got {type(model).__name__}"
        )


def scf_kernel(model: SCF, n_steps: int, tol: float = KERNEL_TOL) -> Tensor:
    r"""Fluorescence response to one spike, :math:`h_k = \alpha\,\delta\,\kappa_k`, truncated.

    :math:`\kappa` is the impulse response of the AR(p) calcium of eq. (2), so the noise-free
    fluorescence is :math:`\beta + \sum_t s_t h_{\cdot - t}`. The kernel is cut after the last
    lag where :math:`|h_k| \ge` ``tol`` :math:`\cdot \max_k |h_k|` for some cell (so the
    length is shared by all cells), and never longer than ``n_steps``: lags beyond the trace
    never matter.

    Args:
        model: SCF model, per-cell parameters ``(C,)`` or ``()``.
        n_steps: Length ``T`` of the traces it will be used on.
        tol: Relative truncation threshold (default :data:`KERNEL_TOL`).

    Returns:
        Kernel of shape ``(C, L)`` or ``(L,)``, float64, with ``1 <= L <= n_steps``.

    Raises:
        TypeError: If ``model`` is not an :class:`~spikebook.generative.SCF` with its linear read-out
            (an SCDF is refused).
        ValueError: If ``n_steps < 1`` or ``tol`` is not in (0, 1).

    Taught in: book chapter 'SCF data: Table 1, first column'.
    """
    _check_linear(model)
    if int(n_steps) != n_steps or n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
    model = (
        copy.deepcopy(model).double().requires_grad_(False)
    )  # float64 copy; the caller's model is untouched
    # A first guess from the slowest root, doubled until the tail is below tol (AR(2) with close roots
    # decays like k r^k, slower than r^k).
    length = min(n_steps, max(1, math.ceil(math.log(tol) / math.log(float(model.roots.max()))) + 1))
    while True:
        impulse = torch.zeros(length, dtype=torch.float64)
        impulse[0] = 1.0
        kernel = model.alpha.unsqueeze(-1) * model.calcium(impulse)  # (C, length) or (length,)
        big = kernel.abs() >= tol * kernel.abs().amax(-1, keepdim=True)
        if length == n_steps or not big[..., -1].any():
            break
        length = min(2 * length, n_steps)
    last = int(big.reshape(-1, length).any(0).nonzero().max())
    return kernel[..., : last + 1].contiguous()


def _per_trace(value: Tensor, batch: torch.Size, n_traces: int) -> Tensor:
    """Broadcast a per-cell parameter ``()`` or ``(C,)`` to the trace batch, flattened to ``(N, 1)``."""
    return value.detach().double().expand(batch).reshape(n_traces, 1)


def gibbs_scf(
    f: Tensor | np.ndarray,
    model: SCF,
    prior_rate_hz: float | Tensor,
    fs: float,
    n_sweeps: int = 200,
    burn_in: int = 50,
    seed: int | torch.Generator = 0,
    block: int = 4,
    stride: int | None = None,
    rao_blackwell: bool = True,
    kernel_tol: float = KERNEL_TOL,
) -> GibbsResult:
    r"""Block Gibbs sampler over binary spike trains under an SCF model with known parameters (MCMC).

    Target: the posterior :math:`p(s \mid f) \propto p(f \mid s)\,p(s)` over :math:`s_t \in \{0, 1\}`,
    with the SCF likelihood of eq. (2) and the i.i.d. Bernoulli prior :math:`p(s_t = 1) = \pi = \nu / f_s`.
    The SCF mean is linear in the spikes, :math:`\mu = \beta + \sum_t s_t h_{\cdot - t}` with the kernel
    :math:`h = \alpha\delta\kappa` (:func:`scf_kernel`). With the residual :math:`r = f - \mu` and
    :math:`r^{(0)} = r + s_t h_{\cdot - t}` (the residual with :math:`s_t = 0`), the exact conditional of
    one site given all others is

    .. math:: \operatorname{logit} p(s_t = 1 \mid s_{-t}, f) = \log\frac{\pi}{1 - \pi}
        - \frac{1}{2\sigma^2}\Big(\|r^{(0)} - h_{\cdot - t}\|^2 - \|r^{(0)}\|^2\Big)
        = \log\frac{\pi}{1 - \pi} + \frac{1}{\sigma^2}\Big(\langle r^{(0)}, h_{\cdot - t}\rangle
        - \tfrac12 \|h_{\cdot - t}\|^2\Big),

    norms taken over the samples of the trace only. After a draw the residual is updated in place,
    :math:`r \leftarrow r^{(0)} - s_t h_{\cdot - t}`, at cost :math:`O(L)` for a kernel of :math:`L` lags.

    **Blocks of adjacent sites** (``block`` :math:`= B`, default 4). Single-site Gibbs mixes badly here:
    adjacent bins are strongly anti-correlated (a spike one bin early explains almost the same
    fluorescence), so a spike placed a few bins off cannot move without passing through a much less
    probable state with zero or two spikes. We therefore draw :math:`B` adjacent sites jointly from their
    exact conditional over the :math:`2^B` configurations :math:`z`,

    .. math:: \log p(z \mid s_{\text{rest}}, f) = \text{const} + |z| \log\frac{\pi}{1 - \pi}
        + \frac{1}{\sigma^2}\Big(\textstyle\sum_b z_b \langle r^{(0)}, h_{\cdot - t - b}\rangle
        - \tfrac12 \sum_{b, b'} z_b z_{b'} \langle h_{\cdot - t - b}, h_{\cdot - t - b'}\rangle\Big),

    which contains the moves "shift a spike by up to :math:`B - 1` bins" and "split / merge two
    spikes". The partition into blocks is shifted by one site every sweep, so every pair of neighbours
    shares a block in :math:`B - 1` of every :math:`B` sweeps. ``block=1`` is the classical single-site
    sampler; on SCF traces at the paper's parameters it stays stuck hundreds of nats below the true
    spike train's log joint, while ``block=4`` reaches it within tens of sweeps. A block costs
    :math:`O(2^B)`, but a sweep has :math:`B` times fewer Python steps, so up to :math:`B \approx 6` a
    sweep gets *faster* with :math:`B` for a few traces (4 is the fastest for batches of ~50).

    **Parallel blocks.** Sites interact in the likelihood only through the cross terms
    :math:`\langle h_{\cdot - t}, h_{\cdot - u}\rangle / \sigma^2`, zero when :math:`|t - u| \ge L`.
    Blocks whose starts are ``stride`` :math:`\ge L + B - 1` apart are therefore conditionally
    independent given all other sites, and drawing them all at once is an exact Gibbs step. A sweep is
    a Python loop over ``stride / B`` offsets; traces and blocks are tensor axes. ``stride >= T`` gives
    the plain sequential scan (the oracle in the tests).

    **Cost.** :math:`O(N T L)` flops per sweep for ``N`` traces (each site touches its kernel's
    :math:`L` samples) and about ``stride / B`` Python steps of ~20 small tensor ops. For one or a few
    traces the Python steps dominate: at :math:`\gamma = 0.99` (:math:`L = 1375`) a sweep takes
    ~4x longer than at :math:`\gamma = 0.95` (:math:`L = 270`). The ops are tiny, so on a busy
    machine run it with ``torch.set_num_threads(1)`` (2-6x faster than two contended threads in our
    measurements).

    **Truncation.** The kernel is cut where it falls below ``kernel_tol`` (default :data:`KERNEL_TOL`,
    ``1e-6``) of its peak (:func:`scf_kernel`; at most ``T`` lags), so the sampler targets the model with
    the truncated kernel, whose log-likelihood differs from ``model.log_prob`` by a relative ~1e-6 of a
    spike's contribution; when the kernel needs no cut (``L = T``) it is exactly ``model.log_prob``.

    The chain starts from :math:`s = 0`; blocks are visited right to left within each stretch of
    ``stride`` samples, so that in the first sweep a spike is met at its own bin before the earlier bins
    whose kernels overlap it. All arithmetic is float64; the residual is updated incrementally.

    Args:
        f: Fluorescence, ``(..., T)``: one trace ``(T,)``, cells ``(C, T)`` or e.g. the ``(R, C, T)`` of
            :func:`spikebook.data.simulate.simulate`; the model's per-cell parameters ``(C,)`` broadcast
            along the axis before time.
        model: The SCF model with the true (known) parameters; AR(p) of any order.
        prior_rate_hz: Firing rate :math:`\nu` in Hz of the Bernoulli prior, a number or ``(C,)``.
        fs: Sampling rate :math:`f_s` in Hz (the prior is :math:`\pi = \nu / f_s` per sample).
        n_sweeps: Number of sweeps (each updates every site once).
        burn_in: Sweeps discarded before averaging the marginals (``0 <= burn_in < n_sweeps``).
        seed: Seed of the ``torch.Generator`` that drives the sampler, or a generator; the same seed gives
            the same result.
        block: Number :math:`B` of adjacent sites drawn jointly, 1 to 8.
        stride: Distance between blocks drawn together; a multiple of ``block`` and ``>= L + block - 1``.
            Default: the smallest such value (fastest exact choice).
        rao_blackwell: Average the conditional probabilities :math:`p(s_t = 1 \mid s_{\text{rest}}, f)` met
            at each update (Rao-Blackwellised, lower variance) instead of the sampled :math:`s_t`. Both
            converge to the posterior marginals.
        kernel_tol: Relative threshold for cutting the kernel.

    Returns:
        A :class:`GibbsResult`: ``marginals`` and ``last_sample`` ``(..., T)``, ``log_joint``
        ``(..., n_sweeps)`` (float64 tensors) and the kernel length ``L``.

    Raises:
        TypeError: If ``model`` is not an :class:`~spikebook.generative.SCF` with its linear read-out
            (an SCDF is refused).
        ValueError: If ``f`` is empty or not finite, its batch shape does not hold the model's cells, or
            ``fs``, ``prior_rate_hz``, ``n_sweeps``, ``burn_in``, ``block`` or ``stride`` are out of range.

    References:
        Pnevmatikakis, Merel, Pakman & Paninski 2013, "Bayesian spike inference from calcium imaging
        data", arXiv:1311.6864 (discrete-time Gibbs sampling of spikes, Rao-Blackwellised marginals);
        Speiser et al. 2017, NeurIPS, Table 1 ("MCMC").

    Taught in: book chapter 'SCF data: Table 1, first column'.
    """
    _check_linear(model)
    f = torch.as_tensor(f).detach().to(torch.float64)
    if f.dim() == 0 or f.numel() == 0:
        raise ValueError(f"f must be traces (..., T) with T >= 1, got shape {tuple(f.shape)}")
    if not torch.isfinite(f).all():
        raise ValueError("f contains NaN or infinite values: remove NaN padding first")
    fs = rate_hz(fs, "fs")
    rate = torch.as_tensor(prior_rate_hz, dtype=torch.float64)
    if not ((rate > 0) & (rate < fs)).all():
        raise ValueError(f"prior_rate_hz must lie in (0, fs={fs}) Hz, got {prior_rate_hz}")
    if int(n_sweeps) != n_sweeps or n_sweeps < 1:
        raise ValueError(f"n_sweeps must be a positive integer, got {n_sweeps!r}")
    if int(burn_in) != burn_in or not 0 <= burn_in < n_sweeps:
        raise ValueError(f"burn_in must be an integer in [0, n_sweeps={n_sweeps}), got {burn_in!r}")
    if block not in range(1, 9):
        raise ValueError(f"block must be 1, 2, 3 or 4 adjacent sites, got {block!r}")

    n_steps, batch = f.shape[-1], f.shape[:-1]
    kernel = scf_kernel(model, n_steps, kernel_tol)  # (C, L) or (L,)
    n_lags = kernel.shape[-1]
    pi = rate / fs
    try:
        full = torch.broadcast_shapes(batch, kernel.shape[:-1], model.beta.shape, model.sigma.shape, pi.shape)
    except RuntimeError as err:
        raise ValueError(f"f {tuple(f.shape)} does not broadcast with the model's cells") from err
    if full != batch:
        raise ValueError(
            f"f of shape {tuple(f.shape)} has fewer traces than the model has cells {tuple(full)}"
        )
    span = n_lags + block - 1  # samples touched by the kernels of one block
    if stride is None:
        stride = block * -(-span // block)
    if int(stride) != stride or stride < span or stride % block:
        raise ValueError(
            f"stride must be a multiple of block={block} and >= L + block - 1 = {span}, got {stride!r}"
        )
    stride = int(stride)

    n_traces = math.prod(batch)
    beta = _per_trace(model.beta, batch, n_traces)  # (N, 1)
    sigma = _per_trace(model.sigma, batch, n_traces)
    pi = _per_trace(pi, batch, n_traces)
    logit_prior = torch.log(pi) - torch.log1p(-pi)  # (N, 1)
    inv_var = sigma**-2
    # log p(f|s) + log p(s) = const - |r|^2 / (2 sigma^2) + n_spikes * logit_prior.
    const = (
        -n_steps * (torch.log(sigma) + 0.5 * math.log(2 * math.pi)) + n_steps * torch.log1p(-pi)
    ).squeeze(-1)

    # Kernels of the B sites of a block on the block's span: shifted[n, l, b] = h[n, l - b].
    h = kernel.expand(*batch, n_lags).reshape(n_traces, n_lags)
    shifted = torch.zeros(n_traces, span, block, dtype=torch.float64)
    for b in range(block):
        shifted[:, b : b + n_lags, b] = h
    configs = torch.tensor(list(np.ndindex(*(2,) * block)), dtype=torch.float64)  # (2^B, B), all z

    # Layout: index i holds site t = i - block (a left margin of B empty sites lets the shifted partitions
    # start before t = 0); everything beyond the trace stays 0. Block starts i = offset + k + j * stride.
    n_blocks = -(-(n_steps + block) // stride)  # J
    width = (n_blocks + 1) * stride + block  # every block of every offset fits
    site_of = torch.arange(width) - block  # (M,)
    inside = (site_of >= 0) & (site_of < n_steps)
    r = torch.zeros(n_traces, width, dtype=torch.float64)  # residual f - mean
    r[:, inside] = f.reshape(n_traces, n_steps) - beta
    s = torch.zeros_like(r)
    acc = torch.zeros_like(r)

    # Per block start: Gram matrix of its B kernels and the config-dependent constant of the log
    # conditional, both restricted to the trace. They equal the full ones except near the end, so they are
    # stored once for "full" (row 0) and once per start that reaches beyond the trace (rows 1, 2, ...).
    n_in = (n_steps - site_of).clamp(0, span)  # samples of the block's span inside the trace
    sites = site_of.unsqueeze(-1) + torch.arange(block)  # (M, B) sites of the block starting at i
    site_ok = (sites >= 0) & (sites < n_steps)
    special = (n_in < span) | ~site_ok.all(-1)  # starts whose Gram or configs differ from the full ones
    row = torch.zeros(width, dtype=torch.long)
    row[special] = torch.arange(1, int(special.sum()) + 1)
    n_special = torch.cat([torch.tensor([span]), n_in[special]])  # (S,) samples inside, per row
    products = shifted.unsqueeze(-1) * shifted.unsqueeze(-2)  # (N, span, B, B)
    cum = torch.cat([torch.zeros(n_traces, 1, block, block, dtype=torch.float64), products.cumsum(1)], 1)
    gram = cum[:, n_special]  # (N, S, B, B)
    quad = torch.einsum("cb,nsbe,ce->nsc", configs, gram, configs)  # z^T G z, (N, S, 2^B)
    base = logit_prior.unsqueeze(-1) * configs.sum(-1) - 0.5 * inv_var.unsqueeze(-1) * quad  # (N, S, 2^B)
    ok_rows = torch.cat([torch.ones(1, block, dtype=torch.bool), site_ok[special]])  # (S, B)
    forbidden = ((configs > 0) & ~ok_rows.unsqueeze(1)).any(-1)  # (S, 2^B): a spike outside the trace
    base = base.masked_fill(forbidden, -math.inf)
    inv_var3 = inv_var.unsqueeze(-1)  # (N, 1, 1)

    generator = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    log_joint = torch.empty(n_traces, n_sweeps, dtype=torch.float64)
    offsets = range(stride - block, -1, -block)  # right to left within each stretch of `stride` samples

    def blocks(x: Tensor, start: int) -> Tensor:
        """View ``(N, J, stride)`` of ``x`` whose row ``j`` starts at index ``start + j * stride``."""
        return x[:, start : start + n_blocks * stride].view(n_traces, n_blocks, stride)

    starts_j = torch.arange(n_blocks) * stride
    for sweep in range(n_sweeps):
        uniforms = torch.rand((len(offsets), n_traces, n_blocks, 1), generator=generator, dtype=torch.float64)
        shift = sweep % block  # shift the partition into blocks by one site per sweep
        for g, k in enumerate(offsets):
            start = shift + k
            window = blocks(r, start)[..., :span]  # (N, J, span) view of the residual
            old = blocks(s, start)[..., :block]  # (N, J, B) view of the spikes
            rows = row[starts_j + start]  # (J,)
            gram_j = gram[:, rows]  # (N, J, B, B)
            # <r0, h_b> = <r, h_b> + sum_b' old_b' <h_b', h_b>, inside the trace (r is 0 outside).
            dots = torch.bmm(window, shifted) + (old.unsqueeze(-2) @ gram_j).squeeze(-2)  # (N, J, B)
            scores = base[:, rows] + inv_var3 * (dots @ configs.T)  # (N, J, 2^B)
            probs = torch.softmax(scores, -1)
            cdf = probs.cumsum(-1)
            choice = (cdf < uniforms[g] * cdf[..., -1:]).sum(-1)  # inverse CDF; never past the last config
            new = configs[choice]  # (N, J, B)
            change = new - old
            if change.any():
                window.baddbmm_(change, shifted.transpose(1, 2), alpha=-1.0)  # r <- r - sum_b change_b h_b
                r[:, block + n_steps :] = 0.0  # kernel tails that fell beyond the trace
                old.copy_(new)
            if sweep >= burn_in:
                blocks(acc, start)[..., :block] += probs @ configs if rao_blackwell else new
        spikes_in = s[:, inside]
        log_joint[:, sweep] = (
            const
            - 0.5 * inv_var.squeeze(-1) * (r[:, inside] ** 2).sum(-1)
            + spikes_in.sum(-1) * logit_prior.squeeze(-1)
        )

    marginals = acc[:, inside] / (n_sweeps - burn_in)
    return GibbsResult(
        marginals.reshape(*batch, n_steps),
        s[:, inside].reshape(*batch, n_steps),
        log_joint.reshape(*batch, n_sweeps),
        n_lags,
    )
