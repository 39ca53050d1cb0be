"""A Fig. 2C result as two small CSV files in the results folder (default: the book's ``book/results``).

``<stem>.csv`` holds one :class:`~spikebook.experiments.amortization.comparison.CellScore` per row,
``<stem>_cost.csv`` the two :class:`~spikebook.experiments.amortization.comparison.Cost` rows; the full runs
use the stems ``amortization`` (DS-F) and ``amortization_dsnf`` (DS-NF).

Taught in: book chapter "Amortization".
"""

from __future__ import annotations

import csv
from pathlib import Path

from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.amortization.comparison import AmortizationResult, CellScore, Cost

__all__ = ["load_result", "save_result"]

#: One value of each field's type, per row type: how :func:`load_result` parses the CSV's strings back.
_EXAMPLES = {CellScore: (0, 0.0, 0.0, 0, 0.0), Cost: ("", "", 0, 0, 0.0, 0.0)}
#: The shipped cost files spell the networks without the hyphen; they are read as the paper's names.
_SHIPPED_NAMES = {"DSF": "DS-F", "DSNF": "DS-NF"}


def save_result(result: AmortizationResult, results_dir: str | Path = RESULTS_DIR, stem: str = "amortization") -> Path:
    """Write ``<stem>.csv`` (per-cell scores) and ``<stem>_cost.csv`` (the two arms) into ``results_dir``.

    Returns:
        The path of the scores file.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    for rows, fields, name in ((result.scores, CellScore._fields, f"{stem}.csv"),
                               (result.costs, Cost._fields, f"{stem}_cost.csv")):
        with open(results_dir / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            writer.writerows(rows)
    return results_dir / f"{stem}.csv"


def load_result(results_dir: str | Path = RESULTS_DIR, stem: str = "amortization") -> AmortizationResult | None:
    """Read back what :func:`save_result` wrote; ``None`` if the files are missing."""
    results_dir = Path(results_dir)
    paths = results_dir / f"{stem}.csv", results_dir / f"{stem}_cost.csv"
    if not all(p.exists() for p in paths):
        return None
    tables = []
    for path, kind in zip(paths, (CellScore, Cost), strict=True):
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            types = {name: type(default) for name, default in zip(kind._fields, _EXAMPLES[kind], strict=True)}
            tables.append([kind(**{k: types[k](v) for k, v in row.items()}) for row in reader])
    scores, costs = tables
    costs = [c._replace(recognition=_SHIPPED_NAMES.get(c.recognition, c.recognition)) for c in costs]
    return AmortizationResult(scores, costs)
