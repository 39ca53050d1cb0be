"""Command line: ``python -m spikebook.experiments.dendrites [--full] [--workers 15]``.

Without ``--full``: the quick run (two small cells; nothing written). With ``--full``: the paper's sizes,
recomputed and written to the results folder (:func:`spikebook.experiments.dendrites.cache.dendrites`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.dendrites.cache import (
    CELLS_FILE,
    EXAMPLE_FILE,
    SPINES_FILE,
    SUMMARY_FILE,
    dendrites,
)
from spikebook.experiments.dendrites.table import format_summary


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` (default: the command line) and run."""
    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.dendrites",
                                     description="Table 1 (dendritic column) and Fig. 4; --full writes the cache.")
    parser.add_argument("--full", action="store_true", help="full size (writes <results>/dendrites*)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="cells fitted at once, one process each (default 1)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="results folder (default: the book's)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = dendrites(quick=not args.full, retrain=True, progress=True, workers=args.workers,
                       results_dir=args.results)
    print(format_summary(result.summary).to_string(index=False))
    print(f"{time.perf_counter() - start:.0f} s")
    if args.full:
        print("written:", ", ".join(str(args.results / name)
                                    for name in (SUMMARY_FILE, CELLS_FILE, SPINES_FILE, EXAMPLE_FILE)))


if __name__ == "__main__":
    main()
