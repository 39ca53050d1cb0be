"""What the GCaMP6 generative models learned without labels, next to what the labels would have taught them.

VIMCO (:func:`spikebook.recipes.gcamp.train_network`) learns one MLphys model (eq. 4) per one-minute
training segment from the fluorescence alone. This module fits the same per-segment models by maximum
likelihood *given the true spikes*, :math:`\\max_\\theta \\log p_\\theta(f \\mid s_{\\rm true})`, and puts the
three parameter sets side by side: the starting values (:data:`~spikebook.generative.indicators.INITIAL_MLPHYS`),
the values VIMCO reached (the constant-baseline DS-F folds of :mod:`spikebook.experiments.gcamp`) and the
supervised fit. The supervised fit uses spike labels, so it is
a **diagnostic only**: it never feeds the networks or the table. It is how published per-indicator values
are obtained (MLspike's were calibrated on recordings with ground truth), and it shows which parameters the
unsupervised objective pins down and which it leaves near where they started.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from spikebook.data.groundtruth import GcampNeuron, load_neurons
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.gcamp.crossval import N_FOLDS, FoldRun, load_record, training_neurons
from spikebook.generative import MLphys
from spikebook.generative.indicators import Indicator
from spikebook.recipes.gcamp import cut_segments, initial_mlphys, learned_mlphys

__all__ = ["CSV_FILE", "PARAMETERS", "compare", "fit_given_spikes", "load_cached", "parameters", "table_path"]

#: The compared parameters, in MLspike's units (seconds, ΔF/F per spike, dimensionless), and two responses
#: that do not depend on how the parametrisation splits them: the peak ΔF/F after one spike, and the peak after
#: two spikes in one frame over twice that (> 1: supralinear). ``delay`` is MLphys's sub-frame delay in frames.
PARAMETERS = ("tau_decay", "tau_on", "alpha", "eta", "c0", "omega", "delay", "sigma", "peak_1ap", "ratio_2ap")
#: The cached :func:`compare` table, in the results folder.
CSV_FILE = "gcamp_mlphys.csv"


def table_path(results_dir: Path = RESULTS_DIR) -> Path:
    """Where the :func:`compare` table is cached."""
    return Path(results_dir) / CSV_FILE


def parameters(model: MLphys) -> pd.DataFrame:
    """One row per segment of ``model``, one column per entry of :data:`PARAMETERS`.

    ``tau_decay`` is the AR(1) root's time constant (:meth:`~spikebook.generative.CalciumModel.time_constants`);
    the peaks come from the noise-free response over 3 s; ``delay`` is NaN for a model without one.
    """
    n_cells = model.alpha.shape[-1] if model.alpha.dim() else 1
    spikes = torch.zeros(2, n_cells, int(3 * model.fs))
    spikes[0, :, 0], spikes[1, :, 0] = 1.0, 2.0
    with torch.no_grad():
        peaks = (model.mean(spikes) - model.beta.unsqueeze(-1)).amax(-1)  # (2, C)
        values = {"tau_decay": model.time_constants(model.fs).squeeze(-1),
                  **{name: getattr(model, name) for name in ("tau_on", "alpha", "eta", "c0", "omega", "sigma")},
                  "delay": model.delay if model.delayed else torch.full_like(model.alpha, float("nan")),
                  "peak_1ap": peaks[0], "ratio_2ap": peaks[1] / (2 * peaks[0])}
        return pd.DataFrame({k: v.detach().cpu().double().numpy() for k, v in values.items()})


def fit_given_spikes(model: MLphys, f: torch.Tensor, spikes: torch.Tensor, steps: int = 1_500,
                     lr: float = 0.05) -> MLphys:
    """Maximum-likelihood fit of every parameter of ``model`` given the spikes, in place (Adam, full batch).

    Args:
        model: MLphys with one parameter set per row of ``f``.
        f: Fluorescence, ``(C, T)``.
        spikes: The spike counts of the same frames, ``(C, T)``.
        steps: Adam steps on the mean negative log-likelihood per frame.
        lr: Adam's learning rate (on the unconstrained parameters).

    Returns:
        ``model``, fitted.
    """
    if f.shape != spikes.shape or f.dim() != 2:
        raise ValueError(f"f and spikes must both be (C, T), got {tuple(f.shape)} and {tuple(spikes.shape)}")
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    for _ in range(steps):
        loss = -model.log_prob(f, spikes).sum() / f.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def _given_spikes(neurons: list[GcampNeuron], f: np.ndarray, steps: int) -> pd.DataFrame:
    """The fit of every segment ``f`` of ``neurons`` (``(C, T)``, :func:`cut_segments`) given its spikes."""
    spikes = torch.as_tensor(cut_segments(neurons, None, "spikes"), dtype=torch.float32)
    model = initial_mlphys(neurons[0].indicator, f, neurons[0].fs)
    return parameters(fit_given_spikes(model, torch.as_tensor(f, dtype=torch.float32), spikes, steps))


def _learned(neurons: list[GcampNeuron], results_dir: Path) -> pd.DataFrame:
    """The per-segment models of the four DS-F folds (each segment is in the training set of three)."""
    tables = []
    for fold in range(N_FOLDS):
        record = load_record(FoldRun(neurons[0].indicator, "DS-F", fold), results_dir)
        model, _ = learned_mlphys(record, training_neurons(neurons, fold))
        tables.append(parameters(model))
    return pd.concat(tables, ignore_index=True)


def compare(indicators: tuple[Indicator, ...] = ("GCaMP6s", "GCaMP6f"), root: str | Path | None = None,
            steps: int = 1_500, results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """Median of every parameter over segments: at the start, as VIMCO learned it, and fitted given the spikes.

    Needs the full-mode, constant-baseline DS-F fold runs in ``results_dir``. Returns a long table with columns ``indicator``, ``source``
    (``"start"``, ``"VIMCO (DS-F folds)"``, ``"fit given true spikes"``), ``parameter``, ``median``,
    ``q25`` and ``q75``.
    """
    rows = []
    for indicator in indicators:
        neurons = load_neurons(indicator, root)
        f = cut_segments(neurons, None)
        start = parameters(initial_mlphys(indicator, f, neurons[0].fs))
        for source, table in (("start", start), ("VIMCO (DS-F folds)", _learned(neurons, results_dir)),
                              ("fit given true spikes", _given_spikes(neurons, f, steps))):
            q = table.quantile([0.25, 0.5, 0.75])
            rows += [(indicator, source, p, q.loc[0.5, p], q.loc[0.25, p], q.loc[0.75, p]) for p in PARAMETERS]
    return pd.DataFrame(rows, columns=["indicator", "source", "parameter", "median", "q25", "q75"])


def load_cached(results_dir: Path = RESULTS_DIR) -> pd.DataFrame | None:
    """The cached :func:`compare` table, or ``None`` if it was never computed."""
    path = table_path(results_dir)
    return pd.read_csv(path) if path.exists() else None


if __name__ == "__main__":
    table = compare()
    table.to_csv(table_path(), index=False)
    print(table.pivot_table(index=["indicator", "parameter"], columns="source", values="median").round(3).to_string())
