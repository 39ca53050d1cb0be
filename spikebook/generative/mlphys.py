"""MLphys: the discrete-time MLspike model of Deneux et al. (2016), eq. (4) of Speiser et al."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import least_squares
from torch import Tensor
from torch.nn import functional as F

from spikebook.generative.base import CalciumModel, check_spikes
from spikebook.generative.constraints import POSITIVE, UNIT_INTERVAL, Constrained, as_float_tensor
from spikebook.generative.dynamics import relax, safe_pow


class MLphys(CalciumModel):
    """Calcium with MLspike's saturating, Hill-type indicator with finite rise time, eq. (4):

    .. math::
        c_t = \\gamma c_{t-1} + s_t, \\qquad
        \\tilde c_t = (c_0 + c_t)^{\\eta} - c_0^{\\eta}, \\qquad
        d_t - d_{t-1} = \\frac{1 + \\omega \\tilde c_t}{\\tau_{on}}
            \\Big(\\frac{\\tilde c_t}{1 + \\omega \\tilde c_t} - d_{t-1}\\Big), \\qquad
        f_t = \\alpha d_t + \\beta + e_t.

    The indicator relaxes towards the saturating steady state
    :math:`\\tilde c / (1 + \\omega \\tilde c)` with rate :math:`(1 + \\omega\\tilde c)/\\tau_{on}`.
    Eq. (4) is the forward-Euler step of MLspike's rise-time ODE; by default the step is
    integrated exactly (exponential relaxation, stable for any :math:`\\tau_{on}`), as MLspike
    itself does; ``euler=True`` gives the paper's (and the original DeepSpike code's) step,
    clamped so it cannot overshoot.

    **Sub-frame delay (optional, not in the paper).** A spike counted in frame :math:`t` happened at some
    time between samples :math:`t-1` and :math:`t`; eq. (4) lets its full calcium step show at sample
    :math:`t`. With ``delay`` :math:`d \\in (0, 1)` (learnable, one per cell) the calcium is driven by

    .. math::
        s'_t = (1 - d)\\, s_t + d\\, s_{t-1},

    so a fraction :math:`d` of each spike's influx lands one frame later: the first-order (linear
    interpolation) form of a fractional delay of :math:`d` frames. Spike counts are conserved. ``None``
    (default) is eq. (4) as printed.

    Parameters are in MLspike's units (Deneux et al. 2016): calcium is counted in single-spike
    increments (:math:`\\delta = 1`), so :math:`\\alpha` is the fluorescence change (ΔF/F) per
    isolated spike before saturation.

    Args:
        tau_decay: calcium decay time constant in seconds (MLspike ``tau``), ``()`` or ``(C,)``.
        tau_on: indicator rise time in seconds (MLspike ``ton``).
        omega: saturation :math:`\\omega > 0` (MLspike ``saturation``, e.g. 0.1 for OGB-1).
        c0: baseline calcium :math:`c_0 > 0` in spike units (only matters when :math:`\\eta \\ne 1`).
        eta: Hill exponent :math:`\\eta > 0` (MLspike ``hill``).
        alpha: ΔF/F per spike (MLspike ``a``).
        beta: baseline fluorescence.
        sigma: noise standard deviation (MLspike ``sigma``).
        fs: sampling rate in Hz (fixed, not learned).
        euler: use the (clamped) forward-Euler step of eq. (4).
        delay: sub-frame delay :math:`d` of the calcium influx in frames, in the open interval (0, 1),
            ``()`` or ``(C,)``; ``None`` for none.
        drift: s.d. :math:`\\nu` of the random-walk step of a drifting baseline (MLspike's drift, not in
            eq. 4; :mod:`spikebook.generative.drift`), ``()`` or ``(C,)``; ``None`` for a constant baseline.

    References:
        Speiser et al. 2017, eq. (4); Deneux et al. 2016, Nat. Commun. 7:12190 (MLspike).

    Taught in: book chapter "From spikes to fluorescence".
    """

    tau_on = Constrained(POSITIVE, "indicator rise time tau_on in seconds")
    omega = Constrained(POSITIVE, "saturation omega")
    c0 = Constrained(POSITIVE, "baseline calcium c0 in single-spike units")
    eta = Constrained(POSITIVE, "Hill exponent eta")
    delay = Constrained(UNIT_INTERVAL, "sub-frame delay d of the calcium influx, in frames")

    def __init__(
        self,
        tau_decay=1.0,
        tau_on=0.02,
        omega=0.1,
        c0=0.1,
        eta=1.0,
        alpha=0.1,
        beta=0.0,
        sigma=0.02,
        fs: float = 60.0,
        euler: bool = False,
        delay: float | Tensor | None = None,
        drift: float | Tensor | None = None,
    ) -> None:
        super().__init__()
        if fs <= 0:
            raise ValueError(f"fs must be positive (Hz), got {fs}")
        tau_decay = as_float_tensor(tau_decay, "tau_decay")
        if (tau_decay <= 0).any():
            raise ValueError(f"tau_decay must be positive (seconds), got {tau_decay}")
        self.fs = float(fs)
        self.roots = torch.exp(-1.0 / (tau_decay * fs)).unsqueeze(-1)
        self.tau_on = tau_on
        self.omega = omega
        self.c0 = c0
        self.eta = eta
        self.alpha = alpha
        self.beta = beta
        self.sigma = sigma
        self.euler = euler
        if delay is not None:
            self.delay = delay
        if drift is not None:
            self.drift = drift

    @property
    def delayed(self) -> bool:
        """Whether the model has a sub-frame ``delay`` (set at construction or assigned later)."""
        return "raw_delay" in self._parameters

    def calcium(self, spikes: Tensor) -> Tensor:
        """Calcium :math:`c_t` of eq. (4), driven by :math:`s'_t` when the model has a ``delay``."""
        if self.delayed:
            spikes = check_spikes(spikes)
            d = self.delay.unsqueeze(-1)
            spikes = (1.0 - d) * spikes + d * F.pad(spikes[..., :-1], (1, 0))
        return super().calcium(spikes)

    def indicator(self, spikes: Tensor) -> Tensor:
        """Indicator state :math:`d_t` of eq. (4), shape ``(..., C, T)``."""
        c0, eta, omega = (p.unsqueeze(-1) for p in (self.c0, self.eta, self.omega))
        drive = safe_pow(c0 + self.calcium(spikes), eta) - c0**eta
        rate = (1.0 + omega * drive) / (self.tau_on.unsqueeze(-1) * self.fs)
        return relax(drive / (1.0 + omega * drive), rate, euler=self.euler)


def hill_from_polynomial(a: float, pnonlin: Sequence[float], max_spikes: float = 5.0) -> dict[str, float]:
    """MLphys's Hill-type indicator parameters that best reproduce MLspike's polynomial indicator.

    MLspike describes GCaMP by a polynomial of the indicator state :math:`p` (``pnonlin = (p_2, p_3)``,
    Deneux et al. 2016, ``spk_calcium``), whose value is 1 for one spike:

    .. math::
        \\Delta F / F = a \\big((1 - p_2 - p_3)\\,p + p_2 p^2 + p_3 p^3\\big).

    Eq. (4) has no polynomial; its steady state is :math:`\\alpha \\tilde c / (1 + \\omega \\tilde c)` with
    :math:`\\tilde c = (c_0 + c)^\\eta - c_0^\\eta`. This fits :math:`(\\alpha, c_0, \\eta, \\omega)` by least
    squares on 200 calcium levels evenly spaced in :math:`[0, \\text{max\\_spikes}]` (in single-spike units):
    for GCaMP6s (:math:`a = 0.07`, ``pnonlin = (0.73, -0.05)``) the two curves differ by under 0.001 ΔF/F.

    Args:
        a: ΔF/F of one spike (MLspike ``a``).
        pnonlin: MLspike's ``(p_2,)`` or ``(p_2, p_3)``; empty for a linear indicator.
        max_spikes: largest calcium level of the fit, in spikes.

    Returns:
        ``{"alpha", "c0", "eta", "omega"}``, keyword arguments of :class:`MLphys`.

    Raises:
        ValueError: If ``a`` or ``max_spikes`` is not positive or ``pnonlin`` has more than two terms.
    """
    if a <= 0 or max_spikes <= 0:
        raise ValueError(f"a and max_spikes must be positive, got a={a}, max_spikes={max_spikes}")
    if len(pnonlin) > 2:
        raise ValueError(f"pnonlin holds MLspike's (p2, p3), got {len(pnonlin)} terms")
    p2, p3 = (*pnonlin, 0.0, 0.0)[:2]
    c = np.linspace(0.0, max_spikes, 200)
    target = a * ((1.0 - p2 - p3) * c + p2 * c**2 + p3 * c**3)

    def residual(log_params: np.ndarray) -> np.ndarray:
        alpha, c0, eta, omega = np.exp(log_params)
        drive = (c0 + c) ** eta - c0**eta
        return alpha * drive / (1.0 + omega * drive) - target

    fit = least_squares(residual, np.log([a, 1.0, 1.5, 0.01]))
    return dict(zip(("alpha", "c0", "eta", "omega"), np.exp(fit.x).tolist(), strict=True))
