"""Prior over spike trains."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from spikebook.generative.base import check_spikes
from spikebook.generative.constraints import as_float_tensor
from spikebook.validate import rate_hz as check_rate_hz


class BernoulliPrior(nn.Module):
    """I.i.d. Bernoulli spikes, :math:`p(s) = \\prod_t \\pi^{s_t} (1 - \\pi)^{1 - s_t}`, :math:`\\pi = \\nu / f_s`.

    This is a prior over *sequences*; unlike the original DeepSpike code it has no binomial
    coefficient :math:`\\binom{T}{k}`, which would turn it into a prior over spike *counts*
    that favours :math:`k \\approx T/2`.

    Args:
        rate_hz: firing rate :math:`\\nu` in Hz, ``()`` or ``(C,)``.
        fs: sampling rate :math:`f_s` in Hz; needs :math:`0 < \\nu < f_s`.

    Taught in: book chapter "From spikes to fluorescence".
    """

    def __init__(self, rate_hz: float | Tensor, fs: float) -> None:
        super().__init__()
        rate_hz = as_float_tensor(rate_hz, "rate_hz")
        fs = check_rate_hz(fs, "fs")
        if (rate_hz <= 0).any() or (rate_hz >= fs).any():
            raise ValueError(f"rate_hz must lie in (0, fs={fs}) Hz, got {rate_hz}")
        self.fs = float(fs)
        self.register_buffer("p", rate_hz / fs)

    @property
    def rate_hz(self) -> Tensor:
        """Firing rate in Hz."""
        return self.p * self.fs

    def sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None) -> Tensor:
        """Draw binary spike trains of shape ``(..., C, T)`` (``(..., T)`` for a scalar rate)."""
        p = self.p.unsqueeze(-1) if self.p.dim() else self.p
        uniform = torch.rand(shape, generator=generator, dtype=self.p.dtype, device=self.p.device)
        return (uniform < p).to(self.p.dtype)

    def select(self, cells: Tensor) -> BernoulliPrior:
        """The prior of the cells ``cells`` (``(B,)`` indices): rates ``(B,)``; a shared rate stays shared."""
        if self.p.dim() == 0:
            return self
        selected = BernoulliPrior.__new__(BernoulliPrior)
        nn.Module.__init__(selected)
        selected.fs = self.fs
        selected.register_buffer("p", self.p[cells])
        return selected

    def log_prob_per_step(self, spikes: Tensor) -> Tensor:
        r""":math:`s_t \log \pi + (1 - s_t) \log(1 - \pi)` for each bin, same shape as ``spikes``."""
        spikes = check_spikes(spikes)
        if ((spikes != 0) & (spikes != 1)).any():
            raise ValueError("the Bernoulli prior needs binary spikes (0 or 1 per bin)")
        p = self.p.unsqueeze(-1) if self.p.dim() else self.p
        return spikes * torch.log(p) + (1 - spikes) * torch.log1p(-p)

    def log_prob(self, spikes: Tensor) -> Tensor:
        r""":math:`\log p(s) = k \log \pi + (T - k) \log(1 - \pi)`, summed over time, shape ``(...)``."""
        return self.log_prob_per_step(spikes).sum(-1)
