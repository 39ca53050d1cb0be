r"""Chunks of traces with unscored buffers, and the log-weights of VIMCO on their scored bins.

**Chunks and buffers.** Each trace is cut into chunks of ``L = chunk_len`` bins. The first ``b0`` and
last ``b1`` bins of a chunk (``buffers = (b0, b1)``) are *buffers*: they give the recognition CNN
its context and the generative model the calcium history, but they enter no term of the loss. Only
the central ``L - b0 - b1`` bins are scored, in all three terms of the log-weight,

.. math::

    \log w_k = \sum_{t \in \mathcal S} \Big[\log p_\theta(f_t \mid s_{k,\le t})
        + \log p(s_{k,t}) - \log q_\phi(s_{k,t} \mid f, s_{k,<t})\Big],

with :math:`\mathcal S` the central bins, as in the original code. The generative model starts each
chunk with zero calcium (its convention for :math:`t < 0`); this is an approximation, and the
``b0``-bin front buffer absorbs it: spikes sampled there rebuild the calcium left over from before the
chunk (100 bins ≈ 2–4 decay time constants at 60 Hz). Those buffer spikes are "free" (no prior or
:math:`q` cost), a known quirk of the original that we keep. Consecutive chunks start
``L - b0 - b1`` bins apart, so every bin of a trace except its first ``b0`` and last ``b1`` is scored
exactly once; where the trace length does not fit, one last chunk is aligned to the trace's end and
its central region overlaps the previous one (the original used non-overlapping chunks aligned to
both ends, which leaves about half of the bins unscored).

Shapes: traces ``(R, C, T)`` (``(R, C, *E, T)`` with event axes), a chunk batch ``(B, L)`` (``(B, *E, L)``),
spike samples ``(K, B, L)``, log-weights ``(K, B)``.

Taught in: book chapter "Amortized variational inference".

References:
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30, §2.2.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from spikebook.generative import BernoulliPrior, CalciumModel
from spikebook.recognition import RecognitionModel
from spikebook.recognition.base import bernoulli_log_prob
from spikebook.training.per_cell import per_step_log_likelihood

__all__ = ["Chunks", "chunk_traces"]


class Chunks(NamedTuple):
    """Chunks cut from ``(R, C, T)`` traces.

    Attributes:
        trace: Trace index ``r`` of each chunk, shape ``(N,)``.
        cell: Cell index ``c`` of each chunk, shape ``(N,)``.
        start: First bin of each chunk, shape ``(N,)``; the chunk is ``traces[r, c, start:start + L]``.
    """

    trace: Tensor
    cell: Tensor
    start: Tensor


def chunk_traces(
    n_traces: int, n_cells: int, n_steps: int, chunk_len: int, buffers: tuple[int, int]
) -> Chunks:
    """Chunk starts such that every bin in ``[b0, T - b1)`` of every trace is scored.

    Consecutive chunks start ``chunk_len - b0 - b1`` bins apart; if the last regular chunk does not
    reach the end, one more chunk aligned to the trace's end is added (its scored region overlaps the
    previous one).

    Args:
        n_traces: ``R``.
        n_cells: ``C``.
        n_steps: ``T``, at least ``chunk_len``.
        chunk_len: ``L``.
        buffers: ``(b0, b1)``.

    Returns:
        :class:`Chunks`, ordered by trace, cell, start.
    """
    if n_steps < chunk_len:
        raise ValueError(f"traces of {n_steps} bins are shorter than chunk_len={chunk_len}")
    stride = chunk_len - sum(buffers)
    starts = list(range(0, n_steps - chunk_len + 1, stride))
    if starts[-1] + chunk_len < n_steps:
        starts.append(n_steps - chunk_len)
    r, c, s = torch.meshgrid(
        torch.arange(n_traces), torch.arange(n_cells), torch.tensor(starts), indexing="ij"
    )
    return Chunks(r.reshape(-1), c.reshape(-1), s.reshape(-1))


def _gather(traces: Tensor, chunks: Chunks, idx: Tensor, chunk_len: int) -> Tensor:
    """The fluorescence of chunks ``idx`` of ``(R, C, *E, T)`` traces, shape ``(B, *E, L)``."""
    offsets = chunks.start[idx, None] + torch.arange(chunk_len)  # (B, L)
    if traces.dim() == 3:  # (R, C, T): index directly, no copy of whole rows
        return traces[chunks.trace[idx, None], chunks.cell[idx, None], offsets]
    rows = traces[chunks.trace[idx], chunks.cell[idx]]  # (B, *E, T)
    index = offsets.to(traces.device).view(len(idx), *([1] * (rows.dim() - 2)), chunk_len)
    return rows.gather(-1, index.expand(*rows.shape[:-1], chunk_len))


def _log_weights(
    recognition: RecognitionModel,
    generative: CalciumModel,
    prior: BernoulliPrior,
    f: Tensor,
    cells: Tensor,
    n_samples: int,
    buffers: tuple[int, int],
    per_cell: dict[str, bool],
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor]:
    r"""``(log p(f, s), log q(s | f))`` of ``n_samples`` draws from ``q``, summed over the scored bins.

    The two terms of :math:`\log w_k` (module docstring), each ``(K, B)``, summed over the event axes too.

    Args:
        recognition: Draws the samples :math:`s_k \sim q_\phi(s \mid f)`.
        generative: The model, evaluated with each chunk's row of its per-cell parameters.
        prior: Spike prior with rate ``()``, ``(C,)`` or ``(C, *E)``.
        f: Chunks, ``(B, L)`` (``(B, *E, L)``).
        cells: Cell of each chunk, ``(B,)``.
        n_samples: ``K``.
        buffers: ``(b0, b1)``, unscored bins at either end.
        per_cell: Parameter name → whether it is per-cell.
        generator: Random stream of the samples.
    """
    b0, b1 = buffers
    scored = slice(b0, f.shape[-1] - b1)
    draw = recognition.sample_and_log_prob(f, n_samples, generator)  # one pass, per-bin logits
    spikes = draw.spikes  # (K, B, *E, L)
    log_q = bernoulli_log_prob(draw.logits[..., scored], spikes[..., scored])  # (K, B, *E), scored bins only
    log_lik = per_step_log_likelihood(generative, f, spikes, cells, per_cell)[..., scored]  # (K, B, *E, S)
    rate = prior.select(cells)
    if rate.p.dim() == 1 and spikes.dim() > 3:  # per-cell rates (B,) broadcast over the event axes too
        rate.p = rate.p.view(-1, *([1] * (spikes.dim() - 3)))
    log_prior = rate.log_prob_per_step(spikes[..., scored])  # (K, B, *E, S)
    return (log_lik + log_prior).flatten(2).sum(-1), log_q.flatten(2).sum(-1) if log_q.dim() > 2 else log_q


def _check_traces(name: str, x: Tensor, n_cells: int | None, chunk_len: int) -> Tensor:
    """``x`` if it is finite floating ``(R, C, *E, T)`` traces, ``n_cells`` cells unless ``None``, T >= L."""
    if not isinstance(x, Tensor) or not x.is_floating_point() or x.dim() < 3:
        raise ValueError(
            f"{name} must be a floating (R, C, T) (or (R, C, *E, T)) tensor, got "
            f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}"
        )
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf values; interpolate or drop them first")
    if n_cells is not None and x.shape[1] != n_cells:
        raise ValueError(f"{name} has {x.shape[1]} cells (axis 1 of (R, C, T)) but the model has {n_cells}")
    if x.shape[-1] < chunk_len:
        raise ValueError(f"{name} has traces of {x.shape[-1]} bins, shorter than chunk_len={chunk_len}")
    return x
