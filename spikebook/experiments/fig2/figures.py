"""Fig. 2 A, B and D, each drawn from a :class:`~spikebook.experiments.fig2.evaluation.Fig2Result`.

Taught in: book chapter "Correlated posteriors".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from spikebook.experiments.fig2.evaluation import Fig2Result, model_slug

__all__ = ["MODEL_COLORS", "plot_cell_scatter", "plot_count_histogram", "plot_example"]

#: One colour per recognition model (a colour-blind-safe pair).
MODEL_COLORS = {"DS-F": "#e66101", "DS-NF": "#5e3c99"}


def plot_example(result: Fig2Result) -> Figure:
    """Fig. 2A: true spikes, the trace with reconstructions of each model, marginals, sampled trains.

    Args:
        result: A :class:`Fig2Result` (its ``example`` window).

    Returns:
        The figure (rows share the time axis, in seconds).
    """
    ex, labels = result.example, result.meta["labels"]
    time_s = ex["time_s"]
    spike_times = time_s[ex["spikes"] > 0]
    n_trains = sum(len(ex[f"samples_{model_slug(m)}"]) for m in labels)
    heights = [0.4, *([1.3] * len(labels)), 0.9, max(0.12 * n_trains, 0.6)]
    fig, axes = plt.subplots(len(heights), 1, figsize=(8, 1.3 * sum(heights) + 0.6), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    axes[0].vlines(spike_times, 0, 1, color="0.15", lw=1.2)
    axes[0].set(yticks=[], ylabel="true\nspikes")
    for ax, label in zip(axes[1 : 1 + len(labels)], labels, strict=True):
        ax.plot(time_s, ex["fluorescence"], color="0.6", lw=0.8, label="trace")
        for i, reconstruction in enumerate(ex[f"reconstructions_{model_slug(label)}"]):
            ax.plot(time_s, reconstruction, color=MODEL_COLORS.get(label), lw=0.9, alpha=0.8,
                    label="reconstructions" if i == 0 else None)
        ax.set_ylabel(f"reconstruction\n{label}")
        ax.legend(loc="upper right", fontsize="x-small", frameon=False, ncols=2)
    ax = axes[1 + len(labels)]
    for label in labels:
        ax.plot(time_s, ex[f"marginals_{model_slug(label)}"], color=MODEL_COLORS.get(label), lw=1.0, label=label)
    ax.set(ylim=(0, 1.05), ylabel="marginal\nprobability")
    ax.legend(loc="upper right", fontsize="x-small", frameon=False, ncols=len(labels))
    ax = axes[-1]
    row = 0
    for label in labels:
        for train in ex[f"samples_{model_slug(label)}"]:
            ax.vlines(time_s[train > 0], row + 0.1, row + 0.9, color=MODEL_COLORS.get(label), lw=1.0)
            row += 1
    for t in spike_times:
        ax.axvline(t, color="0.15", lw=0.5, alpha=0.3)
    ax.set(ylim=(row, 0), yticks=[], ylabel="sampled\ntrains", xlabel="time (s)")
    fig.align_ylabels(axes)
    fig.tight_layout(h_pad=0.3)
    return fig


def plot_count_histogram(result: Fig2Result) -> Figure:
    """Fig. 2B: fraction of (sample, true spike) pairs with 0, 1, 2, ... sampled spikes, per model.

    Args:
        result: A :class:`Fig2Result` (its ``counts``).

    Returns:
        The figure.
    """
    labels = list(result.counts)
    n_bins = len(next(iter(result.counts.values())))
    fig, ax = plt.subplots(figsize=(4.5, 3))
    width = 0.8 / len(labels)
    for i, label in enumerate(labels):
        histogram = result.counts[label]
        ax.bar(np.arange(n_bins) + (i - (len(labels) - 1) / 2) * width, histogram / max(histogram.sum(), 1),
               width=width, color=MODEL_COLORS.get(label), label=label)
    ticks = [str(c) for c in range(n_bins)]
    ticks[-1] = f"≥{n_bins - 1}"
    half_width = result.meta["config"]["half_width"]
    ax.set(xticks=range(n_bins), xticklabels=ticks, ylabel="fraction of (sample, true spike) pairs",
           xlabel=f"sampled spikes per true spike (±{half_width} bins)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_cell_scatter(result: Fig2Result, x: str = "DS-F", y: str = "DS-NF") -> Figure:
    """Fig. 2D: per trace, :math:`\\log q(s^{\\text{true}} \\mid f)` and marginal correlation, ``y`` vs ``x``.

    Args:
        result: A :class:`Fig2Result` (its ``traces``).
        x: Model label on the horizontal axes (the paper: factorized).
        y: Model label on the vertical axes (the paper: correlated).

    Returns:
        The figure: two panels with the identity line; points coloured by firing rate.
    """
    t = result.traces
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
    panels = [("log_q_true", r"$\log q(s^{\mathrm{true}} \mid f)$ (nats)"), ("corr", "correlation of marginals")]
    rates = np.unique(t["rate_hz"])
    palette = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, len(rates)))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        xs, ys = t[f"{metric}_{model_slug(x)}"], t[f"{metric}_{model_slug(y)}"]
        for rate, color in zip(rates, palette, strict=True):
            keep = t["rate_hz"] == rate
            ax.scatter(xs[keep], ys[keep], s=14, color=color, alpha=0.8, label=f"{rate:g} Hz")
        finite = np.isfinite(xs) & np.isfinite(ys)
        low, high = min(xs[finite].min(), ys[finite].min()), max(xs[finite].max(), ys[finite].max())
        pad = 0.05 * (high - low + 1e-12)
        ax.plot([low - pad, high + pad], [low - pad, high + pad], color="0.4", lw=0.8, ls="--")
        ax.set(xlabel=f"{x}", ylabel=f"{y}", title=title, aspect="equal")
    axes[0].legend(frameon=False, fontsize="small", title="rate")
    fig.tight_layout()
    return fig
