"""Linear recursions over time, computed without a Python loop over time steps.

Every model of the book reduces its dynamics to the first-order recursion

.. math:: x_t = g_t\\,x_{t-1} + u_t, \\qquad x_{-1} = 0,

with coefficients :math:`g_t` that are either constant (the AR calcium of eq. 2) or vary in
time (the dye dynamics of eqs. 3 and 4, whose coefficients depend on the calcium but not on
the dye state, so the recursion is linear in the dye). :func:`first_order_scan` evaluates it
by recursive doubling (Hillis & Steele, 1986): after the pass with stride :math:`d`,

.. math:: x_t = \\sum_{j < 2d} \\Big(\\prod_{i<j} g_{t-i}\\Big) u_{t-j},
    \\qquad G_t = \\prod_{i<2d} g_{t-i},

so :math:`\\lceil \\log_2 T \\rceil` vectorised passes give the exact result and autograd
differentiates through it like any other tensor code.

Taught in: book chapter "From spikes to fluorescence".
"""

from __future__ import annotations

import torch
from torch import Tensor


def first_order_scan(u: Tensor, g: Tensor) -> Tensor:
    """Solve :math:`x_t = g_t x_{t-1} + u_t` with :math:`x_{-1} = 0` along the last axis.

    Args:
        u: inputs, shape ``(..., T)``.
        g: coefficients broadcastable to ``u``; a last axis of size 1 means constant in time.

    Returns:
        ``x`` with the broadcast shape of ``u`` and ``g`` (``(..., T)``).
    """
    n_steps = u.shape[-1]
    constant = g.shape[-1] == 1
    x, big_g = u.expand(torch.broadcast_shapes(u.shape, g.shape)), g
    stride = 1
    while stride < n_steps:
        coef = big_g if constant else big_g[..., stride:]
        x = torch.cat([x[..., :stride], x[..., stride:] + coef * x[..., :-stride]], dim=-1)
        if constant:
            big_g = big_g * big_g
        else:
            big_g = torch.cat([big_g[..., :stride], big_g[..., stride:] * big_g[..., :-stride]], dim=-1)
        stride *= 2
    return x


def ar_calcium(spikes: Tensor, roots: Tensor, delta: Tensor) -> Tensor:
    """AR(p) calcium of eq. (2), :math:`c_t = \\sum_{i=1}^p \\gamma_i c_{t-i} + \\delta s_t`.

    The AR polynomial is factored into its real roots,
    :math:`1 - \\sum_i \\gamma_i z^{-i} = \\prod_i (1 - r_i z^{-1})`, so the filter is a
    cascade of ``p`` first-order recursions :math:`x_t = r_i x_{t-1} + u_t`. The cascade stays
    accurate to rounding for repeated or nearly equal roots: its AR(2) impulse response,

    .. math:: h_t = \\sum_{k=0}^{t} r_1^k r_2^{t-k} = \\frac{r_1^{t+1} - r_2^{t+1}}{r_1 - r_2},  \\tag{D1}

    which is :math:`(t+1) r^t` when :math:`r_1 = r_2 = r`, is formed as a sum of positive terms,
    whereas evaluating the difference of exponentials in (D1) directly loses about
    :math:`|\\log_{10}|r_1 - r_2||` digits to cancellation.

    Args:
        spikes: spike counts, shape ``(..., C, T)`` (``C`` may be absent for scalar parameters).
        roots: decay factors per step in (0, 1), shape ``(C, p)`` or ``(p,)``.
        delta: spike amplitude, shape ``(C,)`` or ``()``.

    Returns:
        Calcium ``c`` of shape ``(..., C, T)``, zero before the first sample.
    """
    calcium = delta.unsqueeze(-1) * spikes
    for root in roots.unbind(-1):
        calcium = first_order_scan(calcium, root.unsqueeze(-1))
    return calcium


def relax(target: Tensor, rate: Tensor, euler: bool = False) -> Tensor:
    """First-order relaxation :math:`d_t = d_{t-1} + a_t (d^*_t - d_{t-1})`, :math:`d_{-1} = 0`.

    With a rate :math:`r_t` per step that is constant within a step, the exact solution of
    :math:`\\dot d = r (d^* - d)` over one step has :math:`a_t = 1 - e^{-r_t}` (default); the
    forward-Euler step of eqs. (3) and (4) has :math:`a_t = r_t`, which overshoots and
    oscillates once :math:`r_t > 1`, so with ``euler=True`` it is clamped at 1. Both keep
    :math:`d_t` a convex combination of :math:`d_{t-1}` and :math:`d^*_t`, hence between 0 and
    the largest target.

    Args:
        target: :math:`d^*_t`, shape ``(..., T)``.
        rate: :math:`r_t > 0` per step, shape ``(..., T)``.
        euler: use the (clamped) forward-Euler step instead of the exact one.

    Returns:
        ``d`` of shape ``(..., T)``.
    """
    step = rate.clamp(max=1.0) if euler else -torch.expm1(-rate)
    return first_order_scan(step * target, 1.0 - step)


def safe_pow(base: Tensor, exponent: Tensor) -> Tensor:
    """:math:`b^\\eta` for :math:`b \\ge 0, \\eta > 0`, finite, with finite gradients at :math:`b = 0`.

    The value is capped at :math:`\\sqrt{x_{\\max}}` of the dtype (about :math:`10^{19}` in float32): a large Hill
    coefficient in a burst would overflow (:math:`20^{30}` in float32) and the dye's steady state
    :math:`b^\\eta / (b^\\eta + \\kappa)` become ``inf / inf``. At the cap that ratio is 1 to rounding (the
    dye saturated), and the square root leaves room to multiply by a rate or a concentration.
    """
    info = torch.finfo(base.dtype)
    limit = (info.max**0.5) ** (1.0 / exponent)  # b^eta <= sqrt(max)
    return torch.where(base > 0, torch.minimum(base.clamp_min(info.tiny), limit) ** exponent, 0.0)
