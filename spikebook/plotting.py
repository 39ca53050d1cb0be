"""Figures of the book: one function per kind of figure, each returning a ``Figure``.

Plotting functions are pure: they take arrays or tensors and never train or simulate.
Call :func:`use_style` once per chapter for the shared look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from spikebook.metrics import as_numpy

#: One colour per role, used by every chapter.
COLORS = {"spikes": "0.15", "trace": "#1f77b4", "model": "#d62728", "calcium": "#2ca02c", "dye": "#9467bd"}


def use_style() -> None:
    """The shared matplotlib/seaborn style of the book."""
    sns.set_theme(context="notebook", style="ticks", font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "axes.spines.top": False, "axes.spines.right": False})


def plot_trace(
    fluorescence,
    spikes,
    fs: float,
    mean=None,
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """One fluorescence trace with its spikes as ticks underneath (and the noise-free mean).

    Args:
        fluorescence: ``(T,)`` trace.
        spikes: ``(T,)`` spike counts.
        fs: sampling rate in Hz (the x axis is in seconds).
        mean: optional ``(T,)`` noise-free fluorescence of the generative model.
        title: axes title.
        ax: axes to draw into (a new figure otherwise).
    """
    fluorescence, spikes = as_numpy(fluorescence), as_numpy(spikes)
    if fluorescence.shape != spikes.shape or fluorescence.ndim != 1:
        raise ValueError(f"need two (T,) arrays, got {fluorescence.shape} and {spikes.shape}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 2.4))
    time = np.arange(len(fluorescence)) / fs
    ax.plot(time, fluorescence, color=COLORS["trace"], lw=0.8, label="fluorescence $f$")
    if mean is not None:
        ax.plot(time, as_numpy(mean), color=COLORS["model"], lw=1.0, label="noise-free mean")
    low = fluorescence.min() - 0.1 * np.ptp(fluorescence)
    spike_times = np.flatnonzero(spikes > 0)
    ax.vlines(time[spike_times], low - 0.12 * np.ptp(fluorescence), low, color=COLORS["spikes"], lw=1.0)
    ax.set(xlabel="time (s)", ylabel="fluorescence", title=title)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    return fig


def plot_responses(
    time_s: np.ndarray,
    responses: Mapping[str, np.ndarray],
    xlabel: str = "time after spike (s)",
    ylabel: str = "fluorescence change",
    title: str | None = None,
    ax: plt.Axes | None = None,
) -> Figure:
    """Several response curves over a shared axis (impulse responses, rate-response curves).

    Args:
        time_s: ``(N,)`` x values.
        responses: label → ``(N,)`` y values.
    """
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3))
    for label, values in responses.items():
        ax.plot(time_s, as_numpy(values), label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(frameon=False, fontsize="small")
    return fig


def plot_parameter_distributions(parameters: Mapping[str, Sequence[float]], title: str | None = None) -> Figure:
    """Histograms of per-cell parameters (one panel per parameter)."""
    names = [name for name, values in parameters.items() if np.ptp(as_numpy(values)) > 0]
    fig, axes = plt.subplots(1, len(names), figsize=(2.3 * len(names), 2.2), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        sns.histplot(as_numpy(parameters[name]), ax=ax, bins=15, color=COLORS["trace"])
        ax.set(xlabel=name, ylabel="cells" if ax is axes[0, 0] else "")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
