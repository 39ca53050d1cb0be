"""Command line: ``python -m spikebook.experiments.gcamp [--networks DS-F] [--seeds 0 1 2] ...``.

Trains (or loads) the fold runs, prints the summary and, for a full-mode run of seed 0, updates the cached
rows (:func:`spikebook.experiments.gcamp.table.save_cells`). Other seeds train into their own files, for the
seed spread and for an ensemble (the mean of several seeds' marginals, not the paper's method)::

    python -m spikebook.experiments.gcamp --networks DS-F --seeds 3              # one more draw
    python -m spikebook.experiments.gcamp --networks DS-F --seeds 0 1 2 3 4 5    # their ensemble
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.gcamp.table import run, save_cells
from spikebook.recipes.gcamp import BASELINES


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` (default: the command line) and run."""
    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.gcamp",
                                     description="Table 1 on the GCaMP6 recordings: cross-validated DS-F, DS-NF, CDEC")
    parser.add_argument("--quick", action="store_true", help="toy sizes (seconds; never cached)")
    parser.add_argument("--retrain", action="store_true", help="train even where a fold run is saved")
    parser.add_argument("--networks", nargs="+", default=["DS-F", "DS-NF"])
    parser.add_argument("--indicators", nargs="+", default=["GCaMP6s", "GCaMP6f"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0],
                        help="training seeds; several are scored as one ensemble (default: 0, the shipped run); "
                             "only seed 0 updates the cached table")
    parser.add_argument("--baseline", choices=BASELINES, default="constant",
                        help="the generative models' baseline (drifting: rows 'DS-F, drifting baseline', ...)")
    parser.add_argument("--label-selection", action="store_true",
                        help="also keep and score the state chosen by the paper's early stopping (the training "
                             "neurons' correlation); runs saved without it are trained again")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="results folder (default: the book's)")
    args = parser.parse_args(argv)
    result = run(tuple(args.indicators), tuple(args.networks), quick=args.quick, retrain=args.retrain,
                 seeds=tuple(args.seeds), baseline=args.baseline, label_selection=args.label_selection,
                 results_dir=args.results)
    print(result.summary.to_string())
    if not args.quick and args.seeds == [0]:
        save_cells(result.cells, args.results)


if __name__ == "__main__":
    main()
