"""Fig. 2 A, B and D of Speiser et al. (2017), §3.1: factorized (DS-F) versus correlated (DS-NF) posteriors.

Both recognition models were trained unsupervised (VIMCO) on the simulated SCDF *training* cells
(:mod:`spikebook.pretrained`: ``"dsf-scdf-60hz"`` and ``"dsnf-scdf-60hz"``). Here they are applied,
amortized and without further training, to the first ``n_cells`` cells of the simulated SCDF *test* split
(:func:`spikebook.data.simulate.paper_datasets`, seed 0: disjoint cells, three traces per cell at 0.6, 0.9
and 1.1 Hz). Because the data are simulated, every comparison uses the **true** spikes and the **true**
per-cell generative parameters of the test cells: the learned generative parameters stored in a
checkpoint belong to the training cells and do not exist for test cells.

What is computed, per trace (one cell at one firing rate):

* Fig. 2A — ``n_samples`` spike trains :math:`s^{(k)} \\sim q_\\phi(s \\mid f)` in one pass per model; the
  marginals :math:`q(s_t = 1 \\mid f)` (exact for DS-F; for DS-NF the mean over the same samples of the
  conditional probabilities :math:`q(s_t = 1 \\mid f, s^{(k)}_{<t})`); reconstructions, the noise-free
  fluorescence :math:`\\alpha d_t(s^{(k)}) + \\beta` of eq. (3) under the cell's true parameters, and their
  RMSE to the trace in units of the noise :math:`\\sigma` (1 is a perfect explanation of the trace).
* Fig. 2B — for every true spike, the number of sampled spikes that belong to it
  (:func:`count_sampled_spikes`), pooled over traces and samples into a histogram.
* Fig. 2D — :math:`\\log q_\\phi(s^{\\text{true}} \\mid f)` (nats, time summed) and the Pearson correlation of the
  marginals with the true spikes at the 60 Hz sampling resolution (16.6 ms bins, §2.4).

Cache: :func:`save_results` writes ``fig2_traces.csv`` (one row per trace), ``fig2_counts.csv`` (the
histogram), ``fig2_example.npz`` (the panel-A window) and ``fig2_meta.json`` (configuration, checkpoints,
runtime) — together well under 1 MB. :func:`load_or_compute` is what the chapter calls.

References:
    Speiser, Yan, Archer, Buesing, Turaga, Macke (2017). Fast amortized inference of neural activity from
    calcium imaging data with variational autoencoders. NeurIPS 30, §3.1 and Fig. 2.

Taught in: book chapter "Correlated posteriors".
"""

from __future__ import annotations

import csv
import dataclasses
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn
from torch.func import functional_call

from spikebook import pretrained
from spikebook.data.simulate import SimulatedData, paper_datasets
from spikebook.experiments import RESULTS_DIR
from spikebook.generative import CalciumModel
from spikebook.metrics import as_numpy, binned_correlation
from spikebook.recognition import RecognitionModel

__all__ = [
    "CHECKPOINTS",
    "FULL",
    "MODEL_COLORS",
    "QUICK",
    "RESULTS_DIR",
    "Fig2Config",
    "Fig2Result",
    "Fig2Run",
    "PosteriorDraws",
    "count_histogram",
    "count_sampled_spikes",
    "evaluate",
    "load_models",
    "load_or_compute",
    "load_results",
    "noise_free_mean",
    "plot_cell_scatter",
    "plot_count_histogram",
    "plot_example",
    "posterior_draws",
    "save_results",
    "scdf_test_split",
    "summarize",
]

#: The two recognition models compared, label → pretrained entry (:data:`spikebook.pretrained.RECIPES`).
CHECKPOINTS = {"DS-F": "dsf-scdf-60hz", "DS-NF": "dsnf-scdf-60hz"}
#: One colour per recognition model (a colour-blind-safe pair).
MODEL_COLORS = {"DS-F": "#e66101", "DS-NF": "#5e3c99"}
#: Where the full-mode results are cached (the book's ``results/`` folder of an editable install).
_FILES = {"traces": "fig2_traces.csv", "counts": "fig2_counts.csv", "example": "fig2_example.npz",
          "meta": "fig2_meta.json"}


@dataclass(frozen=True)
class Fig2Config:
    """Sizes of one Fig. 2 run; the defaults are the full (cached) run.

    Attributes:
        n_cells: first test cells evaluated (each with its three traces); the paper's Fig. 2C/3.2 uses 30.
        n_steps: samples per trace at 60 Hz (10,000 in the paper, §2.4).
        n_samples: spike trains drawn per trace and model (30, as the paper's marginals, §2.4).
        half_width: a sampled spike belongs to a true spike at most this many bins away (2 bins = 33 ms).
        max_count: last bin of the count histogram (it holds all counts ≥ ``max_count``).
        example_cell: test cell of the panel-A window.
        example_rate: index of its trace's firing rate (0, 1, 2 → 0.6, 0.9, 1.1 Hz).
        window_start_s: start of the panel-A window in seconds.
        window_s: length of the panel-A window in seconds (the paper shows ~8 s).
        n_reconstructions: reconstructions per model drawn in panel A.
        n_raster: sampled trains per model drawn in panel A.
        cells_per_batch: cells (× 3 traces × ``n_samples`` rows) per recognition pass; small batches keep
            the DS-NF loop cache-friendly on a CPU.
        seed: seed of the data (``paper_datasets``) and of the samples.
    """

    n_cells: int = 30
    n_steps: int = 10_000
    n_samples: int = 30
    half_width: int = 2
    max_count: int = 4
    example_cell: int = 0
    example_rate: int = 1
    window_start_s: float = 60.0
    window_s: float = 8.0
    n_reconstructions: int = 3
    n_raster: int = 10
    cells_per_batch: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_cells", "n_steps", "n_samples", "max_count", "n_reconstructions", "n_raster",
                     "cells_per_batch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if isinstance(self.half_width, bool) or not isinstance(self.half_width, int) or self.half_width < 0:
            raise ValueError(f"half_width must be a non-negative int (bins), got {self.half_width!r}")
        if not 0 <= self.example_cell < self.n_cells:
            raise ValueError(f"example_cell must lie in [0, n_cells = {self.n_cells}), got {self.example_cell}")
        if not 0 <= self.example_rate < 3:
            raise ValueError(f"example_rate indexes the three rates, got {self.example_rate}")
        if max(self.n_reconstructions, self.n_raster) > self.n_samples:
            raise ValueError("n_reconstructions and n_raster cannot exceed n_samples")
        if self.window_start_s < 0 or self.window_s <= 0:
            raise ValueError("window_start_s must be ≥ 0 and window_s > 0 (seconds)")

    def window(self, fs: float) -> slice:
        """The panel-A window as a slice of time bins at ``fs`` Hz (checked against ``n_steps``)."""
        start = round(self.window_start_s * fs)
        stop = start + round(self.window_s * fs)
        if stop > self.n_steps:
            raise ValueError(f"window {self.window_start_s}+{self.window_s} s ends after the trace "
                             f"({self.n_steps} bins at {fs} Hz)")
        return slice(start, stop)


#: The full run (cached): 30 test cells × 3 rates × 10,000 steps, 30 samples per trace and model.
FULL = Fig2Config()
#: The quick run (CI): the same code on 2 cells × 3 rates × 1,200 steps (20 s), 10 samples.
QUICK = Fig2Config(n_cells=2, n_steps=1_200, n_samples=10, window_start_s=4.0)


# --------------------------------------------------------------------------- pure functions
def count_sampled_spikes(samples: Tensor | np.ndarray, true_spikes: Tensor | np.ndarray,
                         half_width: int = 2) -> np.ndarray:
    """For every true spike, the number of sampled spikes that belong to it (Fig. 2B).

    A sampled spike at bin :math:`t` belongs to the true spike nearest to :math:`t` if that one lies at
    most ``half_width`` bins away (ties go to the earlier true spike); otherwise it belongs to none. So
    when the windows :math:`[\\tau - w, \\tau + w]` of two true spikes overlap, the bins they share are
    split between them by distance and **no sampled spike is counted twice**: the counts of a train add
    up to the number of its spikes that lie within ``half_width`` of some true spike. A posterior that
    is certain about the number of spikes but unsure of their timing gives a count of exactly 1 for
    every true spike (the paper's DS-NF); a factorized posterior that spreads a probability of ~1 over a
    few bins gives 0, 1, 2, ... spikes with a Poisson-binomial spread (DS-F).

    Args:
        samples: Sampled spike trains, shape ``(K, T)`` for one trace or ``(K, B, T)`` for B traces,
            values in {0, 1} (counts > 1 are counted with their value).
        true_spikes: True spike trains, shape ``(T,)`` or ``(B, T)`` matching ``samples``, values in {0, 1}.
        half_width: Window half-width :math:`w` in bins (2 bins ≈ 33 ms at 60 Hz).

    Returns:
        Counts, int64, shape ``(K, N)`` where N is the number of true spikes, ordered by trace and then
        by time (traces concatenated for a batch).

    Raises:
        ValueError: On shape mismatches, a negative ``half_width``, or non-binary true spikes.

    References:
        Speiser et al. (2017), Fig. 2B ("Number of spikes sampled for every true spike").
    """
    samples = as_numpy(samples)
    truth = as_numpy(true_spikes)
    if isinstance(half_width, bool) or not isinstance(half_width, (int, np.integer)) or half_width < 0:
        raise ValueError(f"half_width must be a non-negative int (bins), got {half_width!r}")
    if samples.ndim == 2 and truth.ndim == 1:
        samples, truth = samples[:, None], truth[None]
    if samples.ndim != 3 or truth.ndim != 2 or samples.shape[1:] != truth.shape:
        raise ValueError(f"need samples (K, T) with true spikes (T,), or (K, B, T) with (B, T); got "
                         f"{samples.shape} and {truth.shape}")
    if ((truth != 0) & (truth != 1)).any():
        raise ValueError("true spikes must be binary (one spike per bin at most)")
    counts = [_count_one_trace(samples[:, b], truth[b], int(half_width)) for b in range(truth.shape[0])]
    return np.concatenate(counts, axis=1)


def _count_one_trace(samples: np.ndarray, truth: np.ndarray, half_width: int) -> np.ndarray:
    """:func:`count_sampled_spikes` for samples ``(K, T)`` and one true train ``(T,)``."""
    k, n_bins = samples.shape
    spike_bins = np.flatnonzero(truth)  # (N,) sorted
    n_true = len(spike_bins)
    if n_true == 0:
        return np.zeros((k, 0), dtype=np.int64)
    bins = np.arange(n_bins)
    right = np.searchsorted(spike_bins, bins)  # first true spike at or after t
    left = np.clip(right - 1, 0, n_true - 1)
    right = np.clip(right, 0, n_true - 1)
    d_left, d_right = np.abs(bins - spike_bins[left]), np.abs(spike_bins[right] - bins)
    nearest = np.where(d_left <= d_right, left, right)  # (T,), ties → the earlier true spike
    inside = np.minimum(d_left, d_right) <= half_width  # (T,)
    owner = nearest[inside]  # (M,) true-spike index of each bin that belongs to one
    flat = (np.arange(k)[:, None] * n_true + owner[None, :]).ravel()  # (K·M,)
    weights = samples[:, inside].ravel()
    return np.bincount(flat, weights=weights, minlength=k * n_true).reshape(k, n_true).round().astype(np.int64)


def count_histogram(counts: np.ndarray, max_count: int = 4) -> np.ndarray:
    """Histogram of per-true-spike counts: how many (sample, true spike) pairs have 0, 1, ... spikes.

    Args:
        counts: Output of :func:`count_sampled_spikes`, any shape, non-negative ints.
        max_count: The last bin holds all counts ≥ ``max_count``.

    Returns:
        Number of pairs per count, int64, shape ``(max_count + 1,)``.
    """
    counts = np.asarray(counts)
    if (counts < 0).any():
        raise ValueError("counts must be non-negative")
    return np.bincount(np.minimum(counts, max_count).ravel().astype(np.int64), minlength=max_count + 1)


class _NoiseFreeMean(nn.Module):
    """Lets ``functional_call`` evaluate ``model.mean`` with parameters indexed by cell."""

    def __init__(self, model: CalciumModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, spikes: Tensor) -> Tensor:
        return self.model.mean(spikes)


def noise_free_mean(generative: CalciumModel, spikes: Tensor, cells: Tensor) -> Tensor:
    """Reconstructions: the noise-free fluorescence :math:`\\alpha x_t(s) + \\beta` of each trace's own cell.

    Every per-cell parameter (a leading axis of length C) is indexed with ``cells`` so that the model's
    cell axis becomes the trace axis B; shared (0-d) parameters are used as they are.

    Args:
        generative: A model with per-cell parameters of shape ``(C,)`` (AR roots ``(C, p)``).
        spikes: Spike trains, shape ``(K, B, T)`` (or ``(B, T)``).
        cells: Cell of each trace, shape ``(B,)``, integers in ``[0, C)``.

    Returns:
        Noise-free fluorescence, shape of ``spikes``; no gradient.

    References:
        Speiser et al. (2017), eqs. (2)–(4) (SCDF: eq. 3); Fig. 2A "Reconstruction".
    """
    cells = torch.as_tensor(cells, dtype=torch.long)
    params = {}
    for name, param in generative.named_parameters():
        params[f"model.{name}"] = param if param.dim() == 0 else param[cells]
    with torch.no_grad():
        return functional_call(_NoiseFreeMean(generative), params, (spikes,))


class PosteriorDraws(NamedTuple):
    """Samples and marginals of a recognition model from one pass.

    Attributes:
        spikes: Sampled trains, shape ``(n, B, T)``, values in {0, 1}.
        marginals: :math:`q(s_t = 1 \\mid f)`, shape ``(B, T)``: exact for a factorized model, the mean of
            the per-sample conditional probabilities for an autoregressive one (as
            :meth:`~spikebook.recognition.DSNF.marginals`).
    """

    spikes: Tensor
    marginals: Tensor


def posterior_draws(recognition: RecognitionModel, f: Tensor, n_samples: int,
                    generator: torch.Generator | None = None) -> PosteriorDraws:
    """Draw ``n_samples`` trains per trace and the marginals from the same pass (no gradient).

    Args:
        recognition: DS-F, DS-NF or any model with ``sample_and_log_prob``.
        f: Fluorescence, shape ``(B, T)``.
        n_samples: Trains per trace.
        generator: Source of randomness.

    Returns:
        :class:`PosteriorDraws` with spikes ``(n, B, T)`` and marginals ``(B, T)``.
    """
    with torch.no_grad():
        draw = recognition.sample_and_log_prob(f, n_samples, generator)
        probabilities = torch.sigmoid(draw.logits).expand_as(draw.spikes)  # (n, B, T)
        return PosteriorDraws(draw.spikes, probabilities.mean(0))


# --------------------------------------------------------------------------- the experiment
class Fig2Result(NamedTuple):
    """Everything the three panels show (what the cache holds).

    Attributes:
        traces: Column → ``(n_traces,)`` array, one row per trace (cell × rate): ``cell``, ``rate_hz``,
            ``n_spikes`` and, per model slug ``m`` (``dsf``, ``dsnf``): ``log_q_true_m`` (nats),
            ``corr_m``, ``rmse_m`` (reconstruction RMSE / σ, mean over samples), ``mean_count_m`` and
            ``frac_one_m`` (mean count per true spike and fraction of counts equal to 1),
            ``sampled_per_true_m`` (sampled spikes per true spike, whole trace).
        counts: Model label → histogram of per-true-spike counts ``(max_count + 1,)`` (pairs of sample
            and true spike, all traces).
        example: Panel-A window: ``time_s``, ``spikes``, ``fluorescence``, ``true_mean`` ``(W,)`` and per
            slug ``reconstructions_m`` ``(n_reconstructions, W)``, ``marginals_m`` ``(W,)``,
            ``samples_m`` ``(n_raster, W)``.
        meta: Configuration, model labels, checkpoints and runtime (JSON-serialisable).
    """

    traces: dict[str, np.ndarray]
    counts: dict[str, np.ndarray]
    example: dict[str, np.ndarray]
    meta: dict


def _slug(label: str) -> str:
    return label.lower().replace("-", "").replace(" ", "_")


def scdf_test_split(config: Fig2Config) -> SimulatedData:
    """The simulated SCDF test split of the paper (seed ``config.seed``), ``config.n_steps`` per trace."""
    return paper_datasets("SCDF", seed=config.seed, n_steps=config.n_steps)["test"]


def evaluate(
    recognitions: Mapping[str, RecognitionModel],
    data: SimulatedData,
    config: Fig2Config,
    meta: Mapping | None = None,
) -> Fig2Result:
    """Run every model on the first ``config.n_cells`` cells of ``data`` and collect the panels' data.

    Args:
        recognitions: Label → recognition model (e.g. ``{"DS-F": dsf, "DS-NF": dsnf}``).
        data: Simulated split with ``fluorescence``/``spikes`` ``(R, C, T)`` and the true ``model``; the
            first ``config.n_steps`` bins are used.
        config: Sizes and seed.
        meta: Extra entries for the result's ``meta`` (e.g. the checkpoints used).

    Returns:
        :class:`Fig2Result`.
    """
    start_time = time.perf_counter()
    n_rates, n_cells_data, n_bins = data.fluorescence.shape
    if config.n_cells > n_cells_data or config.n_steps > n_bins:
        raise ValueError(f"data hold {n_cells_data} cells × {n_bins} bins, config asks for "
                         f"{config.n_cells} × {config.n_steps}")
    fs = data.config.fs
    window = config.window(fs)
    generator = torch.Generator().manual_seed(config.seed)
    sigma = data.model.sigma.detach()  # (C,)
    rows: dict[str, list] = {"cell": [], "rate_hz": [], "n_spikes": []}
    histograms = {label: np.zeros(config.max_count + 1, dtype=np.int64) for label in recognitions}
    example: dict[str, np.ndarray] = {}
    for first in range(0, config.n_cells, config.cells_per_batch):
        cells = torch.arange(first, min(first + config.cells_per_batch, config.n_cells))
        # traces of these cells, cell-major: (B = cells × R, T)
        f = data.fluorescence[:, cells, : config.n_steps].transpose(0, 1).reshape(-1, config.n_steps)
        truth = data.spikes[:, cells, : config.n_steps].transpose(0, 1).reshape(-1, config.n_steps)
        trace_cells = cells.repeat_interleave(n_rates)  # (B,)
        rows["cell"] += trace_cells.tolist()
        rows["rate_hz"] += list(data.config.rates_hz) * len(cells)
        rows["n_spikes"] += truth.sum(-1).long().tolist()
        at_example = (trace_cells == config.example_cell).nonzero()
        b_example = int(at_example[config.example_rate]) if len(at_example) else None
        if b_example is not None:
            example["time_s"] = np.arange(window.start, window.stop) / fs
            example["spikes"] = truth[b_example, window].numpy().astype(np.uint8)
            example["fluorescence"] = f[b_example, window].numpy().astype(np.float32)
            mean = noise_free_mean(data.model, truth[b_example : b_example + 1], trace_cells[b_example : b_example + 1])
            example["true_mean"] = mean[0, window].numpy().astype(np.float32)
        for label, recognition in recognitions.items():
            slug = _slug(label)
            draws = posterior_draws(recognition, f, config.n_samples, generator)
            with torch.no_grad():
                log_q_true = recognition.log_prob(truth, f)[0]  # (B,)
            reconstructions = noise_free_mean(data.model, draws.spikes, trace_cells)  # (n, B, T)
            rmse = ((reconstructions - f).pow(2).mean(-1).sqrt() / sigma[trace_cells]).mean(0)  # (B,)
            counts = [count_sampled_spikes(draws.spikes[:, b], truth[b], config.half_width) for b in range(len(f))]
            for c in counts:
                histograms[label] += count_histogram(c, config.max_count)
            _append(rows, f"log_q_true_{slug}", log_q_true.tolist())
            _append(rows, f"corr_{slug}", binned_correlation(draws.marginals, truth).tolist())
            _append(rows, f"rmse_{slug}", rmse.tolist())
            _append(rows, f"mean_count_{slug}", [c.mean() if c.size else np.nan for c in counts])
            _append(rows, f"frac_one_{slug}", [(c == 1).mean() if c.size else np.nan for c in counts])
            sampled = draws.spikes.sum(-1).mean(0) / truth.sum(-1).clamp(min=1)  # (B,)
            _append(rows, f"sampled_per_true_{slug}", sampled.tolist())
            if b_example is not None:
                example[f"reconstructions_{slug}"] = (
                    reconstructions[: config.n_reconstructions, b_example, window].numpy().astype(np.float32))
                example[f"marginals_{slug}"] = draws.marginals[b_example, window].numpy().astype(np.float32)
                example[f"samples_{slug}"] = draws.spikes[: config.n_raster, b_example, window].numpy().astype(np.uint8)
    traces = {name: np.asarray(values, dtype=np.int64 if name in ("cell", "n_spikes") else np.float64)
              for name, values in rows.items()}
    info = {"labels": list(recognitions), "config": dataclasses.asdict(config), "fs": fs,
            "rates_hz": list(data.config.rates_hz), "runtime_s": round(time.perf_counter() - start_time, 1)}
    info.update(meta or {})
    return Fig2Result(traces, histograms, example, info)


def _append(rows: dict[str, list], name: str, values: list) -> None:
    rows.setdefault(name, []).extend(values)


def summarize(result: Fig2Result) -> dict[str, float]:
    """The numbers the chapter quotes, per model label: means over traces, and pooled count fractions.

    Returns:
        Keys ``"<label>: <quantity>"`` with quantities ``P(count = 1)``, ``mean count``, ``sd count``
        (pooled over true spikes and samples), ``log q(true)`` (mean nats per trace), ``corr`` (mean
        Pearson r), ``rmse / sigma`` (mean); plus ``"DS-NF > DS-F in log q(true)"`` (fraction of traces)
        when both labels are present.
    """
    out: dict[str, float] = {}
    for label, histogram in result.counts.items():
        slug = _slug(label)
        values = np.arange(len(histogram))
        p = histogram / max(histogram.sum(), 1)
        mean = float((p * values).sum())
        out[f"{label}: P(count = 1)"] = float(p[1])
        out[f"{label}: mean count"] = mean
        out[f"{label}: sd count"] = float(np.sqrt((p * (values - mean) ** 2).sum()))
        out[f"{label}: log q(true)"] = float(np.mean(result.traces[f"log_q_true_{slug}"]))
        out[f"{label}: corr"] = float(np.nanmean(result.traces[f"corr_{slug}"]))
        out[f"{label}: rmse / sigma"] = float(np.mean(result.traces[f"rmse_{slug}"]))
    if {"DS-F", "DS-NF"} <= set(result.counts):
        better = result.traces["log_q_true_dsnf"] > result.traces["log_q_true_dsf"]
        out["DS-NF > DS-F in log q(true)"] = float(better.mean())
    return out


# --------------------------------------------------------------------------- cache
def save_results(result: Fig2Result, directory: Path = RESULTS_DIR) -> None:
    """Write the four cache files of ``result`` into ``directory`` (created if needed)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / _FILES["traces"], "w", newline="") as handle:
        writer = csv.writer(handle)
        names = list(result.traces)
        writer.writerow(names)
        for row in zip(*(result.traces[n] for n in names), strict=True):
            writer.writerow([_format(v) for v in row])
    with open(directory / _FILES["counts"], "w", newline="") as handle:
        writer = csv.writer(handle)
        labels = list(result.counts)
        writer.writerow(["count", *labels])
        for count, row in enumerate(zip(*(result.counts[label] for label in labels), strict=True)):
            writer.writerow([count, *(int(v) for v in row)])
    np.savez_compressed(directory / _FILES["example"], **result.example)
    (directory / _FILES["meta"]).write_text(json.dumps(result.meta, indent=1) + "\n")


def _format(value: float) -> str:
    return str(int(value)) if isinstance(value, (np.integer, int)) else f"{float(value):.6g}"


def load_results(directory: Path = RESULTS_DIR) -> Fig2Result | None:
    """Read a cached result back (``None`` if any of the four files is missing)."""
    directory = Path(directory)
    if not all((directory / name).exists() for name in _FILES.values()):
        return None
    with open(directory / _FILES["traces"], newline="") as handle:
        table = list(csv.reader(handle))
    traces = {name: np.array([row[i] for row in table[1:]],
                             dtype=np.int64 if name in ("cell", "n_spikes") else np.float64)
              for i, name in enumerate(table[0])}
    with open(directory / _FILES["counts"], newline="") as handle:
        table = list(csv.reader(handle))
    counts = {label: np.array([int(row[i]) for row in table[1:]], dtype=np.int64)
              for i, label in enumerate(table[0]) if label != "count"}
    with np.load(directory / _FILES["example"]) as archive:
        example = {name: archive[name] for name in archive.files}
    meta = json.loads((directory / _FILES["meta"]).read_text())
    return Fig2Result(traces, counts, example, meta)


def load_models(quick: bool, retrain: bool = False) -> dict[str, pretrained.Pretrained]:
    """The two pretrained SCDF networks: the shipped checkpoints, else toy ones trained in seconds (quick).

    Args:
        quick: Without a full checkpoint, train the toy version (:data:`spikebook.recipes.simulated.QUICK`)
            instead of the full recipe (hours on a CPU).
        retrain: Train even if a checkpoint exists.

    Returns:
        Label → :class:`~spikebook.pretrained.Pretrained`.
    """
    return {label: pretrained.load_or_train(name, quick=quick, retrain=retrain, progress=False)
            for label, name in CHECKPOINTS.items()}


class Fig2Run(NamedTuple):
    """What the chapter shows and what it ran.

    Attributes:
        shown: The result to plot: the cached full run when present (quick mode), else ``live``.
        live: The result computed in this session (quick: :data:`QUICK` sizes; full: :data:`FULL`).
        from_cache: Whether ``shown`` was read from the cache.
    """

    shown: Fig2Result
    live: Fig2Result
    from_cache: bool


def load_or_compute(quick: bool, directory: Path = RESULTS_DIR, retrain: bool = False) -> Fig2Run:
    """The chapter's entry point: run Fig. 2 live, and show the full-mode cache when there is one.

    Quick mode runs :func:`evaluate` at :data:`QUICK` sizes (with the full checkpoints if present, else
    toy ones) and shows the cached full result if ``directory`` holds one. Full mode runs at
    :data:`FULL` sizes and writes the cache — only when both models are full checkpoints.

    Args:
        quick: Quick (CI) or full mode.
        directory: Cache folder.
        retrain: Retrain the networks first (see :func:`load_models`).

    Returns:
        :class:`Fig2Run`.
    """
    models = load_models(quick, retrain)
    config = QUICK if quick else FULL
    meta = {"checkpoints": {label: m.name + ("-quick" if m.quick else "") for label, m in models.items()}}
    live = evaluate({label: m.recognition for label, m in models.items()}, scdf_test_split(config), config, meta)
    if not quick and not any(m.quick for m in models.values()):
        save_results(live, directory)
    cached = load_results(directory) if quick else None
    return Fig2Run(cached if cached is not None else live, live, cached is not None)


# --------------------------------------------------------------------------- figures
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
    n_trains = sum(len(ex[f"samples_{_slug(m)}"]) for m in labels)
    heights = [0.4, *([1.3] * len(labels)), 0.9, max(0.12 * n_trains, 0.6)]
    fig, axes = plt.subplots(len(heights), 1, figsize=(8, 1.3 * sum(heights) + 0.6), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    axes[0].vlines(spike_times, 0, 1, color="0.15", lw=1.2)
    axes[0].set(yticks=[], ylabel="true\nspikes")
    for ax, label in zip(axes[1 : 1 + len(labels)], labels, strict=True):
        ax.plot(time_s, ex["fluorescence"], color="0.6", lw=0.8, label="trace")
        for i, reconstruction in enumerate(ex[f"reconstructions_{_slug(label)}"]):
            ax.plot(time_s, reconstruction, color=MODEL_COLORS.get(label), lw=0.9, alpha=0.8,
                    label="reconstructions" if i == 0 else None)
        ax.set_ylabel(f"reconstruction\n{label}")
        ax.legend(loc="upper right", fontsize="x-small", frameon=False, ncols=2)
    ax = axes[1 + len(labels)]
    for label in labels:
        ax.plot(time_s, ex[f"marginals_{_slug(label)}"], color=MODEL_COLORS.get(label), lw=1.0, label=label)
    ax.set(ylim=(0, 1.05), ylabel="marginal\nprobability")
    ax.legend(loc="upper right", fontsize="x-small", frameon=False, ncols=len(labels))
    ax = axes[-1]
    row = 0
    for label in labels:
        for train in ex[f"samples_{_slug(label)}"]:
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
        xs, ys = t[f"{metric}_{_slug(x)}"], t[f"{metric}_{_slug(y)}"]
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
