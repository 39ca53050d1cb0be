r"""The scoring behind Table 1's SCF column: which cells, the per-cell correlation, mean ± s.e.m. over cells.

:func:`score_methods` is a pure function of the data and the predictors, so the chapter, the tests and the
full run score alike; :func:`paired_differences` compares methods on the cells they share.

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from spikebook.data.simulate import SimulatedData
from spikebook.generative import CalciumModel
from spikebook.metrics import binned_correlation

__all__ = ["FS", "METHODS", "PAPER", "SUMMARY_COLUMNS", "Predictor", "Table1Result", "model_cells",
           "paired_differences", "score_methods", "select_cells", "summarize_cells"]

#: The methods of the table, in the paper's order.
METHODS = ("DS-F", "DS-NF", "CDEC", "MCMC")

#: Table 1, column "SCF-Sim.": mean and s.e.m. over cells of the correlation.
PAPER = {"DS-F": (0.88, 0.01), "DS-NF": (0.89, 0.01), "CDEC": (0.86, 0.01), "MCMC": (0.87, 0.01)}

#: Sampling rate of the simulated data (Hz); scores use bins of one sample (16.6 ms).
FS = 60.0

#: The columns of a summary, in this order (:class:`Table1Result`).
SUMMARY_COLUMNS = ["method", "mean", "sem", "n_cells", "n_steps", "seconds", "paper", "paper_sem", "source"]

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
        model=model_cells(data.model, index, n_all),
    )


def model_cells(model: CalciumModel, cells: torch.Tensor, n_all: int) -> CalciumModel:
    """Copy of ``model`` with its per-cell parameters (leading axis of length ``n_all``) indexed by ``cells``.

    A copy, so that a predictor may change its dtype (the Gibbs sampler runs in float64) without touching
    the dataset's model.
    """
    new = copy.deepcopy(model)
    if model.alpha.dim() == 0:  # shared parameters: nothing is per cell
        return new
    for name, param in list(new.named_parameters(recurse=False)):
        if param.dim() >= 1 and param.shape[0] == n_all:
            new.register_parameter(name, nn.Parameter(param.detach()[cells].clone(), requires_grad=False))
    return new


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
        predictors: Method name → :data:`Predictor`
            (:func:`~spikebook.experiments.table1_scf.predictors.default_predictors`).
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
    return Table1Result(cells, summary[SUMMARY_COLUMNS], predictions)


def _at_most(size: int | None, available: int) -> int:
    return available if size is None else min(size, available)
