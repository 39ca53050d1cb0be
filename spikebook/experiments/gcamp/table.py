"""Table 1, columns GCaMP6s and GCaMP6f (Speiser et al. 2017, §3.3): every row, its cache and its summary.

:func:`run` trains (or loads) the fold runs of some networks and scores them and CDEC per neuron;
:func:`table1` gathers every row the chapter shows; :func:`table1_summary` gives mean ± s.e.m. over neurons
beside the paper's values. The full-mode rows are cached in ``<results>/table1_gcamp_cells.csv``.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from spikebook.data.groundtruth import load_neurons
from spikebook.data.splits import neuron_folds
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.gcamp.crossval import N_FOLDS, FoldRun, check_seeds, method_name, train_or_load
from spikebook.experiments.gcamp.scoring import cdec_predictions, network_predictions
from spikebook.generative.indicators import Indicator
from spikebook.recipes.gcamp import BASELINES, NETWORKS, QUICK, Baseline, Network, Stage, score_neuron

__all__ = ["CELLS_FILE", "LABEL_SELECTED_RUNS", "PAPER_TABLE1", "GcampResult", "cells_path", "load_cached", "run",
           "save_cells", "table1", "table1_summary"]

#: Table 1 of the paper, columns GCaMP6s and GCaMP6f (mean correlation in 40 ms bins). CDEC, MCMC and MLspike
#: are the paper's own numbers for those methods (ours for CDEC are computed here too).
PAPER_TABLE1 = {
    "GCaMP6s": {"DS-F": 0.74, "DS-NF": 0.72, "CDEC": 0.39, "MCMC": 0.47, "MLspike": 0.60},
    "GCaMP6f": {"DS-F": 0.74, "DS-NF": 0.73, "CDEC": 0.58, "MCMC": 0.53, "MLspike": 0.67},
}
#: The runs of :func:`table1` trained with label selection (the paper's early stopping), as (network,
#: baseline), on both indicators: every run but DS-NF with a constant baseline (reproduction notes).
LABEL_SELECTED_RUNS: frozenset[tuple[Network, Baseline]] = frozenset(
    {("DS-F", "constant"), ("DS-F", "drifting"), ("DS-NF", "drifting")})
#: The cached rows, in the results folder.
CELLS_FILE = "table1_gcamp_cells.csv"
COLUMNS = ["indicator", "neuron", "method", "fold", "correlation", "n_spikes", "inferred_spikes"]


class GcampResult(NamedTuple):
    """Per-neuron scores and their summary.

    Attributes:
        cells: One row per (indicator, neuron, method): ``correlation``, ``fold``, ``n_spikes``,
            ``inferred_spikes`` (sum of the predicted marginals; NaN for CDEC, whose output is not a count).
        summary: One row per (indicator, method): ``mean``, ``sem``, ``n_cells``, ``paper``, ``source``.
    """

    cells: pd.DataFrame
    summary: pd.DataFrame


def cells_path(results_dir: Path = RESULTS_DIR) -> Path:
    """Where the full-mode rows are cached."""
    return Path(results_dir) / CELLS_FILE


def run(
    indicators: Sequence[Indicator] = ("GCaMP6s", "GCaMP6f"),
    networks: Sequence[Network] = NETWORKS,
    *,
    quick: bool = False,
    retrain: bool = False,
    root: str | Path | None = None,
    progress: bool = True,
    seeds: Sequence[int] = (0,),
    baseline: Baseline = "constant",
    label_selection: bool = False,
    results_dir: Path = RESULTS_DIR,
) -> GcampResult:
    """Cross-validated scores of the networks (trained or loaded per fold) and of CDEC, per neuron.

    Args:
        indicators: Which columns of Table 1.
        networks: Which recognition networks.
        quick: Toy training (a few steps on a few segments of the first :data:`~spikebook.recipes.gcamp.QUICK`
            neurons) for CI.
        retrain: Train even when a fold run is saved.
        root: Data folder (``None``: ``SPIKEBOOK_DATA``).
        progress: Progress bars.
        seeds: Training seeds (:class:`~spikebook.experiments.gcamp.crossval.FoldRun`); several are scored as
            one ensemble (:func:`~spikebook.experiments.gcamp.scoring.network_predictions`).
        baseline: The runs' generative models, ``"constant"`` or ``"drifting"``.
        label_selection: Also score the states kept by the paper's early stopping (rows ending in
            ``", paper's early stopping"``); runs saved without them are trained again.
        results_dir: Where the fold runs are saved.

    Returns:
        Rows named by :func:`~spikebook.experiments.gcamp.crossval.method_name`.
    """
    seeds = check_seeds(seeds)
    stages: tuple[Stage, ...] = ("slept", "vimco", "label_selected") if label_selection else ("slept", "vimco")
    rows = []
    for indicator in indicators:
        neurons = load_neurons(indicator, root)
        if quick:
            neurons = neurons[: QUICK.neurons]
        folds = neuron_folds(len(neurons), N_FOLDS)
        for network in networks:
            for fold in range(N_FOLDS):
                for seed in seeds:
                    train_or_load(FoldRun(indicator, network, fold, seed, baseline, label_selection, quick), neurons,
                                  retrain, progress, results_dir)
            for stage in stages:
                predictions = network_predictions(neurons, network, baseline=baseline, stage=stage, seeds=seeds,
                                                  quick=quick, results_dir=results_dir)
                for neuron, k, pred in zip(neurons, folds, predictions, strict=True):
                    rows.append((indicator, neuron.name, method_name(network, baseline, seeds, stage), int(k),
                                 score_neuron(pred, neuron), float(sum(s.sum() for s in neuron.spikes)),
                                 float(sum(p.sum() for p in pred))))
        for neuron, k in zip(neurons, folds, strict=True):
            rows.append((indicator, neuron.name, "CDEC", int(k), score_neuron(cdec_predictions(neuron), neuron),
                         float(sum(s.sum() for s in neuron.spikes)), math.nan))
    cells = pd.DataFrame(rows, columns=COLUMNS)
    return GcampResult(cells, table1_summary(cells))


def table1(retrain: bool = False, root: str | Path | None = None, progress: bool = True,
           results_dir: Path = RESULTS_DIR) -> GcampResult:
    """Every row of the chapter's Table 1 (the cache of :func:`cells_path`), each from :func:`run`: DS-F and DS-NF
    with a constant and with a drifting baseline, the runs of :data:`LABEL_SELECTED_RUNS` also with the paper's
    early stopping, and CDEC (once per neuron)."""
    parts = [run(networks=(network,), retrain=retrain, root=root, progress=progress, baseline=baseline,
                 label_selection=(network, baseline) in LABEL_SELECTED_RUNS, results_dir=results_dir)
             for baseline in BASELINES for network in NETWORKS]
    cells = pd.concat([part.cells for part in parts]).drop_duplicates(["indicator", "neuron", "method"])
    return GcampResult(cells.reset_index(drop=True), table1_summary(cells))


def table1_summary(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean ± s.e.m. over neurons per (indicator, method), the paper's value beside it; the methods only quoted
    from the paper (MCMC, MLspike) added as rows without a mean."""
    rows = []
    for (indicator, method), group in cells.groupby(["indicator", "method"], sort=False):
        r = group["correlation"].to_numpy()
        rows.append((indicator, method, r.mean(), r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else math.nan,
                     len(r), PAPER_TABLE1[indicator].get(method, math.nan), "ours"))
    for indicator in cells["indicator"].unique():
        for method in ("MCMC", "MLspike"):
            rows.append((indicator, method, math.nan, math.nan, 0, PAPER_TABLE1[indicator][method],
                         "quoted from the paper"))
    return pd.DataFrame(rows, columns=["indicator", "method", "mean", "sem", "n_cells", "paper", "source"])


def load_cached(results_dir: Path = RESULTS_DIR) -> GcampResult | None:
    """The cached full-mode result, or ``None``."""
    path = cells_path(results_dir)
    if not path.exists():
        return None
    cells = pd.read_csv(path)
    return GcampResult(cells, table1_summary(cells))


def save_cells(cells: pd.DataFrame, results_dir: Path = RESULTS_DIR) -> Path:
    """Cache ``cells``, keeping the cached rows of the (indicator, neuron, method) it does not hold."""
    old = load_cached(results_dir)
    if old is not None:
        index = ["indicator", "neuron", "method"]
        keep = ~old.cells.set_index(index).index.isin(cells.set_index(index).index)
        cells = pd.concat([old.cells[keep], cells], ignore_index=True)
    path = cells_path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    cells.to_csv(path, index=False)
    return path
