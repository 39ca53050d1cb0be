r"""Soma + spines: Table 1's dendritic column and Fig. 4 of Speiser et al. (2017), §3.4.

Protocol. Data: :func:`spikebook.data.simulate.simulate_dendritic` (seed 0), 15 cells, each one
recording of a soma and 10 spines, 10,000 samples at 60 Hz, drawn from the soma + spines model of eq. (5)
(:class:`spikebook.generative.Dendritic`) with per-cell firing rates 0.6–1.1 Hz, synaptic input rates
0.3–0.9 Hz per spine, bAP amplitudes 0.3–1.0 and noise sd 0.01–0.05 per compartment (the paper gives no
values; see :data:`spikebook.data.simulate.DENDRITIC_RANGES`). Two methods predict, for every cell, the
somatic spikes and each spine's synaptic inputs:

* **DS-F-DEN** (:class:`spikebook.recognition.DSFDEN`), non-amortized as in the paper: for each cell a
  fresh network and a one-cell generative model are fitted to that cell's recording alone. The
  generative model starts at the centres of the simulation ranges, except the noise sd and baseline of
  each compartment, which are estimated from its trace (noise: OASIS's ``GetSn`` power-spectrum
  estimate, then held fixed; baseline: 10th percentile + 1.28 sd) and :math:`\delta = 1` (fixed, it
  trades off against the gain). Training (:func:`fit_cell`), wake–sleep: a *sleep phase*
  (:func:`spikebook.training.fit_sleep`: the network learns from traces simulated by the cell's initial
  model; no recorded data, no labels), a *wake phase* (VIMCO on the cell's recording,
  :func:`spikebook.training.fit_vimco`, learning the generative parameters with the network held fixed;
  the state with the best bound on the recording is kept), and a second sleep phase under the learned
  model. (The paper trained the network with VIMCO too: ``vimco_network=True``; see
  :class:`DendritesConfig` for why we do not.) Prediction: the marginals :math:`q(s_{x,t} = 1 \mid f)`.
* **Foopsi-RR** (:func:`spikebook.baselines.foopsi_rr`): OASIS deconvolution (AR(1), L1, parameters
  estimated per trace) of every compartment, then a Huber regression of each spine's deconvolved
  activity on the soma's, whose positive residual is the synaptic estimate.

Score: Pearson correlation between prediction and true events at the sampling resolution (bins of one
sample, 16.6 ms, as for the SCF column, :mod:`spikebook.experiments.table1_scf`): per cell the soma's
correlation and the mean over its 10 spines; the table reports mean ± s.e.m. (``ddof=1``) over cells.

:func:`run` is the computation; :func:`dendrites` loads the cached full result (``book/results/
dendrites*.csv``, ``dendrites_example.npz``) or computes it. From the command line (full size, ~40 min estimated
on one CPU thread, ~3 min with ``--workers 15`` on a 16-core machine): ``python -m spikebook.experiments.dendrites --full``.

References:
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), NeurIPS, §3.4, Fig. 4, Table 1.
    Chen T-W et al. (2013), Nature 499:295 (robust regression of spine signals).

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from oasis.functions import GetSn

from spikebook.baselines import foopsi_rr
from spikebook.data.simulate import DENDRITIC_RANGES, DendriticConfig, simulate_dendritic
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.parallel import map_unordered
from spikebook.generative import BernoulliPrior, Dendritic
from spikebook.metrics import binned_correlation
from spikebook.recognition import DSFDEN, CNNConfig
from spikebook.training import FitResult, VimcoConfig, fit_sleep, fit_vimco, seeded

__all__ = [
    "CELLS_PATH",
    "EXAMPLE_PATH",
    "FULL",
    "METHODS",
    "PAPER",
    "QUICK",
    "SPINES_PATH",
    "SUMMARY_PATH",
    "DendritesConfig",
    "DendritesResult",
    "dendrites",
    "fit_cell",
    "format_summary",
    "initial_model",
    "load_cached",
    "plot_bap",
    "plot_fig4",
    "plot_summary",
    "run",
    "score_cells",
    "summarize",
]

#: The methods of the column, in the paper's order.
METHODS = ("DS-F-DEN", "Foopsi-RR")

#: Table 1, "Dendritic dataset": (method, compartment) → mean and s.e.m. over cells of the correlation.
PAPER = {
    ("DS-F-DEN", "soma"): (0.84, 0.01),
    ("DS-F-DEN", "spines"): (0.78, 0.01),
    ("Foopsi-RR", "soma"): (0.66, 0.02),
    ("Foopsi-RR", "spines"): (0.60, 0.01),
}

#: Cached full-mode results.
SUMMARY_PATH = RESULTS_DIR / "dendrites.csv"
CELLS_PATH = RESULTS_DIR / "dendrites_cells.csv"
SPINES_PATH = RESULTS_DIR / "dendrites_spines.csv"
EXAMPLE_PATH = RESULTS_DIR / "dendrites_example.npz"


@dataclass(frozen=True)
class DendritesConfig:
    """The experiment's settings; the defaults are the full run.

    Attributes:
        data: The simulation (15 cells × 10 spines, 10,000 samples at 60 Hz).
        training: VIMCO per cell: K = 32 samples, 8 chunks of 200 bins (buffers 60/40), 300 steps, Adam
            learning rates 3e-4 (network, used only with ``vimco_network``) and 5e-3 (generative), no
            gradient clipping, no decay.
        sleep_steps: Sleep-phase steps before VIMCO (400), on ``sleep_batch`` simulated chunks of
            ``sleep_len`` bins per step.
        final_sleep_steps: Sleep-phase steps after VIMCO, under the learned generative model (3,000; with
            1,200 the spines scored 0.676 instead of 0.756).
        vimco_network: Whether VIMCO trains the recognition network as well as θ (the paper's
            procedure). Default ``False``: VIMCO learns θ only and the network comes from the sleep
            phases (a reweighted wake-sleep scheme, Bornschein & Bengio 2015). With 11 compartments ×
            200 bins of binary latents per chunk, VIMCO's score-function gradient for the network is
            noisy: it lowered the correlations the first sleep phase had reached (cell 0: soma
            0.87 → 0.73, spines 0.53 → 0.48), while its θ gradient halved the bAP-amplitude error.
        sleep_batch: See ``sleep_steps``.
        sleep_len: See ``sleep_steps``.
        network: DS-F-DEN's hidden layers (DS-F's default) and initial output bias (the logit of the
            prior rate of a spine, ~0.01 per bin).
        prior_soma_hz: Rate of the prior over somatic spikes (centre of the simulated 0.6–1.1 Hz).
        prior_spine_hz: Rate of the prior over synaptic inputs (centre of 0.3–0.9 Hz).
        example_cell: The cell shown in Fig. 4.
        example_s: Window of Fig. 4 in seconds.
        seed: Seed of the data and the fits (cell ``c`` trains with ``seed + c``).
    """

    data: DendriticConfig = field(default_factory=DendriticConfig)
    training: VimcoConfig = field(default_factory=lambda: VimcoConfig(
        k_samples=32, chunk_len=200, buffers=(60, 40), batch_size=8, lr=3e-4, gen_lr=5e-3,
        clip_norm=math.inf, lr_decay=1.0, n_steps=300, eval_every=50,
    ))
    sleep_steps: int = 400
    final_sleep_steps: int = 3_000
    vimco_network: bool = False
    sleep_batch: int = 16
    sleep_len: int = 400
    network: CNNConfig = field(default_factory=lambda: CNNConfig(out_bias=-4.6))
    prior_soma_hz: float = 0.85
    prior_spine_hz: float = 0.6
    example_cell: int = 0
    example_s: tuple[float, float] = (0.0, 12.0)
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.sleep_steps, self.final_sleep_steps) < 0 or self.sleep_batch < 1 or self.sleep_len < 1:
            raise ValueError("sleep_steps and final_sleep_steps must be >= 0, sleep_batch and sleep_len positive")
        if not 0 <= self.example_cell < self.data.n_cells:
            raise ValueError(f"example_cell must lie in [0, {self.data.n_cells})")
        if not (0 < self.prior_soma_hz < self.data.fs and 0 < self.prior_spine_hz < self.data.fs):
            raise ValueError("prior rates must lie in (0, fs) Hz")
        if not 0 <= self.example_s[0] < self.example_s[1]:
            raise ValueError(f"example_s must be an increasing window in seconds, got {self.example_s}")


#: The full run (the paper's sizes).
FULL = DendritesConfig()
#: Quick mode (CI): the same code on 2 cells × 3 spines, 2,000 samples, a few steps.
QUICK = DendritesConfig(
    data=DendriticConfig(n_cells=2, n_spines=3, n_steps=2_000),
    training=dataclasses.replace(FULL.training, n_steps=20, eval_every=10),
    sleep_steps=60,
    final_sleep_steps=40,
    sleep_batch=8,
    example_s=(0.0, 12.0),
)


class DendritesResult(NamedTuple):
    """What :func:`run` returns (and :func:`load_cached` reads back).

    Attributes:
        cells: One row per cell and method: ``cell``, ``method``, ``soma`` (correlation), ``spines``
            (mean correlation over the cell's spines), ``seconds`` (fit or deconvolution time of the cell).
        summary: One row per method and compartment: ``method``, ``compartment`` (``soma``/``spines``),
            ``mean``, ``sem``, ``n_cells``, ``paper``, ``paper_sem``.
        spines: One row per spine: ``cell``, ``spine``, ``bap_true``, ``bap_learned`` (DS-F-DEN's
            generative model), ``rr_slope`` (Foopsi-RR's regression slope), ``corr_dsfden``, ``corr_rr``.
        example: Arrays of Fig. 4 for one cell and window: ``fluorescence``, ``events``, ``DS-F-DEN``,
            ``Foopsi-RR`` (each ``(1+S, W)``), ``time_s`` ``(W,)``, ``cell`` ``()``.
    """

    cells: pd.DataFrame
    summary: pd.DataFrame
    spines: pd.DataFrame
    example: dict[str, np.ndarray]


# ---------------------------------------------------------------------------------------------- DS-F-DEN


def initial_model(f: torch.Tensor) -> Dendritic:
    """A one-cell generative model at the centres of the simulation ranges, noise and baseline from ``f``.

    Args:
        f: The cell's recording, ``(1+S, T)``.

    Returns:
        :class:`~spikebook.generative.Dendritic` with ``n_cells=1`` (parameters ``(1, 1+S)``); ``delta``
        and ``sigma`` do not require gradients.
    """
    centre = {k: sum(v) / 2 for group in DENDRITIC_RANGES.values() for k, v in group.items()}
    noise = torch.tensor([GetSn(x) for x in f.double().numpy()], dtype=torch.float32)  # (1+S,)
    baseline = torch.quantile(f.float(), 0.1, dim=-1) + 1.28 * noise  # 10th percentile of signal-free bins
    model = Dendritic(
        f.shape[0] - 1, gamma=centre["gamma"], delta=1.0, bap=centre["bap"], alpha=centre["alpha"],
        beta=baseline[None], sigma=noise[None], kon=centre["kon"], koff=centre["koff"], eta=centre["eta"],
        D=centre["D"], n_cells=1,
    )
    model.raw_delta.requires_grad_(False)  # trades off against alpha
    model.raw_sigma.requires_grad_(False)  # estimated from the trace (see the module docstring)
    return model


def fit_cell(f: torch.Tensor, config: DendritesConfig, seed: int) -> tuple[DSFDEN, Dendritic, FitResult]:
    """Non-amortized DS-F-DEN on one cell: sleep, wake (VIMCO on the recording), sleep again.

    1. Sleep phase under the initial model (:func:`initial_model`): ``config.sleep_steps`` steps.
    2. Wake phase: VIMCO on the cell's recording learns the generative parameters θ (and, if
       ``config.vimco_network``, the network too); the state with the best bound on the recording is kept.
    3. Sleep phase under the *learned* θ: ``config.final_sleep_steps`` steps, continuing from the network
       of step 1 (or 2).

    Args:
        f: The cell's recording, ``(1+S, T)``.
        config: Settings.
        seed: Seed of the network's initialisation, the sleep phases and VIMCO.

    Returns:
        The trained network, the fitted generative model and the wake phase's :func:`fit_vimco` result.
    """
    n_comp = f.shape[0]
    with seeded(seed):  # the initial weights depend on the seed alone; the caller's random stream is kept
        recognition = DSFDEN(n_comp, config.network)
    generative = initial_model(f)
    rates = torch.tensor([[config.prior_soma_hz] + [config.prior_spine_hz] * (n_comp - 1)])  # (1, 1+S)
    prior = BernoulliPrior(rates, config.data.fs)
    fit_sleep(recognition, generative, prior, config.sleep_steps, config.sleep_batch, config.sleep_len, seed=seed)
    recognition.requires_grad_(config.vimco_network)  # frozen: VIMCO learns θ only
    result = fit_vimco(recognition, generative, f[None, None].float(), config.training, prior=prior, seed=seed,
                       progress=False)
    recognition.requires_grad_(True)
    fit_sleep(recognition, generative, prior, config.final_sleep_steps, config.sleep_batch, config.sleep_len,
              seed=seed + 1)
    return recognition, generative, result


# ---------------------------------------------------------------------------------------------- scoring


def score_cells(predictions: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation per compartment at the sampling resolution.

    Args:
        predictions: ``(C, 1+S, T)``.
        events: True events, ``(C, 1+S, T)``.

    Returns:
        Soma correlation ``(C,)`` and spine correlations ``(C, S)`` (NaN where undefined).
    """
    r = binned_correlation(predictions, events, factor=1)  # (C, 1+S)
    return r[:, 0], r[:, 1:]


def summarize(cells: pd.DataFrame) -> pd.DataFrame:
    """Mean ± s.e.m. over cells per method and compartment, next to the paper's values."""
    rows = []
    for method in [m for m in METHODS if m in set(cells["method"])]:
        for part in ("soma", "spines"):
            r = cells.loc[cells["method"] == method, part].to_numpy(dtype=float)
            r = r[np.isfinite(r)]
            sem = r.std(ddof=1) / math.sqrt(len(r)) if len(r) > 1 else float("nan")
            paper, paper_sem = PAPER[(method, part)]
            rows.append({"method": method, "compartment": part, "mean": r.mean() if len(r) else float("nan"),
                         "sem": sem, "n_cells": len(r), "paper": paper, "paper_sem": paper_sem})
    return pd.DataFrame(rows)


class _CellFit(NamedTuple):
    prediction: np.ndarray  # (1+S, T) marginals
    seconds: float
    bap: np.ndarray  # (S,) learned bAP amplitudes
    best_step: int
    best_bound: float


def _fit_and_predict(f: torch.Tensor, config: DendritesConfig, seed: int) -> _CellFit:
    """:func:`fit_cell` on one cell, then its marginals (one job of :func:`run`)."""
    start = time.perf_counter()
    recognition, generative, fit = fit_cell(f, config, seed)
    device = next(recognition.parameters()).device  # CUDA when training found it
    with torch.no_grad():
        prediction = recognition.eval().marginals(f[None].float().to(device))[0].double().cpu().numpy()
    return _CellFit(prediction, time.perf_counter() - start, generative.bap.detach()[0].cpu().numpy(), fit.best_step,
                    fit.best_bound)


def run(config: DendritesConfig = FULL, progress: bool = True, workers: int = 1) -> DendritesResult:
    """Simulate the data, run both methods on every cell and score them (the computation of the chapter).

    Args:
        config: Settings (:data:`FULL` or :data:`QUICK`).
        progress: Print one line per cell (in the order the fits finish).
        workers: Cells fitted at once, one process each (:func:`~spikebook.experiments.parallel.map_unordered`;
            every fit is seeded by its cell, so the result does not depend on it; ``seconds`` does).

    Returns:
        :class:`DendritesResult`.
    """
    data = simulate_dendritic(config.data, seed=config.seed)
    events = data.events.numpy()
    n_cells, n_comp, n_steps = data.fluorescence.shape
    jobs = [(data.fluorescence[c], config, config.seed + c) for c in range(n_cells)]
    cell_fits = map_unordered(_fit_and_predict, jobs, workers)  # lazy; checks workers now

    start = time.perf_counter()
    rr = foopsi_rr(data.fluorescence, config.data.fs)
    rr_pred = np.concatenate([rr.soma[:, None], rr.spines], 1)  # (C, 1+S, T)
    rr_seconds = (time.perf_counter() - start) / n_cells

    fits: dict[int, _CellFit] = {}
    for c, fit in cell_fits:
        fits[c] = fit
        if progress:
            soma, spines = score_cells(fit.prediction[None], events[c : c + 1])
            print(f"cell {c}: {fit.seconds:.0f} s, best step {fit.best_step} (bound {fit.best_bound:.2f} nats/bin), "
                  f"soma {soma[0]:.3f}, spines {np.nanmean(spines):.3f}", flush=True)
    den_pred = np.stack([fits[c].prediction for c in range(n_cells)])  # (C, 1+S, T)
    seconds = [fits[c].seconds for c in range(n_cells)]
    baps = [fits[c].bap for c in range(n_cells)]

    frames, per_spine = [], {}
    for method, pred, secs in (("DS-F-DEN", den_pred, seconds), ("Foopsi-RR", rr_pred, [rr_seconds] * n_cells)):
        soma, spines = score_cells(pred, events)
        per_spine[method] = spines
        frames.append(pd.DataFrame({"cell": np.arange(n_cells), "method": method, "soma": soma,
                                    "spines": np.nanmean(spines, axis=1), "seconds": secs}))
    cells = pd.concat(frames, ignore_index=True)
    n_spines = n_comp - 1
    spines = pd.DataFrame({
        "cell": np.repeat(np.arange(n_cells), n_spines),
        "spine": np.tile(np.arange(n_spines), n_cells),
        "bap_true": data.model.bap.numpy().reshape(-1),
        "bap_learned": np.stack(baps).reshape(-1),
        "rr_slope": rr.slope.reshape(-1),
        "corr_dsfden": per_spine["DS-F-DEN"].reshape(-1),
        "corr_rr": per_spine["Foopsi-RR"].reshape(-1),
    })
    c = config.example_cell
    window = slice(int(config.example_s[0] * config.data.fs), min(int(config.example_s[1] * config.data.fs), n_steps))
    example = {
        "fluorescence": data.fluorescence[c, :, window].numpy(),
        "events": events[c, :, window],
        "DS-F-DEN": den_pred[c, :, window],
        "Foopsi-RR": rr_pred[c, :, window],
        "time_s": np.arange(n_steps)[window] / config.data.fs,
        "cell": np.array(c),
    }
    return DendritesResult(cells, summarize(cells), spines, example)


# ---------------------------------------------------------------------------------------------- cache


def save(result: DendritesResult, directory: Path = RESULTS_DIR) -> None:
    """Write the full-mode result (three small CSV files and the example arrays)."""
    directory.mkdir(parents=True, exist_ok=True)
    result.summary.to_csv(directory / SUMMARY_PATH.name, index=False, float_format="%.6g")
    result.cells.to_csv(directory / CELLS_PATH.name, index=False, float_format="%.6g")
    result.spines.to_csv(directory / SPINES_PATH.name, index=False, float_format="%.6g")
    np.savez_compressed(directory / EXAMPLE_PATH.name, **{k: v.astype(np.float32) if v.dtype == np.float64 else v
                                                            for k, v in result.example.items()})


def load_cached(directory: Path = RESULTS_DIR) -> DendritesResult | None:
    """The cached full-mode result, or ``None`` if a file is missing."""
    paths = [directory / p.name for p in (SUMMARY_PATH, CELLS_PATH, SPINES_PATH, EXAMPLE_PATH)]
    if not all(p.exists() for p in paths):
        return None
    with np.load(paths[3]) as npz:
        example = {k: npz[k] for k in npz.files}
    return DendritesResult(pd.read_csv(paths[1]), pd.read_csv(paths[0]), pd.read_csv(paths[2]), example)


def dendrites(quick: bool, retrain: bool = False, progress: bool = False, workers: int = 1) -> DendritesResult:
    """Quick mode: run :data:`QUICK` (nothing written). Full mode: the cache if present, else run and write it.

    Args:
        quick: Quick mode.
        retrain: In full mode, recompute even if the cache exists.
        progress: Print one line per cell.
        workers: Cells fitted at once (see :func:`run`).
    """
    if quick:
        return run(QUICK, progress, workers)
    cached = None if retrain else load_cached()
    if cached is not None:
        return cached
    result = run(FULL, progress, workers)
    save(result)
    return result


def format_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """Table 1's dendritic column: ``mean ± sem`` of this book next to the paper's."""
    out = summary.pivot(index="method", columns="compartment", values="mean").loc[
        [m for m in METHODS if m in set(summary["method"])]]
    table = pd.DataFrame(index=out.index)
    for part in ("soma", "spines"):
        rows = summary[summary["compartment"] == part].set_index("method")
        table[f"{part} (this book)"] = [f"{rows.loc[m, 'mean']:.3f} ± {rows.loc[m, 'sem']:.3f}" for m in out.index]
        table[f"{part} (paper)"] = [f"{rows.loc[m, 'paper']:.2f} ± {rows.loc[m, 'paper_sem']:.2f}" for m in out.index]
    table["cells"] = [int(summary.loc[summary["method"] == m, "n_cells"].iloc[0]) for m in out.index]
    return table.reset_index()


# ---------------------------------------------------------------------------------------------- plots


def plot_fig4(example: dict[str, np.ndarray], spine: int = 1) -> Figure:
    """Fig. 4: soma and one spine, their traces, true events and both methods' predictions.

    Args:
        example: :attr:`DendritesResult.example`.
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


# ---------------------------------------------------------------------------------------------- CLI


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.dendrites",
                                     description="Table 1 (dendritic column) and Fig. 4; --full writes the cache.")
    parser.add_argument("--full", action="store_true", help="full size (writes book/results/dendrites*)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit (default 1)")
    parser.add_argument("--workers", type=int, default=1, help="cells fitted at once, one process each (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    result = dendrites(quick=not args.full, retrain=True, progress=True, workers=args.workers)
    print(format_summary(result.summary).to_string(index=False))
    print(f"{time.perf_counter() - start:.0f} s")
    if args.full:
        print(f"written: {SUMMARY_PATH}, {CELLS_PATH}, {SPINES_PATH}, {EXAMPLE_PATH}")


if __name__ == "__main__":
    _main()
