"""Command line: ``python -m spikebook.experiments.amortization [--full] [--recognition DS-NF] [--workers 15]``.

Without ``--full``: 2 cells, 30 steps each, with a toy amortized network (seconds; nothing written). With
``--full``: 30 cells with the shipped network, written to ``<out>/amortization[_dsnf][_cost].csv``::

    python -m spikebook.experiments.amortization --full --workers 15                     # DS-F
    python -m spikebook.experiments.amortization --full --recognition DS-NF --workers 15  # DS-NF
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from spikebook import pretrained
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.amortization.cache import save_result
from spikebook.experiments.amortization.comparison import run_amortization
from spikebook.experiments.amortization.config import FULL_N_STEPS, AmortizationConfig
from spikebook.experiments.amortization.per_cell import load_test_cells


def main(argv: Sequence[str] | None = None) -> None:
    """Parse ``argv`` (default: the command line) and run."""
    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.amortization",
                                     description="Amortized versus per-cell variational inference (Fig. 2C)")
    parser.add_argument("--full", action="store_true",
                        help="the paper's size (30 cells, full checkpoint) and write the CSV cache")
    parser.add_argument("--recognition", choices=("DS-F", "DS-NF"), default="DS-F")
    parser.add_argument("--n-cells", type=int, default=None, help="test cells (default 30, quick: 2)")
    parser.add_argument("--n-steps", type=int, default=None,
                        help="per-cell VIMCO steps (default: FULL_N_STEPS of the model; quick: 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--workers", type=int, default=1,
                        help="per-cell fits run at once, one process each (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder of the CSV files")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = AmortizationConfig(
        recognition=args.recognition,
        n_cells=args.n_cells or (30 if args.full else 2),
        n_steps=args.n_steps or (FULL_N_STEPS[args.recognition] if args.full else 30),
        eval_every=100 if args.full else 10,
    )
    if args.full:
        network = pretrained.load(config.pretrained_name)  # FileNotFoundError names the training command
    else:
        network = pretrained.load_or_train(config.pretrained_name, quick=True, progress=False)
    result = run_amortization(network.recognition, load_test_cells(config), config, network.history.steps[-1],
                              workers=args.workers)
    for cost in result.costs:
        print(cost)
    print(f"mean correlation: amortized {np.mean(result.column('amortized')):.3f}, "
          f"single cell {np.mean(result.column('single_cell')):.3f}")
    if args.full:
        print("wrote", save_result(result, args.out, stem=config.result_stem))


if __name__ == "__main__":
    main()
