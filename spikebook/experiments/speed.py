"""Inference speed (Speiser et al. 2017, §3.2): DS-F and DS-NF through :func:`spikebook.infer` vs OASIS.

The paper's CPU timings for one 10,000-step trace at 60 Hz: DS-F 0.05 s, DS-NF 4.6 s (Intel Xeon
E5-2697 v3), and OASIS 0.07 s as reported by its authors (Intel Core i5, 2.7 GHz); on a GTX Titan X
DS-F 0.001 s and DS-NF 1.5 s. Hardware differs, so what carries over is the *ratio* to OASIS measured on
one machine in one run: 0.05 / 0.07 ≈ 0.7 for DS-F and 4.6 / 0.07 ≈ 66 for DS-NF.

:func:`speed_table` times, on the same simulated SCF traces, per trace:

* DS-F and DS-NF (``n_samples``-sample marginals) through :func:`spikebook.infer`, one trace per call
  and many traces in one call, on the CPU and, when present, on CUDA;
* OASIS with all parameters estimated from each trace, one trace at a time: ``deconvolve(y)``
  (AR(1), OASIS's defaults) and ``deconvolve(y, tau_r=None)`` (AR(2)).

Networks are untrained default-layout instances unless given: their speed does not depend on the weights.
Times are the best of ``repeats`` wall-clock runs after a warm-up call (oneDNN builds its kernels on the
first call of a shape). The benchmark ``benchmarks/bench_speed.py`` and the chapter share this code.

Taught in: book chapter "Speed: amortized inference is fast".
"""

from __future__ import annotations

import csv
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from spikebook.data.simulate import SimulationConfig, simulate
from spikebook.inference import infer
from spikebook.recognition import DSF, DSNF, RecognitionModel
from spikebook.recognition.tiled import PRECISIONS, Precision

__all__ = [
    "PAPER_CPU_S",
    "PAPER_GPU_S",
    "SpeedRow",
    "best_time",
    "cnn_flops",
    "matmul_gflops",
    "plot_speed",
    "read_csv",
    "speed_table",
    "speed_traces",
    "write_csv",
]

#: Seconds per 10,000-step trace reported in §3.2 (CPU; OASIS on a different CPU, from its paper).
PAPER_CPU_S = {"DS-F": 0.05, "DS-NF": 4.6, "OASIS AR(1)": 0.07}
#: Seconds per trace on a GTX Titan X reported in §3.2.
PAPER_GPU_S = {"DS-F": 0.001, "DS-NF": 1.5}


class SpeedRow(NamedTuple):
    """One line of the speed table.

    Attributes:
        method: ``"DS-F"``, ``"DS-NF"``, ``"OASIS AR(1)"`` or ``"OASIS AR(2)"``.
        precision: ``"float32"`` or ``"bfloat16"`` (``infer(..., precision=)``; OASIS: float64).
        device: Where it ran, e.g. ``"cpu, 2 threads"`` or ``"cuda"`` (OASIS: always one CPU thread).
        batch: Traces per call: 1, or all the traces timed in one call (OASIS: always 1).
        seconds_per_trace: Wall-clock seconds per 10,000-step trace (a call's time divided by ``batch``).
        ratio_to_oasis: ``seconds_per_trace`` over OASIS AR(1)'s, measured in the same run (project
            targets: DS-F ≤ 0.7, DS-NF ≤ 20; the paper's CPU ratios: 0.05 / 0.07 ≈ 0.7 and 4.6 / 0.07 ≈ 66).
        paper_seconds: The paper's per-trace time for this method and kind of device (NaN if none).
        note: What else to know (samples, fewer traces than asked, ...).
        compiled: ``infer(..., compiled=)`` of a DS-NF row (its loops through :func:`torch.compile`);
            ``False`` for the others.
    """

    method: str
    precision: str
    device: str
    batch: int
    seconds_per_trace: float
    ratio_to_oasis: float
    paper_seconds: float
    note: str
    compiled: bool = False


def speed_traces(n_traces: int, n_steps: int = 10_000, seed: int = 0) -> np.ndarray:
    """Simulated SCF traces at 60 Hz with the paper's parameter ranges and firing rates.

    Cells are drawn by :func:`spikebook.data.simulate.simulate`, each with one trace per rate
    (0.6, 0.9, 1.1 Hz); rows are cell-major and cut to ``n_traces``.

    Args:
        n_traces: Number of traces.
        n_steps: Samples per trace (10,000 in §3.2).
        seed: Simulation seed.

    Returns:
        Fluorescence, shape ``(n_traces, n_steps)``, float32.
    """
    config = SimulationConfig(model="SCF", n_cells=math.ceil(n_traces / 3), n_steps=n_steps)
    f = simulate(config, seed=seed).fluorescence  # (R, C, T)
    return f.transpose(0, 1).reshape(-1, n_steps)[:n_traces].numpy().astype(np.float32)


def best_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    """Best wall-clock seconds of ``repeats`` calls of ``fn``, after one untimed call if ``warmup``."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def cnn_flops(model: DSF, n_steps: int = 10_000) -> float:
    """Floating-point operations of one DS-F pass over a trace: :math:`\\sum_l 2 C^{in}_l C^{out}_l k_l T`.

    Counts the multiply-adds of the convolutions only (activations and biases are ~0.1% more). The
    paper's layout costs ~0.8 GFLOP per 10,000-step trace.

    Args:
        model: A DS-F network.
        n_steps: Trace length T in bins.

    Returns:
        FLOPs per trace.
    """
    return float(
        sum(2 * conv.in_channels * conv.out_channels * conv.kernel_size[-1] * n_steps for conv in model.cnn.convs)
    )


@contextmanager
def _torch_threads(n: int | None = None) -> Iterator[None]:
    """Run the block with ``n`` torch CPU threads (``None``: as set), restoring torch's setting afterwards."""
    before = torch.get_num_threads()
    try:
        if n is not None:
            torch.set_num_threads(n)
        yield
    finally:
        torch.set_num_threads(before)


def matmul_gflops(
    size: int = 1_024, repeats: int = 5, dtype: torch.dtype = torch.float32, threads: int | None = None
) -> float:
    """Attainable matrix-multiply throughput of this machine in ``dtype`` (GFLOP/s).

    A ceiling for any convolutional network on the CPU: DS-F cannot take less than
    ``cnn_flops(model) / matmul_gflops()`` nanoseconds per trace (in bfloat16:
    ``matmul_gflops(dtype=torch.bfloat16)``, faster than float32 only on a CPU with bfloat16 instructions).

    Args:
        size: Side of the square matrices.
        repeats: Timed products (the best is kept).
        dtype: Element type.
        threads: Torch CPU threads to measure with (``None``: torch's current setting, which is restored).
    """
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    with _torch_threads(threads):
        return 2 * size**3 / best_time(lambda: a @ b, repeats) / 1e9


def _oasis(traces: np.ndarray, p: int) -> None:
    from oasis.functions import deconvolve  # imported here: only this timing needs it

    for y in traces.astype(np.float64):
        # OASIS's defaults with every parameter estimated from the trace: ``deconvolve(y)`` is AR(1),
        # ``tau_r=None`` asks for an AR(2) (rise and decay).
        if p == 1:
            deconvolve(y)
        else:
            deconvolve(y, tau_r=None)


def speed_table(
    n_traces: int = 500,
    n_steps: int = 10_000,
    n_samples: int = 30,
    nf_traces: int = 50,
    ar2_traces: int = 20,
    n_single: int = 10,
    repeats: int = 3,
    threads: Sequence[int] | None = None,
    devices: Sequence[str] | None = None,
    dsf: RecognitionModel | None = None,
    dsnf: RecognitionModel | None = None,
    seed: int = 0,
    precisions: Sequence[Precision] = PRECISIONS,
    nf_compiled: Sequence[bool] = (False, True),
) -> list[SpeedRow]:
    """Time DS-F, DS-NF (via :func:`spikebook.infer`) and OASIS on the same traces; see the module doc.

    The networks are timed with one trace per call (``batch = 1``) and with many traces in one call:
    ``n_traces`` for DS-F, ``nf_traces`` for DS-NF (fewer, as DS-NF is slow; its per-trace time is flat
    once the batch fills the machine, and the row's note says when fewer than ``n_traces`` were used).
    OASIS has no batching: it is timed one trace per call, averaged over ``n_traces`` traces (AR(1), the
    better of a pass before and a pass after the networks) or ``ar2_traces`` (AR(2), slower). Every ratio
    is to that OASIS AR(1) time (its cost varies from trace to trace, so the average over many traces is
    the fair reference).

    Args:
        n_traces: Traces of the many-trace DS-F row and of the OASIS AR(1) average (500 in §3.2).
        n_steps: Samples per trace at 60 Hz (10,000 in §3.2).
        n_samples: Sampled trains per DS-NF marginal (30 by default in :func:`spikebook.infer`).
        nf_traces: Traces of the many-trace DS-NF row.
        ar2_traces: Traces of the OASIS AR(2) average.
        n_single: Traces looped over, one per call, for the DS-F ``batch = 1`` row (DS-NF: one trace).
        repeats: Timed repeats of the DS-F calls (best is kept, after a warm-up: oneDNN builds its
            kernels on the first call of a shape, torch.compile its code); the DS-NF calls run after a
            warm-up too, the many-trace one at most twice (best kept) and the one-trace one once; OASIS
            once, being a long sum already.
        threads: Torch CPU thread counts to time the networks with, one set of CPU rows each (torch's
            setting is restored afterwards). ``None``: 1 (one core each, like-for-like with OASIS, which
            is single-threaded) and every core of the machine (what a user of a 2-core laptop gets; the
            project's speed targets are for this row).
        devices: Torch devices for the networks; ``None``: ``["cpu"]`` plus ``"cuda"`` when available.
        dsf: DS-F network; ``None``: an untrained :class:`~spikebook.recognition.DSF` (paper layout).
        dsnf: DS-NF network; ``None``: an untrained :class:`~spikebook.recognition.DSNF`.
        seed: Seed of the simulated traces.
        precisions: The ``precision`` values of :func:`spikebook.infer` to time the networks with, one set
            of rows each (bfloat16 is fast only where the hardware has it; see :func:`spikebook.infer`).
        nf_compiled: The ``compiled`` values of :func:`spikebook.infer` to time DS-NF with, one pair of
            rows each. Compilation happens in the untimed warm-up call (once per new shape).

    Returns:
        One :class:`SpeedRow` per (method, precision, device, batch): DS-F and DS-NF rows per device and
        precision, then the two OASIS rows.

    Taught in: book chapter "Speed: amortized inference is fast".
    """
    if threads is None:
        threads = sorted({1, os.cpu_count() or 1})
    with _torch_threads():  # _speed_table sets the thread count per run
        return _speed_table(n_traces, n_steps, n_samples, nf_traces, ar2_traces, n_single, repeats, threads,
                            devices, dsf, dsnf, seed, precisions, nf_compiled)


def _speed_table(
    n_traces: int,
    n_steps: int,
    n_samples: int,
    nf_traces: int,
    ar2_traces: int,
    n_single: int,
    repeats: int,
    threads: Sequence[int],
    devices: Sequence[str] | None,
    dsf: RecognitionModel | None,
    dsnf: RecognitionModel | None,
    seed: int,
    precisions: Sequence[Precision],
    nf_compiled: Sequence[bool],
) -> list[SpeedRow]:
    if devices is None:
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    dsf = DSF().eval() if dsf is None else dsf
    dsnf = DSNF().eval() if dsnf is None else dsnf
    traces = speed_traces(max(n_traces, nf_traces, ar2_traces, n_single), n_steps, seed)

    def time_oasis() -> float:
        return best_time(lambda: _oasis(traces[:n_traces], 1), 1, warmup=False) / n_traces

    # OASIS is timed before and after the networks and the faster pass kept (best-of, as for the
    # networks), so that a change of load on a shared machine during the run does not skew the ratios.
    oasis = time_oasis()
    ar2 = best_time(lambda: _oasis(traces[:ar2_traces], 2), 1, warmup=False) / ar2_traces
    timed: list[tuple[str, str, str, int, float, str, bool]] = []  # (method, precision, device, batch, s, note, compiled)
    runs = [(d, t, p) for d in devices for t in (threads if d == "cpu" else [torch.get_num_threads()])
            for p in precisions]
    for device, n_threads, precision in runs:
        torch.set_num_threads(n_threads)
        label = f"cpu, {n_threads} thread{'s' if n_threads > 1 else ''}" if device == "cpu" else device
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def run(x: np.ndarray, model: RecognitionModel, device: str = device, sync=sync,
                precision: Precision = precision, compiled: bool = False) -> None:
            infer(x, 60.0, model, n_samples=n_samples, device=device, precision=precision, compiled=compiled)
            sync()

        def one_by_one(x: np.ndarray, model: RecognitionModel) -> None:
            for trace in x:
                run(trace, model)

        f_note = "exact marginals, one CNN pass"
        t1 = best_time(lambda: one_by_one(traces[:n_single], dsf), repeats) / n_single
        tn = best_time(lambda: run(traces[:n_traces], dsf), repeats) / n_traces
        timed += [("DS-F", precision, label, 1, t1, f_note, False),
                  ("DS-F", precision, label, n_traces, tn, f_note, False)]
        nf_note = f"{n_samples}-sample marginals"
        many_note = nf_note if nf_traces >= n_traces else f"{nf_note}; {nf_traces} traces, not {n_traces} (time)"
        for compiled in nf_compiled:
            t1 = best_time(lambda c=compiled: run(traces[:1], dsnf, compiled=c), 1)
            tn = best_time(lambda c=compiled: run(traces[:nf_traces], dsnf, compiled=c), min(repeats, 2)) / nf_traces
            timed += [("DS-NF", precision, label, 1, t1, nf_note, compiled),
                      ("DS-NF", precision, label, nf_traces, tn, many_note, compiled)]
    oasis = min(oasis, time_oasis())
    note = "parameters estimated; one trace per call, 1 thread; mean over {} traces"
    timed += [
        ("OASIS AR(1)", "float64", "cpu", 1, oasis, note.format(n_traces), False),
        ("OASIS AR(2)", "float64", "cpu", 1, ar2, note.format(ar2_traces), False),
    ]
    return [
        SpeedRow(method, precision, device, batch, seconds, seconds / oasis,
                 (PAPER_GPU_S if device == "cuda" else PAPER_CPU_S).get(method, math.nan), note, compiled)
        for method, precision, device, batch, seconds, note, compiled in timed
    ]


def write_csv(rows: Sequence[SpeedRow], path: str | Path) -> Path:
    """Write a speed table to CSV (one header line with the :class:`SpeedRow` fields); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SpeedRow._fields)
        for r in rows:
            writer.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in r])
    return path


def read_csv(path: str | Path) -> list[SpeedRow]:
    """Read a table written by :func:`write_csv`."""
    with Path(path).open(newline="") as handle:
        return [
            SpeedRow(r["method"], r["precision"], r["device"], int(r["batch"]), float(r["seconds_per_trace"]),
                     float(r["ratio_to_oasis"]), float(r["paper_seconds"]), r["note"],
                     r.get("compiled", "False") == "True")
            for r in csv.DictReader(handle)
        ]


def plot_speed(rows: Sequence[SpeedRow], title: str | None = None):
    """Bar chart of seconds per trace (log scale), one bar per row, the paper's CPU numbers as marks.

    Args:
        rows: A speed table.
        title: Axes title.

    Returns:
        A matplotlib Figure.
    """
    import matplotlib.pyplot as plt  # imported here: only the chapter plots

    colors = {"DS-F": "#1f77b4", "DS-NF": "#d62728", "OASIS AR(1)": "0.45", "OASIS AR(2)": "0.7"}
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = [f"{r.method}{' bf16' if r.precision == 'bfloat16' else ''}\n{r.device.split(',')[0]}, {r.batch} tr."
              for r in rows]
    x = np.arange(len(rows))
    ax.bar(x, [r.seconds_per_trace for r in rows], color=[colors.get(r.method, "0.3") for r in rows])
    paper = [r.paper_seconds for r in rows]
    ax.scatter(x, paper, marker="_", s=400, color="k", zorder=3, label="paper (other hardware)")
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set(yscale="log", ylabel="seconds per 10k-step trace", title=title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
