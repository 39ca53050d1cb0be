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
scored bins. A per-cell prior rate is ``(C,)`` or ``(C, *E)``.

**Chunks and buffers.** Each trace is cut into chunks of ``L = chunk_len`` bins whose first ``b0`` and last
``b1`` bins are unscored context (:mod:`spikebook.training.chunks`).

**Per-cell parameters.** As in the paper, each minibatch holds ``batch_size`` chunks of *one* cell,
the cell drawn with probability proportional to its number of chunks. The generative model is evaluated
on the batch with the batch's rows of its per-cell parameters, and updated by a per-row Adam
(:mod:`spikebook.training.per_cell`): cells absent from the batch do not move.

**Loss scale.** We minimise ``-vimco_surrogate(log_p, log_q).mean() / K``: the original code's mean
over :math:`B \times K`, which is :math:`1/K` of the textbook per-trace gradient (see
:mod:`spikebook.objectives`). Adam does not care, but the total-norm clipping of the recognition
gradients does, and with this scale the paper's threshold 0.02 means what it meant there.

**Baseline.** The default is the ``"arithmetic"`` leave-one-out baseline, the one the original code
computed, so that defaults reproduce the paper; ``"geometric"`` (Mnih & Rezende's) is available.

**Model selection** uses only the held-out bound (no labels): every ``eval_every`` steps the
:math:`K`-sample bound :math:`L_K` is averaged over the validation chunks (held-out traces of the same
cells, with a fixed seed so that evaluations are comparable), with its standard error over the chunks;
:mod:`spikebook.training.selection` picks the state returned (``"best"`` or ``"one_se"``) and says when to
stop early.

One module of about 500 lines: the configuration, the history and the resumable run are the state of one fit,
saved and resumed together; chunking, the per-cell Adam, selection and snapshots have their own modules.

Taught in: book chapter "Amortized variational inference".

References:
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30, §2.2–2.4.
    Mnih & Rezende (2016). Variational inference for Monte Carlo objectives. ICML.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor
from tqdm.auto import tqdm

from spikebook.generative import BernoulliPrior, CalciumModel
from spikebook.objectives import Baseline, iwae_bound, vimco_surrogate
from spikebook.recognition import RecognitionModel
from spikebook.saving import check_writable, load_checkpoint, save_atomic
from spikebook.training.chunks import Chunks, _check_traces, _gather, _log_weights, chunk_traces
from spikebook.training.per_cell import PerCellAdam, _per_cell_flags
from spikebook.training.selection import Selection, select_one_se, stop_early
from spikebook.training.state import cpu_state
from spikebook.validate import non_negative_int, one_of, positive, positive_int

__all__ = ["FitResult", "History", "VimcoConfig", "fit_vimco"]


def _canonical(config: object, name: str, check: Callable[[object, str], object]) -> None:
    """Set the frozen field ``name`` to ``check(value, name)``: the checked value in its canonical type."""
    object.__setattr__(config, name, check(getattr(config, name), name))


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
        min_steps: No early stop before this step (:func:`~spikebook.training.selection.stop_early`).
        baseline: VIMCO leave-one-out baseline, ``"arithmetic"`` (the original's) or ``"geometric"``.
        selection: Which evaluated state :func:`fit_vimco` returns: ``"best"``, the highest held-out bound
            (the original's), or ``"one_se"``, the latest within one standard error of it
            (:func:`~spikebook.training.selection.select_one_se`). ``patience`` counts from the selected
            state: with ``"one_se"``, training goes on while the bound stays within one standard error of its
            best.
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
        for name in ("k_samples", "chunk_len", "batch_size", "n_steps", "eval_every"):
            _canonical(self, name, positive_int)
        if self.patience is not None:
            _canonical(self, "patience", positive_int)
        _canonical(self, "min_steps", non_negative_int)
        if self.k_samples < 2:
            raise ValueError(f"VIMCO needs k_samples >= 2, got {self.k_samples}")
        if len(tuple(self.buffers)) != 2:
            raise ValueError(f"buffers must be two non-negative ints (b0, b1), got {self.buffers!r}")
        buffers = tuple(non_negative_int(b, f"buffers[{i}]") for i, b in enumerate(self.buffers))
        object.__setattr__(self, "buffers", buffers)
        if self.chunk_len - sum(self.buffers) < 1:
            raise ValueError(f"chunk_len={self.chunk_len} leaves no scored bins between buffers "
                             f"{self.buffers}")
        for name in ("lr", "gen_lr") if self.clip_norm == math.inf else ("lr", "gen_lr", "clip_norm"):
            _canonical(self, name, positive)  # clip_norm=inf: no clipping
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must lie in (0, 1], got {self.lr_decay!r}")
        one_of(self.baseline, ("arithmetic", "geometric"), "baseline")
        one_of(self.selection, ("best", "one_se"), "selection")

    @property
    def scored_len(self) -> int:
        """Number of scored (central) bins per chunk, ``chunk_len - b0 - b1``."""
        return self.chunk_len - sum(self.buffers)


class History(NamedTuple):
    """Learning curves, one entry per evaluation.

    Attributes:
        steps: Optimisation steps at which the evaluations happened.
        train_bound: Mean :math:`L_K` of the training batches since the previous evaluation, in nats
            per scored bin (NaN at step 0).
        heldout_bound: :math:`L_K` on the validation chunks, in nats per scored bin.
        heldout_se: Its standard error over the validation chunks; NaN where it was not recorded.
    """

    steps: list[int]
    train_bound: list[float]
    heldout_bound: list[float]
    heldout_se: Sequence[float]


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
        log_p, log_q = _log_weights(recognition, generative, prior, f, cells, config.k_samples,
                                    config.buffers, per_cell, generator)
        per_chunk.append(iwae_bound(log_p, log_q).double().cpu() / config.scored_len)
    bounds = torch.cat(per_chunk)
    se = float(bounds.std() / math.sqrt(n)) if n > 1 else 0.0  # one chunk: no spread to estimate
    return float(bounds.mean()), se


class _VimcoData(NamedTuple):
    """The data of one :func:`fit_vimco` run, on its device (see :func:`_prepare`)."""

    device: str
    traces: Tensor  # (R, C, *E, T)
    chunks: Chunks
    val_traces: Tensor  # (R', C, *E, T')
    val_chunks: Chunks
    prior: BernoulliPrior
    per_cell: dict[str, bool]
    chunks_of_cell: list[Tensor]  # indices into chunks, one tensor per cell
    cell_weights: Tensor  # (C,) chunks per cell: how often each cell's batch is drawn
    digest: str  # of the traces and validation traces as trained on: a resume checks it


def _digest(traces: Tensor, validation: Tensor | None) -> str:
    """SHA-256 of the training and held-out traces (shapes and values, in the dtype trained on).

    Stored in the resumable record, so that a run is never continued on other data with the same shapes.
    """
    digest = hashlib.sha256()
    for x in (traces, validation):
        if x is None:
            digest.update(b"none")
        else:
            digest.update(repr(tuple(x.shape)).encode())
            digest.update(x.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _prepare(
    recognition: RecognitionModel,
    generative: CalciumModel,
    traces: Tensor,
    config: VimcoConfig,
    prior: BernoulliPrior | None,
    validation: Tensor | None,
) -> _VimcoData:
    """Check the inputs, move the models (in place) and the data to CUDA when available, cut the chunks."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    traces = _check_traces("traces", traces, None, config.chunk_len)
    n_cells = traces.shape[1]
    if validation is not None:
        validation = _check_traces("validation", validation, n_cells, config.chunk_len)
    prior = BernoulliPrior(1.0, fs=60.0) if prior is None else prior
    cell_shape = (n_cells, *traces.shape[2:-1])  # (C, *E)
    if prior.p.dim() > 0 and tuple(prior.p.shape) not in (cell_shape[:1], cell_shape):
        raise ValueError(f"prior rate must have shape (), (C,) or (C, *E) = {cell_shape}, "
                         f"got {tuple(prior.p.shape)}")
    per_cell = _per_cell_flags(generative, n_cells)
    recognition.to(device)
    generative.to(device)
    dtype = next(recognition.parameters()).dtype

    def chunked(x: Tensor) -> tuple[Tensor, Chunks]:
        return x.to(device=device, dtype=dtype), chunk_traces(
            x.shape[0], x.shape[1], x.shape[-1], config.chunk_len, config.buffers)

    traces, chunks = chunked(traces)
    val_traces, val_chunks = (traces, chunks) if validation is None else chunked(validation)
    chunks_of_cell = [torch.nonzero(chunks.cell == c).squeeze(1) for c in range(n_cells)]
    cell_weights = torch.tensor([len(i) for i in chunks_of_cell], dtype=torch.float)
    return _VimcoData(device, traces, chunks, val_traces, val_chunks, prior.to(device=device, dtype=dtype),
                      per_cell, chunks_of_cell, cell_weights,
                      _digest(traces, None if validation is None else val_traces))


#: Config fields a resumed run may change: how long it trains and when it stops.
_FREE_ON_RESUME = ("n_steps", "patience", "min_steps")


class _VimcoRun:
    """One :func:`fit_vimco` run: models, optimisers, random streams, history and the states it keeps.

    Its resumable record (:meth:`checkpoint`) holds all of these, so that a run resumed from it continues as
    the uninterrupted run would have. With ``selection="best"`` it keeps the best state; with ``"one_se"``
    every evaluated state, since a later evaluation may move the choice back to any of them.
    """

    def __init__(self, recognition: RecognitionModel, generative: CalciumModel, data: _VimcoData,
                 config: VimcoConfig, seed: int, callback: Callable[[int], None] | None) -> None:
        self.recognition, self.generative, self.data = recognition, generative, data
        self.config, self.seed, self.callback = config, seed, callback
        gen_params = {n: p for n, p in generative.named_parameters() if p.requires_grad}
        self.rec_opt = torch.optim.Adam(recognition.parameters(), lr=config.lr)
        self.gen_opt = PerCellAdam(gen_params, data.per_cell, len(data.chunks_of_cell), config.gen_lr)
        self.generator = torch.Generator().manual_seed(seed)  # batches (CPU)
        self.sample_gen = torch.Generator(device=data.device).manual_seed(seed + 1)  # spike samples
        self.history = History([], [], [], [])
        self.step, self.best_step, self.best_bound, self.best_state = 0, 0, -math.inf, None
        self.states: list[dict] = []  # every evaluated state, for selection="one_se"

    def train_step(self) -> float:
        """One optimisation step on a minibatch of one cell; returns its :math:`L_K`, nats per scored bin."""
        data, config = self.data, self.config
        cell = int(torch.multinomial(data.cell_weights, 1, generator=self.generator))
        pool = data.chunks_of_cell[cell]
        idx = pool[torch.randint(len(pool), (config.batch_size,), generator=self.generator)]
        f = _gather(data.traces, data.chunks, idx, config.chunk_len)  # (B, L)
        cells = data.chunks.cell[idx].to(data.device)
        log_p, log_q = _log_weights(self.recognition, self.generative, data.prior, f, cells, config.k_samples,
                                    config.buffers, data.per_cell, self.sample_gen)
        surrogate = vimco_surrogate(log_p, log_q, config.baseline)  # (B,), value L_K
        loss = -surrogate.mean() / config.k_samples  # the original's mean over B x K
        self.rec_opt.zero_grad()
        self.gen_opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.recognition.parameters(), config.clip_norm)
        self.rec_opt.step()
        self.gen_opt.step(cells)
        self.step += 1
        return float(surrogate.detach().mean()) / config.scored_len

    def evaluate(self, train_bound: float) -> float:
        """Score the held-out chunks at the current step, record the evaluation and keep its state.

        The first evaluation of a run is its best so far whatever its bound. Returns the held-out bound.
        """
        data = self.data
        self.recognition.eval()
        bound, se = _heldout_bound(self.recognition, self.generative, data.prior, data.val_traces,
                                   data.val_chunks, self.config, data.per_cell, self.seed + 2)
        if self.callback is not None:
            self.callback(self.step)
        self.recognition.train()
        first = not self.history.steps
        for values, value in zip(self.history, (self.step, train_bound, bound, se)):
            values.append(value)
        one_se = self.config.selection == "one_se"
        if one_se:
            self.states.append(self._snapshot())
        if first or bound > self.best_bound:
            self.best_step, self.best_bound = self.step, bound
            self.best_state = self.states[-1] if one_se else self._snapshot()
        return bound

    def _snapshot(self) -> dict:
        return {"recognition": cpu_state(self.recognition), "generative": cpu_state(self.generative)}

    def decay_learning_rates(self) -> None:
        """Multiply both learning rates by ``lr_decay`` (after each evaluation)."""
        for group in self.rec_opt.param_groups:
            group["lr"] *= self.config.lr_decay
        self.gen_opt.lr *= self.config.lr_decay

    def selected(self) -> int:
        """Index of the evaluation that ``config.selection`` would return now."""
        if self.config.selection == "one_se":
            return select_one_se(self.history.heldout_bound, self.history.heldout_se)
        return self.history.steps.index(self.best_step)

    def stopped(self) -> bool:
        """Whether early stopping ends the run now (:func:`~spikebook.training.selection.stop_early`)."""
        return stop_early(self.step, self.history.steps[self.selected()], self.config.patience,
                          self.config.min_steps)

    def checkpoint(self) -> dict:
        """The resumable record of the run: plain data for :func:`~spikebook.saving.save_atomic`."""
        return {
            "recognition": self.recognition.state_dict(),
            "generative": self.generative.state_dict(),
            "rec_optimizer": self.rec_opt.state_dict(),
            "gen_optimizer": self.gen_opt.state_dict(),
            "generator": self.generator.get_state(),
            "sample_generator": self.sample_gen.get_state(),
            "step": self.step,
            "best_step": self.best_step,
            "best_bound": self.best_bound,
            "best_state": self.best_state,
            "states": self.states,
            "history": tuple(self.history),
            "config": dataclasses.asdict(self.config),
            "seed": self.seed,
            "data_digest": self.data.digest,
        }

    def resume(self, path: Path) -> None:
        """Continue from the record at ``path``, if its seed and config (but ``_FREE_ON_RESUME``) match."""
        ckpt = load_checkpoint(path, map_location=self.data.device)
        missing = sorted(set(self.checkpoint()) - set(ckpt))  # the keys this version writes
        if missing:
            raise ValueError(f"{path} is not a resumable fit_vimco checkpoint (no {', '.join(missing)}); "
                             "delete it to train afresh")
        mine = dataclasses.asdict(self.config)
        if {k: v for k, v in ckpt["config"].items() if k not in _FREE_ON_RESUME} != {
                k: v for k, v in mine.items() if k not in _FREE_ON_RESUME}:
            raise ValueError(f"checkpoint {path} was made with config {ckpt['config']}, not {mine}")
        if ckpt["seed"] != self.seed:
            raise ValueError(f"checkpoint {path} was made with seed {ckpt['seed']}, not {self.seed}")
        if ckpt["data_digest"] != self.data.digest:
            raise ValueError(f"checkpoint {path} was made on other data (its traces or validation traces "
                             "differ from these); delete it or choose another checkpoint_path to train afresh")
        self.recognition.load_state_dict(ckpt["recognition"])
        self.generative.load_state_dict(ckpt["generative"])
        self.rec_opt.load_state_dict(ckpt["rec_optimizer"])
        self.gen_opt.load_state_dict(ckpt["gen_optimizer"])
        self.generator.set_state(ckpt["generator"])
        self.sample_gen.set_state(ckpt["sample_generator"])
        self.step, self.best_step, self.best_bound = ckpt["step"], ckpt["best_step"], ckpt["best_bound"]
        self.best_state, self.states = ckpt["best_state"], ckpt["states"]
        self.history = History(*ckpt["history"])

    def train(self, path: Path | None, progress: bool) -> None:
        """Train to ``n_steps`` or an early stop; evaluate every ``eval_every`` steps, save at ``path``."""
        config = self.config
        train_sum, train_n = 0.0, 0
        bar = tqdm(total=config.n_steps, initial=self.step, disable=not progress, desc="VIMCO")
        self.recognition.train()
        stopped = self.stopped()  # a resumed run that had stopped early
        while self.step < config.n_steps and not stopped:
            train_sum += self.train_step()
            train_n += 1
            bar.update(1)
            if self.step % config.eval_every == 0 or self.step == config.n_steps:
                bound = self.evaluate(train_sum / train_n)
                train_sum, train_n = 0.0, 0
                self.decay_learning_rates()
                bar.set_postfix(heldout=f"{bound:.4f}", best=f"{self.best_bound:.4f}")
                stopped = self.stopped()
                if path is not None:  # atomic: a run killed while writing can still resume
                    save_atomic(self.checkpoint(), path)
        bar.close()

    def result(self) -> FitResult:
        """The models with the selected state loaded, and the run's history."""
        if self.config.selection == "one_se":
            chosen = self.selected()
            step, bound = self.history.steps[chosen], self.history.heldout_bound[chosen]
            state = self.states[chosen]
        else:
            step, bound, state = self.best_step, self.best_bound, self.best_state
        self.recognition.load_state_dict(state["recognition"])
        self.generative.load_state_dict(state["generative"])
        return FitResult(self.recognition, self.generative, self.history, step, bound)


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
    :class:`~spikebook.training.per_cell.PerCellAdam` (``gen_lr``) on every parameter with ``requires_grad``
    (freeze e.g. ``raw_delta``, which trades off against ``alpha``, with ``requires_grad_(False)``). Both
    learning rates decay by ``lr_decay`` at each evaluation. With ``patience``, training stops once the state
    that ``config.selection`` picks from the held-out bounds is ``patience`` steps old, not before
    ``min_steps`` (early stopping on the bound, never on labels). Runs on CUDA when available.

    Args:
        recognition: e.g. :class:`~spikebook.recognition.DSF`; trained in place.
        generative: A calcium model whose parameters are per-cell ``(C,)`` (roots ``(C, p)``) or shared;
            trained in place.
        traces: Training fluorescence, shape ``(R, C, T)`` (or ``(R, C, *E, T)`` for a model with event
            axes, e.g. soma + spines), finite, ``T >= chunk_len``.
        config: Hyper-parameters.
        prior: Bernoulli spike prior with rate ``()``, ``(C,)`` or ``(C, *E)``; ``None`` means 1 Hz at 60 Hz.
        seed: Seed of the generators for batches (``seed``), samples (``seed + 1``) and evaluations
            (``seed + 2``); a non-negative int.
        validation: Held-out traces of the same cells, ``(R', C, T')``, scored for checkpoint
            selection. ``None`` scores the training chunks instead (then selection is on the training
            bound).
        checkpoint_path: Where to save a resumable checkpoint at each evaluation; if the file exists,
            training resumes from it (its config must equal ``config`` except for ``n_steps``,
            ``patience`` and ``min_steps``, its seed must be ``seed``, and its traces and validation traces
            these: a SHA-256 digest of them is stored in it). It holds plain data only and is
            read with :func:`spikebook.saving.load_checkpoint`, so a file planted there runs no code; the
            path is checked for writability before training (:func:`spikebook.saving.check_writable`).
        progress: Show a tqdm progress bar.
        callback: Called at every evaluation (step 0 of a new run included) with the number of steps taken,
            the models in their state at that step and the network in eval mode; e.g. to score the network
            on labelled training cells, as the paper's early stopping did. Not called again for evaluations
            that a resumed run had already made.

    Returns:
        :class:`FitResult`, models with the selected state loaded (``config.selection``).

    Raises:
        ValueError: On non-finite traces, traces shorter than ``chunk_len``, a cell-count mismatch
            between traces, validation, generative parameters and prior, a negative seed, or an
            incompatible checkpoint.
        spikebook.saving.CheckpointError: A file at ``checkpoint_path`` that is not a checkpoint, is
            truncated, or carries objects that are not plain data (a ``ValueError``; refused before any step).
            A checkpoint that lacks a field of the resumable record (:meth:`_VimcoRun.checkpoint`) is refused
            with a ``ValueError`` too.
        PermissionError, NotADirectoryError, IsADirectoryError: ``checkpoint_path`` cannot be written.

    References:
        Speiser et al. (2017), §2.2 and §2.4; Mnih & Rezende (2016).

    Taught in: book chapter "Amortized variational inference".
    """
    seed = non_negative_int(seed, "seed")
    data = _prepare(recognition, generative, traces, config, prior, validation)
    run = _VimcoRun(recognition, generative, data, config, seed, callback)
    path = None if checkpoint_path is None else check_writable(checkpoint_path)
    if path is not None and path.exists():
        run.resume(path)
    else:
        run.evaluate(math.nan)
    run.train(path, progress)
    return run.result()
