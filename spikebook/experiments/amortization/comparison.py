"""Fig. 2C: both arms on the same test cells (the amortized network as is, one fresh network per cell), and
what each arm cost in training steps and seconds.

Taught in: book chapter "Amortization".
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from torch import Tensor

from spikebook.data.simulate import SimulatedData
from spikebook.experiments.amortization.config import AmortizationConfig
from spikebook.experiments.amortization.per_cell import cell_correlation, fit_single_cell
from spikebook.experiments.parallel import map_unordered
from spikebook.recognition import RecognitionModel

__all__ = ["AmortizationResult", "CellScore", "Cost", "run_amortization"]


class CellScore(NamedTuple):
    """Both arms on one test cell.

    Attributes:
        cell: Index of the cell in the test split.
        amortized: Correlation of the amortized network's marginals with the true spikes (mean over
            the cell's traces).
        single_cell: The same for the network trained on this cell alone.
        best_step: Step of the per-cell fit whose state was kept (best held-out bound).
        train_seconds: Wall-clock seconds of the per-cell fit (evaluations included).
    """

    cell: int
    amortized: float
    single_cell: float
    best_step: int
    train_seconds: float


class Cost(NamedTuple):
    """What one arm cost.

    Attributes:
        arm: ``"amortized"`` or ``"single_cell"``.
        recognition: ``"DS-F"`` or ``"DS-NF"``.
        networks: Number of networks trained (1 for the amortized arm, ``n_cells`` otherwise).
        training_steps: VIMCO steps of all its networks together.
        training_seconds: Seconds of training. For the amortized arm an *estimate*: its steps times the
            per-cell arm's measured seconds per step (a step costs the same in both arms: one minibatch
            of chunks of one cell, same hyper-parameters).
        inference_ms_per_cell: Milliseconds to compute one cell's marginals (all its traces) once the
            network is trained.
    """

    arm: str
    recognition: str
    networks: int
    training_steps: int
    training_seconds: float
    inference_ms_per_cell: float


class AmortizationResult(NamedTuple):
    """What :func:`run_amortization` returns (and
    :func:`~spikebook.experiments.amortization.cache.load_result` reads back).

    Attributes:
        scores: One :class:`CellScore` per test cell.
        costs: Two :class:`Cost` rows, amortized first.
    """

    scores: list[CellScore]
    costs: list[Cost]

    def column(self, name: str) -> np.ndarray:
        """One field of :attr:`scores` as an array, e.g. ``result.column("amortized")``, shape ``(C,)``."""
        return np.array([getattr(s, name) for s in self.scores])


class _SingleCellFit(NamedTuple):
    correlation: float
    best_step: int
    train_seconds: float
    inference_seconds: float


def _fit_and_score(fluorescence: Tensor, spikes: Tensor, cell: int, config: AmortizationConfig) -> _SingleCellFit:
    """The per-cell arm on one cell: fit (:func:`fit_single_cell`), then score its marginals."""
    start = time.perf_counter()
    fit = fit_single_cell(fluorescence, cell, config)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    r = cell_correlation(fit.recognition, fluorescence[:, cell], spikes[:, cell], config.n_samples, config.seed)
    return _SingleCellFit(float(np.mean(r)), fit.best_step, train_s, time.perf_counter() - start)


def run_amortization(
    amortized: RecognitionModel,
    data: SimulatedData,
    config: AmortizationConfig,
    amortized_steps: int,
    progress: bool = True,
    workers: int = 1,
) -> AmortizationResult:
    """Fig. 2C: score the amortized network and one freshly trained network per cell on the same cells.

    Args:
        amortized: The network trained on the training cells (e.g. ``pretrained.load("dsf-scdf-60hz")``);
            applied as is.
        data: Test cells, ``fluorescence`` and ``spikes`` of shape ``(R, C, T)``
            (:func:`~spikebook.experiments.amortization.per_cell.load_test_cells`); the first
            ``config.n_cells`` cells are used.
        config: Experiment configuration.
        amortized_steps: VIMCO steps the amortized network was trained for (for the cost table).
        progress: Print one line per cell (in the order the fits finish).
        workers: Per-cell fits run at once, each in its own process (spawned, with torch's current
            thread count). The per-cell fits are independent and seeded per cell, so the scores do not
            depend on ``workers``; their ``train_seconds`` do (processes share the cores or the GPU). On
            a GPU the DS-NF fits are bound by kernel launches, so several processes share it well.

    Returns:
        :class:`AmortizationResult`: per-cell scores and the cost of both arms.
    """
    fluorescence, spikes = data.fluorescence, data.spikes
    if fluorescence.shape != spikes.shape or fluorescence.dim() != 3:
        raise ValueError(f"need (R, C, T) fluorescence and spikes, got {tuple(fluorescence.shape)}, "
                         f"{tuple(spikes.shape)}")
    if config.n_cells > fluorescence.shape[1]:
        raise ValueError(f"n_cells={config.n_cells} but the data hold {fluorescence.shape[1]} cells")
    cells = range(config.n_cells)
    jobs = [(fluorescence, spikes, cell, config) for cell in cells]
    single_cell_fits = map_unordered(_fit_and_score, jobs, workers)  # lazy; checks workers now
    amortized_r, amortized_s = {}, 0.0
    for cell in cells:
        start = time.perf_counter()
        amortized_r[cell] = float(np.mean(cell_correlation(amortized, fluorescence[:, cell], spikes[:, cell],
                                                           config.n_samples, config.seed)))
        amortized_s += time.perf_counter() - start

    fits: dict[int, _SingleCellFit] = {}
    for cell, fit in single_cell_fits:
        fits[cell] = fit
        if progress:
            print(f"cell {cell:3d}: amortized {amortized_r[cell]:.3f}  single cell {fit.correlation:.3f}  "
                  f"(best step {fit.best_step}, {fit.train_seconds:.0f} s)", flush=True)
    scores = [CellScore(c, amortized_r[c], fits[c].correlation, fits[c].best_step, fits[c].train_seconds)
              for c in cells]
    total_s = sum(s.train_seconds for s in scores)
    total_steps = config.n_cells * config.n_steps
    per_step_s = total_s / total_steps
    costs = [
        Cost("amortized", config.recognition, 1, amortized_steps, amortized_steps * per_step_s,
             1e3 * amortized_s / config.n_cells),
        Cost("single_cell", config.recognition, config.n_cells, total_steps, total_s,
             1e3 * sum(f.inference_seconds for f in fits.values()) / config.n_cells),
    ]
    return AmortizationResult(scores, costs)
