"""Table 1's dendritic column: both methods on every simulated cell, scored per compartment and summarized.

Every DS-F-DEN fit is seeded by its cell, so cells may be fitted in parallel processes
(:func:`~spikebook.experiments.parallel.map_unordered`) without changing the result.

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from spikebook.baselines import foopsi_rr
from spikebook.data.simulate import simulate_dendritic
from spikebook.experiments.dendrites.config import FULL, DendritesConfig
from spikebook.experiments.dendrites.fitting import fit_cell
from spikebook.experiments.parallel import map_unordered
from spikebook.metrics import binned_correlation

__all__ = ["METHODS", "PAPER", "DendritesResult", "dendritic_summary", "format_summary", "run", "score_cells"]

#: The methods of the column, in the paper's order.
METHODS = ("DS-F-DEN", "Foopsi-RR")

#: Table 1, "Dendritic dataset": (method, compartment) → mean and s.e.m. over cells of the correlation.
PAPER = {
    ("DS-F-DEN", "soma"): (0.84, 0.01),
    ("DS-F-DEN", "spines"): (0.78, 0.01),
    ("Foopsi-RR", "soma"): (0.66, 0.02),
    ("Foopsi-RR", "spines"): (0.60, 0.01),
}


class DendritesResult(NamedTuple):
    """What :func:`run` returns (and :func:`~spikebook.experiments.dendrites.cache.load_cached` reads back).

    Attributes:
        cells: One row per cell and method: ``cell``, ``method``, ``soma`` (correlation), ``spines``
            (mean correlation over the cell's spines), ``seconds`` (fit or deconvolution time of the cell).
        summary: One row per method and compartment: ``method``, ``compartment`` (``soma``/``spines``),
            ``mean``, ``sem``, ``n_cells``, ``paper``, ``paper_sem``.
        spines: One row per spine: ``cell``, ``spine``, ``bap_true``, ``bap_learned`` (DS-F-DEN's
            generative model), ``rr_slope`` (Foopsi-RR's regression slope), ``corr_dsfden``, ``corr_rr``.
        example: Arrays of Fig. 4 for one cell and window: ``fluorescence``, ``events``, ``DS-F-DEN``,
            ``Foopsi-RR`` (each ``(1+S, W)``), ``time_s`` ``(W,)``, ``cell`` ``()``.
    """

    cells: pd.DataFrame
    summary: pd.DataFrame
    spines: pd.DataFrame
    example: dict[str, np.ndarray]


def score_cells(predictions: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation per compartment at the sampling resolution.

    Args:
        predictions: ``(C, 1+S, T)``.
        events: True events, ``(C, 1+S, T)``.

    Returns:
        Soma correlation ``(C,)`` and spine correlations ``(C, S)`` (NaN where undefined).
    """
    r = binned_correlation(predictions, events, factor=1)  # (C, 1+S)
    return r[:, 0], r[:, 1:]


def dendritic_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean ± s.e.m. over cells per method and compartment, next to the paper's values."""
    rows = []
    for method in [m for m in METHODS if m in set(cells["method"])]:
        for part in ("soma", "spines"):
            r = cells.loc[cells["method"] == method, part].to_numpy(dtype=float)
            r = r[np.isfinite(r)]
            sem = r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else float("nan")
            paper, paper_sem = PAPER[(method, part)]
            rows.append({"method": method, "compartment": part, "mean": r.mean() if len(r) else float("nan"),
                         "sem": sem, "n_cells": len(r), "paper": paper, "paper_sem": paper_sem})
    return pd.DataFrame(rows)


class _CellFit(NamedTuple):
    prediction: np.ndarray  # (1+S, T) marginals
    seconds: float
    bap: np.ndarray  # (S,) learned bAP amplitudes
    best_step: int
    best_bound: float


def _fit_and_predict(f: torch.Tensor, config: DendritesConfig, seed: int) -> _CellFit:
    """:func:`~spikebook.experiments.dendrites.fitting.fit_cell` on one cell, then its marginals (one job of :func:`run`)."""
    start = time.perf_counter()
    recognition, generative, fit = fit_cell(f, config, seed)
    device = next(recognition.parameters()).device  # CUDA when training found it
    with torch.no_grad():
        prediction = recognition.eval().marginals(f[None].float().to(device))[0].double().cpu().numpy()
    return _CellFit(prediction, time.perf_counter() - start, generative.bap.detach()[0].cpu().numpy(), fit.best_step,
                    fit.best_bound)


def run(config: DendritesConfig = FULL, progress: bool = True, workers: int = 1) -> DendritesResult:
    """Simulate the data, run both methods on every cell and score them (the computation of the chapter).

    Args:
        config: Settings (:data:`~spikebook.experiments.dendrites.config.FULL` or ``QUICK``).
        progress: Print one line per cell (in the order the fits finish).
        workers: Cells fitted at once, one process each (:func:`~spikebook.experiments.parallel.map_unordered`;
            every fit is seeded by its cell, so the result does not depend on it; ``seconds`` does).

    Returns:
        :class:`DendritesResult`.
    """
    data = simulate_dendritic(config.data, seed=config.seed)
    events = data.events.numpy()
    n_cells, n_comp, n_steps = data.fluorescence.shape
    jobs = [(data.fluorescence[c], config, config.seed + c) for c in range(n_cells)]
    cell_fits = map_unordered(_fit_and_predict, jobs, workers)  # lazy; checks workers now

    start = time.perf_counter()
    rr = foopsi_rr(data.fluorescence, config.data.fs)
    rr_pred = np.concatenate([rr.soma[:, None], rr.spines], 1)  # (C, 1+S, T)
    rr_seconds = (time.perf_counter() - start) / n_cells

    fits: dict[int, _CellFit] = {}
    for c, fit in cell_fits:
        fits[c] = fit
        if progress:
            soma, spines = score_cells(fit.prediction[None], events[c : c + 1])
            print(f"cell {c}: {fit.seconds:.0f} s, best step {fit.best_step} (bound {fit.best_bound:.2f} nats/bin), "
                  f"soma {soma[0]:.3f}, spines {np.nanmean(spines):.3f}", flush=True)
    den_pred = np.stack([fits[c].prediction for c in range(n_cells)])  # (C, 1+S, T)
    seconds = [fits[c].seconds for c in range(n_cells)]
    baps = [fits[c].bap for c in range(n_cells)]

    frames, per_spine = [], {}
    for method, pred, secs in (("DS-F-DEN", den_pred, seconds), ("Foopsi-RR", rr_pred, [rr_seconds] * n_cells)):
        soma, spines = score_cells(pred, events)
        per_spine[method] = spines
        frames.append(pd.DataFrame({"cell": np.arange(n_cells), "method": method, "soma": soma,
                                    "spines": np.nanmean(spines, axis=1), "seconds": secs}))
    cells = pd.concat(frames, ignore_index=True)
    n_spines = n_comp - 1
    spines = pd.DataFrame({
        "cell": np.repeat(np.arange(n_cells), n_spines),
        "spine": np.tile(np.arange(n_spines), n_cells),
        "bap_true": data.model.bap.numpy().reshape(-1),
        "bap_learned": np.stack(baps).reshape(-1),
        "rr_slope": rr.slope.reshape(-1),
        "corr_dsfden": per_spine["DS-F-DEN"].reshape(-1),
        "corr_rr": per_spine["Foopsi-RR"].reshape(-1),
    })
    c = config.example_cell
    window = slice(int(config.example_s[0] * config.data.fs), min(int(config.example_s[1] * config.data.fs), n_steps))
    example = {
        "fluorescence": data.fluorescence[c, :, window].numpy(),
        "events": events[c, :, window],
        "DS-F-DEN": den_pred[c, :, window],
        "Foopsi-RR": rr_pred[c, :, window],
        "time_s": np.arange(n_steps)[window] / config.data.fs,
        "cell": np.array(c),
    }
    return DendritesResult(cells, dendritic_summary(cells), spines, example)


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1's dendritic column: ``mean ± sem`` of this book next to the paper's."""
    out = summary.pivot(index="method", columns="compartment", values="mean").loc[
        [m for m in METHODS if m in set(summary["method"])]]
    table = pd.DataFrame(index=out.index)
    for part in ("soma", "spines"):
        rows = summary[summary["compartment"] == part].set_index("method")
        table[f"{part} (this book)"] = [f"{rows.loc[m, 'mean']:.3f} ± {rows.loc[m, 'sem']:.3f}" for m in out.index]
        table[f"{part} (paper)"] = [f"{rows.loc[m, 'paper']:.2f} ± {rows.loc[m, 'paper_sem']:.2f}" for m in out.index]
    table["cells"] = [int(summary.loc[summary["method"] == m, "n_cells"].iloc[0]) for m in out.index]
    return table.reset_index()
