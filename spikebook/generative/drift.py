"""A drifting baseline: a Gaussian random walk under the fluorescence, integrated out exactly.

MLspike's physiological model (Deneux et al. 2016) lets the baseline drift; eqs. (2)-(4) of
Speiser et al. keep it constant. With drift, the residual :math:`r_t = f_t - \\alpha x_t - \\beta`
left by the spikes' fluorescence is

.. math::
    r_t = b_t + e_t, \\qquad b_t = b_{t-1} + w_t, \\qquad
    w_t \\sim \\mathcal N(0, \\nu^2), \\quad e_t \\sim \\mathcal N(0, \\sigma^2), \\quad
    b_0 \\sim \\mathcal N(0, \\sigma^2),

so the baseline's offset at the first sample is uncertain by one noise s.d. and wanders by
:math:`\\nu\\sqrt{n}` over :math:`n` samples. The baseline is a linear-Gaussian state, so
:math:`p(r)` is exact: the Kalman filter factorises it into one-step predictions,

.. math::
    \\log p(r) = \\sum_t \\log \\mathcal N(r_t;\\, m_t,\\, V_t + \\sigma^2),

where :math:`m_t = E[b_t \\mid r_{<t}]` and :math:`V_t = \\mathrm{Var}[b_t \\mid r_{<t}]`.
The variances do not depend on the data. They follow the Riccati recursion
:math:`V_{t+1} = V_t\\sigma^2/(V_t + \\sigma^2) + \\nu^2`, :math:`V_0 = \\sigma^2`, a Möbius map with
fixed points :math:`V_\\pm = (\\nu^2 \\pm \\nu\\sqrt{\\nu^2 + 4\\sigma^2})/2`, whence the closed form

.. math::
    V_t = \\frac{V_+ - V_- z_t}{1 - z_t}, \\qquad
    z_t = \\kappa^t\\, \\frac{V_0 - V_+}{V_0 - V_-}, \\qquad
    \\kappa = \\frac{\\sigma^2 + V_-}{\\sigma^2 + V_+} \\in (0, 1).

The means obey :math:`m_{t+1} = (1 - k_t)\\, m_t + k_t r_t` with gain :math:`k_t = V_t/(V_t + \\sigma^2)`
and :math:`m_0 = 0`: a first-order linear recursion
(:func:`~spikebook.generative.dynamics.first_order_scan`). No loop over time, and autograd
differentiates through both.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from spikebook.generative.dynamics import first_order_scan


def predicted_variance(sigma: Tensor, nu: Tensor, n_steps: int) -> Tensor:
    """:math:`V_t`, the variance of the baseline given the residuals before :math:`t`, in closed form.

    Args:
        sigma: noise s.d. :math:`\\sigma`, shape ``(..., 1)``.
        nu: random-walk step s.d. :math:`\\nu`, broadcastable to ``sigma``.
        n_steps: ``T``.

    Returns:
        ``V`` of shape ``(..., T)``.
    """
    var = sigma**2
    root = nu * torch.sqrt(nu**2 + 4.0 * var)
    v_plus, v_minus = 0.5 * (nu**2 + root), 0.5 * (nu**2 - root)
    t = torch.arange(n_steps, dtype=var.dtype, device=var.device)
    z = (var - v_plus) / (var - v_minus) * torch.exp(t * torch.log((var + v_minus) / (var + v_plus)))
    return (v_plus - v_minus * z) / (1.0 - z)


def random_walk_log_prob_per_step(residual: Tensor, sigma: Tensor, nu: Tensor) -> Tensor:
    """:math:`\\log \\mathcal N(r_t; m_t, V_t + \\sigma^2)` per step: summed over time, :math:`\\log p(r)`.

    Args:
        residual: :math:`r = f - \\alpha x - \\beta`, shape ``(..., T)``.
        sigma: noise s.d., broadcastable to ``residual`` with a last axis of size 1.
        nu: random-walk step s.d., same layout as ``sigma``.

    Returns:
        Per-step log-density, shape ``residual.shape``.
    """
    var_b = predicted_variance(sigma, nu, residual.shape[-1])  # (..., T)
    var_r = var_b + sigma**2
    gain = var_b / var_r
    filtered = first_order_scan(gain * residual, 1.0 - gain)  # E[b_t | r_{<=t}]
    innovation = residual - F.pad(filtered[..., :-1], (1, 0))
    return -0.5 * innovation**2 / var_r - 0.5 * torch.log(var_r) - 0.5 * math.log(2 * math.pi)


def sample_random_walk(shape: torch.Size | tuple[int, ...], sigma: Tensor, nu: Tensor,
                       generator: torch.Generator | None = None) -> Tensor:
    """Draw a baseline :math:`b` of shape ``shape = (..., T)``: :math:`b_0 \\sim \\mathcal N(0, \\sigma^2)`,
    steps :math:`\\mathcal N(0, \\nu^2)` (``sigma`` and ``nu`` broadcast with a last axis of size 1)."""
    noise = torch.randn(shape, generator=generator, dtype=sigma.dtype, device=sigma.device)
    scale = torch.cat([sigma.expand(*shape[:-1], 1), nu.expand(*shape[:-1], shape[-1] - 1)], -1)
    return torch.cumsum(scale * noise, -1)
