"""Fig. 4 (soma and one spine: traces, true events, both methods), the summary beside Table 1's values, and the
bAP amplitudes each method recovers.

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from spikebook.experiments.dendrites.table import METHODS

__all__ = ["plot_bap", "plot_fig4", "plot_summary"]


def plot_fig4(example: dict[str, np.ndarray], spine: int = 1) -> Figure:
    """Fig. 4: soma and one spine, their traces, true events and both methods' predictions.

    Args:
        example: :attr:`~spikebook.experiments.dendrites.table.DendritesResult.example`.
        spine: The spine shown (1..S; row ``spine`` of the arrays).

    Returns:
        The figure (two blocks of three rows: trace, DS-F-DEN, Foopsi-RR; predictions scaled to their
        maximum in the window, true events in grey).
    """
    t = example["time_s"]
    fig, axes = plt.subplots(6, 1, figsize=(8, 7), sharex=True, gridspec_kw={"height_ratios": [1.6, 1, 1] * 2})
    for block, (row, name, events) in enumerate(((0, "soma", "somatic spikes"), (spine, f"spine {spine}",
                                                                                  "synaptic inputs"))):
        ax = axes[3 * block]
        ax.plot(t, example["fluorescence"][row], lw=0.8, color="0.3")
        ax.set(ylabel="fluor.", title=f"{name}: trace; grey lines below: true {events}")
        for ax, method in zip(axes[3 * block + 1 : 3 * block + 3], METHODS, strict=True):
            p = example[method][row]
            ax.vlines(t[example["events"][row] > 0], 0, 1, color="0.75", lw=1.5)
            ax.plot(t, p / max(p.max(), 1e-12), lw=0.9, color="C0" if method == "DS-F-DEN" else "C1")
            ax.set(ylim=(0, 1.05), yticks=[], ylabel=method, )
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def plot_summary(summary: pd.DataFrame) -> Figure:
    """Mean ± s.e.m. per method and compartment, next to Table 1's values."""
    fig, ax = plt.subplots(figsize=(5, 3))
    for i, part in enumerate(("soma", "spines")):
        rows = summary[summary["compartment"] == part].set_index("method")
        for j, method in enumerate(m for m in METHODS if m in rows.index):
            x = i + 0.25 * (j - 0.5)
            ax.errorbar(x - 0.04, rows.loc[method, "mean"], yerr=rows.loc[method, "sem"], fmt="o", color=f"C{j}",
                        capsize=3, label=f"{method} (this book)" if i == 0 else None)
            ax.errorbar(x + 0.04, rows.loc[method, "paper"], yerr=rows.loc[method, "paper_sem"], fmt="s", mfc="none",
                        color=f"C{j}", capsize=3, label=f"{method} (paper)" if i == 0 else None)
    ax.set_xticks([0, 1], ["soma", "spines"])
    ax.set(ylabel="correlation (16.6 ms bins)", xlim=(-0.5, 1.5))
    ax.legend(frameon=False, fontsize="small", ncol=2, loc="lower center")
    return fig


def plot_bap(spines: pd.DataFrame) -> Figure:
    """bAP amplitudes: DS-F-DEN's learned :math:`\\delta_{b_s}` and Foopsi-RR's slope against the truth."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3), sharex=True)
    axes[0].scatter(spines["bap_true"], spines["bap_learned"], s=8)
    lo, hi = 0.0, float(max(spines["bap_true"].max(), spines["bap_learned"].max())) + 0.05
    axes[0].plot([lo, hi], [lo, hi], ls=":", color="0.5")
    axes[0].set(xlabel="true bAP amplitude", ylabel="learned (DS-F-DEN)")
    axes[1].scatter(spines["bap_true"], spines["rr_slope"], s=8, color="C1")
    axes[1].set(xlabel="true bAP amplitude", ylabel="regression slope (Foopsi-RR)")
    fig.tight_layout()
    return fig
