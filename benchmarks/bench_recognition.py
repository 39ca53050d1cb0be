"""Inference speed of the recognition models DS-F and DS-NF on CPU, per 10,000-step trace.

Prints a Markdown table. Threads are torch's default unless ``--threads`` is given; times are the best
of ``--repeats`` runs under ``torch.inference_mode`` after a warm-up, with untrained (default-config)
networks, whose speed does not depend on the weights.

DS-NF keeps per-step state for the whole trace (backward-GRU outputs, input projections): peak memory
is ~1.5 GB at batch 100 for 10,000 steps and would be ~7.5 GB at batch 500, too much beside other jobs
on a shared machine. It is therefore measured at ``--nf-batch`` traces (100 by default; pass 500 if the
memory is there), which the output states.

Usage::

    python benchmarks/bench_recognition.py            # full table (~1-2 min on 2 cores)
    python benchmarks/bench_recognition.py --steps 1000 --nf-batch 10   # quick look

Taught in: book chapter "Amortized variational inference".
"""

from __future__ import annotations

import argparse
import platform

import torch

from spikebook.experiments.speed import best_time
from spikebook.recognition import DSF, DSNF


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="time bins per trace (default 10,000)")
    parser.add_argument("--nf-batch", type=int, default=100, help="DS-NF batch size in place of 500")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats (best is reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    T = args.steps
    dsf, dsnf = DSF().eval(), DSNF().eval()
    rows: list[tuple[str, str, int, float]] = []  # (model, call, batch, seconds per call)

    with torch.inference_mode():
        f1 = torch.randn(1, T)
        rows.append(("DS-F", "marginals (exact)", 1, best_time(lambda: dsf.marginals(f1), args.repeats)))
        f500 = torch.randn(500, T)
        rows.append(
            ("DS-F", "marginals, one call", 500, best_time(lambda: dsf.marginals(f500), args.repeats))
        )
        # activations of ~4 traces x 10k steps stay cache-sized, so feeding 4 at a time is faster
        rows.append(
            (
                "DS-F",
                "marginals, 4 traces per call",
                500,
                best_time(lambda: [dsf.marginals(x) for x in f500.split(4)], args.repeats),
            )
        )

        nf_repeats = max(1, args.repeats - 1)
        rows.append(("DS-NF", "sample, n=1", 1, best_time(lambda: dsnf.sample(f1, 1), nf_repeats)))
        rows.append(
            ("DS-NF", "marginals, n_samples=5", 1, best_time(lambda: dsnf.marginals(f1, 5), nf_repeats))
        )
        f_nf = torch.randn(args.nf_batch, T)
        rows.append(("DS-NF", "sample, n=1", args.nf_batch, best_time(lambda: dsnf.sample(f_nf, 1), 1)))

    print(
        f"Recognition-model inference, {T:,}-step traces; torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {platform.processor() or platform.machine()}"
    )
    print()
    print(f"| model | call | batch | s per call | ms per {T:,}-step trace |")
    print("|---|---|---:|---:|---:|")
    for model, call, batch, seconds in rows:
        print(f"| {model} | {call} | {batch} | {seconds:.3f} | {1e3 * seconds / batch:.1f} |")
    if args.nf_batch != 500:
        print()
        print(
            f"DS-NF at batch {args.nf_batch} instead of 500: peak memory grows with batch x steps "
            "(~1.5 GB at 100 x 10,000; ~7.5 GB at 500). Use --nf-batch 500 if the memory is there."
        )


if __name__ == "__main__":
    main()
