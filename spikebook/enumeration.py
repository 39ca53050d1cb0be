"""Exact answers for tiny traces, by enumerating all :math:`2^T` binary spike trains.

For a handful of time steps the marginal likelihood and the posterior of any generative model
can be computed exactly,

.. math::
    \\log p_\\theta(f) = \\log \\sum_{s \\in \\{0,1\\}^T} p_\\theta(f \\mid s)\\, p(s), \\qquad
    p_\\theta(s \\mid f) = p_\\theta(f \\mid s)\\, p(s) / p_\\theta(f),

which is what the bound of eq. (1) and the posterior approximations are measured against in the
book and in the tests.

Taught in: book chapter "Amortized variational inference".
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from numpy.typing import ArrayLike
from torch import Tensor

from spikebook.generative import BernoulliPrior, CalciumModel

MAX_STEPS = 20  # 2^20 trains: about a million rows; beyond that enumeration is the wrong tool


class ExactPosterior(NamedTuple):
    """Exact quantities for one trace.

    Attributes:
        trains: all spike trains, ``(2^T, T)``.
        log_joint: :math:`\\log p_\\theta(f, s)` per train, ``(2^T,)``.
        log_evidence: :math:`\\log p_\\theta(f)`, a scalar tensor.
        posterior: :math:`p_\\theta(s \\mid f)` per train, ``(2^T,)``.
        marginals: :math:`p_\\theta(s_t = 1 \\mid f)`, ``(T,)``.
    """

    trains: Tensor
    log_joint: Tensor
    log_evidence: Tensor
    posterior: Tensor
    marginals: Tensor


def all_spike_trains(n_steps: int, dtype: torch.dtype | None = None) -> Tensor:
    """Every binary spike train of length ``n_steps``, shape ``(2^T, T)``; row ``i`` is ``i`` in binary."""
    if not 1 <= n_steps <= MAX_STEPS:
        raise ValueError(f"enumeration needs 1 <= T <= {MAX_STEPS}, got T = {n_steps}")
    index = torch.arange(2**n_steps).unsqueeze(-1)
    return ((index >> torch.arange(n_steps)) & 1).to(dtype or torch.get_default_dtype())


def exact_posterior(model: CalciumModel, prior: BernoulliPrior, f: Tensor | ArrayLike) -> ExactPosterior:
    """Exact evidence, posterior and marginals of a single trace ``f`` of shape ``(T,)``.

    The model and prior must have scalar (single-cell) parameters. A float32 or float64 tensor is used as
    it is; anything else (a numpy array, a list, an integer or float16 tensor) is read as float64.

    Raises:
        ValueError: for a trace that is not ``(T,)``, holds NaN or ±inf, or whose log-likelihoods are too
            large for its precision (non-finite, or a posterior that no longer sums to one, e.g. ``f = 1e30``).
    """
    if not (isinstance(f, Tensor) and f.dtype in (torch.float32, torch.float64)):
        f = torch.as_tensor(f).to(torch.float64)
    if f.dim() != 1:
        raise ValueError(f"f must be one trace of shape (T,), got {tuple(f.shape)}")
    if not torch.isfinite(f).all():
        raise ValueError("f contains NaN or infinite values; only finite samples can be enumerated")
    trains = all_spike_trains(f.shape[-1], dtype=f.dtype)
    log_joint = model.log_prob(f, trains) + prior.log_prob(trains)  # (2^T,)
    log_evidence = torch.logsumexp(log_joint, dim=0)
    posterior = torch.exp(log_joint - log_evidence)
    if not torch.isfinite(log_joint).all() or abs(posterior.sum().item() - 1.0) > 1e-3:
        raise ValueError(f"the log-likelihoods of f (max |f| = {f.abs().max().item():.3g}) are too large for "
                         f"{f.dtype}: the posterior cannot be normalised; rescale the trace")
    return ExactPosterior(trains, log_joint, log_evidence, posterior, posterior @ trains)
