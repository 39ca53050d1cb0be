r"""MCMC: the exact block Gibbs sampler over binary spike trains under the SCF model (Table 1, "MCMC").

:func:`gibbs_scf` samples the posterior over spikes under the SCF model of eq. (2) with *known* parameters
and an i.i.d. Bernoulli prior, in the spirit of Pnevmatikakis et al. (2013). It returns posterior spike
probabilities, the quantity a DeepSpike recognition model outputs, so it is the reference the amortised
posterior is measured against. :func:`scf_kernel` gives the fluorescence response to one spike it uses.

Conventions: traces are ``(..., T)``, time on the last axis, sampled at ``fs`` Hz; rates in Hz. Works on
torch tensors in float64 and returns tensors.

References:
    Pnevmatikakis EA, Merel J, Pakman A, Paninski L (2013), "Bayesian spike inference from
    calcium imaging data", arXiv:1311.6864.
    Speiser et al. (2017), NeurIPS, Table 1 ("MCMC").

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

import copy
import math
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from spikebook.generative import SCF
from spikebook.validate import non_negative_int, positive_int, rate_hz

__all__ = ["KERNEL_TOL", "GibbsResult", "gibbs_scf", "scf_kernel"]

#: The spike kernel of :func:`gibbs_scf` is cut after its last lag where it is at least this
#: fraction of its peak (relative truncation error of the likelihood ~ ``KERNEL_TOL``).
KERNEL_TOL = 1e-6


class GibbsResult(NamedTuple):
    """Output of :func:`gibbs_scf`; ``...`` is the batch shape of the input traces.

    Attributes:
        marginals: Posterior spike probabilities :math:`p(s_t = 1 \\mid f)`, ``(..., T)``:
            the average over the sweeps after burn-in.
        last_sample: The spike train of the last sweep, ``(..., T)``, 0 or 1.
        log_joint: :math:`\\log p(f \\mid s) + \\log p(s)` after each sweep (burn-in included),
            ``(..., n_sweeps)``, in nats; for checking mixing.
        kernel_length: Number of lags :math:`L` of the truncated spike kernel (see
            :func:`scf_kernel`); blocks at least :math:`L + B - 1` samples apart were drawn in
            parallel.
    """

    marginals: Tensor
    last_sample: Tensor
    log_joint: Tensor
    kernel_length: int


def _check_linear(model: Any) -> None:
    """Raise TypeError unless ``model`` is an SCF whose fluorescence is linear in the spikes.

    SCDF subclasses SCF but reads out a nonlinear dye state, so ``isinstance`` alone is not enough.
    """
    if not isinstance(model, SCF) or type(model).indicator is not SCF.indicator:
        raise TypeError(
            f"model must be an SCF (fluorescence linear in the spikes), got {type(model).__name__}"
        )


def scf_kernel(model: SCF, n_steps: int, tol: float = KERNEL_TOL) -> Tensor:
    r"""Fluorescence response to one spike, :math:`h_k = \alpha\,\delta\,\kappa_k`, truncated.

    :math:`\kappa` is the impulse response of the AR(p) calcium of eq. (2), so the noise-free
    fluorescence is :math:`\beta + \sum_t s_t h_{\cdot - t}`. The kernel is cut after the last
    lag where :math:`|h_k| \ge` ``tol`` :math:`\cdot \max_k |h_k|` for some cell (so the
    length is shared by all cells), and never longer than ``n_steps``: lags beyond the trace
    never matter.

    Args:
        model: SCF model, per-cell parameters ``(C,)`` or ``()``.
        n_steps: Length ``T`` of the traces it will be used on.
        tol: Relative truncation threshold (default :data:`KERNEL_TOL`).

    Returns:
        Kernel of shape ``(C, L)`` or ``(L,)``, float64, with ``1 <= L <= n_steps``.

    Raises:
        TypeError: If ``model`` is not an :class:`~spikebook.generative.SCF` with its linear read-out
            (an SCDF is refused), or ``n_steps`` is not an int.
        ValueError: If ``n_steps < 1`` or ``tol`` is not in (0, 1).

    Taught in: book chapter 'SCF data: Table 1, first column'.
    """
    _check_linear(model)
    n_steps = positive_int(n_steps, "n_steps")
    if not 0 < tol < 1:
        raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
    model = (
        copy.deepcopy(model).double().requires_grad_(False)
    )  # float64 copy; the caller's model is untouched
    # A first guess from the slowest root, doubled until the tail is below tol (AR(2) with close roots
    # decays like k r^k, slower than r^k).
    length = min(n_steps, max(1, math.ceil(math.log(tol) / math.log(float(model.roots.max()))) + 1))
    while True:
        impulse = torch.zeros(length, dtype=torch.float64)
        impulse[0] = 1.0
        kernel = model.alpha.unsqueeze(-1) * model.calcium(impulse)  # (C, length) or (length,)
        big = kernel.abs() >= tol * kernel.abs().amax(-1, keepdim=True)
        if length == n_steps or not big[..., -1].any():
            break
        length = min(2 * length, n_steps)
    last = int(big.reshape(-1, length).any(0).nonzero().max())
    return kernel[..., : last + 1].contiguous()


def _per_trace(value: Tensor, batch: torch.Size, n_traces: int) -> Tensor:
    """Broadcast a per-cell parameter ``()`` or ``(C,)`` to the trace batch, flattened to ``(N, 1)``."""
    return value.detach().double().expand(batch).reshape(n_traces, 1)


def gibbs_scf(
    f: Tensor | np.ndarray,
    model: SCF,
    prior_rate_hz: float | Tensor,
    fs: float,
    n_sweeps: int = 200,
    burn_in: int = 50,
    seed: int | torch.Generator = 0,
    block: int = 4,
    stride: int | None = None,
    rao_blackwell: bool = True,
    kernel_tol: float = KERNEL_TOL,
) -> GibbsResult:
    r"""Block Gibbs sampler over binary spike trains under an SCF model with known parameters (MCMC).

    Target: the posterior :math:`p(s \mid f) \propto p(f \mid s)\,p(s)` over :math:`s_t \in \{0, 1\}`,
    with the SCF likelihood of eq. (2) and the i.i.d. Bernoulli prior :math:`p(s_t = 1) = \pi = \nu / f_s`.
    The SCF mean is linear in the spikes, :math:`\mu = \beta + \sum_t s_t h_{\cdot - t}` with the kernel
    :math:`h = \alpha\delta\kappa` (:func:`scf_kernel`). With the residual :math:`r = f - \mu` and
    :math:`r^{(0)} = r + s_t h_{\cdot - t}` (the residual with :math:`s_t = 0`), the exact conditional of
    one site given all others is

    .. math:: \operatorname{logit} p(s_t = 1 \mid s_{-t}, f) = \log\frac{\pi}{1 - \pi}
        - \frac{1}{2\sigma^2}\Big(\|r^{(0)} - h_{\cdot - t}\|^2 - \|r^{(0)}\|^2\Big)
        = \log\frac{\pi}{1 - \pi} + \frac{1}{\sigma^2}\Big(\langle r^{(0)}, h_{\cdot - t}\rangle
        - \tfrac12 \|h_{\cdot - t}\|^2\Big),

    norms taken over the samples of the trace only. After a draw the residual is updated in place,
    :math:`r \leftarrow r^{(0)} - s_t h_{\cdot - t}`, at cost :math:`O(L)` for a kernel of :math:`L` lags.

    **Blocks of adjacent sites** (``block`` :math:`= B`, default 4). Single-site Gibbs mixes badly here:
    adjacent bins are strongly anti-correlated (a spike one bin early explains almost the same
    fluorescence), so a spike placed a few bins off cannot move without passing through a much less
    probable state with zero or two spikes. We therefore draw :math:`B` adjacent sites jointly from their
    exact conditional over the :math:`2^B` configurations :math:`z`,

    .. math:: \log p(z \mid s_{\text{rest}}, f) = \text{const} + |z| \log\frac{\pi}{1 - \pi}
        + \frac{1}{\sigma^2}\Big(\textstyle\sum_b z_b \langle r^{(0)}, h_{\cdot - t - b}\rangle
        - \tfrac12 \sum_{b, b'} z_b z_{b'} \langle h_{\cdot - t - b}, h_{\cdot - t - b'}\rangle\Big),

    which contains the moves "shift a spike by up to :math:`B - 1` bins" and "split / merge two
    spikes". The partition into blocks is shifted by one site every sweep, so every pair of neighbours
    shares a block in :math:`B - 1` of every :math:`B` sweeps. ``block=1`` is the classical single-site
    sampler, which on SCF traces at the paper's parameters stays stuck far below the true spike train's
    log joint. A block costs :math:`O(2^B)`, but a sweep has :math:`B` times fewer Python steps.

    **Parallel blocks.** Sites interact in the likelihood only through the cross terms
    :math:`\langle h_{\cdot - t}, h_{\cdot - u}\rangle / \sigma^2`, zero when :math:`|t - u| \ge L`.
    Blocks whose starts are ``stride`` :math:`\ge L + B - 1` apart are therefore conditionally
    independent given all other sites, and drawing them all at once is an exact Gibbs step. A sweep is
    a Python loop over ``stride / B`` offsets; traces and blocks are tensor axes. ``stride >= T`` gives
    the plain sequential scan (the oracle in the tests).

    **Cost.** :math:`O(N T L)` flops per sweep for ``N`` traces (each site touches its kernel's
    :math:`L` samples) and about ``stride / B`` Python steps of ~20 small tensor ops. For one or a few
    traces the Python steps dominate, and their number grows with :math:`L`, hence with :math:`\gamma`.
    The ops are tiny, so run it with ``torch.set_num_threads(1)`` where other work shares the cores:
    intra-op threads only add waiting.

    **Truncation.** The kernel is cut where it falls below ``kernel_tol`` (default :data:`KERNEL_TOL`,
    ``1e-6``) of its peak (:func:`scf_kernel`; at most ``T`` lags), so the sampler targets the model with
    the truncated kernel, whose log-likelihood differs from ``model.log_prob`` by a relative ~1e-6 of a
    spike's contribution; when the kernel needs no cut (``L = T``) it is exactly ``model.log_prob``.

    The chain starts from :math:`s = 0`; blocks are visited right to left within each stretch of
    ``stride`` samples, so that in the first sweep a spike is met at its own bin before the earlier bins
    whose kernels overlap it. All arithmetic is float64; the residual is updated incrementally.

    Args:
        f: Fluorescence, ``(..., T)``: one trace ``(T,)``, cells ``(C, T)`` or e.g. the ``(R, C, T)`` of
            :func:`spikebook.data.simulate.simulate`; the model's per-cell parameters ``(C,)`` broadcast
            along the axis before time.
        model: The SCF model with the true (known) parameters; AR(p) of any order.
        prior_rate_hz: Firing rate :math:`\nu` in Hz of the Bernoulli prior, a number or ``(C,)``.
        fs: Sampling rate :math:`f_s` in Hz (the prior is :math:`\pi = \nu / f_s` per sample).
        n_sweeps: Number of sweeps (each updates every site once).
        burn_in: Sweeps discarded before averaging the marginals (``0 <= burn_in < n_sweeps``).
        seed: Seed of the ``torch.Generator`` that drives the sampler, or a generator; the same seed gives
            the same result.
        block: Number :math:`B` of adjacent sites drawn jointly, 1 to 8.
        stride: Distance between blocks drawn together; a multiple of ``block``, ``>= L + block - 1`` and at
            most ``T + L + block - 1`` rounded up to a multiple of ``block`` (larger strides only add empty
            blocks, and their memory).
            Default: the smallest such value (fastest exact choice).
        rao_blackwell: Average the conditional probabilities :math:`p(s_t = 1 \mid s_{\text{rest}}, f)` met
            at each update (Rao-Blackwellised, lower variance) instead of the sampled :math:`s_t`. Both
            converge to the posterior marginals.
        kernel_tol: Relative threshold for cutting the kernel.

    Returns:
        A :class:`GibbsResult`: ``marginals`` and ``last_sample`` ``(..., T)``, ``log_joint``
        ``(..., n_sweeps)`` (float64 tensors) and the kernel length ``L``.

    Raises:
        TypeError: If ``model`` is not an :class:`~spikebook.generative.SCF` with its linear read-out
            (an SCDF is refused), or ``n_sweeps``, ``burn_in``, ``block`` or ``stride`` is not an int.
        ValueError: If ``f`` is empty or not finite, its batch shape does not hold the model's cells, or
            ``fs``, ``prior_rate_hz``, ``n_sweeps``, ``burn_in``, ``block`` or ``stride`` are out of range.

    References:
        Pnevmatikakis, Merel, Pakman & Paninski 2013, "Bayesian spike inference from calcium imaging
        data", arXiv:1311.6864 (discrete-time Gibbs sampling of spikes, Rao-Blackwellised marginals);
        Speiser et al. 2017, NeurIPS, Table 1 ("MCMC").

    Taught in: book chapter 'SCF data: Table 1, first column'.
    """
    _check_linear(model)
    f = torch.as_tensor(f).detach().to(torch.float64)
    if f.dim() == 0 or f.numel() == 0:
        raise ValueError(f"f must be traces (..., T) with T >= 1, got shape {tuple(f.shape)}")
    if not torch.isfinite(f).all():
        raise ValueError("f contains NaN or infinite values: remove NaN padding first")
    fs = rate_hz(fs, "fs")
    rate = torch.as_tensor(prior_rate_hz, dtype=torch.float64)
    if not ((rate > 0) & (rate < fs)).all():
        raise ValueError(f"prior_rate_hz must lie in (0, fs={fs}) Hz, got {prior_rate_hz}")
    n_sweeps = positive_int(n_sweeps, "n_sweeps")
    burn_in = non_negative_int(burn_in, "burn_in")
    if burn_in >= n_sweeps:
        raise ValueError(f"burn_in must be in [0, n_sweeps={n_sweeps}), got {burn_in}")
    block = positive_int(block, "block")
    if block > 8:
        raise ValueError(f"block must be 1 to 8 adjacent sites, got {block}")

    n_steps, batch = f.shape[-1], f.shape[:-1]
    kernel = scf_kernel(model, n_steps, kernel_tol)  # (C, L) or (L,)
    n_lags = kernel.shape[-1]
    pi = rate / fs
    try:
        full = torch.broadcast_shapes(batch, kernel.shape[:-1], model.beta.shape, model.sigma.shape, pi.shape)
    except RuntimeError as err:
        raise ValueError(f"f {tuple(f.shape)} does not broadcast with the model's cells") from err
    if full != batch:
        raise ValueError(
            f"f of shape {tuple(f.shape)} has fewer traces than the model has cells {tuple(full)}"
        )
    span = n_lags + block - 1  # samples touched by the kernels of one block
    if stride is None:
        stride = block * -(-span // block)
    stride = positive_int(stride, "stride")
    if stride < span or stride % block:
        raise ValueError(f"stride must be a multiple of block={block} and >= L + block - 1 = {span}, got {stride}")
    # memory and Python steps grow with stride; beyond T + L + B - 1 it adds only empty blocks
    longest = block * -(-(n_steps + span) // block)
    if stride > longest:
        raise ValueError(f"stride must be at most {longest} for T={n_steps} (any stride >= T + block is the "
                         f"sequential scan), got {stride}")

    n_traces = math.prod(batch)
    beta = _per_trace(model.beta, batch, n_traces)  # (N, 1)
    sigma = _per_trace(model.sigma, batch, n_traces)
    pi = _per_trace(pi, batch, n_traces)
    logit_prior = torch.log(pi) - torch.log1p(-pi)  # (N, 1)
    inv_var = sigma**-2
    # log p(f|s) + log p(s) = const - |r|^2 / (2 sigma^2) + n_spikes * logit_prior.
    const = (
        -n_steps * (torch.log(sigma) + 0.5 * math.log(2 * math.pi)) + n_steps * torch.log1p(-pi)
    ).squeeze(-1)

    # Kernels of the B sites of a block on the block's span: shifted[n, l, b] = h[n, l - b].
    h = kernel.expand(*batch, n_lags).reshape(n_traces, n_lags)
    shifted = torch.zeros(n_traces, span, block, dtype=torch.float64)
    for b in range(block):
        shifted[:, b : b + n_lags, b] = h
    configs = torch.tensor(list(np.ndindex(*(2,) * block)), dtype=torch.float64)  # (2^B, B), all z

    # Layout: index i holds site t = i - block (a left margin of B empty sites lets the shifted partitions
    # start before t = 0); everything beyond the trace stays 0. Block starts i = offset + k + j * stride.
    n_blocks = -(-(n_steps + block) // stride)  # J
    width = (n_blocks + 1) * stride + block  # every block of every offset fits
    site_of = torch.arange(width) - block  # (M,)
    inside = (site_of >= 0) & (site_of < n_steps)
    r = torch.zeros(n_traces, width, dtype=torch.float64)  # residual f - mean
    r[:, inside] = f.reshape(n_traces, n_steps) - beta
    s = torch.zeros_like(r)
    acc = torch.zeros_like(r)

    # Per block start: Gram matrix of its B kernels and the config-dependent constant of the log
    # conditional, both restricted to the trace. They equal the full ones except near the end, so they are
    # stored once for "full" (row 0) and once per start that reaches beyond the trace (rows 1, 2, ...).
    n_in = (n_steps - site_of).clamp(0, span)  # samples of the block's span inside the trace
    sites = site_of.unsqueeze(-1) + torch.arange(block)  # (M, B) sites of the block starting at i
    site_ok = (sites >= 0) & (sites < n_steps)
    special = (n_in < span) | ~site_ok.all(-1)  # starts whose Gram or configs differ from the full ones
    row = torch.zeros(width, dtype=torch.long)
    row[special] = torch.arange(1, int(special.sum()) + 1)
    n_special = torch.cat([torch.tensor([span]), n_in[special]])  # (S,) samples inside, per row
    products = shifted.unsqueeze(-1) * shifted.unsqueeze(-2)  # (N, span, B, B)
    cum = torch.cat([torch.zeros(n_traces, 1, block, block, dtype=torch.float64), products.cumsum(1)], 1)
    gram = cum[:, n_special]  # (N, S, B, B)
    quad = torch.einsum("cb,nsbe,ce->nsc", configs, gram, configs)  # z^T G z, (N, S, 2^B)
    base = logit_prior.unsqueeze(-1) * configs.sum(-1) - 0.5 * inv_var.unsqueeze(-1) * quad  # (N, S, 2^B)
    ok_rows = torch.cat([torch.ones(1, block, dtype=torch.bool), site_ok[special]])  # (S, B)
    forbidden = ((configs > 0) & ~ok_rows.unsqueeze(1)).any(-1)  # (S, 2^B): a spike outside the trace
    base = base.masked_fill(forbidden, -math.inf)
    inv_var3 = inv_var.unsqueeze(-1)  # (N, 1, 1)

    generator = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    log_joint = torch.empty(n_traces, n_sweeps, dtype=torch.float64)
    offsets = range(stride - block, -1, -block)  # right to left within each stretch of `stride` samples

    def blocks(x: Tensor, start: int) -> Tensor:
        """View ``(N, J, stride)`` of ``x`` whose row ``j`` starts at index ``start + j * stride``."""
        return x[:, start : start + n_blocks * stride].view(n_traces, n_blocks, stride)

    starts_j = torch.arange(n_blocks) * stride
    for sweep in range(n_sweeps):
        uniforms = torch.rand((len(offsets), n_traces, n_blocks, 1), generator=generator, dtype=torch.float64)
        shift = sweep % block  # shift the partition into blocks by one site per sweep
        for g, k in enumerate(offsets):
            start = shift + k
            window = blocks(r, start)[..., :span]  # (N, J, span) view of the residual
            old = blocks(s, start)[..., :block]  # (N, J, B) view of the spikes
            rows = row[starts_j + start]  # (J,)
            gram_j = gram[:, rows]  # (N, J, B, B)
            # <r0, h_b> = <r, h_b> + sum_b' old_b' <h_b', h_b>, inside the trace (r is 0 outside).
            dots = torch.bmm(window, shifted) + (old.unsqueeze(-2) @ gram_j).squeeze(-2)  # (N, J, B)
            scores = base[:, rows] + inv_var3 * (dots @ configs.T)  # (N, J, 2^B)
            probs = torch.softmax(scores, -1)
            cdf = probs.cumsum(-1)
            choice = (cdf < uniforms[g] * cdf[..., -1:]).sum(-1)  # inverse CDF; never past the last config
            new = configs[choice]  # (N, J, B)
            change = new - old
            if change.any():
                window.baddbmm_(change, shifted.transpose(1, 2), alpha=-1.0)  # r <- r - sum_b change_b h_b
                r[:, block + n_steps :] = 0.0  # kernel tails that fell beyond the trace
                old.copy_(new)
            if sweep >= burn_in:
                blocks(acc, start)[..., :block] += probs @ configs if rao_blackwell else new
        spikes_in = s[:, inside]
        log_joint[:, sweep] = (
            const
            - 0.5 * inv_var.squeeze(-1) * (r[:, inside] ** 2).sum(-1)
            + spikes_in.sum(-1) * logit_prior.squeeze(-1)
        )

    marginals = acc[:, inside] / (n_sweeps - burn_in)
    return GibbsResult(
        marginals.reshape(*batch, n_steps),
        s[:, inside].reshape(*batch, n_steps),
        log_joint.reshape(*batch, n_sweeps),
        n_lags,
    )
