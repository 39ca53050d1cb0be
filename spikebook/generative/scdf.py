"""SCDF: calcium plus saturating, facilitating dye-binding dynamics, eq. (3) of Speiser et al."""

from __future__ import annotations

from torch import Tensor

from spikebook.generative.constraints import POSITIVE, Constrained
from spikebook.generative.dynamics import relax, safe_pow
from spikebook.generative.scf import SCF


class DyeParameters:
    """The dye parameters of eq. (3), declared once for every model with SCDF dye dynamics
    (:class:`SCDF`, :class:`~spikebook.generative.Dendritic`); :func:`dye_dynamics` uses them."""

    kon = Constrained(POSITIVE, "dye binding rate kappa_on per time step")
    koff = Constrained(POSITIVE, "dye unbinding rate kappa_off per time step")
    eta = Constrained(POSITIVE, "Hill coefficient eta")
    D = Constrained(POSITIVE, "total dye concentration [D]")


class SCDF(DyeParameters, SCF):
    """Spikes → Calcium → Dye → Fluorescence (SCDF), eq. (3):

    .. math::
        c_t = \\sum_{i=1}^{p} \\gamma_i c_{t-i} + \\delta s_t, \\qquad
        d_t - d_{t-1} = \\kappa_{on} c_t^{\\eta} ([D] - d_{t-1}) - \\kappa_{off} d_{t-1}, \\qquad
        f_t = \\alpha d_t + \\beta + e_t.

    Rewritten as a relaxation towards the steady state of bound dye,

    .. math::
        d_t - d_{t-1} = r_t (d^*_t - d_{t-1}), \\quad
        r_t = \\kappa_{on} c_t^{\\eta} + \\kappa_{off}, \\quad
        d^*_t = [D]\\,\\kappa_{on} c_t^{\\eta} / r_t,

    eq. (3) is the forward-Euler step. It overshoots and oscillates whenever :math:`r_t > 1`
    (large calcium), so by default the step is integrated exactly with :math:`c_t` held fixed,
    :math:`d_t = d^*_t + (d_{t-1} - d^*_t) e^{-r_t}`; ``euler=True`` gives eq. (3) with the step
    clamped at :math:`r_t \\le 1`. The two agree to first order in :math:`r_t` and both keep
    :math:`0 \\le d_t \\le [D]` for every parameter value. The Hill coefficient :math:`\\eta > 1`
    gives facilitation at low rates; :math:`[D]` caps the response, giving saturation.

    Args:
        gamma, delta, alpha, beta, sigma: as in :class:`~spikebook.generative.SCF`.
        kon: binding rate :math:`\\kappa_{on} > 0` per time step.
        koff: unbinding rate :math:`\\kappa_{off} > 0` per time step.
        eta: Hill coefficient :math:`\\eta > 0`.
        D: total dye concentration :math:`[D] > 0`, the largest reachable :math:`d_t`.
        euler: use the (clamped) forward-Euler step of eq. (3).

    References:
        Speiser et al. 2017, eq. (3); Deneux et al. 2016 (MLspike).

    Taught in: book chapter "From spikes to fluorescence".
    """

    def __init__(
        self,
        gamma=0.95,
        delta=1.0,
        alpha=0.9,
        beta=-0.2,
        sigma=0.03,
        kon=0.005,
        koff=0.1,
        eta=2.0,
        D=6.0,
        euler: bool = False,
    ) -> None:
        super().__init__(gamma=gamma, delta=delta, alpha=alpha, beta=beta, sigma=sigma)
        self.kon = kon
        self.koff = koff
        self.eta = eta
        self.D = D
        self.euler = euler

    def indicator(self, spikes: Tensor) -> Tensor:
        """Bound dye :math:`d_t` of eq. (3), shape ``(..., C, T)``."""
        k = (p.unsqueeze(-1) for p in (self.kon, self.koff, self.eta, self.D))
        return dye_dynamics(self.calcium(spikes), *k, euler=self.euler)


def dye_dynamics(calcium: Tensor, kon: Tensor, koff: Tensor, eta: Tensor, D: Tensor, euler: bool = False) -> Tensor:
    """Bound dye :math:`d_t` of eq. (3) driven by the calcium :math:`c_t` (see :class:`SCDF`).

    Args:
        calcium: :math:`c_t \\ge 0`, shape ``(..., T)``.
        kon, koff, eta, D: :math:`\\kappa_{on}, \\kappa_{off}` (per time step), :math:`\\eta`, :math:`[D]`,
            each broadcastable to ``calcium`` (e.g. ``(C, 1)`` for per-cell values).
        euler: use the (clamped) forward-Euler step of eq. (3) instead of the exact one.

    Returns:
        ``d`` with the broadcast shape, :math:`0 \\le d_t \\le [D]`.
    """
    binding = kon * safe_pow(calcium, eta)
    rate = binding + koff
    return relax(D * binding / rate, rate, euler=euler)
