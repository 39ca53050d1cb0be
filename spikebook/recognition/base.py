"""The contract shared by the recognition models and factorized-Bernoulli helpers.

A recognition model is an amortized approximate posterior :math:`q_\\phi(s \\mid f)` over binary spike
trains given a fluorescence trace (Speiser et al. 2017, §2.3). Every model in this package follows one
shape convention, stated once here and repeated in each docstring:

* fluorescence ``f``: ``(B, T)`` float, B traces of T time bins (no normalisation is applied inside
  the networks: pass ΔF/F-like traces on the scale the model was trained on);
* spike samples: ``(n, B, T)`` float with values in {0, 1}, n samples per trace;
* log-probabilities: ``(n, B)``, summed over time;
* marginals: ``(B, T)``, the per-bin spike probability :math:`q(s_t = 1 \\mid f)`.

Models work with logits internally, so log-probabilities are computed with the numerically stable
``binary_cross_entropy_with_logits`` form and need no clipping (the original Theano code clipped the
probabilities to [0.001, 0.999] before taking logs; this bounds every per-bin term at log(0.001) ≈ −6.9,
which we do not do).

References:
    Speiser, Yan, Archer, Buesing, Turaga, Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30.

Taught in: book chapter "Amortized variational inference".
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "RecognitionModel",
    "SampleResult",
    "bernoulli_log_prob",
    "check_spikes",
    "check_trace",
    "logistic_thresholds",
]


class SampleResult(NamedTuple):
    """Spike trains drawn from a recognition model together with their log-probability.

    Attributes:
        spikes: Samples, shape ``(n, B, T)``, values in {0, 1}; no gradient.
        log_prob: :math:`\\log q_\\phi(s \\mid f)` of each sample, shape ``(n, B)``, summed over time;
            differentiable with respect to the model's parameters (the score-function / VIMCO term).
        logits: The per-bin (conditional) logits behind each sample, broadcastable to ``spikes``
            (``(B, T)`` for a factorized model, ``(n, B, T)`` for an autoregressive one);
            differentiable. ``log_prob`` is their Bernoulli log-likelihood summed over time; training
            uses them to score a subset of bins.
    """

    spikes: Tensor
    log_prob: Tensor
    logits: Tensor


def check_trace(f: Tensor, like: Tensor | None = None) -> Tensor:
    """Validate a fluorescence batch and cast it to the model's dtype and device.

    Args:
        f: Fluorescence, shape ``(B, T)``, any floating dtype, finite, ``B ≥ 1`` and ``T ≥ 1``.
        like: A parameter of the model; ``f`` is moved to its dtype and device. ``None`` keeps ``f``.

    Returns:
        ``f``, shape ``(B, T)``, possibly cast.

    Raises:
        TypeError: If ``f`` is not a tensor.
        ValueError: If ``f`` is not 2-D, not floating point, empty, or contains NaN or inf.
    """
    if not isinstance(f, Tensor):
        raise TypeError(f"fluorescence must be a torch.Tensor of shape (B, T), got {type(f).__name__}")
    if f.dim() != 2:
        raise ValueError(
            f"fluorescence must have shape (B, T) (one row per trace); got {f.dim()}-D shape {tuple(f.shape)}"
        )
    if not f.is_floating_point():
        raise ValueError(f"fluorescence must be a floating-point tensor, got dtype {f.dtype}")
    if f.shape[0] < 1 or f.shape[1] < 1:
        raise ValueError(f"fluorescence needs B ≥ 1 traces and T ≥ 1 time bins, got shape {tuple(f.shape)}")
    if not torch.isfinite(f).all():
        raise ValueError("fluorescence contains NaN or inf values; interpolate or drop them first")
    if like is not None:
        f = f.to(dtype=like.dtype, device=like.device)
    return f


def check_spikes(spikes: Tensor, f: Tensor) -> Tensor:
    """Validate spike trains against a fluorescence batch and give them a sample dimension.

    Args:
        spikes: Spike trains, shape ``(n, B, T)`` or ``(B, T)`` (read as ``n = 1``), values in {0, 1}.
        f: The validated fluorescence, shape ``(B, T)``; ``spikes`` are cast to its dtype and device.

    Returns:
        Spikes of shape ``(n, B, T)``.

    Raises:
        ValueError: If the shape does not end in ``(B, T)`` or a value is not 0 or 1 (e.g. spike counts).
    """
    if not isinstance(spikes, Tensor):
        raise TypeError(f"spikes must be a torch.Tensor, got {type(spikes).__name__}")
    if spikes.dim() == 2:
        spikes = spikes.unsqueeze(0)
    if spikes.dim() != 3 or spikes.shape[1:] != f.shape:
        raise ValueError(
            f"spikes must have shape (n, B, T) or (B, T) with (B, T) = {tuple(f.shape)} of the fluorescence; "
            f"got {tuple(spikes.shape)}"
        )
    spikes = spikes.to(dtype=f.dtype, device=f.device)
    if ((spikes != 0) & (spikes != 1)).any():
        raise ValueError("spikes must be binary (0 or 1 per bin); clip spike counts to 1 first")
    return spikes


def bernoulli_log_prob(logits: Tensor, spikes: Tensor) -> Tensor:
    """Log-probability of binary trains under independent Bernoulli bins, summed over time.

    .. math::
        \\log q(s) = \\sum_t s_t \\log \\sigma(\\ell_t) + (1 - s_t) \\log(1 - \\sigma(\\ell_t))

    computed as ``-binary_cross_entropy_with_logits`` (stable for any logit, no clipping).

    Args:
        logits: Per-bin logits :math:`\\ell_t`, shape ``(..., T)``, broadcastable against ``spikes``.
        spikes: Binary trains, shape ``(..., T)``.

    Returns:
        Log-probabilities, shape: the broadcast shape without the last (time) dimension.
    """
    logits, spikes = torch.broadcast_tensors(logits, spikes)
    return -F.binary_cross_entropy_with_logits(logits, spikes, reduction="none").sum(-1)


def logistic_thresholds(shape: tuple[int, ...], like: Tensor, generator: torch.Generator | None) -> Tensor:
    """Draw logistic noise so that ``s = (logit > threshold)`` is a Bernoulli(σ(logit)) sample.

    With :math:`u \\sim U(0, 1)`, :math:`s = [u < \\sigma(\\ell)] = [\\ell > \\log u - \\log(1 - u)]`.
    Drawing all thresholds up front keeps one call to the generator (reproducible under a seed, and the
    same draws whatever the time-chunking inside a model) and saves a sigmoid per bin.

    Args:
        shape: Output shape, e.g. ``(n, B, T)``.
        like: Tensor whose dtype and device the thresholds take.
        generator: Source of randomness; ``None`` uses torch's global generator.

    Returns:
        Thresholds of the given shape.
    """
    u = torch.rand(shape, generator=generator, dtype=like.dtype, device=like.device)
    return torch.log(u) - torch.log1p(-u)


class RecognitionModel(nn.Module):
    """Base class of the approximate posteriors :math:`q_\\phi(s \\mid f)` (the common contract).

    Subclasses implement :meth:`sample`, :meth:`log_prob` and :meth:`marginals`; :meth:`forward` returns
    logits and never a loss (objectives live elsewhere and take log-probabilities).

    Shapes: ``f`` is ``(B, T)``; samples are ``(n, B, T)`` in {0, 1}; log-probabilities are ``(n, B)``
    with time summed; marginals are ``(B, T)``.

    References:
        Speiser et al. (2017), §2.3.

    Taught in: book chapter "Amortized variational inference".
    """

    def sample(self, f: Tensor, n: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` spike trains per trace; shape ``(n, B, T)``, values in {0, 1}, no gradient."""
        raise NotImplementedError

    def log_prob(self, spikes: Tensor, f: Tensor) -> Tensor:
        """``log q(spikes | f)`` with time summed; spikes ``(n, B, T)`` or ``(B, T)``, result ``(n, B)``."""
        raise NotImplementedError

    def marginals(self, f: Tensor, n_samples: int = 30, generator: torch.Generator | None = None) -> Tensor:
        """Per-bin spike probability ``q(s_t = 1 | f)``, shape ``(B, T)``."""
        raise NotImplementedError

    def sample_and_log_prob(
        self, f: Tensor, n: int = 1, generator: torch.Generator | None = None
    ) -> SampleResult:
        """Draw ``n`` samples with their differentiable log-probability and per-bin logits, in one pass.

        This is what a VIMCO / IWAE step needs; it equals ``log_prob(sample(f, n, g), f)`` with the
        same generator state.

        Args:
            f: Fluorescence, shape ``(B, T)``.
            n: Number of samples per trace.
            generator: Source of randomness; ``None`` uses torch's global generator.

        Returns:
            ``SampleResult(spikes (n, B, T), log_prob (n, B), logits)``.
        """
        raise NotImplementedError
