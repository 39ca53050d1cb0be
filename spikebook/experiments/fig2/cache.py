"""The cached full Fig. 2 run, and the chapter's entry point.

:func:`save_results` writes four small files into the results folder (default: the book's ``book/results``):
``fig2_traces.csv`` (one row per trace), ``fig2_counts.csv`` (the histogram), ``fig2_example.npz`` (the
panel-A window) and ``fig2_meta.json`` (configuration, checkpoints, runtime). :func:`load_or_compute` is
what the chapter calls: it always runs live, and in quick mode shows the full run's cache.

Taught in: book chapter "Correlated posteriors".
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from spikebook import pretrained
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.fig2.evaluation import FULL, QUICK, Fig2Result, evaluate, scdf_test_split

__all__ = ["CHECKPOINTS", "FILES", "Fig2Run", "load_models", "load_or_compute", "load_results", "save_results"]

#: The two recognition models compared, label → pretrained entry (:data:`spikebook.pretrained.RECIPES`).
CHECKPOINTS = {"DS-F": "dsf-scdf-60hz", "DS-NF": "dsnf-scdf-60hz"}
#: The cache files in the results folder, by part of :class:`~spikebook.experiments.fig2.evaluation.Fig2Result`.
FILES = {"traces": "fig2_traces.csv", "counts": "fig2_counts.csv", "example": "fig2_example.npz",
         "meta": "fig2_meta.json"}


def save_results(result: Fig2Result, results_dir: Path = RESULTS_DIR) -> None:
    """Write the four cache files of ``result`` into ``results_dir`` (created if needed)."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    with open(results_dir / FILES["traces"], "w", newline="") as handle:
        writer = csv.writer(handle)
        names = list(result.traces)
        writer.writerow(names)
        for row in zip(*(result.traces[n] for n in names), strict=True):
            writer.writerow([_format(v) for v in row])
    with open(results_dir / FILES["counts"], "w", newline="") as handle:
        writer = csv.writer(handle)
        labels = list(result.counts)
        writer.writerow(["count", *labels])
        for count, row in enumerate(zip(*(result.counts[label] for label in labels), strict=True)):
            writer.writerow([count, *(int(v) for v in row)])
    np.savez_compressed(results_dir / FILES["example"], **result.example)
    (results_dir / FILES["meta"]).write_text(json.dumps(result.meta, indent=1) + "\n")


def _format(value: float) -> str:
    return str(int(value)) if isinstance(value, (np.integer, int)) else f"{float(value):.6g}"


def load_results(results_dir: Path = RESULTS_DIR) -> Fig2Result | None:
    """Read a cached result back (``None`` if any of the four files is missing)."""
    results_dir = Path(results_dir)
    if not all((results_dir / name).exists() for name in FILES.values()):
        return None
    with open(results_dir / FILES["traces"], newline="") as handle:
        table = list(csv.reader(handle))
    traces = {name: np.array([row[i] for row in table[1:]],
                             dtype=np.int64 if name in ("cell", "n_spikes") else np.float64)
              for i, name in enumerate(table[0])}
    with open(results_dir / FILES["counts"], newline="") as handle:
        table = list(csv.reader(handle))
    counts = {label: np.array([int(row[i]) for row in table[1:]], dtype=np.int64)
              for i, label in enumerate(table[0]) if label != "count"}
    with np.load(results_dir / FILES["example"]) as archive:
        example = {name: archive[name] for name in archive.files}
    meta = json.loads((results_dir / FILES["meta"]).read_text())
    return Fig2Result(traces, counts, example, meta)


def load_models(quick: bool, retrain: bool = False) -> dict[str, pretrained.Pretrained]:
    """The two pretrained SCDF networks: the shipped checkpoints, else toy ones trained in seconds (quick).

    Args:
        quick: Without a full checkpoint, train the toy version (:data:`spikebook.recipes.simulated.QUICK`)
            instead of the full recipe.
        retrain: Train even if a checkpoint exists.

    Returns:
        Label → :class:`~spikebook.pretrained.Pretrained`.
    """
    return {label: pretrained.load_or_train(name, quick=quick, retrain=retrain, progress=False)
            for label, name in CHECKPOINTS.items()}


class Fig2Run(NamedTuple):
    """What the chapter shows and what it ran.

    Attributes:
        shown: The result to plot: the cached full run when present (quick mode), else ``live``.
        live: The result computed by this call (quick: :data:`~spikebook.experiments.fig2.evaluation.QUICK`
            sizes; full: :data:`~spikebook.experiments.fig2.evaluation.FULL`).
        from_cache: Whether ``shown`` was read from the cache.
    """

    shown: Fig2Result
    live: Fig2Result
    from_cache: bool


def load_or_compute(quick: bool, results_dir: Path = RESULTS_DIR, retrain: bool = False) -> Fig2Run:
    """The chapter's entry point: run Fig. 2 live, and show the full-mode cache when there is one.

    Quick mode runs :func:`~spikebook.experiments.fig2.evaluation.evaluate` at ``QUICK`` sizes (with the
    full checkpoints if present, else toy ones) and shows the cached full result if ``results_dir`` holds
    one. Full mode runs at ``FULL`` sizes and writes the cache — only when both models are full checkpoints.

    Args:
        quick: Quick (CI) or full mode.
        results_dir: The results folder of the cache.
        retrain: Retrain the networks first (see :func:`load_models`).

    Returns:
        :class:`Fig2Run`.
    """
    models = load_models(quick, retrain)
    config = QUICK if quick else FULL
    meta = {"checkpoints": {label: m.name + ("-quick" if m.quick else "") for label, m in models.items()}}
    live = evaluate({label: m.recognition for label, m in models.items()}, scdf_test_split(config), config, meta)
    if not quick and not any(m.quick for m in models.values()):
        save_results(live, results_dir)
    cached = load_results(results_dir) if quick else None
    return Fig2Run(cached if cached is not None else live, live, cached is not None)
