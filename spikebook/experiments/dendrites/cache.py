"""The full dendritic run's cache, and the chapter's entry point.

Three small CSV files and the example arrays of Fig. 4, in the results folder (default: the book's
``book/results``): :data:`SUMMARY_FILE`, :data:`CELLS_FILE`, :data:`SPINES_FILE` and :data:`EXAMPLE_FILE`.

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.dendrites.config import FULL, QUICK
from spikebook.experiments.dendrites.table import DendritesResult, run

__all__ = ["CELLS_FILE", "EXAMPLE_FILE", "SPINES_FILE", "SUMMARY_FILE", "dendrites", "load_cached", "save"]

#: The cached parts of a :class:`~spikebook.experiments.dendrites.table.DendritesResult`, in the results folder.
SUMMARY_FILE = "dendrites.csv"
CELLS_FILE = "dendrites_cells.csv"
SPINES_FILE = "dendrites_spines.csv"
EXAMPLE_FILE = "dendrites_example.npz"


def save(result: DendritesResult, results_dir: Path = RESULTS_DIR) -> None:
    """Write the full-mode result into ``results_dir`` (three small CSV files and the example arrays)."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(results_dir / SUMMARY_FILE, index=False, float_format="%.6g")
    result.cells.to_csv(results_dir / CELLS_FILE, index=False, float_format="%.6g")
    result.spines.to_csv(results_dir / SPINES_FILE, index=False, float_format="%.6g")
    np.savez_compressed(results_dir / EXAMPLE_FILE, **{k: v.astype(np.float32) if v.dtype == np.float64 else v
                                                       for k, v in result.example.items()})


def load_cached(results_dir: Path = RESULTS_DIR) -> DendritesResult | None:
    """The cached full-mode result in ``results_dir``, or ``None`` if a file is missing."""
    paths = [Path(results_dir) / name for name in (SUMMARY_FILE, CELLS_FILE, SPINES_FILE, EXAMPLE_FILE)]
    if not all(p.exists() for p in paths):
        return None
    with np.load(paths[3]) as npz:
        example = {k: npz[k] for k in npz.files}
    return DendritesResult(pd.read_csv(paths[1]), pd.read_csv(paths[0]), pd.read_csv(paths[2]), example)


def dendrites(quick: bool, retrain: bool = False, progress: bool = False, workers: int = 1,
              results_dir: Path = RESULTS_DIR) -> DendritesResult:
    """Quick mode: run ``QUICK`` (nothing written). Full mode: the cache if present, else run and write it.

    Args:
        quick: Quick mode.
        retrain: In full mode, recompute even if the cache exists.
        progress: Print one line per cell.
        workers: Cells fitted at once (see :func:`~spikebook.experiments.dendrites.table.run`).
        results_dir: The results folder of the cache.
    """
    if quick:
        return run(QUICK, progress, workers)
    cached = None if retrain else load_cached(results_dir)
    if cached is not None:
        return cached
    result = run(FULL, progress, workers)
    save(result, results_dir)
    return result
