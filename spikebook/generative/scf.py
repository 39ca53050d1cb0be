"""SCF: the linear spikes → calcium → fluorescence model, eq. (2) of Speiser et al. (2017)."""

from __future__ import annotations

import torch
from torch import Tensor

from spikebook.generative.base import CalciumModel, roots_from_gamma
from spikebook.generative.constraints import POSITIVE, Constrained, as_float_tensor


class SCF(CalciumModel):
    """Linear auto-regressive calcium model (SCF), eq. (2):

    .. math::
        c_t = \\sum_{i=1}^{p} \\gamma_i c_{t-i} + \\delta s_t, \\qquad
        f_t = \\alpha c_t + \\beta + e_t, \\qquad e_t \\sim \\mathcal N(0, \\sigma^2),

    with :math:`c_t = 0` before the first sample. The AR(p) kernel is stored through its real
    roots :math:`r_i \\in (0, 1)` (a sum of decaying exponentials, as in OASIS), so every
    parameter value reachable by gradient descent is a valid, non-oscillating kernel.

    Args:
        gamma: AR coefficients, a number (AR(1)), ``(p,)`` or ``(C, p)``.
        delta: spike amplitude :math:`\\delta > 0`, ``()`` or ``(C,)``.
        alpha: gain :math:`\\alpha > 0`.
        beta: baseline :math:`\\beta`.
        sigma: noise standard deviation :math:`\\sigma > 0`.

    References:
        Speiser et al. 2017, eq. (2); Vogelstein et al. 2010; Friedrich et al. 2017 (OASIS).

    Taught in: book chapter "From spikes to fluorescence".
    """

    delta = Constrained(POSITIVE, "spike amplitude delta: calcium per spike")

    def __init__(self, gamma=0.95, delta=1.0, alpha=0.3, beta=-0.3, sigma=0.1) -> None:
        super().__init__()
        self.roots = roots_from_gamma(gamma)
        self.delta = delta
        self.alpha = alpha
        self.beta = beta
        self.sigma = sigma

    @classmethod
    def from_time_constants(
        cls, tau_decay: float | Tensor, fs: float, tau_rise: float | Tensor | None = None, **kwargs
    ) -> SCF:
        """Build an AR(1) (or, with ``tau_rise``, AR(2)) SCF from time constants.

        Args:
            tau_decay: decay time constant in seconds, ``()`` or ``(C,)``.
            fs: sampling rate in Hz.
            tau_rise: rise time constant in seconds (AR(2): difference of exponentials). It may
                equal ``tau_decay`` (or lie arbitrarily close to it): the kernel is then the
                critically damped :math:`(t+1) r^t`, computed exactly
                (:func:`~spikebook.generative.dynamics.ar_calcium`).
            **kwargs: ``delta``, ``alpha``, ``beta``, ``sigma`` as in :class:`SCF`.
        """
        if fs <= 0:
            raise ValueError(f"fs must be positive (Hz), got {fs}")
        taus = [as_float_tensor(tau_decay, "tau_decay")]
        if tau_rise is not None:
            taus.append(as_float_tensor(tau_rise, "tau_rise"))
        if any((tau <= 0).any() for tau in taus):
            raise ValueError("time constants must be positive (seconds)")
        roots = torch.stack([torch.exp(-1.0 / (tau * fs)) for tau in torch.broadcast_tensors(*taus)], -1)
        model = cls(**kwargs)
        model.roots = roots
        return model

    def indicator(self, spikes: Tensor) -> Tensor:
        """The fluorescence reads out the calcium directly: :math:`x_t = c_t`."""
        return self.calcium(spikes)
