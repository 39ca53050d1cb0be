"""Table 1's SCF column: a quick or a full run, the cache of the full one, and the table as the paper prints it.

The full run's summary and per-cell scores are cached in ``<results>/table1_scf.csv`` and
``<results>/table1_scf_cells.csv`` (default results folder: the book's ``book/results``).

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from spikebook.data.simulate import SimulatedData, paper_datasets
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.table1_scf.scoring import (
    METHODS,
    SUMMARY_COLUMNS,
    Predictor,
    Table1Result,
    score_methods,
)

__all__ = ["CELLS_FILE", "FULL_SIZES", "QUICK_SIZES", "SUMMARY_FILE", "format_summary", "load_cached", "table1"]

#: The cached full-size summary (one row per method) and per-cell scores, in the results folder.
SUMMARY_FILE = "table1_scf.csv"
CELLS_FILE = "table1_scf_cells.csv"

#: Cells and samples per trace scored per method: ``(n_cells, n_steps)``, ``None`` = all.
FULL_SIZES: dict[str, tuple[int | None, int | None]] = {name: (None, None) for name in METHODS}
#: Quick mode: the first few test cells, shortened traces; DS-NF and MCMC (the slow ones) on fewer.
QUICK_SIZES: dict[str, tuple[int | None, int | None]] = {
    "DS-F": (6, 2_000), "DS-NF": (2, 1_000), "CDEC": (6, 2_000), "MCMC": (2, 1_000),
}


def load_cached(results_dir: Path = RESULTS_DIR) -> Table1Result | None:
    """The cached full-size result in ``results_dir``, or ``None`` if it is not on disk."""
    summary_path, cells_path = Path(results_dir) / SUMMARY_FILE, Path(results_dir) / CELLS_FILE
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
    return Table1Result(cells, summary[SUMMARY_COLUMNS], new.predictions)


def table1(
    quick: bool,
    predictors: Mapping[str, Predictor],
    sources: Mapping[str, str] | None = None,
    data: SimulatedData | None = None,
    results_dir: Path = RESULTS_DIR,
) -> Table1Result:
    """Score the methods: quick (few short traces, nothing written) or full size (written to the cache).

    Full mode scores every given predictor on all 100 test cells at full length and writes
    :data:`SUMMARY_FILE` and :data:`CELLS_FILE` into ``results_dir``; rows of methods *not* given are kept
    from an existing cache, so a method can be added later (e.g. DS-NF once its checkpoint exists). Quick mode
    runs the same :func:`~spikebook.experiments.table1_scf.scoring.score_methods` on :data:`QUICK_SIZES` and
    writes nothing; show the cached full table with :func:`load_cached`.

    Args:
        quick: Quick mode (see above).
        predictors: Method name → :data:`~spikebook.experiments.table1_scf.scoring.Predictor`
            (:func:`~spikebook.experiments.table1_scf.predictors.default_predictors`).
        sources: Method name → description for the ``source`` column.
        data: The test split; ``None`` simulates it (``paper_datasets("SCF", seed=0)["test"]``).
        results_dir: Where the full result is written.

    Returns:
        The :class:`~spikebook.experiments.table1_scf.scoring.Table1Result` of this run (full mode: merged
        with the cached methods).
    """
    data = paper_datasets("SCF", seed=0)["test"] if data is None else data
    if quick:
        return score_methods(data, predictors, QUICK_SIZES, sources)
    result = _merge(score_methods(data, predictors, FULL_SIZES, sources), load_cached(results_dir))
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(results_dir / SUMMARY_FILE, index=False, float_format="%.6g")
    result.cells.to_csv(results_dir / CELLS_FILE, index=False, float_format="%.6g")
    return result


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as the paper prints it: ``mean ± sem`` strings next to Table 1's values.

    Args:
        summary: The ``summary`` of a :class:`~spikebook.experiments.table1_scf.scoring.Table1Result`.

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

