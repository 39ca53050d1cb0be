"""Command line: ``python -m spikebook.experiments.table1_scf [--methods DS-F CDEC] [--threads 1]``.

Scores the given methods on all 100 test cells at full length, with the shipped full checkpoints, and writes
the cache (:func:`spikebook.experiments.table1_scf.table.table1`); the cached rows of the other methods are
kept.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from spikebook import pretrained
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.table1_scf.predictors import default_predictors, default_sources
from spikebook.experiments.table1_scf.scoring import METHODS
from spikebook.experiments.table1_scf.table import CELLS_FILE, SUMMARY_FILE, table1
from spikebook.recognition import RecognitionModel


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` (default: the command line) and run."""
    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.table1_scf",
                                     description="Compute Table 1, column 1 (full size) and write the cache.")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="results folder (default: the book's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    nets: dict[str, RecognitionModel | None] = {"DS-F": None, "DS-NF": None}
    sources = default_sources()
    for method, name in (("DS-F", "dsf-scf-60hz"), ("DS-NF", "dsnf-scf-60hz")):
        if method in args.methods:
            nets[method] = pretrained.load(name).recognition  # full checkpoints only
            sources[method] = f"{name} (full checkpoint)"
    predictors = default_predictors(nets["DS-F"], nets["DS-NF"])
    predictors = {m: p for m, p in predictors.items() if m in args.methods}
    result = table1(False, predictors, sources, results_dir=args.results)
    print(result.summary.to_string(index=False))
    print(f"written: {args.results / SUMMARY_FILE} and {args.results / CELLS_FILE}")


if __name__ == "__main__":
    main()
