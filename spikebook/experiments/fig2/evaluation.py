"""The Fig. 2 run: its sizes, the models evaluated on the test cells, and the numbers the chapter quotes.

:func:`evaluate` applies every recognition model to the same traces with one generator, so the panels
compare the posteriors and nothing else.

Taught in: book chapter "Correlated posteriors".
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from spikebook.data.simulate import SimulatedData, paper_datasets
from spikebook.experiments.fig2.counting import count_histogram, count_sampled_spikes
from spikebook.experiments.fig2.posterior import noise_free_mean, posterior_draws
from spikebook.metrics import binned_correlation
from spikebook.recognition import RecognitionModel
from spikebook.validate import non_negative_int, positive_int

__all__ = ["FULL", "QUICK", "Fig2Config", "Fig2Result", "evaluate", "fig2_summary", "model_slug",
           "scdf_test_split"]


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
            positive_int(getattr(self, name), name)
        non_negative_int(self.half_width, "half_width")
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


def model_slug(label: str) -> str:
    """The column suffix of a model label: ``"DS-NF"`` → ``"dsnf"``."""
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
            slug = model_slug(label)
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


def fig2_summary(result: Fig2Result) -> dict[str, float]:
    """The numbers the chapter quotes, per model label: means over traces, and pooled count fractions.

    Args:
        result: A live or cached :class:`Fig2Result`.

    Returns:
        Keys ``"<label>: <quantity>"`` with quantities ``P(count = 1)``, ``mean count``, ``sd count``
        (pooled over true spikes and samples), ``log q(true)`` (mean nats per trace), ``corr`` (mean
        Pearson r), ``rmse / sigma`` (mean); plus ``"DS-NF > DS-F in log q(true)"`` (fraction of traces)
        when both labels are present.
    """
    out: dict[str, float] = {}
    for label, histogram in result.counts.items():
        slug = model_slug(label)
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
