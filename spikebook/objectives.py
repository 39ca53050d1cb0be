r"""Objectives for amortized spike inference: the multi-sample bound and its VIMCO gradient.

All functions here are pure functions of *log-weights*; they know nothing of networks. The shape
convention of the package applies: for ``B`` traces and ``K`` spike trains sampled per trace,
log-probabilities come as ``(K, B)`` tensors whose time axis has already been summed.

Notation (Speiser et al. 2017, eq. (1)). For a trace :math:`f` and spike trains
:math:`s_1, \dots, s_K \sim q_\phi(s \mid f)`,

.. math::

    \log w_k = \log p_\theta(f, s_k) - \log q_\phi(s_k \mid f), \qquad
    L_K = \log \frac{1}{K} \sum_{k=1}^{K} w_k, \qquad
    \mathcal{L}_K(\theta, \phi) = \mathbb{E}_{s_{1:K} \sim q_\phi}\left[L_K\right] \le \log p_\theta(f).
    \tag{1}

:math:`L_K` is the importance-weighted (IWAE) estimate; :math:`K = 1` gives the ELBO, and
:math:`\mathcal{L}_K` increases with :math:`K` towards :math:`\log p_\theta(f)` (Burda et al. 2016).

The VIMCO gradient estimator (Mnih & Rezende 2016). Write
:math:`\tilde w_k = w_k / \sum_j w_j` for the normalised weights. Because spike trains are discrete,
:math:`\log p_\theta(f, s_k)` does not depend on :math:`\phi`, and the gradient of the bound is a
score-function term plus a term through the weights. VIMCO gives the score term of sample :math:`k`
its own leave-one-out baseline :math:`L_K^{(-k)}`, a function of the *other* samples only:

.. math::

    \hat L_k = L_K - L_K^{(-k)}, \qquad
    \hat g_\phi = \sum_{k=1}^{K} \hat L_k \, \nabla_\phi \log q_\phi(s_k \mid f)
                + \sum_{k=1}^{K} \tilde w_k \, \nabla_\phi \log w_k
              = \sum_{k=1}^{K} \left(\hat L_k - \tilde w_k\right) \nabla_\phi \log q_\phi(s_k \mid f),

.. math::

    \hat g_\theta = \sum_{k=1}^{K} \tilde w_k \, \nabla_\theta \log p_\theta(f, s_k).

Both are unbiased: since :math:`L_K^{(-k)}` does not depend on :math:`s_k`,
:math:`\mathbb{E}[L_K^{(-k)} \nabla_\phi \log q_\phi(s_k \mid f)] = 0`. The baseline only changes the
variance. Two baselines are implemented, plus ``"none"`` for teaching (:math:`L_K^{(-k)} = 0`,
i.e. :math:`\hat L_k = L_K`: the plain score-function, or REINFORCE, estimator — unbiased too, but its
learning signal carries the whole bound, a number of hundreds of nats, so its variance is huge):

* ``"geometric"`` (Mnih & Rezende's default): replace :math:`\log w_k` by the mean of the other
  :math:`K - 1` log-weights (the log of their geometric mean) and recompute the bound,
  :math:`L_K^{(-k)} = \log \frac{1}{K}\big(\sum_{j \ne k} w_j + \exp\big(\frac{1}{K-1}
  \sum_{j \ne k} \log w_j\big)\big)`.
* ``"arithmetic"`` (what the original DeepSpike code computed): the bound of the other
  :math:`K - 1` samples, :math:`L_K^{(-k)} = \log \frac{1}{K-1} \sum_{j \ne k} w_j`, so
  :math:`\hat L_k = L_K - \big[\operatorname{logsumexp}_{j \ne k} \log w_j - \log(K-1)\big]`.
  This is identical to Mnih & Rezende's *arithmetic-mean* variant: putting the arithmetic mean of the
  other weights into slot :math:`k` gives :math:`\frac{1}{K}\big(S_{-k} + \frac{S_{-k}}{K-1}\big) =
  \frac{S_{-k}}{K-1}` with :math:`S_{-k} = \sum_{j \ne k} w_j`. It is just as unbiased; Mnih & Rezende
  report that the geometric mean works slightly better.

For :math:`K = 2` the two baselines coincide (both give :math:`L_2^{(-k)} = \log w_{j \ne k}`).

:func:`vimco_surrogate` packs the estimator into a scalar per trace whose *value* is exactly
:math:`L_K` and whose autograd gradient is :math:`(\hat g_\theta, \hat g_\phi)`:

.. math::

    S = L_K + \sum_{k=1}^{K} \bot(\hat L_k) \left(\log q_k - \bot(\log q_k)\right),

where :math:`\bot` stops the gradient. Differentiating, :math:`\partial S / \partial \log p_k =
\tilde w_k` and :math:`\partial S / \partial \log q_k = \hat L_k - \tilde w_k`.

Loss normalisation. Training *minimises* ``-vimco_surrogate(log_p, log_q).mean()``: the mean over the
batch of traces and, inside the estimator, the sum over the :math:`K` samples, so the gradient is the
textbook per-trace gradient of :math:`\mathcal{L}_K` averaged over traces. The original code minimised
:math:`J = -\operatorname{mean}_{b,k}(\tilde w_k \log w_k + \hat L_k \log q_k)` (stop-gradients on
:math:`\tilde w, \hat L`), a mean over :math:`B \times K`. Its gradient points in the same direction
but is :math:`1/K` times ours. Adam and RMSprop (the original's optimisers) are invariant to that
scale up to their :math:`\epsilon`; plain SGD needs its learning rate multiplied by :math:`1/K`; and
gradient-norm clipping at a fixed threshold (0.02 for the recognition model in the paper) is *not*
invariant: to reproduce the original, divide our loss by :math:`K` or clip at :math:`0.02 K`.
Log-likelihoods are sums over time bins, so the gradient also grows with the chunk length in both
versions.

Taught in: book chapter 'Amortized variational inference'.

References:
    Burda, Grosse & Salakhutdinov (2016). Importance weighted autoencoders. ICLR.
    Mnih & Rezende (2016). Variational inference for Monte Carlo objectives. ICML.
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

__all__ = ["Baseline", "iwae_bound", "log_mean_exp", "vimco_learning_signal", "vimco_surrogate"]

Baseline = Literal["geometric", "arithmetic", "none"]
_BASELINES = ("geometric", "arithmetic", "none")


def _check_log_matrix(name: str, x: Tensor, *, min_samples: int, finite: bool) -> None:
    """Raise ``ValueError`` unless ``x`` is a ``(K, B)`` float tensor with ``K >= min_samples``."""
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got {type(x).__name__}")
    if x.dim() != 2:
        raise ValueError(f"{name} must have shape (K, B), got shape {tuple(x.shape)}")
    if x.shape[0] < min_samples:
        raise ValueError(f"{name} needs K >= {min_samples} samples along dim 0, got K = {x.shape[0]}")
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN")
    if finite and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains infinite values; VIMCO needs finite log-weights")


def _check_log_probs(log_p: Tensor, log_q: Tensor, *, min_samples: int, finite: bool) -> None:
    """Raise ``ValueError`` unless ``log_p`` and ``log_q`` are matching ``(K, B)`` float tensors."""
    if isinstance(log_p, Tensor) and isinstance(log_q, Tensor) and log_p.shape != log_q.shape:
        raise ValueError(f"log_p and log_q must have the same shape, got {tuple(log_p.shape)} "
                         f"and {tuple(log_q.shape)}")
    _check_log_matrix("log_p", log_p, min_samples=min_samples, finite=finite)
    _check_log_matrix("log_q", log_q, min_samples=min_samples, finite=finite)


def log_mean_exp(log_w: Tensor, dim: int = 0) -> Tensor:
    r"""Stable :math:`\log \frac{1}{K} \sum_k \exp(\log w_k)` along one dimension.

    Args:
        log_w: Log-values, any shape; ``log_w.shape[dim]`` is the number of terms :math:`K \ge 1`.
        dim: The dimension averaged over.

    Returns:
        ``log_w`` with ``dim`` removed.

    Taught in: book chapter 'Amortized variational inference'.
    """
    n = log_w.shape[dim]
    if n == 0:
        raise ValueError("log_mean_exp over an empty dimension")
    # Shift by the (constant) maximum ourselves: torch.logsumexp's backward computes
    # exp(log_w - result), which loses ~1e-4 relative accuracy in float32 when the result is
    # ~ -5000 nats; after the shift the normalised weights come from numbers of order one.
    shift = log_w.detach().amax(dim=dim, keepdim=True)
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
    return torch.logsumexp(log_w - shift, dim=dim) + shift.squeeze(dim) - math.log(n)


def iwae_bound(log_p: Tensor, log_q: Tensor) -> Tensor:
    r"""The :math:`K`-sample importance-weighted estimate :math:`L_K` of eq. (1).

    .. math::

        L_K = \log \frac{1}{K} \sum_{k=1}^{K}
              \frac{p_\theta(f, s_k)}{q_\phi(s_k \mid f)}, \qquad s_k \sim q_\phi(s \mid f),

    whose expectation :math:`\mathcal{L}_K` is a lower bound on :math:`\log p_\theta(f)` (Speiser et al.
    2017, eq. (1)); :math:`K = 1` gives the ELBO estimate :math:`\log p - \log q`. Its autograd
    gradient is the pathwise part only: for discrete spikes use :func:`vimco_surrogate` to train the
    recognition model.

    Args:
        log_p: :math:`\log p_\theta(f, s_k)` (likelihood plus prior, summed over time), shape ``(K, B)``.
        log_q: :math:`\log q_\phi(s_k \mid f)` (summed over time), shape ``(K, B)``.

    Returns:
        :math:`L_K` per trace, shape ``(B,)``, in nats.

    Raises:
        ValueError: If the inputs are not matching 2-D float tensors, ``K < 1``, or an input has NaN.

    References:
        Burda, Grosse & Salakhutdinov (2016). Importance weighted autoencoders. ICLR.

    Taught in: book chapter 'Amortized variational inference'.
    """
    _check_log_probs(log_p, log_q, min_samples=1, finite=False)
    return log_mean_exp(log_p - log_q, dim=0)


def vimco_learning_signal(log_w: Tensor, baseline: Baseline = "geometric") -> Tensor:
    r"""Per-sample VIMCO learning signals :math:`\hat L_k = L_K - L_K^{(-k)}` (no gradient).

    ``"geometric"``: :math:`L_K^{(-k)}` is :math:`L_K` with :math:`\log w_k` replaced by the mean of
    the other :math:`K - 1` log-weights (Mnih & Rezende 2016). ``"arithmetic"``:
    :math:`L_K^{(-k)} = \operatorname{logsumexp}_{j \ne k} \log w_j - \log(K-1)`, the bound of the
    other samples, as in the original DeepSpike code. See the module docstring.

    The log-weights are shifted by their maximum first, so :math:`\hat L_k` is computed from
    differences and stays accurate when :math:`\log w` is large (e.g. :math:`-5000` nats in float32).
    Memory is :math:`O(K^2 B)`.

    Args:
        log_w: Log-weights :math:`\log p_\theta(f, s_k) - \log q_\phi(s_k \mid f)`, shape ``(K, B)``,
            finite, :math:`K \ge 2`.
        baseline: ``"geometric"``, ``"arithmetic"`` or ``"none"`` (no baseline: :math:`\hat L_k = L_K`).

    Returns:
        :math:`\hat L_k`, shape ``(K, B)``, detached from the graph.

    Raises:
        ValueError: If ``log_w`` is not a finite ``(K, B)`` float tensor with ``K >= 2``, or the
            baseline is unknown.

    References:
        Mnih & Rezende (2016). Variational inference for Monte Carlo objectives. ICML.

    Taught in: book chapter 'Amortized variational inference'.
    """
    if baseline not in _BASELINES:
        raise ValueError(f"baseline must be one of {_BASELINES}, got {baseline!r}")
    _check_log_matrix("log_w", log_w, min_samples=2, finite=True)
    n_samples, n_traces = log_w.shape
    if baseline == "none":
        return log_mean_exp(log_w.detach(), dim=0).expand(n_samples, n_traces)
    a = log_w.detach()
    a = a - a.max(dim=0, keepdim=True).values  # (K, B), max 0: differences only from here on
    lse_all = torch.logsumexp(a, dim=0)  # (B,)

    # rows[k, j, b] = a[j, b], except the slot j = k, which gets the baseline's replacement.
    rows = a.unsqueeze(0).expand(n_samples, n_samples, n_traces).clone()  # (K, K, B)
    slot = torch.diagonal(rows, dim1=0, dim2=1)  # (B, K) view of rows[k, k, b]
    if baseline == "geometric":
        mean_a = a.mean(dim=0)  # (B,)
        # mean of the other K-1 log-weights, (K*m - a_k)/(K-1), written to avoid subtracting sums
        others_mean = mean_a - (a - mean_a) / (n_samples - 1)  # (K, B)
        slot.copy_(others_mean.T)
        # both bounds carry the same -log K, which cancels
        return lse_all - torch.logsumexp(rows, dim=1)
    slot.fill_(-math.inf)
    loo_bound = torch.logsumexp(rows, dim=1) - math.log(n_samples - 1)  # (K, B)
    return (lse_all - math.log(n_samples)) - loo_bound


def vimco_surrogate(log_p: Tensor, log_q: Tensor, baseline: Baseline = "geometric") -> Tensor:
    r"""Surrogate whose value is :math:`L_K` and whose gradient is the VIMCO estimator.

    .. math::

        S = L_K + \sum_{k=1}^{K} \bot(\hat L_k)\left(\log q_k - \bot(\log q_k)\right),
        \qquad \hat L_k = L_K - L_K^{(-k)},

    with :math:`L_K` the bound of Speiser et al. (2017), eq. (1), and :math:`\bot` the stop-gradient.
    Autograd then gives, per trace,

    .. math::

        \nabla_\theta S = \sum_k \tilde w_k \nabla_\theta \log p_\theta(f, s_k), \qquad
        \nabla_\phi S = \sum_k (\hat L_k - \tilde w_k) \nabla_\phi \log q_\phi(s_k \mid f),

    unbiased estimates of :math:`\nabla \mathcal{L}_K` for either baseline. Train by minimising
    ``-vimco_surrogate(log_p, log_q).mean()`` (mean over traces, sum over samples; the original code's
    mean over :math:`B \times K` is :math:`1/K` of this, see the module docstring).

    Args:
        log_p: :math:`\log p_\theta(f, s_k)` (likelihood plus prior, summed over time), shape ``(K, B)``;
            carries the graph of the generative parameters.
        log_q: :math:`\log q_\phi(s_k \mid f)` of the sampled trains (summed over time), shape
            ``(K, B)``; carries the graph of the recognition parameters.
        baseline: ``"geometric"`` (Mnih & Rezende 2016) or ``"arithmetic"`` (the original code's
            leave-one-out bound); see :func:`vimco_learning_signal`.

    Returns:
        The surrogate, shape ``(B,)``; its value equals ``iwae_bound(log_p, log_q)`` exactly.

    Raises:
        ValueError: If the inputs are not matching 2-D float tensors, ``K < 2``, an input has NaN or
            infinite values, or the baseline is unknown.

    References:
        Mnih & Rezende (2016). Variational inference for Monte Carlo objectives. ICML.
        Burda, Grosse & Salakhutdinov (2016). Importance weighted autoencoders. ICLR.

    Taught in: book chapter 'Amortized variational inference'.
    """
    if baseline not in _BASELINES:
        raise ValueError(f"baseline must be one of {_BASELINES}, got {baseline!r}")
    _check_log_probs(log_p, log_q, min_samples=2, finite=True)
    log_w = log_p - log_q  # (K, B)
    bound = log_mean_exp(log_w, dim=0)  # (B,), gives the w~ terms of both gradients
    signal = vimco_learning_signal(log_w.detach(), baseline)  # (K, B), constant
    score = (signal * (log_q - log_q.detach())).sum(dim=0)  # (B,), value exactly 0
    return bound + score
