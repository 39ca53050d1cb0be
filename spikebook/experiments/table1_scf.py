r"""Table 1, first column of Speiser et al. (2017): four spike-inference methods on simulated SCF data.

Protocol (paper §3.3 and §2.4): the 100 held-out *test* cells of the simulated SCF data
(:func:`spikebook.data.simulate.paper_datasets`, seed 0; per cell one trace of 10,000 samples at 60 Hz
for each of the firing rates 0.6, 0.9 and 1.1 Hz). Each method predicts a per-bin spike probability (or
spike amplitude) for every trace; the score of a trace is the Pearson correlation between prediction and
true spikes at the sampling resolution (bins of one sample, 16.6 ms: "cross-correlation at the sampling
discretization of 16.6 ms"), a cell's score the mean over its three traces, and the table reports
mean ± s.e.m. over cells:

.. math:: r_c = \frac13 \sum_{i=1}^{3} \operatorname{corr}(\hat s_{c,i}, s_{c,i}), \qquad
    \bar r = \frac1C \sum_c r_c, \qquad \operatorname{sem} = \frac{\operatorname{sd}(r_c)}{\sqrt C}

with the sample standard deviation (``ddof=1``).

The four methods (:func:`default_predictors`):

* **DS-F**: the pretrained amortized factorized network ``dsf-scf-60hz`` (trained on the 50 *training*
  cells, applied unchanged to the unseen test cells); its exact marginals :math:`\sigma(\ell_t)`.
* **DS-NF**: the pretrained autoregressive network ``dsnf-scf-60hz``; marginals averaged over 30 sampled
  trains, the paper's estimate.
* **CDEC**: constrained deconvolution with OASIS (:func:`spikebook.baselines.cdec`), AR(1), parameters
  estimated from each trace. The decay :math:`\gamma` is estimated with OASIS's own autocovariance
  estimator *without* its 0.98 shrinkage ("fudge factor"), which otherwise biases :math:`\hat\gamma`
  low by 2% and costs ~0.03 of correlation here; L1 penalty (see :func:`cdec_predictor`).
* **MCMC**: the block Gibbs sampler :func:`spikebook.baselines.gibbs_scf` under the SCF model with each
  cell's *true* parameters and the Bernoulli prior of the networks (0.9 Hz); its posterior marginals.
  Knowing the parameters is an advantage the other methods do not have; the paper's MCMC
  (Pnevmatikakis et al. 2013) samples the parameters as well.

:func:`score_methods` is the pure computation (data, predictors, sizes → per-cell and summary tables);
:func:`table1` loads the cached full-size result or computes it and writes the cache
(:data:`SUMMARY_PATH`, :data:`CELLS_PATH`); its quick mode runs the same code on a few short traces.
From the command line (full size; ~15 min on one busy CPU thread: ~8 min DS-NF, ~6 min MCMC):
``python -m spikebook.experiments.table1_scf``.

References:
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), "Fast amortized inference of neural
    activity from calcium imaging data with variational autoencoders", NeurIPS, §3.3 and Table 1.
    Friedrich J, Zhou P, Paninski L (2017), PLoS Comput Biol 13(3):e1005423 (OASIS).
    Pnevmatikakis EA, Merel J, Pakman A, Paninski L (2013), arXiv:1311.6864 (Bayesian spike inference).

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

import argparse
import copy
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import nn

from spikebook.baselines import ar1_gamma, cdec, gibbs_scf
from spikebook.data.simulate import SimulatedData, paper_datasets
from spikebook.experiments import RESULTS_DIR
from spikebook.generative import BernoulliPrior, CalciumModel
from spikebook.metrics import binned_correlation
from spikebook.recognition import RecognitionModel

__all__ = [
    "CELLS_PATH",
    "FULL_SIZES",
    "METHODS",
    "PAPER",
    "QUICK_SIZES",
    "SUMMARY_PATH",
    "Predictor",
    "Table1Result",
    "cdec_predictor",
    "default_predictors",
    "default_sources",
    "format_summary",
    "gibbs_log_joint_gap",
    "gibbs_predictor",
    "load_cached",
    "paired_differences",
    "plot_cells",
    "plot_example",
    "plot_summary",
    "recognition_predictor",
    "score_methods",
    "select_cells",
    "summarize_cells",
    "table1",
]

#: The methods of the table, in the paper's order.
METHODS = ("DS-F", "DS-NF", "CDEC", "MCMC")

#: Table 1, column "SCF-Sim.": mean and s.e.m. over cells of the correlation.
PAPER = {"DS-F": (0.88, 0.01), "DS-NF": (0.89, 0.01), "CDEC": (0.86, 0.01), "MCMC": (0.87, 0.01)}

#: Sampling rate of the simulated data (Hz); scores use bins of one sample (16.6 ms).
FS = 60.0

#: Cached full-size summary (one row per method) and per-cell scores.
SUMMARY_PATH = RESULTS_DIR / "table1_scf.csv"
CELLS_PATH = RESULTS_DIR / "table1_scf_cells.csv"

#: Cells and samples per trace scored per method: ``(n_cells, n_steps)``, ``None`` = all.
FULL_SIZES: dict[str, tuple[int | None, int | None]] = {name: (None, None) for name in METHODS}
#: Quick mode: the first few test cells, shortened traces; DS-NF and MCMC (the slow ones) on fewer.
QUICK_SIZES: dict[str, tuple[int | None, int | None]] = {
    "DS-F": (6, 2_000), "DS-NF": (2, 1_000), "CDEC": (6, 2_000), "MCMC": (2, 1_000),
}

#: A predictor maps a dataset (fluorescence ``(R, C, T)``, the cells' model) to predictions ``(R, C, T)``.
Predictor = Callable[[SimulatedData], np.ndarray]


class Table1Result(NamedTuple):
    """Scores of the methods on the test cells.

    Attributes:
        cells: One row per cell and method: ``cell`` (index into the test split), ``method``, ``corr``
            (mean over the cell's traces of the per-trace correlation).
        summary: One row per method: ``method``, ``mean``, ``sem`` (over cells), ``n_cells`` (cells with
            a finite score), ``n_steps`` (samples per trace), ``seconds`` (wall-clock of the predictor on
            all scored traces), ``paper``, ``paper_sem`` (Table 1) and ``source`` (what made the
            prediction: checkpoint or settings).
        predictions: Per method, the predictions ``(R, C, T)`` on the scored cells (not cached on disk;
            empty for a result read from the cache).
    """

    cells: pd.DataFrame
    summary: pd.DataFrame
    predictions: dict[str, np.ndarray]


# ---------------------------------------------------------------------------------------------- data


def select_cells(
    data: SimulatedData, n_cells: int | None = None, n_steps: int | None = None, cells: Sequence[int] | None = None
) -> SimulatedData:
    """The first ``n_cells`` cells (or the cells ``cells``) and the first ``n_steps`` samples of every trace.

    The model keeps the per-cell parameters of the selected cells (a copy; ``data`` is not changed).

    Args:
        data: A simulated dataset, traces ``(R, C, T)``, model parameters ``(C,)`` (or shared ``()``).
        n_cells: Number of cells to keep (``None``: all); ignored when ``cells`` is given.
        n_steps: Number of samples to keep per trace (``None``: all).
        cells: Indices of the cells to keep, in this order.

    Returns:
        The dataset restricted to ``(R, C', n_steps)``.

    Raises:
        ValueError: If a size is not positive or larger than the data, or an index is out of range.
    """
    _, n_all, t_all = data.fluorescence.shape
    n_steps = t_all if n_steps is None else n_steps
    index = torch.arange(n_all if n_cells is None else n_cells) if cells is None else torch.as_tensor(cells)
    index = index.reshape(-1).long()
    if not (0 < len(index) and 0 <= int(index.min()) and int(index.max()) < n_all and 0 < n_steps <= t_all):
        raise ValueError(f"need 0 < n_cells <= {n_all}, cell indices in [0, {n_all}) and 0 < n_steps <= {t_all}; "
                         f"got {len(index)} cells, n_steps={n_steps}")
    return data._replace(
        fluorescence=data.fluorescence[:, index, :n_steps],
        spikes=data.spikes[:, index, :n_steps],
        model=_model_cells(data.model, index, n_all),
    )


def _model_cells(model: CalciumModel, cells: torch.Tensor, n_all: int) -> CalciumModel:
    """Copy of ``model`` with its per-cell parameters (leading axis of length ``n_all``) indexed by ``cells``."""
    new = copy.deepcopy(model)
    if model.alpha.dim() == 0:  # shared parameters: nothing is per cell
        return new
    for name, param in list(new.named_parameters(recurse=False)):
        if param.dim() >= 1 and param.shape[0] == n_all:
            new.register_parameter(name, nn.Parameter(param.detach()[cells].clone(), requires_grad=False))
    return new


# ---------------------------------------------------------------------------------------------- scoring


def summarize_cells(cells: pd.DataFrame) -> pd.DataFrame:
    r"""Mean and standard error of the mean over cells of the per-cell scores, per method.

    .. math:: \bar r = \frac1C \sum_c r_c, \qquad \operatorname{sem} = \sqrt{\frac{\sum_c (r_c - \bar r)^2}{C (C - 1)}}

    Cells with a NaN score (undefined correlation) are left out and not counted in ``n_cells``.

    Args:
        cells: Columns ``method`` and ``corr`` (one row per cell and method).

    Returns:
        One row per method (in :data:`METHODS` order, others after): ``method``, ``mean``, ``sem``
        (NaN for fewer than two cells), ``n_cells``, ``paper``, ``paper_sem`` (NaN for methods not in
        :data:`PAPER`).
    """
    rows = []
    names = [m for m in METHODS if m in set(cells["method"])]
    names += [m for m in dict.fromkeys(cells["method"]) if m not in METHODS]
    for name in names:
        r = cells.loc[cells["method"] == name, "corr"].to_numpy(dtype=float)
        r = r[np.isfinite(r)]
        sem = r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else float("nan")
        paper, paper_sem = PAPER.get(name, (float("nan"), float("nan")))
        rows.append({"method": name, "mean": r.mean() if len(r) else float("nan"), "sem": sem,
                     "n_cells": len(r), "paper": paper, "paper_sem": paper_sem})
    return pd.DataFrame(rows, columns=["method", "mean", "sem", "n_cells", "paper", "paper_sem"])


def paired_differences(cells: pd.DataFrame, reference: str) -> pd.DataFrame:
    r"""Per-cell differences of every method's score to a reference method: mean ± s.e.m. over cells.

    The methods are scored on the *same* cells, so the per-cell difference
    :math:`d_c = r_c^{(m)} - r_c^{(\mathrm{ref})}` removes the variation between cells (some cells are easy
    for every method) that dominates the s.e.m. of each column; overlapping error bars in the table do
    not mean that two methods are indistinguishable.

    Args:
        cells: Columns ``cell``, ``method``, ``corr``.
        reference: The method subtracted.

    Returns:
        One row per other method: ``method``, ``mean_diff``, ``sem_diff``, ``n_cells`` (cells scored by
        both), ``frac_better`` (fraction of those cells where the method beats the reference).
    """
    wide = cells.pivot(index="cell", columns="method", values="corr")
    rows = []
    for name in [m for m in wide.columns if m != reference]:
        d = (wide[name] - wide[reference]).to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        rows.append({"method": name, "mean_diff": d.mean() if len(d) else float("nan"),
                     "sem_diff": d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan"),
                     "n_cells": len(d), "frac_better": float((d > 0).mean()) if len(d) else float("nan")})
    order = {m: i for i, m in enumerate(METHODS)}
    out = pd.DataFrame(rows, columns=["method", "mean_diff", "sem_diff", "n_cells", "frac_better"])
    return out.sort_values("method", key=lambda m: m.map(order).fillna(len(order))).reset_index(drop=True)


def score_methods(
    data: SimulatedData,
    predictors: Mapping[str, Predictor],
    sizes: Mapping[str, tuple[int | None, int | None]] | None = None,
    sources: Mapping[str, str] | None = None,
) -> Table1Result:
    """Run every predictor on (a part of) the test cells and score it: the computation behind Table 1.

    For method ``m`` the data are cut to ``sizes[m] = (n_cells, n_steps)`` (:func:`select_cells`), the
    predictor is timed, and each trace is scored by the Pearson correlation between prediction and true
    spikes at the sampling resolution (:func:`spikebook.metrics.binned_correlation`, ``factor=1``); a
    cell's score is the mean over its traces (NaN traces left out), the summary is
    :func:`summarize_cells`.

    Args:
        data: The test split, fluorescence and spikes ``(R, C, T)``.
        predictors: Method name → :data:`Predictor` (see :func:`default_predictors`).
        sizes: Method name → ``(n_cells, n_steps)``, each at most the data's (``None`` or a missing
            method: all cells, all samples).
        sources: Method name → a short description of what made the prediction (shown in the summary).

    Returns:
        A :class:`Table1Result` (per-cell scores, summary, predictions).

    Raises:
        ValueError: If a predictor returns an array of the wrong shape.
    """
    sizes = {} if sizes is None else sizes
    sources = {} if sources is None else sources
    frames, predictions, extra = [], {}, []
    for name, predict in predictors.items():
        n_cells, n_steps = sizes.get(name, (None, None))
        subset = select_cells(data, _at_most(n_cells, data.spikes.shape[1]), _at_most(n_steps, data.spikes.shape[2]))
        start = time.perf_counter()
        pred = np.asarray(predict(subset), dtype=np.float64)
        seconds = time.perf_counter() - start
        if pred.shape != tuple(subset.spikes.shape):
            raise ValueError(f"{name}: predictor returned shape {pred.shape}, expected {tuple(subset.spikes.shape)}")
        r = binned_correlation(pred, subset.spikes.numpy(), factor=1)  # (R, C), NaN where undefined
        with warnings.catch_warnings():  # a cell whose traces are all NaN stays NaN, silently
            warnings.simplefilter("ignore", RuntimeWarning)
            per_cell = np.nanmean(r, axis=0)  # (C,)
        frames.append(pd.DataFrame({"cell": np.arange(r.shape[1]), "method": name, "corr": per_cell}))
        predictions[name] = pred
        extra.append({"method": name, "n_steps": pred.shape[-1], "seconds": seconds, "source": sources.get(name, "")})
    cells = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["cell", "method", "corr"])
    summary = summarize_cells(cells).merge(pd.DataFrame(extra), on="method", how="left")
    return Table1Result(cells, summary[_SUMMARY_COLUMNS], predictions)


def _at_most(size: int | None, available: int) -> int:
    return available if size is None else min(size, available)


_SUMMARY_COLUMNS = ["method", "mean", "sem", "n_cells", "n_steps", "seconds", "paper", "paper_sem", "source"]


# ---------------------------------------------------------------------------------------------- predictors


def _traces(data: SimulatedData) -> torch.Tensor:
    """Fluorescence ``(R, C, T)`` → ``(R * C, T)`` float32 for the networks."""
    f = data.fluorescence
    return f.reshape(-1, f.shape[-1]).float()


def recognition_predictor(
    network: RecognitionModel, n_samples: int = 30, seed: int = 0, batch_traces: int = 30
) -> Predictor:
    """Predictor from a recognition network: its marginals :math:`q(s_t = 1 \\mid f)`.

    Args:
        network: DS-F (exact marginals, ``n_samples`` ignored) or DS-NF (Monte-Carlo marginals).
        n_samples: Sampled trains averaged by :meth:`~spikebook.recognition.RecognitionModel.marginals`
            (30 in the paper for DS-NF).
        seed: Seed of the sampling generator.
        batch_traces: Traces per call (bounds memory: DS-NF keeps ``n_samples * batch_traces * T`` logits).

    Returns:
        A :data:`Predictor` returning marginals ``(R, C, T)``.
    """

    def predict(data: SimulatedData) -> np.ndarray:
        f = _traces(data)  # (R * C, T)
        generator = torch.Generator().manual_seed(seed)
        was_training = network.training
        network.eval()
        with torch.no_grad():
            out = torch.cat([network.marginals(chunk, n_samples, generator) for chunk in f.split(batch_traces)])
        network.train(was_training)
        return out.reshape(data.fluorescence.shape).double().numpy()

    return predict


def cdec_predictor(penalty: int = 1, fudge_factor: float | None = 1.0, fs: float = FS) -> Predictor:
    """Predictor: OASIS constrained deconvolution, AR(1), parameters estimated from each trace.

    Choices (made on the 50 *validation* cells, never on the test cells): ``fudge_factor=1.0`` estimates
    :math:`\\gamma` without OASIS's 2% shrinkage (:func:`ar1_gamma`; correlation 0.868 vs 0.839 with
    OASIS's default); ``penalty=1`` is the convex L1 problem of constrained deconvolution (Pnevmatikakis
    et al. 2016, the paper's CDEC [10]), as good as the greedy L0 refinement there (0.868 vs 0.865) and
    faster. The noise level and baseline are estimated by OASIS per trace.

    Args:
        penalty: 1 (L1) or 0 (L0), see :func:`spikebook.baselines.cdec`.
        fudge_factor: Shrinkage of the estimated :math:`\\gamma`; ``None`` lets OASIS estimate it with its
            own default (0.98).
        fs: Sampling rate in Hz.

    Returns:
        A :data:`Predictor` returning the deconvolved activity ``(R, C, T)`` (amplitudes, not counts).
    """

    def predict(data: SimulatedData) -> np.ndarray:
        f = data.fluorescence.reshape(-1, data.fluorescence.shape[-1]).double().numpy()  # (N, T)
        if fudge_factor is None:
            spikes = cdec(f, fs, p=1, penalty=penalty).spikes
        else:
            tau_d = -1.0 / (fs * np.log(ar1_gamma(f, fudge_factor)))  # seconds
            spikes = np.concatenate([cdec(y, fs, p=1, penalty=penalty, tau_d=float(tau)).spikes
                                     for y, tau in zip(f, tau_d, strict=True)])
        return spikes.reshape(data.fluorescence.shape)

    return predict


def gibbs_predictor(
    prior_rate_hz: float = 0.9,
    n_sweeps: int = 100,
    burn_in: int = 50,
    group_size: int = 10,
    seed: int = 0,
    fs: float = FS,
) -> Predictor:
    """Predictor: posterior marginals of the block Gibbs sampler with the cells' *true* SCF parameters.

    Uses ``data.model`` (the generative model that simulated the cells). Cells are sorted by their decay
    :math:`\\gamma` and sampled in groups of ``group_size``: a group shares one kernel length (that of its
    slowest cell), so grouping similar cells keeps the cost near :math:`O(N T L_c)`.

    Args:
        prior_rate_hz: Rate of the Bernoulli prior in Hz (0.9: the prior of the DeepSpike recipes; the
            test traces fire at 0.6, 0.9 and 1.1 Hz).
        n_sweeps: Sweeps per chain (see the chapter for the convergence check).
        burn_in: Sweeps discarded before averaging.
        group_size: Cells per call of :func:`spikebook.baselines.gibbs_scf`.
        seed: Seed of the sampler (group ``g`` uses ``seed + g``).
        fs: Sampling rate in Hz.

    Returns:
        A :data:`Predictor` returning marginals ``(R, C, T)``.
    """

    def predict(data: SimulatedData) -> np.ndarray:
        model, f = data.model, data.fluorescence.double()
        n_cells = f.shape[1]
        gamma = model.gamma.detach()[..., 0].expand(n_cells)  # (C,): AR(1) coefficient, or the first one
        order = torch.argsort(gamma)
        out = torch.empty_like(f)
        for g, cells in enumerate(order.split(group_size)):
            sub = _model_cells(model, cells, n_cells).double()  # a copy: data.model is left as it is
            result = gibbs_scf(f[:, cells], sub, prior_rate_hz, fs, n_sweeps=n_sweeps, burn_in=burn_in,
                               seed=seed + g)
            out[:, cells] = result.marginals
        return out.numpy()

    return predict


def gibbs_log_joint_gap(
    data: SimulatedData, prior_rate_hz: float = 0.9, n_sweeps: int = 100, seed: int = 0, fs: float = FS
) -> np.ndarray:
    r"""Convergence check of the Gibbs sampler: its log joint per sweep minus that of the true spikes.

    The true spike train of simulated data is an exact draw from the posterior given its trace (when the
    sampler's prior is the one that generated it), so once the chain has converged its
    :math:`\log p(f, s)` fluctuates around :math:`\log p(f, s_\mathrm{true})`: a gap that stays far
    below 0 means the chain has not yet found the posterior's bulk. (With a prior rate different from the
    trace's rate the comparison is approximate.)

    Args:
        data: Cells to check, traces ``(R, C, T)`` and their true model.
        prior_rate_hz: Prior rate of the sampler (Hz).
        n_sweeps: Sweeps to run (burn-in is irrelevant here).
        seed: Seed of the sampler.
        fs: Sampling rate in Hz.

    Returns:
        Gap in nats, ``(R, C, n_sweeps)``.
    """
    model = _model_cells(data.model, torch.arange(data.spikes.shape[1]), data.spikes.shape[1]).double()
    f, spikes = data.fluorescence.double(), data.spikes.double()
    run = gibbs_scf(f, model, prior_rate_hz, fs, n_sweeps=n_sweeps, burn_in=0, seed=seed)
    with torch.no_grad():
        truth = model.log_prob(f, spikes) + BernoulliPrior(prior_rate_hz, fs).log_prob(spikes)  # (R, C)
    return (run.log_joint - truth.unsqueeze(-1)).numpy()


def default_predictors(
    dsf: RecognitionModel | None = None,
    dsnf: RecognitionModel | None = None,
    n_sweeps: int = 100,
    burn_in: int = 50,
    prior_rate_hz: float = 0.9,
) -> dict[str, Predictor]:
    """The four methods of the table with the settings documented in the module docstring.

    Args:
        dsf: The DS-F network (``None``: left out).
        dsnf: The DS-NF network (``None``: left out).
        n_sweeps: Gibbs sweeps per chain.
        burn_in: Gibbs burn-in sweeps.
        prior_rate_hz: Prior rate of the MCMC baseline (Hz).

    Returns:
        Method name → :data:`Predictor`, in :data:`METHODS` order.
    """
    predictors: dict[str, Predictor] = {}
    if dsf is not None:
        predictors["DS-F"] = recognition_predictor(dsf, n_samples=1)
    if dsnf is not None:
        predictors["DS-NF"] = recognition_predictor(dsnf, n_samples=30)
    predictors["CDEC"] = cdec_predictor()
    predictors["MCMC"] = gibbs_predictor(prior_rate_hz, n_sweeps, burn_in)
    return predictors


def default_sources(n_sweeps: int = 100, burn_in: int = 50) -> dict[str, str]:
    """Descriptions of the baselines' settings for the ``source`` column."""
    return {
        "CDEC": "OASIS AR(1), L1, gamma estimated per trace without shrinkage",
        "MCMC": f"block Gibbs, true parameters, prior 0.9 Hz, {n_sweeps} sweeps ({burn_in} burn-in)",
    }


# ---------------------------------------------------------------------------------------------- cache


def load_cached(summary_path: Path = SUMMARY_PATH, cells_path: Path = CELLS_PATH) -> Table1Result | None:
    """The cached full-size result, or ``None`` if it is not on disk."""
    if not (summary_path.exists() and cells_path.exists()):
        return None
    summary = pd.read_csv(summary_path)
    summary["source"] = summary["source"].fillna("").astype(str)  # an empty description reads back as NaN
    return Table1Result(pd.read_csv(cells_path), summary, {})


def _merge(new: Table1Result, old: Table1Result | None) -> Table1Result:
    """Replace the rows of the recomputed methods in the cached result; keep the other methods' rows."""
    if old is None:
        return new
    methods = set(new.summary["method"])
    cells = pd.concat([old.cells[~old.cells["method"].isin(methods)], new.cells], ignore_index=True)
    summary = pd.concat([old.summary[~old.summary["method"].isin(methods)], new.summary], ignore_index=True)
    order = {m: i for i, m in enumerate(METHODS)}
    summary = summary.sort_values("method", key=lambda s: s.map(order).fillna(len(order))).reset_index(drop=True)
    cells = cells.sort_values(["method", "cell"], key=lambda s: s.map(order).fillna(len(order)) if s.name == "method"
                              else s, kind="stable").reset_index(drop=True)
    return Table1Result(cells, summary[_SUMMARY_COLUMNS], new.predictions)


def table1(
    quick: bool,
    predictors: Mapping[str, Predictor],
    sources: Mapping[str, str] | None = None,
    data: SimulatedData | None = None,
    summary_path: Path = SUMMARY_PATH,
    cells_path: Path = CELLS_PATH,
) -> Table1Result:
    """Score the methods: quick (few short traces, nothing written) or full size (written to the cache).

    Full mode scores every given predictor on all 100 test cells at full length and writes
    ``summary_path`` and ``cells_path``; rows of methods *not* given are kept from an existing cache, so
    a method can be added later (e.g. DS-NF once its checkpoint exists). Quick mode runs the same
    :func:`score_methods` on :data:`QUICK_SIZES` and writes nothing; show the cached full table with
    :func:`load_cached`.

    Args:
        quick: Quick mode (see above).
        predictors: Method name → :data:`Predictor` (:func:`default_predictors`).
        sources: Method name → description for the ``source`` column.
        data: The test split; ``None`` simulates it (``paper_datasets("SCF", seed=0)["test"]``).
        summary_path: Where the full summary is written.
        cells_path: Where the full per-cell scores are written.

    Returns:
        The :class:`Table1Result` of this run (full mode: merged with the cached methods).
    """
    data = paper_datasets("SCF", seed=0)["test"] if data is None else data
    if quick:
        return score_methods(data, predictors, QUICK_SIZES, sources)
    result = _merge(score_methods(data, predictors, FULL_SIZES, sources), load_cached(summary_path, cells_path))
    summary_path.parent.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(summary_path, index=False, float_format="%.6g")
    result.cells.to_csv(cells_path, index=False, float_format="%.6g")
    return result


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as the paper prints it: ``mean ± sem`` strings next to Table 1's values.

    Args:
        summary: The ``summary`` of a :class:`Table1Result`.

    Returns:
        Columns ``method``, ``this book``, ``paper``, ``cells``, ``samples/trace``, ``seconds``, ``source``.
    """

    def pm(mean: float, sem: float) -> str:
        return "–" if not np.isfinite(mean) else f"{mean:.3f} ± {sem:.3f}" if np.isfinite(sem) else f"{mean:.3f}"

    return pd.DataFrame({
        "method": summary["method"],
        "this book": [pm(m, e) for m, e in zip(summary["mean"], summary["sem"], strict=True)],
        "paper": [f"{m:.2f} ± {e:.2f}" if np.isfinite(m) else "–"  # Table 1 prints two decimals
                  for m, e in zip(summary["paper"], summary["paper_sem"], strict=True)],
        "cells": summary["n_cells"],
        "samples/trace": summary["n_steps"],
        "seconds": summary["seconds"].round(1),
        "source": summary["source"],
    })


# ---------------------------------------------------------------------------------------------- plots


def plot_summary(summary: pd.DataFrame, title: str = "SCF test cells") -> Figure:
    """Mean ± s.e.m. correlation per method next to the paper's Table 1 values.

    Args:
        summary: The ``summary`` of a :class:`Table1Result`.
        title: Axes title.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(4.5, 3))
    x = np.arange(len(summary))
    ax.errorbar(x - 0.1, summary["mean"], yerr=summary["sem"], fmt="o", capsize=3, label="this book")
    ax.errorbar(x + 0.1, summary["paper"], yerr=summary["paper_sem"], fmt="s", mfc="none", capsize=3,
                color="0.4", label="paper (Table 1)")
    ax.set_xticks(x, summary["method"])
    ax.set(ylabel="correlation (16.6 ms bins)", title=title)
    ax.legend(frameon=False, fontsize="small")
    return fig


def plot_example(
    data: SimulatedData,
    predictions: Mapping[str, np.ndarray],
    cell: int = 0,
    trace: int = 0,
    window_s: tuple[float, float] = (0.0, 15.0),
    fs: float = FS,
) -> Figure:
    """One trace with the true spikes and every method's prediction underneath (each scaled to its maximum).

    Args:
        data: The dataset the predictions were made on, traces ``(R, C, T)``.
        predictions: Method → predictions ``(R, C', T')`` (possibly on fewer cells / shorter traces).
        cell: Cell index (must be scored by every method shown).
        trace: Trace index (firing-rate index).
        window_s: Time window in seconds.
        fs: Sampling rate in Hz.

    Returns:
        The figure.
    """
    start = int(window_s[0] * fs)
    stop = min([int(window_s[1] * fs)] + [p.shape[-1] for p in predictions.values()])
    time_s = np.arange(start, stop) / fs
    spikes = data.spikes[trace, cell, start:stop].numpy()
    fig, axes = plt.subplots(1 + len(predictions), 1, figsize=(8, 1.3 * (1 + len(predictions)) + 0.6),
                             sharex=True, gridspec_kw={"height_ratios": [2] + [1] * len(predictions)})
    axes[0].plot(time_s, data.fluorescence[trace, cell, start:stop].numpy(), lw=0.8, color="0.3")
    axes[0].set(ylabel="fluorescence", title=f"test cell {cell}, {data.config.rates_hz[trace]} Hz trace")
    for ax, (name, pred) in zip(axes[1:], predictions.items(), strict=True):
        p = pred[trace, cell, start:stop]
        ax.vlines(time_s[spikes > 0], 0, 1, color="0.75", lw=1.5)
        ax.plot(time_s, p / max(p.max(), 1e-12), lw=0.9)
        ax.set(ylim=(0, 1.05), yticks=[], ylabel=name)
    axes[-1].set_xlabel("time (s); grey: true spikes")
    fig.tight_layout()
    return fig


def plot_cells(cells: pd.DataFrame, x: str, y: Sequence[str]) -> Figure:
    """Per-cell scores of methods ``y`` against method ``x``, one panel per method in ``y``.

    Args:
        cells: The ``cells`` of a :class:`Table1Result`.
        x: Method on the horizontal axes.
        y: Methods on the vertical axes.

    Returns:
        The figure.
    """
    wide = cells.pivot(index="cell", columns="method", values="corr")
    fig, axes = plt.subplots(1, len(y), figsize=(3 * len(y), 3), squeeze=False, sharex=True, sharey=True)
    lo = float(np.nanmin(wide[[x, *y]].to_numpy())) - 0.02
    for ax, name in zip(axes[0], y, strict=True):
        ax.plot([lo, 1], [lo, 1], color="0.6", lw=0.8, ls=":")
        ax.scatter(wide[x], wide[name], s=10)
        better = float((wide[name] > wide[x]).mean())
        ax.set(xlabel=f"{x} (per cell)", ylabel=name, title=f"{name} better in {better:.0%} of cells")
        ax.set_aspect("equal")
    return fig


# ---------------------------------------------------------------------------------------------- CLI


def _main() -> None:
    from spikebook import pretrained

    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.table1_scf",
                                     description="Compute Table 1, column 1 (full size) and write the cache.")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    nets: dict[str, RecognitionModel | None] = {"DS-F": None, "DS-NF": None}
    sources = default_sources()
    for method, name in (("DS-F", "dsf-scf-60hz"), ("DS-NF", "dsnf-scf-60hz")):
        if method in args.methods:
            nets[method] = pretrained.load(name).recognition  # full checkpoints only
            sources[method] = f"{name} (full checkpoint)"
    predictors = default_predictors(nets["DS-F"], nets["DS-NF"])
    predictors = {m: p for m, p in predictors.items() if m in args.methods}
    result = table1(False, predictors, sources)
    print(result.summary.to_string(index=False))
    print(f"written: {SUMMARY_PATH} and {CELLS_PATH}")


if __name__ == "__main__":
    _main()
