"""The contract shared by every generative model :math:`p_\\theta(f \\mid s)` of the book.

Shapes and units, stated once: spikes and fluorescence are ``(..., C, T)`` where ``T`` is
time (samples at ``fs`` Hz) and ``C``, the axis just before time, indexes cells; every
per-cell parameter has shape ``(C,)`` (or ``()`` when shared), AR roots ``(C, p)`` or
``(p,)``. Leading axes (``...``), e.g. ``K`` samples of a recognition model, broadcast.

All models share the observation model of eqs. (2)-(4),

.. math:: f_t = \\alpha\\,x_t + \\beta + e_t, \\qquad e_t \\sim \\mathcal N(0, \\sigma^2),

where :math:`x_t` is the model's indicator state (calcium :math:`c_t` for SCF, bound dye
:math:`d_t` for SCDF and MLphys), and differ only in :meth:`CalciumModel.indicator`.

Taught in: book chapter "From spikes to fluorescence".
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor, nn

from spikebook.generative.constraints import POSITIVE, REAL, UNIT_INTERVAL, Constrained, as_float_tensor
from spikebook.generative.drift import random_walk_log_prob_per_step, sample_random_walk
from spikebook.generative.dynamics import ar_calcium


def check_spikes(spikes: Tensor) -> Tensor:
    """Validate a spike tensor ``(..., T)``: floating, finite, non-negative, ``T >= 1``."""
    if not isinstance(spikes, Tensor):
        raise TypeError(f"spikes must be a torch.Tensor, got {type(spikes).__name__}")
    if spikes.dim() == 0 or spikes.shape[-1] == 0:
        raise ValueError(f"spikes must have a non-empty time axis (..., T), got shape {tuple(spikes.shape)}")
    if not spikes.is_floating_point():
        spikes = spikes.to(torch.get_default_dtype())
    if not torch.isfinite(spikes).all():
        raise ValueError("spikes contain NaN or infinite values")
    if (spikes < 0).any():
        raise ValueError("spikes must be non-negative counts")
    return spikes


def check_trace(f: Tensor, spikes: Tensor) -> None:
    """Validate a fluorescence tensor against the spikes it is scored with."""
    if not isinstance(f, Tensor):
        raise TypeError(f"f must be a torch.Tensor, got {type(f).__name__}")
    if f.dim() == 0 or f.shape[-1] != spikes.shape[-1]:
        raise ValueError(
            f"f and spikes must have the same number of time steps, got {tuple(f.shape)} and {tuple(spikes.shape)}"
        )
    try:
        torch.broadcast_shapes(f.shape, spikes.shape)
    except RuntimeError as err:
        raise ValueError(f"f {tuple(f.shape)} does not broadcast with spikes {tuple(spikes.shape)}") from err
    if torch.isnan(f).any():
        raise ValueError("f contains NaN: remove NaN padding before scoring (see spikebook.metrics)")


def _ar2_roots(gamma1: float, gamma2: float, slack: float) -> np.ndarray | None:
    """Roots of :math:`z^2 - \\gamma_1 z - \\gamma_2` from the discriminant (R2), ``None`` if complex."""
    discriminant = gamma1 * gamma1 + 4.0 * gamma2
    if abs(discriminant) <= 4.0 * slack:
        return np.array([gamma1 / 2.0, gamma1 / 2.0])
    if discriminant < 0:
        return None
    larger = (gamma1 + math.copysign(math.sqrt(discriminant), gamma1)) / 2.0
    return np.array([larger, -gamma2 / larger])  # the product of the roots is -gamma2: no cancellation


def roots_from_gamma(gamma: float | Tensor | list) -> Tensor:
    """Real roots :math:`r_i \\in (0, 1)` of :math:`1 - \\sum_i \\gamma_i z^{-i}`, repeated roots included.

    A repeated root is ill-conditioned: rounding ``gamma`` to its dtype (machine epsilon
    :math:`\\varepsilon`) splits a double root into two real roots or a conjugate pair about
    :math:`\\sqrt{\\varepsilon}` apart, while the kernel, a smooth function of ``gamma``, barely
    changes. So roots are accepted as the real numbers :math:`a_i` whenever the real-rooted
    polynomial they define reproduces the coefficients up to that rounding,

    .. math:: \\max_i \\Big| \\big[\\textstyle\\prod_j (1 - a_j z^{-1})\\big]_i + \\gamma_i \\Big|
        \\le s, \\qquad s = 32\\,\\varepsilon \\Big(1 + \\sum_i |\\gamma_i|\\Big).  \\tag{R1}

    For AR(2) the roots come from the discriminant :math:`\\Delta = \\gamma_1^2 + 4 \\gamma_2`:

    .. math:: |\\Delta| / 4 \\le s: \\; r_1 = r_2 = \\gamma_1 / 2, \\qquad
        \\Delta > 4 s: \\; r_1 = \\big(\\gamma_1 + \\sqrt{\\Delta}\\big) / 2, \\; r_2 = -\\gamma_2 / r_1,
        \\qquad \\Delta < -4 s: \\text{complex}.  \\tag{R2}

    The double root satisfies (R1) since :math:`(\\gamma_1/2)^2 = -\\gamma_2 + \\Delta/4`; so the
    critically damped :math:`\\gamma = (2r, -r^2)` (kernel :math:`(t+1) r^t`) gives exactly
    :math:`r_1 = r_2`, whichever way rounding moved :math:`\\Delta`. For other orders the roots
    of ``np.roots`` are used, a complex result as its real parts if they satisfy (R1).

    Args:
        gamma: AR coefficients, shape ``(p,)`` or ``(C, p)``; a number means AR(1).

    Returns:
        Roots with the shape of ``gamma``, sorted in decreasing order.

    Raises:
        ValueError: if a root is complex beyond (R1) or outside (0, 1) (the calcium kernel
            would oscillate, grow, or change sign).
    """
    gamma = as_float_tensor(gamma, "gamma")
    if gamma.dim() == 0:
        gamma = gamma.reshape(1)
    if gamma.dim() > 2 or gamma.shape[-1] == 0:
        raise ValueError(f"gamma must have shape (p,) or (C, p), got {tuple(gamma.shape)}")
    epsilon = torch.finfo(gamma.dtype).eps
    flat = gamma.reshape(-1, gamma.shape[-1]).double().numpy()
    rows = []
    for coefficients in flat:
        polynomial = np.array([1.0, *(-coefficients)])
        slack = 32 * epsilon * np.abs(polynomial).sum()
        if coefficients.size == 2:
            roots = _ar2_roots(float(coefficients[0]), float(coefficients[1]), slack)
        else:
            roots = np.roots(polynomial)
            if np.iscomplexobj(roots):
                roots = roots.real if np.abs(np.poly(roots.real) - polynomial).max() <= slack else None
        if roots is None:
            raise ValueError(f"gamma={coefficients.tolist()} has complex roots: the calcium kernel oscillates")
        roots = torch.from_numpy(roots)
        if not ((roots > 0) & (roots < 1)).all():
            raise ValueError(f"gamma={coefficients.tolist()} has roots {roots.tolist()} outside (0, 1)")
        rows.append(roots.sort(descending=True).values)
    return torch.stack(rows).reshape(gamma.shape).to(gamma.dtype)


class CalciumModel(nn.Module):
    """Base class: AR(p) calcium, a model-specific indicator state, Gaussian observations.

    Subclasses implement :meth:`indicator`. Parameters are declared with
    :class:`~spikebook.generative.constraints.Constrained`.
    """

    roots = Constrained(UNIT_INTERVAL, "AR roots r_i of the calcium kernel, decay per time step", shared_ndim=1)
    alpha = Constrained(POSITIVE, "gain alpha: fluorescence per unit of indicator state")
    beta = Constrained(REAL, "baseline fluorescence beta")
    sigma = Constrained(POSITIVE, "standard deviation sigma of the measurement noise")
    drift = Constrained(POSITIVE, "standard deviation nu of the baseline's random-walk step (optional)")

    @property
    def delta(self) -> Tensor:
        """Spike amplitude :math:`\\delta` (1 unless a subclass makes it a parameter)."""
        return torch.ones((), dtype=self.raw_alpha.dtype, device=self.raw_alpha.device)

    @property
    def gamma(self) -> Tensor:
        """AR coefficients :math:`\\gamma_i` of eq. (2), from :math:`\\prod_i (1 - r_i z^{-1})`.

        Shape ``(C, p)`` or ``(p,)``.
        """
        roots = self.roots
        poly = torch.ones_like(roots[..., :1])  # coefficients of z^0, z^-1, ...
        for root in roots.unbind(-1):
            shifted = torch.cat([torch.zeros_like(poly[..., :1]), poly], -1)
            poly = torch.cat([poly, torch.zeros_like(poly[..., :1])], -1) - root.unsqueeze(-1) * shifted
        return -poly[..., 1:]

    def time_constants(self, fs: float) -> Tensor:
        """Time constants in seconds of the calcium kernel, :math:`\\tau_i = -1 / (f_s \\log r_i)`."""
        return -1.0 / (fs * torch.log(self.roots))

    @property
    def drifting(self) -> bool:
        """Whether the baseline drifts (a ``drift`` :math:`\\nu` was assigned; :mod:`spikebook.generative.drift`)."""
        return "raw_drift" in self._parameters

    def calcium(self, spikes: Tensor) -> Tensor:
        """Calcium :math:`c_t` of eq. (2), shape ``(..., C, T)``."""
        return ar_calcium(check_spikes(spikes), self.roots, self.delta)

    def indicator(self, spikes: Tensor) -> Tensor:
        """Indicator state :math:`x_t` that the fluorescence reads out, shape ``(..., C, T)``."""
        raise NotImplementedError

    def mean(self, spikes: Tensor) -> Tensor:
        """Noise-free fluorescence :math:`\\alpha x_t + \\beta`, same shape as ``spikes``."""
        return self.alpha.unsqueeze(-1) * self.indicator(check_spikes(spikes)) + self.beta.unsqueeze(-1)

    def sample(self, spikes: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Draw :math:`f \\sim p_\\theta(f \\mid s)`, same shape as ``spikes`` (with the drifting baseline
        when the model has one)."""
        mean = self.mean(spikes)
        sigma = self.sigma.unsqueeze(-1)
        noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype, device=mean.device)
        if self.drifting:
            mean = mean + sample_random_walk(mean.shape, sigma, self.drift.unsqueeze(-1), generator)
        return mean + sigma * noise

    def log_prob_per_step(self, f: Tensor, spikes: Tensor) -> Tensor:
        r"""Gaussian log-likelihood of each time step, :math:`\log \mathcal N(f_t; \alpha x_t + \beta, \sigma^2)`.

        Args:
            f: fluorescence, ``(..., C, T)``; broadcasts against ``spikes`` (e.g. ``(C, T)``
                against ``K`` samples ``(K, C, T)``).
            spikes: spike trains, ``(..., C, T)``.

        Returns:
            Log-likelihood per step, shape ``broadcast(f, spikes).shape``.
        """
        spikes = check_spikes(spikes)
        check_trace(f, spikes)
        sigma = self.sigma.unsqueeze(-1)
        residual = f - self.mean(spikes)
        if self.drifting:
            return random_walk_log_prob_per_step(residual, sigma, self.drift.unsqueeze(-1))
        z = residual / sigma
        return -0.5 * z**2 - torch.log(sigma) - 0.5 * math.log(2 * math.pi)

    def log_prob(self, f: Tensor, spikes: Tensor) -> Tensor:
        r"""Gaussian log-likelihood :math:`\log p_\theta(f \mid s)`, summed over time.

        .. math:: \sum_t -\tfrac12 \big((f_t - \alpha x_t - \beta)/\sigma\big)^2
            - \log\sigma - \tfrac12 \log 2\pi

        Args:
            f: fluorescence, ``(..., C, T)``, broadcasting against ``spikes``.
            spikes: spike trains, ``(..., C, T)``.

        Returns:
            Log-likelihood of shape ``broadcast(f, spikes).shape[:-1]``.
        """
        return self.log_prob_per_step(f, spikes).sum(-1)
