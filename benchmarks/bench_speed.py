"""Speed of amortized inference (Speiser et al. 2017, §3.2): DS-F and DS-NF via ``spikebook.infer`` vs OASIS.

One run on the same simulated SCF traces (10,000 steps at 60 Hz): seconds per trace with one trace per
call and with many traces in one call, for DS-F (exact marginals), DS-NF (30-sample marginals), OASIS
AR(1) and AR(2) with parameters estimated; the ratio of each to OASIS AR(1) measured in this run; the
paper's per-trace numbers (DS-F 0.05 s, OASIS 0.07 s, DS-NF 4.6 s on CPU; 0.001 s and 1.5 s on a GTX
Titan X). GPU rows appear when CUDA is available. The networks are timed on one CPU thread (like OASIS,
which is single-threaded) and on every core (``--threads``; on a machine shared with other jobs, extra
threads can be far slower, so run it on an idle machine). They are untrained default-layout instances: their speed does not depend on the weights. The
code is :func:`spikebook.experiments.speed.speed_table`, shared with the chapter, whose full mode runs this
same configuration and writes ``book/results/speed.csv``.

Usage::

    python benchmarks/bench_speed.py                  # 500 traces (DS-NF: 50, eager and compiled), float32 and bfloat16, ~5 min
    python benchmarks/bench_speed.py --csv book/results/speed.csv   # also write the chapter's table
    python benchmarks/bench_speed.py --traces 20 --nf-traces 4      # a quick look
    python benchmarks/bench_speed.py --precisions float32           # float32 only
    python benchmarks/bench_speed.py --nf-compiled no               # DS-NF without torch.compile only

Taught in: book chapter "Speed: amortized inference is fast".
"""

from __future__ import annotations

import argparse
import math
import os
import platform

import torch

from spikebook.experiments.speed import speed_table, write_csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=500, help="traces of the many-trace rows (default 500)")
    parser.add_argument("--nf-traces", type=int, default=50, help="DS-NF traces in one call (default 50)")
    parser.add_argument("--ar2-traces", type=int, default=20, help="OASIS AR(2) traces (default 20)")
    parser.add_argument("--samples", type=int, default=30, help="DS-NF samples per marginal (default 30)")
    parser.add_argument("--steps", type=int, default=10_000, help="time bins per trace (default 10,000)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=None,
        help="torch thread counts for the networks (default: 1 and every core)",
    )
    parser.add_argument(
        "--precisions", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"],
        help="infer(precision=) values to time the networks with (default: both)",
    )
    parser.add_argument(
        "--nf-compiled", nargs="+", default=["no", "yes"], choices=["no", "yes"],
        help="infer(compiled=) values to time DS-NF with (default: both; compiling takes tens of seconds)",
    )
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args()
    rows = speed_table(
        n_traces=args.traces, n_steps=args.steps, n_samples=args.samples, nf_traces=args.nf_traces,
        ar2_traces=args.ar2_traces, threads=args.threads, precisions=args.precisions,
        nf_compiled=[c == "yes" for c in args.nf_compiled],
    )
    print(
        f"Inference speed, {args.steps:,}-step traces at 60 Hz; torch {torch.__version__}, "
        f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}"
        + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")
    )
    print()
    print("| method | precision | compiled | device | traces per call | s per trace | × OASIS AR(1) | paper s per trace | note |")
    print("|---|---|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        paper = "" if math.isnan(r.paper_seconds) else f"{r.paper_seconds:g}"
        print(
            f"| {r.method} | {r.precision} | {'yes' if r.compiled else ''} | {r.device} | {r.batch} | {r.seconds_per_trace:.4f} | {r.ratio_to_oasis:.2f} "
            f"| {paper} | {r.note} |"
        )
    print()
    print("Paper's ratios to OASIS (CPU, different machines): DS-F 0.05/0.07 = 0.71, DS-NF 4.6/0.07 = 66.")
    if args.csv:
        print(f"written: {write_csv(rows, args.csv)}")


if __name__ == "__main__":
    main()
