"""Soma + spines: the multi-compartment SCDF model of eq. (5) of Speiser et al. (2017) (DS-F-DEN)."""

from __future__ import annotations

import torch
from torch import Tensor

from spikebook.generative.base import CalciumModel, check_spikes, roots_from_gamma
from spikebook.generative.constraints import POSITIVE, REAL, UNIT_INTERVAL, Constrained, as_float_tensor
from spikebook.generative.dynamics import ar_calcium
from spikebook.generative.scdf import DyeParameters, dye_dynamics
from spikebook.validate import positive_int


class Dendritic(DyeParameters, CalciumModel):
    """Soma + ``S`` dendritic spines imaged together, eq. (5), with the SCDF dye of eq. (3).

    Compartment 0 is the cell body (superscript :math:`c`), compartments :math:`1 \\ldots S` are
    spines (superscript :math:`s`). The soma's calcium is driven by its action potentials
    :math:`s^c_t`; each spine's calcium by its own synaptic inputs :math:`s^s_t` *and* by the
    back-propagating action potentials (bAPs) of the soma, with a spine-specific amplitude
    :math:`\\delta_{b_s}`:

    .. math::
        c^c_t = \\sum_{t'=1}^{p} \\gamma^c_{t'} c^c_{t-t'} + \\delta^c s^c_t, \\qquad
        c^s_t = \\sum_{t'=1}^{p} \\gamma^s_{t'} c^s_{t-t'} + \\delta^s s^s_t + \\delta_{b_s} s^c_t.
        \\tag{5}

    Every compartment reads its calcium out through the same dye dynamics, eq. (3), with
    :math:`\\kappa_{on}, \\kappa_{off}, \\eta, [D]` shared by soma and spines (integrated exactly, see
    :class:`~spikebook.generative.SCDF`), and through its own gain, baseline and noise,

    .. math:: f^x_t = \\alpha^x d^x_t + \\beta^x + e^x_t, \\qquad e^x_t \\sim \\mathcal N(0, \\sigma_x^2),
        \\qquad x \\in \\{c, 1, \\ldots, S\\}.

    The parameters are :math:`\\theta = \\{\\alpha_{s,c}, \\beta_{s,c}, \\gamma_{s,c}, \\delta_{s,c},
    \\delta_{b_s}, \\kappa_{on}, \\kappa_{off}, \\eta, [D], \\sigma^2_{s,c}\\}` (the paper's list plus the
    amplitudes). Given the somatic spikes, spines are independent of each other and of the soma; a
    spine with :math:`\\delta_{b_s} = 0` is independent of the soma altogether.

    **Shapes.** Fluorescence and events are ``(..., C, 1+S, T)``: cells ``C`` (optional), then the
    compartment axis, soma first, then time. The *events* tensor holds the somatic spikes in row 0
    (``events[..., 0, :]``, ``(..., C, T)``) and each spine's synaptic inputs in rows ``1..S``
    (``events[..., 1:, :]``, ``(..., C, S, T)``); :func:`join_events` / :func:`split_events` convert.
    Parameters of one cell: per compartment ``(1+S,)`` (AR roots ``(1+S, p)``), bAP amplitudes
    ``(S,)``, dye ``()``; of ``C`` cells the same with a leading ``C``. :meth:`log_prob` sums over
    compartments *and* time (the observation is the whole ``(1+S, T)`` recording), giving
    ``(..., C)``; :meth:`log_prob_per_step` keeps both axes.

    Args:
        n_spines: ``S``, at least 1.
        gamma: AR coefficients per time step: a number (AR(1), every compartment), ``(p,)``,
            ``(1+S, p)`` or ``(C, 1+S, p)``.
        delta: amplitude :math:`\\delta^c, \\delta^s > 0` of a somatic spike / synaptic input, per
            compartment (broadcast to ``(1+S,)`` or ``(C, 1+S)``).
        bap: bAP amplitudes :math:`\\delta_{b_s} \\ge 0` (broadcast to ``(S,)`` or ``(C, S)``); stored
            unconstrained so that 0 is allowed (a negative value only lowers the spine's calcium, which
            the dye clips at zero binding).
        alpha, beta, sigma: per-compartment gain (> 0), baseline and noise sd (> 0).
        kon, koff, eta, D: the dye of eq. (3), per cell (``()`` or ``(C,)``), shared by compartments.
        n_cells: ``C``; ``None`` for a model of one cell (no cell axis).
        euler: use the (clamped) forward-Euler dye step of eq. (3).

    References:
        Speiser et al. 2017, eq. (5) and §3.4; Chen et al. 2013 (bAP removal in spines).

    Taught in: book chapter "Dendritic spines".
    """

    roots = Constrained(UNIT_INTERVAL, "AR roots per compartment, decay per time step", shared_ndim=2)
    delta = Constrained(POSITIVE, "calcium per somatic spike (row 0) or synaptic input (rows 1..S)", shared_ndim=1)
    bap = Constrained(REAL, "calcium per back-propagating AP in each spine, delta_b", shared_ndim=1)
    alpha = Constrained(POSITIVE, "gain per compartment", shared_ndim=1)
    beta = Constrained(REAL, "baseline fluorescence per compartment", shared_ndim=1)
    sigma = Constrained(POSITIVE, "noise standard deviation per compartment", shared_ndim=1)

    def __init__(
        self,
        n_spines: int,
        gamma=0.95,
        delta=1.0,
        bap=0.5,
        alpha=0.9,
        beta=-0.2,
        sigma=0.03,
        kon=0.005,
        koff=0.1,
        eta=2.0,
        D=6.0,
        n_cells: int | None = None,
        euler: bool = False,
    ) -> None:
        super().__init__()
        n_spines = positive_int(n_spines, "n_spines")
        n_cells = None if n_cells is None else positive_int(n_cells, "n_cells")
        self.n_spines, self.n_cells, self.euler = n_spines, n_cells, euler
        cells = () if n_cells is None else (n_cells,)
        compartments = (*cells, 1 + n_spines)

        def expand(value, shape: tuple[int, ...], name: str) -> Tensor:
            value = as_float_tensor(value, name)
            try:
                return value.expand(shape).clone()
            except RuntimeError as err:
                raise ValueError(f"{name} of shape {tuple(value.shape)} does not broadcast to {shape}") from err

        gamma = as_float_tensor(gamma, "gamma")
        gamma = gamma.reshape(1) if gamma.dim() == 0 else gamma
        gamma = expand(gamma, (*compartments, gamma.shape[-1]), "gamma")
        self.roots = roots_from_gamma(gamma.reshape(-1, gamma.shape[-1])).reshape(gamma.shape)
        self.delta = expand(delta, compartments, "delta")
        self.bap = expand(bap, (*cells, n_spines), "bap")
        self.alpha = expand(alpha, compartments, "alpha")
        self.beta = expand(beta, compartments, "beta")
        self.sigma = expand(sigma, compartments, "sigma")
        for name, value in (("kon", kon), ("koff", koff), ("eta", eta), ("D", D)):
            setattr(self, name, expand(value, cells, name))

    def _check_events(self, events: Tensor) -> Tensor:
        events = check_spikes(events)
        if events.dim() < 2 or events.shape[-2] != 1 + self.n_spines:
            raise ValueError(
                f"events must have shape (..., 1+S, T) with 1+S = {1 + self.n_spines} (soma first), "
                f"got {tuple(events.shape)}"
            )
        return events

    def calcium(self, events: Tensor) -> Tensor:
        """Calcium :math:`c^c_t, c^s_t` of eq. (5) in every compartment, shape ``(..., C, 1+S, T)``.

        Args:
            events: somatic spikes (row 0) and synaptic inputs (rows 1..S), ``(..., C, 1+S, T)``.
        """
        events = self._check_events(events)
        soma = events[..., :1, :]  # (..., C, 1, T)
        drive = self.delta.unsqueeze(-1) * events  # (..., C, 1+S, T): own spikes / synaptic inputs
        bap = torch.cat([torch.zeros_like(self.bap[..., :1]), self.bap], -1)  # (C, 1+S), none for the soma
        drive = drive + bap.unsqueeze(-1) * soma  # the bAPs reach every spine
        return ar_calcium(drive, self.roots, torch.ones((), dtype=drive.dtype, device=drive.device))

    def indicator(self, events: Tensor) -> Tensor:
        """Bound dye :math:`d_t` of eq. (3) in every compartment, shape ``(..., C, 1+S, T)``."""
        k = (p[..., None, None] for p in (self.kon, self.koff, self.eta, self.D))  # (C, 1, 1): all compartments
        return dye_dynamics(self.calcium(events), *k, euler=self.euler)

    def log_prob(self, f: Tensor, events: Tensor) -> Tensor:
        """:math:`\\log p_\\theta(f \\mid s)` summed over compartments and time.

        Args:
            f: fluorescence, ``(..., C, 1+S, T)``, broadcasting against ``events``.
            events: somatic spikes and synaptic inputs, ``(..., C, 1+S, T)``.

        Returns:
            Log-likelihood of shape ``broadcast(f, events).shape[:-2]``.
        """
        return self.log_prob_per_step(f, events).sum((-2, -1))


def join_events(soma: Tensor, spines: Tensor) -> Tensor:
    """Somatic spikes ``(..., T)`` and synaptic inputs ``(..., S, T)`` → events ``(..., 1+S, T)``."""
    if spines.dim() < 2 or soma.shape[:-1] != spines.shape[:-2] or soma.shape[-1] != spines.shape[-1]:
        raise ValueError(f"soma (..., T) and spines (..., S, T) do not match: {tuple(soma.shape)}, {tuple(spines.shape)}")
    return torch.cat([soma.unsqueeze(-2), spines], -2)


def split_events(events: Tensor) -> tuple[Tensor, Tensor]:
    """Events ``(..., 1+S, T)`` → somatic spikes ``(..., T)`` and synaptic inputs ``(..., S, T)``."""
    if events.dim() < 2 or events.shape[-2] < 2:
        raise ValueError(f"events must have shape (..., 1+S, T) with S >= 1, got {tuple(events.shape)}")
    return events[..., 0, :], events[..., 1:, :]
