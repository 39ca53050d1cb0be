"""The chapter's GCaMP6 figures: Fig. 3 of the paper, the timing curves and the learning curves.

:func:`fig3_example` gathers what Fig. 3 shows for one training segment; the ``plot_*`` functions draw
tables and arrays and return a matplotlib Figure (matplotlib is imported only when they run).

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import torch

from spikebook.data.groundtruth import GcampNeuron
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.gcamp.crossval import FoldRun, load_fold, training_neurons
from spikebook.recipes.gcamp import QUICK, Network, cut_segments, learned_mlphys, score_neuron

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Fig3Example", "fig3_example", "plot_fig3", "plot_lag_scores", "plot_learning_curves",
           "plot_training_correlation"]


class Fig3Example(NamedTuple):
    """What Fig. 3 shows for one training segment (its generative parameters were learned).

    Attributes:
        fluorescence: The segment's preprocessed trace, ``(T,)``.
        spikes: True spike counts per frame, ``(T,)``.
        marginal: The network's marginal spike probability, ``(T,)``.
        sample: One spike train sampled from the network's posterior, ``(T,)``.
        from_sample: Noise-free fluorescence of the learned MLphys model given ``sample``, ``(T,)``.
        from_truth: The same given the true spikes, ``(T,)``.
        fs: Frame rate in Hz.
        correlation: Correlation of ``marginal`` with the spikes in 40 ms bins.
    """

    fluorescence: np.ndarray
    spikes: np.ndarray
    marginal: np.ndarray
    sample: np.ndarray
    from_sample: np.ndarray
    from_truth: np.ndarray
    fs: float
    correlation: float


def fig3_example(
    neurons: Sequence[GcampNeuron], network: Network = "DS-F", fold: int = 0, segment: int = 0, quick: bool = False,
    seed: int = 0, results_dir: Path = RESULTS_DIR,
) -> Fig3Example:
    """Fig. 3 for one segment of a *training* neuron of ``fold``'s seed-0, constant-baseline run (after its
    sleep phase): a test neuron has no learned generative parameters (the recognition network is amortized,
    the generative model is per segment). ``seed`` seeds the marginal and the sampled train."""
    train = training_neurons(neurons, fold)
    model, record = load_fold(FoldRun(train[0].indicator, network, fold, quick=quick), "slept", results_dir)
    generative, segments = learned_mlphys(record, train, quick)
    spikes_all = cut_segments(train, QUICK.max_segments if quick else None, "spikes")
    f = torch.as_tensor(segments[segment])[None]  # (1, T)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        marginal = model.marginals(f, 30, generator)[0].numpy()
        sample = model.sample(f, 1, generator)[0, 0]
        truth = torch.as_tensor(spikes_all[segment])
        mean = generative.mean(torch.stack([sample, truth])[:, None, :].expand(2, len(segments), -1))
    neuron = GcampNeuron("", "", (segments[segment],), (spikes_all[segment],), train[0].fs)
    return Fig3Example(segments[segment], spikes_all[segment], marginal, sample.numpy(),
                       mean[0, segment].numpy(), mean[1, segment].numpy(), train[0].fs,
                       score_neuron([marginal], neuron))


def plot_fig3(example: Fig3Example, cells: pd.DataFrame | None = None,
              seconds: tuple[float, float] = (0, 50)) -> Figure:
    """Fig. 3: trace with both reconstructions, marginal and true spikes; spike counts per neuron beside.

    Args:
        example: From :func:`fig3_example`.
        cells: Per-neuron scores (from :func:`spikebook.experiments.gcamp.table.run`); when given, a second
            panel compares the inferred spike count (sum of marginals) with the true count per neuron, for each
            of its networks (at most four: pass the rows to compare).
        seconds: Time window shown.

    Returns:
        A matplotlib Figure.

    Raises:
        ValueError: if ``cells`` holds more than four networks.
    """
    import matplotlib.pyplot as plt  # imported here: only the chapter plots

    from spikebook.plotting import COLORS

    markers = "os^D"
    nets = None if cells is None else cells.dropna(subset=["inferred_spikes"])
    if nets is not None and nets["method"].nunique() > len(markers):
        raise ValueError(f"at most {len(markers)} networks in one count panel, got {sorted(nets['method'].unique())}")
    lo, hi = (round(x * example.fs) for x in seconds)
    t = np.arange(lo, min(hi, len(example.fluorescence))) / example.fs
    w = slice(lo, lo + len(t))
    fig = plt.figure(figsize=(10, 4.2))
    grid = fig.add_gridspec(2, 3 if cells is not None else 2, height_ratios=(2, 1),
                            width_ratios=(3, 3, 2) if cells is not None else (3, 3))
    ax = fig.add_subplot(grid[0, :2])
    ax.plot(t, example.fluorescence[w], color=COLORS["trace"], lw=0.8, label="trace")
    ax.plot(t, example.from_sample[w], color=COLORS["model"], lw=1, label="from a sampled spike train")
    ax.plot(t, example.from_truth[w], color="0.3", lw=1, ls="--", label="from the true spikes")
    ax.set(ylabel="ΔF/F", title=f"corr. of the marginal with the true spikes (40 ms bins): {example.correlation:.2f}")
    ax.legend(fontsize=7, loc="upper right")
    bx = fig.add_subplot(grid[1, :2], sharex=ax)
    bx.plot(t, example.marginal[w], color=COLORS["model"], lw=0.8, label="marginal q(s_t = 1 | f)")
    spike_t = t[example.spikes[w] > 0]
    bx.vlines(spike_t, -0.35, -0.05, color=COLORS["spikes"], lw=1, label="true spikes")
    bx.set(xlabel="time (s)", ylabel="probability", ylim=(-0.4, 1.05))
    bx.legend(fontsize=7, loc="upper right")
    if nets is not None:
        cx = fig.add_subplot(grid[:, 2])
        for (method, group), marker in zip(nets.groupby("method"), markers, strict=False):
            cx.scatter(group["n_spikes"], group["inferred_spikes"], marker=marker, s=22, label=method, alpha=0.8)
        top = float(max(nets["n_spikes"].max(), nets["inferred_spikes"].max())) * 1.05
        cx.plot([0, top], [0, top], color="0.5", lw=0.8)
        cx.set(xlabel="true spikes per neuron", ylabel="inferred (sum of marginals)", title="spike counts")
        cx.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_lag_scores(curves: dict[str, pd.DataFrame], frame_ms: float = 1e3 / 60.06) -> Figure:
    """Mean correlation against the lag of the prediction, one panel per indicator, one line per method.

    Args:
        curves: Per indicator, a table from :func:`spikebook.experiments.gcamp.diagnostics.timing_curves`.
        frame_ms: Frame period, for the axis label.

    Returns:
        A matplotlib Figure.
    """
    import matplotlib.pyplot as plt  # imported here: only the chapter plots

    fig, axes = plt.subplots(1, len(curves), figsize=(4 * len(curves), 2.8), sharey=True, squeeze=False)
    for ax, (indicator, table) in zip(axes[0], curves.items()):
        for method, group in table.groupby("method"):
            mean = group.groupby("lag").correlation.mean()
            ax.plot(mean.index, mean.values, marker="o", label=method)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.set(title=indicator, xlabel=f"prediction moved by (frames of {frame_ms:.2f} ms)")
    axes[0, 0].set_ylabel("mean correlation, 40 ms bins")
    axes[0, 0].legend(fontsize="small")
    fig.tight_layout()
    return fig


def plot_learning_curves(curves: dict[str, pd.DataFrame]) -> Figure:
    """One panel per run (two per row): training and held-out bound per fold, the one-s.e. band at the best
    held-out bound and the selected step (dashed).

    Args:
        curves: Per title, a table from :func:`spikebook.experiments.gcamp.diagnostics.learning_curves`.

    Returns:
        A matplotlib Figure.
    """

    def bounds(ax: Axes, run: pd.DataFrame, color: Any) -> None:
        ax.plot(run.step, run.train_bound, lw=0.8, ls=":", color=color)
        top, se = run.loc[run.heldout_bound.idxmax(), ["heldout_bound", "heldout_se"]]
        ax.axhspan(top - se, top, color=color, alpha=0.12, lw=0)

    fig, axes = _fold_panels(curves, "heldout_bound", "bound (nats per frame)", bounds)
    for ax, table in zip(axes.flat, curves.values()):
        lows = table.heldout_bound[table.step > 0]
        if len(lows):
            ax.set_ylim(lows.quantile(0.05) - 0.3, table[["train_bound", "heldout_bound"]].max().max() + 0.1)
    axes[0, 0].legend(fontsize="small", title="held-out (solid), training (dotted)", title_fontsize="small")
    fig.tight_layout()
    return fig


def plot_training_correlation(curves: dict[str, pd.DataFrame]) -> Figure:
    """One panel per run (two per row): the mean correlation on each fold's training neurons along training,
    the step the paper's early stopping kept (dot) and the step the held-out bound selected (dashed).

    Args:
        curves: Per title, a table from :func:`spikebook.experiments.gcamp.diagnostics.learning_curves` of runs
            trained with label selection.

    Returns:
        A matplotlib Figure.
    """

    def kept(ax: Axes, run: pd.DataFrame, color: Any) -> None:
        at = run[run.step == run.label_selected_step]
        ax.plot(at.step, at.train_correlation, "o", ms=5, color=color)

    fig, axes = _fold_panels(curves, "train_correlation", "r, training neurons (40 ms)", kept)
    axes[0, 0].legend(fontsize="small", title="dot: paper's early stopping", title_fontsize="small")
    fig.tight_layout()
    return fig


def _fold_panels(curves: dict[str, pd.DataFrame], column: str, ylabel: str,
                 draw: Callable[[Axes, pd.DataFrame, Any], None]) -> tuple[Figure, np.ndarray]:
    """One panel per run (:func:`_panels`), in each one line of ``column`` against the step per fold, what
    ``draw(ax, fold_rows, color)`` adds in the fold's colour, and the fold's selected step (dashed)."""
    fig, axes = _panels(len(curves))
    for ax, (title, table) in zip(axes.flat, curves.items()):
        for fold, run in table.groupby("fold"):
            (line,) = ax.plot(run.step, run[column], lw=1.2, label=f"fold {fold}")
            draw(ax, run, line.get_color())
            ax.axvline(run.selected.iloc[0], color=line.get_color(), ls="--", lw=0.8)
        ax.set(title=title, xlabel="VIMCO step", ylabel=ylabel)
    return fig, axes


def _panels(n: int) -> tuple[Figure, np.ndarray]:
    """A figure with ``n`` panels, two per row (unused ones hidden): ``(fig, axes)``, axes 2-D."""
    import matplotlib.pyplot as plt  # imported here: only the chapter plots

    ncols = min(2, n)
    fig, axes = plt.subplots(-(-n // ncols), ncols, figsize=(4.5 * ncols, 3.0 * -(-n // ncols)), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes
