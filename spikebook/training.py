r"""Training DeepSpike by amortized variational inference with VIMCO (Speiser et al. 2017, §2.2).

One shared recognition network :math:`q_\phi(s \mid f)` and a generative model with one set of
parameters :math:`\theta_c` per cell are fitted jointly by stochastic ascent on the multi-sample
bound of eq. (1), with the VIMCO gradient (:func:`spikebook.objectives.vimco_surrogate`).

Shapes, stated once: training traces are ``(R, C, T)`` (``R`` traces of each of ``C`` cells, the
layout of :func:`spikebook.data.simulate.simulate`); a chunk batch is ``(B, L)``; spike samples
``(K, B, L)``; log-weights ``(K, B)``. Per-cell generative parameters have shape ``(C,)`` (AR roots
``(C, p)``); shared ones ``()`` (roots ``(p,)``).

**Several event channels per cell.** Nothing here assumes one trace per cell: traces may be
``(R, C, *E, T)`` with event axes ``E`` between cell and time (the soma + spines model,
:class:`spikebook.generative.Dendritic`, has ``E = (1+S,)``). Chunks are then ``(B, *E, L)``, spike
samples ``(K, B, *E, L)``, and every term of the log-weight is summed over the event axes as well as the
scored bins. A parameter is per-cell when it has one more (leading) axis than its shared form
(:func:`spikebook.generative.constraints.shared_ndims`); a per-cell prior rate is ``(C,)`` or ``(C, *E)``.

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

**Per-cell parameters.** As in the paper, each minibatch holds ``batch_size`` chunks of *one* cell,
the cell drawn with probability proportional to its number of chunks. The generative model is
evaluated on a batch by indexing its raw per-cell parameters with the batch's cell indices
(:func:`per_step_log_likelihood`, through :func:`torch.func.functional_call`), so the cell axis of
the model becomes the batch axis. Nothing is copied, gradients flow back to the rows of the cells in
the batch only, and the same code would accept mixed-cell batches. The generative parameters are
updated by :class:`PerCellAdam`, an Adam whose moments and step counts are kept per row: rows of cells
absent from the batch do not move (a plain ``torch.optim.Adam`` would keep moving them with stale
momentum; the original shared its RMSprop accumulators across cells).

**Loss scale.** We minimise ``-vimco_surrogate(log_p, log_q).mean() / K``: the original code's mean
over :math:`B \times K`, which is :math:`1/K` of the textbook per-trace gradient (see
:mod:`spikebook.objectives`). Adam does not care, but the total-norm clipping of the recognition
gradients does, and with this scale the paper's threshold 0.02 means what it meant there.

**Baseline.** The default is the ``"arithmetic"`` leave-one-out baseline, the one the original code
computed, so that defaults reproduce the paper; ``"geometric"`` (Mnih & Rezende's) is available.

**Model selection** uses only the held-out bound (no labels): every ``eval_every`` steps the
:math:`K`-sample bound :math:`L_K` is averaged over the validation chunks (held-out traces of the same
cells, with a fixed seed so that evaluations are comparable), with its standard error over the chunks.
``selection="best"`` keeps the state with the highest bound. ``selection="one_se"`` keeps the *latest*
state whose bound is within one standard error of the highest (:func:`select_one_se`; the one-standard-error
rule of Breiman et al. 1984 and Hastie et al. 2009, §7.10, with "simplest" read as "trained longest"):
where the held-out bound has reached a plateau its arg-max is a draw from the noise, and among states the
bound cannot tell apart the one that has optimised the objective longest is preferred.

Taught in: book chapter 'Amortized variational inference'.

References:
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30, §2.2–2.4.
    Mnih & Rezende (2016). Variational inference for Monte Carlo objectives. ICML.
    Breiman, Friedman, Olshen & Stone (1984). Classification and Regression Trees, §3.4.3.
    Hastie, Tibshirani & Friedman (2009). The Elements of Statistical Learning, 2nd ed., §7.10.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn
from torch.func import functional_call
from tqdm.auto import tqdm

from spikebook.generative import BernoulliPrior, CalciumModel
from spikebook.generative.constraints import shared_ndims
from spikebook.objectives import Baseline, iwae_bound, vimco_surrogate
from spikebook.recognition import RecognitionModel
from spikebook.recognition.base import bernoulli_log_prob
from spikebook.saving import load_checkpoint, save_atomic

__all__ = [
    "Chunks",
    "FitResult",
    "History",
    "PerCellAdam",
    "VimcoConfig",
    "chunk_traces",
    "fit_sleep",
    "fit_vimco",
    "per_step_log_likelihood",
    "seeded",
    "select_one_se",
]

#: Which evaluated state :func:`fit_vimco` returns (:class:`VimcoConfig` ``selection``).
Selection = Literal["best", "one_se"]


def select_one_se(bounds: Sequence[float], standard_errors: Sequence[float]) -> int:
    r"""Index of the latest evaluation within one standard error of the best held-out bound.

    With :math:`i^* = \arg\max_i L_i` (the first maximum; NaN bounds never count), returns the largest
    :math:`i` with :math:`L_i \ge L_{i^*} - \mathrm{se}_{i^*}`: the one-standard-error rule (Breiman et al.
    1984, §3.4.3; Hastie et al. 2009, §7.10), applied along training time.

    Raises:
        ValueError: if the lengths differ, no bound is finite, or the best bound's standard error is
            negative or not finite.
    """
    bounds = torch.as_tensor(bounds, dtype=torch.float64)
    standard_errors = torch.as_tensor(standard_errors, dtype=torch.float64)
    if bounds.shape != standard_errors.shape or bounds.dim() != 1:
        raise ValueError(f"need one standard error per bound, got {tuple(bounds.shape)} and "
                         f"{tuple(standard_errors.shape)}")
    finite = torch.isfinite(bounds)
    if not finite.any():
        raise ValueError("no finite held-out bound to select from")
    best = int(torch.where(finite, bounds, -math.inf).argmax())
    se = float(standard_errors[best])
    if not (math.isfinite(se) and se >= 0):
        raise ValueError(f"the best bound's standard error must be finite and >= 0, got {se}")
    tied = torch.nonzero(finite & (bounds >= bounds[best] - se)).squeeze(1)
    return int(tied[-1])


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run the block with torch's global CPU generator seeded by ``seed``, restored afterwards.

    Network constructors draw their initial weights from that generator. Building a network inside
    ``with seeded(seed):`` makes its initialisation depend on ``seed`` alone, not on what ran before in
    the process, and leaves the caller's random stream untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class VimcoConfig:
    """How to train with VIMCO; the defaults are the original code's (Ex1, §2.5 of the notes).

    Attributes:
        k_samples: Samples :math:`K` per chunk (64).
        chunk_len: Chunk length ``L`` in time bins (300, i.e. 5 s at 60 Hz).
        buffers: Unscored bins ``(b0, b1)`` at the start and end of each chunk ((100, 50)).
        batch_size: Chunks per minibatch, all from one cell (20).
        lr: Adam learning rate of the recognition network (1e-3).
        gen_lr: Learning rate of the per-cell generative parameters (2e-2 = the original's
            ``lr × gen_lr_fac`` with ``gen_lr_fac = 20``; the original used RMSprop, we use a per-cell
            Adam, whose step size is likewise about ``gen_lr`` per step).
        clip_norm: Maximum total L2 norm of the recognition gradients (0.02), for the original's loss
            scale (mean over ``B × K``); ``math.inf`` disables clipping.
        lr_decay: Both learning rates are multiplied by this after each evaluation (0.995).
        n_steps: Number of optimisation steps (50,000 in Ex1).
        eval_every: Steps between evaluations of the held-out bound and checkpoints (Ex1: 200).
        patience: Stop early once the selected state (see ``selection``) is this many steps old (checked at
            evaluations); ``None`` (the original's) trains all ``n_steps``. ``n_steps`` is then a cap.
        min_steps: No early stop before this step: the held-out bound is noisy, and early in training a
            lucky evaluation can otherwise stop a run that is still improving.
        baseline: VIMCO leave-one-out baseline, ``"arithmetic"`` (the original's) or ``"geometric"``.
        selection: Which evaluated state :func:`fit_vimco` returns: ``"best"``, the highest held-out bound
            (the original's), or ``"one_se"``, the latest within one standard error of it
            (:func:`select_one_se`). ``patience`` counts from the selected state: with ``"one_se"``,
            training goes on while the bound stays within one standard error of its best.
    """

    k_samples: int = 64
    chunk_len: int = 300
    buffers: tuple[int, int] = (100, 50)
    batch_size: int = 20
    lr: float = 1e-3
    gen_lr: float = 2e-2
    clip_norm: float = 0.02
    lr_decay: float = 0.995
    n_steps: int = 50_000
    eval_every: int = 200
    patience: int | None = None
    min_steps: int = 0
    baseline: Baseline = "arithmetic"
    selection: Selection = "best"

    def __post_init__(self) -> None:
        object.__setattr__(self, "buffers", tuple(self.buffers))
        for name in ("k_samples", "chunk_len", "batch_size", "n_steps", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.patience is not None and (
            isinstance(self.patience, bool) or not isinstance(self.patience, int) or self.patience < 1
        ):
            raise ValueError(f"patience must be None or a positive int, got {self.patience!r}")
        if isinstance(self.min_steps, bool) or not isinstance(self.min_steps, int) or self.min_steps < 0:
            raise ValueError(f"min_steps must be a non-negative int, got {self.min_steps!r}")
        if self.k_samples < 2:
            raise ValueError(f"VIMCO needs k_samples >= 2, got {self.k_samples}")
        if len(self.buffers) != 2 or any(
            isinstance(b, bool) or not isinstance(b, int) or b < 0 for b in self.buffers
        ):
            raise ValueError(f"buffers must be two non-negative ints, got {self.buffers!r}")
        if self.chunk_len - sum(self.buffers) < 1:
            raise ValueError(
                f"chunk_len={self.chunk_len} leaves no scored bins between buffers {self.buffers}"
            )
        for name in ("lr", "gen_lr", "clip_norm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must lie in (0, 1], got {self.lr_decay!r}")
        if self.baseline not in ("arithmetic", "geometric"):
            raise ValueError(f"baseline must be 'arithmetic' or 'geometric', got {self.baseline!r}")
        if self.selection not in ("best", "one_se"):
            raise ValueError(f"selection must be 'best' or 'one_se', got {self.selection!r}")

    @property
    def scored_len(self) -> int:
        """Number of scored (central) bins per chunk, ``chunk_len - b0 - b1``."""
        return self.chunk_len - sum(self.buffers)


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


class History(NamedTuple):
    """Learning curves, one entry per evaluation.

    Attributes:
        steps: Optimisation steps at which the evaluations happened.
        train_bound: Mean :math:`L_K` of the training batches since the previous evaluation, in nats
            per scored bin.
        heldout_bound: :math:`L_K` on the validation chunks, in nats per scored bin.
        heldout_se: Its standard error over the validation chunks (empty in histories saved before it
            was recorded).
    """

    steps: list[int]
    train_bound: list[float]
    heldout_bound: list[float]
    heldout_se: Sequence[float] = ()


class FitResult(NamedTuple):
    """What :func:`fit_vimco` returns.

    Attributes:
        recognition: The recognition model, with the selected state loaded (``config.selection``).
        generative: The generative model, with the selected state loaded.
        history: Learning curves.
        best_step: Step of the selected state (with ``selection="best"``, of the highest held-out bound).
        best_bound: Its held-out bound, nats per scored bin.
    """

    recognition: RecognitionModel
    generative: CalciumModel
    history: History
    best_step: int
    best_bound: float


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


def _is_per_cell(name: str, param: Tensor, n_cells: int, shared_ndim: int | None = None) -> bool:
    """Whether a raw generative parameter holds one row per cell.

    Args:
        name: Parameter name (``raw_alpha``, ``raw_roots``, possibly with a module prefix).
        param: The parameter.
        n_cells: ``C``.
        shared_ndim: Axes of the parameter's shared form (its per-cell form has one more, leading);
            ``None``: 1 for AR roots ``(p,)``, else 0 (the single-trace models).
    """
    if shared_ndim is None:
        shared_ndim = 1 if name.endswith("raw_roots") else 0
    if param.dim() == shared_ndim:
        return False
    if param.dim() == shared_ndim + 1 and param.shape[0] == n_cells:
        return True
    raise ValueError(
        f"generative parameter {name} has shape {tuple(param.shape)}: expected one row per cell "
        f"(C={n_cells}, then {shared_ndim} more axes) or a shared value ({shared_ndim} axes)"
    )


class _GaussianPerStep(nn.Module):
    """Wraps a generative model so that ``functional_call`` can evaluate it with indexed parameters."""

    def __init__(self, model: CalciumModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, f: Tensor, spikes: Tensor) -> Tensor:
        return self.model.log_prob_per_step(f, spikes)


def per_step_log_likelihood(
    generative: CalciumModel,
    f: Tensor,
    spikes: Tensor,
    cells: Tensor,
    per_cell: dict[str, bool] | None = None,
) -> Tensor:
    r"""Per-bin :math:`\log p_\theta(f_t \mid s_{\le t})` of chunks, each with its own cell's parameters.

    The raw per-cell parameters (shape ``(C,)``, roots ``(C, p)``) are indexed with ``cells`` and
    handed to the model through :func:`torch.func.functional_call`, so the model's cell axis becomes
    the chunk axis ``B``. No module is copied, and gradients reach only the rows in ``cells``.

    Args:
        generative: A model with per-cell or shared parameters.
        f: Fluorescence chunks, shape ``(B, L)`` (``(B, *E, L)`` for a model with event axes).
        spikes: Spike samples, shape ``(K, B, L)`` (``(K, B, *E, L)``).
        cells: Cell index of each chunk, shape ``(B,)``.
        per_cell: Parameter name → whether it is per-cell; ``None`` infers it from the shapes with
            ``C = cells.max() + 1`` (pass it explicitly when ``C`` is known).

    Returns:
        Log-likelihood per bin, shape ``(K, B, L)`` (``(K, B, *E, L)``); calcium is zero before the
        chunk's first bin.
    """
    if per_cell is None:
        per_cell = _per_cell_flags(generative, int(cells.max()) + 1)
    params = {f"model.{n}": (p[cells] if per_cell[n] else p) for n, p in generative.named_parameters()}
    return functional_call(_GaussianPerStep(generative), params, (f, spikes))


def _log_weights(
    recognition: RecognitionModel,
    generative: CalciumModel,
    prior: BernoulliPrior,
    f: Tensor,
    cells: Tensor,
    config: VimcoConfig,
    per_cell: dict[str, bool],
    generator: torch.Generator | None,
) -> tuple[Tensor, Tensor]:
    """``(log p(f, s), log q(s | f))`` summed over the scored bins (and event axes), each ``(K, B)``."""
    b0, b1 = config.buffers
    scored = slice(b0, config.chunk_len - b1)
    draw = recognition.sample_and_log_prob(f, config.k_samples, generator)  # one pass, per-bin logits
    spikes = draw.spikes  # (K, B, *E, L)
    log_q = bernoulli_log_prob(draw.logits[..., scored], spikes[..., scored])  # (K, B, *E), scored bins only
    log_lik = per_step_log_likelihood(generative, f, spikes, cells, per_cell)[..., scored]  # (K, B, *E, S)
    rate = prior.select(cells)
    if rate.p.dim() == 1 and spikes.dim() > 3:  # per-cell rates (B,) broadcast over the event axes too
        rate.p = rate.p.view(-1, *([1] * (spikes.dim() - 3)))
    log_prior = rate.log_prob_per_step(spikes[..., scored])  # (K, B, *E, S)
    return (log_lik + log_prior).flatten(2).sum(-1), log_q.flatten(2).sum(-1) if log_q.dim() > 2 else log_q


class PerCellAdam:
    """Adam on the generative parameters with per-row state for per-cell parameters.

    For a per-cell parameter (one row per cell) the moments and the step count are kept per row, and a
    step updates only the rows of the cells in the batch: other cells' parameters do not move, and a
    cell's bias correction counts only its own steps. Shared parameters are ordinary Adam.

    Args:
        params: Name → parameter.
        per_cell: Name → whether the parameter has one row per cell.
        n_cells: ``C``.
        lr: Learning rate.
        betas, eps: Adam's constants.
    """

    def __init__(
        self,
        params: dict[str, nn.Parameter],
        per_cell: dict[str, bool],
        n_cells: int,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params, self.per_cell, self.lr, self.betas, self.eps = params, per_cell, lr, betas, eps
        self.state = {
            name: {
                "m": torch.zeros_like(p),
                "v": torch.zeros_like(p),
                "t": torch.zeros(n_cells if per_cell[name] else (), dtype=torch.long, device=p.device),
            }
            for name, p in params.items()
        }

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    @torch.no_grad()
    def step(self, cells: Tensor) -> None:
        """Update the rows of ``cells`` (per-cell parameters) and all shared parameters."""
        b1, b2 = self.betas
        rows = torch.unique(cells)
        for name, p in self.params.items():
            if p.grad is None:
                continue
            st = self.state[name]
            if self.per_cell[name]:
                g, m, v = p.grad[rows], st["m"][rows], st["v"][rows]
                st["t"][rows] += 1
                t = st["t"][rows].reshape(-1, *([1] * (p.dim() - 1))).to(p.dtype)
            else:
                g, m, v = p.grad, st["m"], st["v"]
                st["t"] += 1
                t = st["t"].to(p.dtype)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            update = self.lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + self.eps)
            if self.per_cell[name]:
                st["m"][rows], st["v"][rows] = m, v
                p[rows] -= update
            else:
                st["m"], st["v"] = m, v
                p -= update

    def state_dict(self) -> dict:
        return {"lr": self.lr, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        self.state = {
            n: {k: v.to(self.params[n].device) for k, v in s.items()} for n, s in state["state"].items()
        }


def _check_traces(name: str, x: Tensor, n_cells: int | None, chunk_len: int) -> Tensor:
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


def _per_cell_flags(generative: CalciumModel, n_cells: int) -> dict[str, bool]:
    """Whether each generative parameter is per-cell; raises on a cell-count mismatch."""
    ndims = shared_ndims(generative)
    return {n: _is_per_cell(n, p, n_cells, ndims.get(n)) for n, p in generative.named_parameters()}


@torch.no_grad()
def _heldout_bound(
    recognition: RecognitionModel,
    generative: CalciumModel,
    prior: BernoulliPrior,
    traces: Tensor,
    chunks: Chunks,
    config: VimcoConfig,
    per_cell: dict[str, bool],
    seed: int,
) -> tuple[float, float]:
    """Mean :math:`L_K` over the chunks and its standard error (over chunks; 0 for a single chunk), nats per
    scored bin, with a fixed seed (comparable evaluations)."""
    generator = torch.Generator(device=traces.device).manual_seed(seed)
    per_chunk = []
    n = len(chunks.start)
    for lo in range(0, n, 4 * config.batch_size):
        idx = torch.arange(lo, min(lo + 4 * config.batch_size, n))
        f = _gather(traces, chunks, idx, config.chunk_len)
        cells = chunks.cell[idx].to(traces.device)
        log_p, log_q = _log_weights(recognition, generative, prior, f, cells, config, per_cell, generator)
        per_chunk.append(iwae_bound(log_p, log_q).double().cpu() / config.scored_len)
    bounds = torch.cat(per_chunk)
    se = float(bounds.std() / math.sqrt(n)) if n > 1 else 0.0  # one chunk: no spread to estimate
    return float(bounds.mean()), se


def fit_vimco(
    recognition: RecognitionModel,
    generative: CalciumModel,
    traces: Tensor,
    config: VimcoConfig = VimcoConfig(),
    prior: BernoulliPrior | None = None,
    seed: int = 0,
    validation: Tensor | None = None,
    checkpoint_path: str | os.PathLike | None = None,
    progress: bool = True,
    callback: Callable[[int], None] | None = None,
) -> FitResult:
    r"""Fit a recognition model and per-cell generative parameters jointly with VIMCO.

    Maximises the :math:`K`-sample bound of eq. (1) of Speiser et al. (2017) on chunks of the traces,

    .. math:: \mathcal L_K(\theta, \phi) = \mathbb E_{s_{1:K} \sim q_\phi}
        \Big[\log \frac1K \sum_k \frac{p_\theta(f \mid s_k)\, p(s_k)}{q_\phi(s_k \mid f)}\Big],

    by minimising ``-vimco_surrogate(log_p, log_q).mean() / K`` over minibatches of ``batch_size``
    chunks of one cell (see the module docstring for chunks, buffers, loss scale and per-cell
    optimisation). Recognition: Adam (``lr``) with total-norm clipping at ``clip_norm``. Generative:
    :class:`PerCellAdam` (``gen_lr``) on every parameter with ``requires_grad`` (freeze e.g.
    ``raw_delta``, which trades off against ``alpha``, with ``requires_grad_(False)``). Both learning
    rates decay by ``lr_decay`` at each evaluation. With ``patience``, training stops once the state that
    ``config.selection`` picks from the held-out bounds is ``patience`` steps old, not before ``min_steps``
    (early stopping on the bound, never on labels). Runs on CUDA when available.

    Args:
        recognition: e.g. :class:`~spikebook.recognition.DSF`; trained in place.
        generative: A calcium model whose parameters are per-cell ``(C,)`` (roots ``(C, p)``) or shared;
            trained in place.
        traces: Training fluorescence, shape ``(R, C, T)`` (or ``(R, C, *E, T)`` for a model with event
            axes, e.g. soma + spines), finite, ``T >= chunk_len``.
        config: Hyper-parameters.
        prior: Bernoulli spike prior with rate ``()``, ``(C,)`` or ``(C, *E)``; ``None`` means 1 Hz at 60 Hz.
        seed: Seed of the generator for batches and samples.
        validation: Held-out traces of the same cells, ``(R', C, T')``, scored for checkpoint
            selection. ``None`` scores the training chunks instead (then selection is on the training
            bound).
        checkpoint_path: Where to save a resumable checkpoint at each evaluation; if the file exists,
            training resumes from it (its config must equal ``config`` except for ``n_steps``,
            ``patience`` and ``min_steps``, and its seed must be ``seed``). It holds plain data only and is
            read with :func:`spikebook.saving.load_checkpoint`, so a file planted there runs no code.
        progress: Show a tqdm progress bar.
        callback: Called at every evaluation (step 0 of a new run included) with the number of steps taken,
            the models in their state at that step and the network in eval mode; e.g. to score the network
            on labelled training cells, as the paper's early stopping did. Not called again for evaluations
            that a resumed run had already made.

    Returns:
        :class:`FitResult`, models with the selected state loaded (``config.selection``).

    Raises:
        ValueError: On non-finite traces, traces shorter than ``chunk_len``, a cell-count mismatch
            between traces, validation, generative parameters and prior, or an incompatible checkpoint.
        spikebook.saving.CheckpointError: A file at ``checkpoint_path`` that is not a checkpoint, is truncated,
            or carries objects that are not plain data (a ``ValueError``; refused before any step).

    References:
        Speiser et al. (2017), §2.2 and §2.4; Mnih & Rezende (2016).

    Taught in: book chapter 'Amortized variational inference'.
    """
    device = "cuda" if torch.cuda.is_available() else "cpu"
    traces = _check_traces("traces", traces, None, config.chunk_len)
    n_traces, n_cells, n_steps = traces.shape[0], traces.shape[1], traces.shape[-1]
    if validation is not None:
        validation = _check_traces("validation", validation, n_cells, config.chunk_len)
    prior = BernoulliPrior(1.0, fs=60.0) if prior is None else prior
    event_shape = tuple(traces.shape[2:-1])
    if prior.p.dim() > 0 and tuple(prior.p.shape) not in ((n_cells,), (n_cells, *event_shape)):
        raise ValueError(
            f"prior rate must have shape (), (C,) or (C, *E) = {(n_cells, *event_shape)}, got {tuple(prior.p.shape)}"
        )
    per_cell = _per_cell_flags(generative, n_cells)

    recognition.to(device)
    generative.to(device)
    dtype = next(recognition.parameters()).dtype
    traces = traces.to(device=device, dtype=dtype)
    prior = prior.to(device=device, dtype=dtype)
    chunks = chunk_traces(n_traces, n_cells, n_steps, config.chunk_len, config.buffers)
    if validation is None:
        val_traces, val_chunks = traces, chunks
    else:
        val_traces = validation.to(device=device, dtype=dtype)
        val_chunks = chunk_traces(
            validation.shape[0], validation.shape[1], validation.shape[-1], config.chunk_len, config.buffers
        )
    chunks_of_cell = [torch.nonzero(chunks.cell == c).squeeze(1) for c in range(n_cells)]
    cell_weights = torch.tensor([len(i) for i in chunks_of_cell], dtype=torch.float)

    gen_params = {n: p for n, p in generative.named_parameters() if p.requires_grad}
    rec_opt = torch.optim.Adam(recognition.parameters(), lr=config.lr)
    gen_opt = PerCellAdam(gen_params, per_cell, n_cells, config.gen_lr)
    generator = torch.Generator().manual_seed(seed)  # batches (CPU)
    sample_gen = torch.Generator(device=device).manual_seed(seed + 1)  # spike samples
    history = History([], [], [], [])
    step, best_step, best_bound = 0, 0, -math.inf
    best_state = None
    states = []  # every evaluated state, for selection="one_se"
    config_dict = dataclasses.asdict(config)

    path = Path(checkpoint_path) if checkpoint_path is not None else None
    if path is not None and path.exists():
        ckpt = load_checkpoint(path, map_location=device)
        free = ("n_steps", "patience", "min_steps")  # may change between runs; absent from older checkpoints
        saved = {k: v for k, v in ckpt["config"].items() if k not in free}
        mine = {k: v for k, v in config_dict.items() if k not in free}
        saved["buffers"] = tuple(saved["buffers"])
        saved.setdefault("selection", "best")  # older checkpoints predate the option
        if saved != mine:
            raise ValueError(f"checkpoint {path} was made with config {ckpt['config']}, not {config_dict}")
        if ckpt.get("seed", seed) != seed:  # older checkpoints did not record it
            raise ValueError(f"checkpoint {path} was made with seed {ckpt['seed']}, not {seed}")
        recognition.load_state_dict(ckpt["recognition"])
        generative.load_state_dict(ckpt["generative"])
        rec_opt.load_state_dict(ckpt["rec_optimizer"])
        gen_opt.load_state_dict(ckpt["gen_optimizer"])
        generator.set_state(ckpt["generator"])
        sample_gen.set_state(ckpt["sample_generator"])
        step, best_step, best_bound = ckpt["step"], ckpt["best_step"], ckpt["best_bound"]
        best_state = ckpt["best_state"]
        states = ckpt.get("states", [])
        saved_history = [list(h) for h in ckpt["history"]]
        saved_history += [[math.nan] * len(saved_history[0]) for _ in range(4 - len(saved_history))]
        history = History(*saved_history)

    def evaluate(train_bound: float) -> float:
        """Score the held-out chunks, record the evaluation and its state; return the bound."""
        recognition.eval()
        bound, se = _heldout_bound(
            recognition, generative, prior, val_traces, val_chunks, config, per_cell, seed + 2
        )
        if callback is not None:
            callback(step)
        recognition.train()
        for values, value in zip(history, (step, train_bound, bound, se)):
            values.append(value)
        if config.selection == "one_se":
            states.append(_snapshot(recognition, generative))
        return bound

    def evaluated_state() -> dict:
        """The state just evaluated: already kept with ``"one_se"``, copied now with ``"best"``."""
        return states[-1] if config.selection == "one_se" else _snapshot(recognition, generative)

    if step == 0 and not history.steps:
        best_bound = evaluate(math.nan)
        best_state = evaluated_state()

    def selected() -> int:
        """Index of the evaluation that ``config.selection`` would return now."""
        if config.selection == "one_se":
            return select_one_se(history.heldout_bound, history.heldout_se)
        return history.steps.index(best_step)

    def stalled() -> bool:
        return (config.patience is not None and step >= config.min_steps
                and step - history.steps[selected()] >= config.patience)

    train_sum, train_n = 0.0, 0
    bar = tqdm(total=config.n_steps, initial=step, disable=not progress, desc="VIMCO")
    recognition.train()
    stopped = stalled()  # a resumed run that had stopped early
    while step < config.n_steps and not stopped:
        cell = int(torch.multinomial(cell_weights, 1, generator=generator))
        pool = chunks_of_cell[cell]
        pick = torch.randint(len(pool), (config.batch_size,), generator=generator)
        idx = pool[pick]
        f = _gather(traces, chunks, idx, config.chunk_len)  # (B, L)
        cells = chunks.cell[idx].to(device)
        log_p, log_q = _log_weights(recognition, generative, prior, f, cells, config, per_cell, sample_gen)
        surrogate = vimco_surrogate(log_p, log_q, config.baseline)  # (B,), value L_K
        loss = -surrogate.mean() / config.k_samples  # the original's mean over B x K
        rec_opt.zero_grad()
        gen_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(recognition.parameters(), config.clip_norm)
        rec_opt.step()
        gen_opt.step(cells)
        step += 1
        train_sum += float(surrogate.detach().mean()) / config.scored_len
        train_n += 1
        bar.update(1)
        if step % config.eval_every == 0 or step == config.n_steps:
            bound = evaluate(train_sum / train_n)
            train_sum, train_n = 0.0, 0
            if bound > best_bound:
                best_step, best_bound = step, bound
                best_state = evaluated_state()
            for group in rec_opt.param_groups:
                group["lr"] *= config.lr_decay
            gen_opt.lr *= config.lr_decay
            bar.set_postfix(heldout=f"{bound:.4f}", best=f"{best_bound:.4f}")
            stopped = stalled()
            if path is not None:  # atomic: a run killed while writing can still resume
                save_atomic(
                    {
                        "recognition": recognition.state_dict(),
                        "generative": generative.state_dict(),
                        "rec_optimizer": rec_opt.state_dict(),
                        "gen_optimizer": gen_opt.state_dict(),
                        "generator": generator.get_state(),
                        "sample_generator": sample_gen.get_state(),
                        "step": step,
                        "best_step": best_step,
                        "best_bound": best_bound,
                        "best_state": best_state,
                        "states": states,
                        "history": tuple(history),
                        "config": config_dict,
                        "seed": seed,
                    },
                    path,
                )
    bar.close()
    if config.selection == "one_se":
        chosen = selected()
        best_step, best_bound = history.steps[chosen], history.heldout_bound[chosen]
        best_state = states[chosen]
    recognition.load_state_dict(best_state["recognition"])
    generative.load_state_dict(best_state["generative"])
    return FitResult(recognition, generative, history, best_step, best_bound)


def _snapshot(recognition: nn.Module, generative: nn.Module) -> dict:
    """Detached copies of both state dicts."""
    return {
        "recognition": {k: v.detach().clone() for k, v in recognition.state_dict().items()},
        "generative": {k: v.detach().clone() for k, v in generative.state_dict().items()},
    }


def fit_sleep(
    recognition: RecognitionModel,
    generative: CalciumModel,
    prior: BernoulliPrior,
    n_steps: int,
    batch_size: int = 16,
    chunk_len: int = 400,
    lr: float = 1e-3,
    seed: int = 0,
    callback: Callable[[int], None] | None = None,
) -> list[float]:
    r"""The *sleep* phase of wake-sleep: fit :math:`q_\phi` to spike trains and traces drawn from the model.

    Each step draws ``batch_size`` spike trains :math:`s \sim p(s)` (the prior) and traces
    :math:`f \sim p_\theta(f \mid s)` for every cell of ``generative``, and takes an Adam step on
    :math:`-\log q_\phi(s \mid f)` per bin (the binary cross-entropy for a factorized :math:`q`; any
    recognition model's ``log_prob``, DS-NF's included) (Hinton et al. 1995; Bornschein & Bengio 2015).
    No recorded data and no labels enter: it teaches the network what events look like under the current
    :math:`\theta`. Before VIMCO (:func:`fit_vimco`) it is a starting point; after VIMCO has learned
    :math:`\theta` from the data, it trains the network for that learned model (wake-sleep).

    Runs on CUDA when it is available, like :func:`fit_vimco`: the network, the generative model and the
    prior are moved there in place.

    Args:
        recognition: The network, trained in place; takes ``(B, *E, L)`` traces.
        generative: A model of ``C`` cells (per-cell parameters ``(C, ...)``), used as it is (no gradient).
        prior: Spike prior with rate ``(C,)`` or ``(C, *E)`` (one row per cell), or ``()``.
        n_steps: Adam steps.
        batch_size: Simulated chunks per cell and step.
        chunk_len: Bins per simulated chunk.
        lr: Adam learning rate.
        seed: Seed of the simulations.
        callback: Called after every step with the number of steps taken so far (``1 .. n_steps``), e.g. to
            keep snapshots of the network: the state after step ``n`` of a longer run is the state a run of
            ``n`` steps ends in.

    Returns:
        The loss (nats per bin) of every step.

    References:
        Hinton, Dayan, Frey & Neal (1995), Science 268:1158; Bornschein & Bengio (2015), ICLR.
    """
    if n_steps < 0 or batch_size < 1 or chunk_len < 1:
        raise ValueError("n_steps must be >= 0, batch_size and chunk_len positive")
    device = "cuda" if torch.cuda.is_available() else "cpu"  # as fit_vimco; modules are moved in place
    recognition.to(device)
    generative.to(device)
    prior = prior.to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    optimizer = torch.optim.Adam(recognition.parameters(), lr=lr)
    dtype = next(recognition.parameters()).dtype
    shape = (batch_size, *prior.p.shape, chunk_len) if prior.p.dim() else (batch_size, chunk_len)
    losses = []
    recognition.train()
    for step in range(1, n_steps + 1):
        with torch.no_grad():
            events = prior.sample(shape, generator)  # (B, C, *E, L)
            f = generative.sample(events, generator)
        if prior.p.dim():  # one chunk per cell and draw: (B * C, *E, L)
            events, f = events.flatten(0, 1), f.flatten(0, 1)
        f = f.to(dtype)
        # −log q(s | f) per bin: for a factorized q the binary cross-entropy of its logits; for DS-NF the
        # teacher-forced autoregressive log-probability (the same code path as its log_prob)
        loss = -recognition.log_prob(events.to(f), f).sum() / events.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(step)
    return losses
