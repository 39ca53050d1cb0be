"""The plots of the chapter on Table 1's SCF column: the table beside the paper's, an example trace, per-cell
scores of two methods.

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spikebook.data.simulate import SimulatedData
from spikebook.experiments.table1_scf.scoring import FS

__all__ = ["plot_cells", "plot_example", "plot_summary"]


def plot_summary(summary: pd.DataFrame, title: str = "SCF test cells") -> Figure:
    """Mean ± s.e.m. correlation per method next to the paper's Table 1 values.

    Args:
        summary: The ``summary`` of a :class:`~spikebook.experiments.table1_scf.scoring.Table1Result`.
        title: Axes title.

    Returns:
        The figure.
    """
    fig, ax = plt.subplots(figsize=(4.5, 3))
    x = np.arange(len(summary))
    ax.errorbar(x - 0.1, summary["mean"], yerr=summary["sem"], fmt="o", capsize=3, label="this book")
    ax.errorbar(x + 0.1, summary["paper"], yerr=summary["paper_sem"], fmt="s", mfc="none", capsize=3,
                color="0.4", label="paper (Table 1)")
    ax.set_xticks(x, summary["method"])
    ax.set(ylabel="correlation (16.6 ms bins)", title=title)
    ax.legend(frameon=False, fontsize="small")
    return fig


def plot_example(
    data: SimulatedData,
    predictions: Mapping[str, np.ndarray],
    cell: int = 0,
    trace: int = 0,
    window_s: tuple[float, float] = (0.0, 15.0),
    fs: float = FS,
) -> Figure:
    """One trace with the true spikes and every method's prediction underneath (each scaled to its maximum).

    Args:
        data: The dataset the predictions were made on, traces ``(R, C, T)``.
        predictions: Method → predictions ``(R, C', T')`` (possibly on fewer cells / shorter traces).
        cell: Cell index (must be scored by every method shown).
        trace: Trace index (firing-rate index).
        window_s: Time window in seconds.
        fs: Sampling rate in Hz.

    Returns:
        The figure.
    """
    start = int(window_s[0] * fs)
    stop = min([int(window_s[1] * fs)] + [p.shape[-1] for p in predictions.values()])
    time_s = np.arange(start, stop) / fs
    spikes = data.spikes[trace, cell, start:stop].numpy()
    fig, axes = plt.subplots(1 + len(predictions), 1, figsize=(8, 1.3 * (1 + len(predictions)) + 0.6),
                             sharex=True, gridspec_kw={"height_ratios": [2] + [1] * len(predictions)})
    axes[0].plot(time_s, data.fluorescence[trace, cell, start:stop].numpy(), lw=0.8, color="0.3")
    axes[0].set(ylabel="fluorescence", title=f"test cell {cell}, {data.config.rates_hz[trace]} Hz trace")
    for ax, (name, pred) in zip(axes[1:], predictions.items(), strict=True):
        p = pred[trace, cell, start:stop]
        ax.vlines(time_s[spikes > 0], 0, 1, color="0.75", lw=1.5)
        ax.plot(time_s, p / max(p.max(), 1e-12), lw=0.9)
        ax.set(ylim=(0, 1.05), yticks=[], ylabel=name)
    axes[-1].set_xlabel("time (s); grey: true spikes")
    fig.tight_layout()
    return fig


def plot_cells(cells: pd.DataFrame, x: str, y: Sequence[str]) -> Figure:
    """Per-cell scores of methods ``y`` against method ``x``, one panel per method in ``y``.

    Args:
        cells: The ``cells`` of a :class:`~spikebook.experiments.table1_scf.scoring.Table1Result`.
        x: Method on the horizontal axes.
        y: Methods on the vertical axes.

    Returns:
        The figure.
    """
    wide = cells.pivot(index="cell", columns="method", values="corr")
    fig, axes = plt.subplots(1, len(y), figsize=(3 * len(y), 3), squeeze=False, sharex=True, sharey=True)
    lo = float(np.nanmin(wide[[x, *y]].to_numpy())) - 0.02
    for ax, name in zip(axes[0], y, strict=True):
        ax.plot([lo, 1], [lo, 1], color="0.6", lw=0.8, ls=":")
        ax.scatter(wide[x], wide[name], s=10)
        better = float((wide[name] > wide[x]).mean())
        ax.set(xlabel=f"{x} (per cell)", ylabel=name, title=f"{name} better in {better:.0%} of cells")
        ax.set_aspect("equal")
    return fig
