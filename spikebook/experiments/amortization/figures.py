"""Fig. 2C (per-cell correlation, amortized against per-cell inference) and one cell's marginals.

Taught in: book chapter "Amortization".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from spikebook import plotting
from spikebook.experiments.amortization.comparison import AmortizationResult

__all__ = ["plot_amortization", "plot_cell_marginals"]


def plot_amortization(result: AmortizationResult, title: str | None = None, ax: plt.Axes | None = None) -> Figure:
    """Fig. 2C: per-cell correlation, amortized network (x) versus single-cell inference (y).

    Args:
        result: Scores of both arms.
        title: First title line (the means of both arms are added below it).
        ax: Axes to draw into (a new figure otherwise).
    """
    x, y = result.column("amortized"), result.column("single_cell")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(4.2, 4.2))
    low = min(0.0, float(np.nanmin(np.r_[x, y])) - 0.05)
    ax.plot([low, 1], [low, 1], color="0.6", lw=1, ls="--", zorder=0)
    ax.scatter(x, y, s=22, color="#1f77b4", edgecolor="white", linewidth=0.5)
    ax.set(xlim=(low, 1), ylim=(low, 1), aspect="equal", xlabel="amortized network (correlation)",
           ylabel="single-cell inference (correlation)")
    means = f"mean: amortized {np.nanmean(x):.2f}, single cell {np.nanmean(y):.2f}"
    ax.set_title(means if title is None else f"{title}\n{means}", fontsize="medium")
    return fig


def plot_cell_marginals(
    fluorescence: Tensor | np.ndarray,
    spikes: Tensor | np.ndarray,
    marginals: dict[str, Tensor | np.ndarray],
    fs: float,
    window_s: tuple[float, float] = (0.0, 20.0),
) -> Figure:
    """One trace with its true spikes (top) and the marginals of several networks (one row each).

    Args:
        fluorescence: One trace, shape ``(T,)``.
        spikes: Its true spikes, shape ``(T,)``.
        marginals: Label → spike probabilities :math:`q(s_t = 1 \\mid f)`, each ``(T,)``.
        fs: Sampling rate in Hz.
        window_s: Time window shown, in seconds.
    """
    lo, hi = (round(t * fs) for t in window_s)
    f, s = np.asarray(fluorescence)[lo:hi], np.asarray(spikes)[lo:hi]
    time_s = np.arange(lo, lo + len(f)) / fs
    fig, axes = plt.subplots(1 + len(marginals), 1, figsize=(8, 1.4 + 1.1 * len(marginals)), sharex=True,
                             gridspec_kw={"height_ratios": [1.6] + [1] * len(marginals)})
    axes[0].plot(time_s, f, color=plotting.COLORS["trace"], lw=0.8)
    axes[0].set(ylabel="fluorescence")
    spike_times = time_s[s > 0]
    for ax, (label, m) in zip(axes[1:], marginals.items(), strict=True):
        ax.vlines(spike_times, 0, 1, color=plotting.COLORS["spikes"], lw=0.8, alpha=0.35)
        ax.plot(time_s, np.asarray(m)[lo:hi], color=plotting.COLORS["model"], lw=0.9)
        ax.set(ylim=(0, 1.02), ylabel="q(s=1|f)")
        ax.set_title(label, fontsize="small", loc="left")
    axes[0].vlines(spike_times, f.min() - 0.15 * np.ptp(f), f.min() - 0.05 * np.ptp(f),
                   color=plotting.COLORS["spikes"], lw=0.8)
    axes[-1].set(xlabel="time (s)")
    fig.tight_layout()
    return fig
