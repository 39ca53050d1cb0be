r"""Amortized versus per-cell variational inference (Speiser et al. 2017, §3.2, Fig. 2C).

The question of Fig. 2C: how much accuracy does *amortization* cost? One recognition network
:math:`q_\phi(s \mid f)` trained on the 50 training cells (the pretrained entry, e.g. ``"dsf-scdf-60hz"``)
is applied, with no further training, to unseen test cells. It is compared with *per-cell* variational
inference: for each test cell a fresh recognition network and a fresh one-cell generative model are
fitted with VIMCO (:func:`spikebook.training.fit_vimco`) to that cell's traces alone — standard
variational inference that uses a network to parametrize :math:`q`, but amortizes nothing.

Protocol, for each of the first ``n_cells`` test cells of ``paper_datasets(data, seed=0)["test"]``
(simulated, three traces of ``T`` bins at 60 Hz per cell):

* **per-cell arm** — the last ``heldout_steps`` bins of each of the cell's three traces are held out
  (:func:`split_cell`); the network is trained on the first ``T - heldout_steps`` bins and the training
  state with the best held-out bound is kept (the same selection as :func:`spikebook.pretrained.train`;
  no labels are used). The per-cell hyper-parameters are the amortized network's recipe, except the
  number of steps (:attr:`AmortizationConfig.n_steps`).
* **both arms** are scored on the *whole* traces of the cell (variational inference is meant to be
  applied to the data it was fitted on; spike labels enter only the score): Pearson correlation between
  the marginal spike probabilities :math:`q(s_t = 1 \mid f)` and the true spikes at 60 Hz (no binning),
  averaged over the cell's three traces (:func:`cell_correlation`). The paper reports 0.77 (amortized)
  versus 0.80 (per-cell) with DS-NF.

Everything is generic in the recognition model (``"DSF"`` or ``"DSNF"``) and in the per-cell budget.
Results are written as two small CSV files (:func:`save_result`): the per-cell scores and the cost of
both arms in training steps and seconds.

From the command line (the full runs write ``book/results/amortization[_dsnf][_cost].csv``)::

    python -m spikebook.experiments.amortization --full --workers 15                     # DS-F
    python -m spikebook.experiments.amortization --full --recognition DSNF --workers 15  # DS-NF

The shipped results are these two lines, run on one H100 GPU with 16 CPU cores (15 per-cell fits at once).
DS-F: 2,000 steps per cell, ~0.11 s per step each, ~8 min in all. DS-NF: 400 steps per cell, ~0.7 s per
step each, ~10 min in all. On a 2-core CPU they would take ~1 and ~8 hours.

Taught in: book chapter "Amortization".

References:
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30, §3.2 and Fig. 2C.
"""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from spikebook import plotting, pretrained
from spikebook.data.simulate import SimulatedData, paper_datasets
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.parallel import map_unordered
from spikebook.generative import BernoulliPrior
from spikebook.metrics import binned_correlation
from spikebook.recognition import DSF, DSNF, CNNConfig, RecognitionModel, RNNConfig
from spikebook.training import FitResult, VimcoConfig, fit_vimco, seeded

__all__ = [
    "FULL_N_STEPS",
    "RESULTS_DIR",
    "AmortizationConfig",
    "AmortizationResult",
    "CellScore",
    "CellSplit",
    "Cost",
    "cell_correlation",
    "fit_single_cell",
    "load_result",
    "load_test_cells",
    "plot_amortization",
    "plot_cell_marginals",
    "run_amortization",
    "save_result",
    "split_cell",
]

RecognitionName = Literal["DSF", "DSNF"]

#: Per-cell VIMCO steps of the shipped full-mode runs, per recognition model. The paper trained each per-cell
#: network to convergence with early stopping. DS-F: 2,000 steps, by which the held-out bound of most cells
#: has levelled off (the kept state is the last one for 8 of the 30 cells, against 24 of 30 with 400 steps).
#: A DS-F step at the recipe's sizes (K = 64, 20 chunks of 300 bins) costs ~0.1 s, so the 30 fits take ~1.7 h
#: on one CPU thread (the shipped run: 15 at once on a 16-core machine with one GPU, ~4 min each). DS-NF: 400
#: steps, what the compute afforded (a DS-NF step costs ~0.35 s on a GPU, ~1 s on a CPU); most of its kept
#: states are the last one.
FULL_N_STEPS: dict[RecognitionName, int] = {"DSF": 2_000, "DSNF": 400}


@dataclass(frozen=True)
class AmortizationConfig:
    """The Fig. 2C experiment; defaults are the shipped full-mode run (DS-F, CPU budget).

    Attributes:
        recognition: Recognition model of both arms, ``"DSF"`` or ``"DSNF"`` (the paper: DS-NF).
        data: Generative model of the simulation and of the per-cell fits (the paper: ``"SCDF"``).
        n_cells: Number of test cells scored, the first ``n_cells`` of the test split (the paper: 30).
        n_steps: VIMCO steps of each per-cell network (the per-cell budget); ``None`` takes
            :data:`FULL_N_STEPS` of the recognition model.
        eval_every: Steps between held-out evaluations (checkpoint selection) of a per-cell fit.
        training: Base VIMCO hyper-parameters of the per-cell fits (``K``, chunks, learning rates);
            ``None`` takes those of the amortized network's recipe. Its ``n_steps`` and ``eval_every``
            are replaced by the two fields above.
        heldout_steps: Bins at the end of every trace held out of per-cell training and used for
            checkpoint selection; ``None`` takes the recipe's (2,000 for DS-F, 600 for DS-NF).
        network: Architecture of the per-cell networks (:class:`~spikebook.recognition.CNNConfig` or
            :class:`~spikebook.recognition.RNNConfig`); ``None`` is the default (paper) layout, the one
            of the pretrained networks.
        n_samples: Samples for the marginals of DS-NF (the paper: 30); DS-F's are exact.
        seed: Seed of the per-cell fits (cell ``c`` uses ``seed + c``) and of the marginal samples.
    """

    recognition: RecognitionName = "DSF"
    data: Literal["SCF", "SCDF"] = "SCDF"
    n_cells: int = 30
    n_steps: int | None = None
    eval_every: int = 100
    training: VimcoConfig | None = None
    heldout_steps: int | None = None
    network: CNNConfig | RNNConfig | None = None
    n_samples: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        if self.recognition not in ("DSF", "DSNF"):
            raise ValueError(f"recognition must be 'DSF' or 'DSNF', got {self.recognition!r}")
        if self.data not in ("SCF", "SCDF"):
            raise ValueError(f"data must be 'SCF' or 'SCDF', got {self.data!r}")
        if self.n_steps is None:
            object.__setattr__(self, "n_steps", FULL_N_STEPS[self.recognition])
        for name in ("n_cells", "n_steps", "eval_every", "n_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.heldout_steps is not None and self.heldout_steps < 1:
            raise ValueError(f"heldout_steps must be positive, got {self.heldout_steps!r}")
        expected = CNNConfig if self.recognition == "DSF" else RNNConfig
        if self.network is not None and not isinstance(self.network, expected):
            raise ValueError(f"network must be a {expected.__name__} for {self.recognition}")

    @property
    def pretrained_name(self) -> str:
        """The amortized network's entry in :data:`spikebook.pretrained.RECIPES`, e.g. ``"dsf-scdf-60hz"``."""
        return f"{self.recognition.lower()}-{self.data.lower()}-60hz"

    @property
    def result_stem(self) -> str:
        """File stem of the cached full-mode result: ``"amortization"`` (DS-F) or ``"amortization_dsnf"``."""
        return "amortization" if self.recognition == "DSF" else "amortization_dsnf"

    @property
    def recipe(self) -> pretrained.Recipe:
        """The amortized network's recipe (prior, sampling rate, default hyper-parameters)."""
        return pretrained.RECIPES[self.pretrained_name]

    @property
    def per_cell_training(self) -> VimcoConfig:
        """The VIMCO hyper-parameters of one per-cell fit."""
        base = self.recipe.training if self.training is None else self.training
        return dataclasses.replace(base, n_steps=self.n_steps, eval_every=self.eval_every)

    @property
    def per_cell_heldout_steps(self) -> int:
        """Held-out bins at the end of every trace of a per-cell fit."""
        return self.recipe.heldout_steps if self.heldout_steps is None else self.heldout_steps


class CellSplit(NamedTuple):
    """One cell's traces cut into a training part and a held-out end.

    Attributes:
        train: Training fluorescence, shape ``(R, 1, T - H)`` (one cell, as :func:`fit_vimco` wants).
        heldout: Held-out fluorescence, shape ``(R, 1, H)``, for checkpoint selection only.
        train_bins: Time bins of ``train`` in the original traces, ``range(0, T - H)``.
        heldout_bins: Time bins of ``heldout``, ``range(T - H, T)``.
    """

    train: Tensor
    heldout: Tensor
    train_bins: range
    heldout_bins: range


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
        recognition: ``"DSF"`` or ``"DSNF"``.
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
    """What :func:`run_amortization` returns (and :func:`load_result` reads back).

    Attributes:
        scores: One :class:`CellScore` per test cell.
        costs: Two :class:`Cost` rows, amortized first.
    """

    scores: list[CellScore]
    costs: list[Cost]

    def column(self, name: str) -> np.ndarray:
        """One field of :attr:`scores` as an array, e.g. ``result.column("amortized")``, shape ``(C,)``."""
        return np.array([getattr(s, name) for s in self.scores])


def load_test_cells(config: AmortizationConfig, n_steps: int = 10_000) -> SimulatedData:
    """The paper's test split (100 cells, seed 0) restricted to its first ``config.n_cells`` cells.

    The whole split is simulated, so the cells are the same whatever ``n_cells`` is.

    Args:
        config: Gives the generative model and the number of cells.
        n_steps: Bins per trace (10,000 in the paper).

    Returns:
        :class:`~spikebook.data.simulate.SimulatedData` with ``fluorescence`` and ``spikes`` of shape
        ``(3, n_cells, n_steps)``; the model keeps all 100 cells' parameters.
    """
    split = paper_datasets(config.data, seed=0, n_steps=n_steps, fs=config.recipe.fs)["test"]
    if config.n_cells > split.fluorescence.shape[1]:
        raise ValueError(f"n_cells={config.n_cells} exceeds the {split.fluorescence.shape[1]} test cells")
    keep = slice(0, config.n_cells)
    return split._replace(fluorescence=split.fluorescence[:, keep], spikes=split.spikes[:, keep])


def split_cell(fluorescence: Tensor, cell: int, heldout_steps: int) -> CellSplit:
    """Cut one cell's traces into a training part and a held-out end (for checkpoint selection).

    Args:
        fluorescence: Traces of all cells, shape ``(R, C, T)``.
        cell: The cell, ``0 <= cell < C``.
        heldout_steps: ``H``, bins at the end of every trace kept out of training.

    Returns:
        :class:`CellSplit` with ``train`` ``(R, 1, T - H)`` and ``heldout`` ``(R, 1, H)``; together they
        are the cell's traces, without overlap.
    """
    if fluorescence.dim() != 3:
        raise ValueError(f"fluorescence must be (R, C, T), got shape {tuple(fluorescence.shape)}")
    n_cells, n_steps = fluorescence.shape[1:]
    if not 0 <= cell < n_cells:
        raise ValueError(f"cell {cell} out of range for {n_cells} cells")
    if not 0 < heldout_steps < n_steps:
        raise ValueError(f"heldout_steps must lie in (0, T={n_steps}), got {heldout_steps}")
    traces = fluorescence[:, cell : cell + 1]  # (R, 1, T)
    cut = n_steps - heldout_steps
    return CellSplit(traces[..., :cut], traces[..., cut:], range(cut), range(cut, n_steps))


def _fresh_networks(config: AmortizationConfig) -> tuple[RecognitionModel, torch.nn.Module]:
    """An untrained recognition network and a one-cell generative model at the recipe's initial values."""
    recognition, generative = pretrained.make_networks(config.recipe, n_cells=1)
    if config.network is not None:
        recognition = DSF(config.network) if config.recognition == "DSF" else DSNF(config.network)
    return recognition, generative


def fit_single_cell(
    fluorescence: Tensor,
    cell: int,
    config: AmortizationConfig,
    init: RecognitionModel | None = None,
    progress: bool = False,
) -> FitResult:
    """Per-cell (non-amortized) variational inference: fit a network to one cell's traces.

    A new recognition network and a one-cell generative model (the recipe's initial parameters) are
    trained with :func:`~spikebook.training.fit_vimco` on the first ``T - H`` bins of the cell's traces;
    the last ``H`` bins select the checkpoint by their bound (:func:`split_cell`).

    Args:
        fluorescence: Traces of all test cells, shape ``(R, C, T)``.
        cell: Which cell to fit.
        config: Experiment configuration (budget, hyper-parameters, seed; cell ``c`` uses ``seed + c``).
        init: Start from a copy of this network instead of a fresh one (*semi-amortized* inference:
            fine-tune the amortized network on the cell); ``None`` is the paper's per-cell arm. The
            network passed is not modified.
        progress: Show a progress bar.

    Returns:
        The :class:`~spikebook.training.FitResult` (best held-out state loaded).
    """
    split = split_cell(fluorescence, cell, config.per_cell_heldout_steps)
    with seeded(config.seed + cell):  # each cell's initial weights depend on its seed alone
        recognition, generative = _fresh_networks(config)
    if init is not None:
        recognition = copy.deepcopy(init).requires_grad_(True)
    recipe = config.recipe
    return fit_vimco(
        recognition,
        generative,
        split.train,
        config.per_cell_training,
        prior=BernoulliPrior(recipe.prior_rate_hz, recipe.fs),
        seed=config.seed + cell,
        validation=split.heldout,
        progress=progress,
    )


@torch.no_grad()
def cell_correlation(
    recognition: RecognitionModel, fluorescence: Tensor, spikes: Tensor, n_samples: int = 30, seed: int = 0
) -> np.ndarray:
    r"""Correlation of the marginals :math:`q(s_t = 1 \mid f)` with the true spikes, per trace, at 60 Hz.

    Args:
        recognition: Any recognition model (DS-F marginals are exact; DS-NF averages ``n_samples``).
        fluorescence: One cell's traces, shape ``(R, T)``.
        spikes: Its true spikes, shape ``(R, T)``.
        n_samples: Samples for sampled marginals (the paper: 30).
        seed: Seed of those samples.

    Returns:
        Pearson correlation per trace, shape ``(R,)``, at the sampling resolution (no binning).
    """
    device = next(recognition.parameters()).device
    was_training = recognition.training
    recognition.eval()
    generator = torch.Generator(device=device).manual_seed(seed)
    marginals = recognition.marginals(fluorescence.to(device), n_samples, generator)  # (R, T)
    recognition.train(was_training)
    return binned_correlation(marginals.cpu(), spikes)


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
        data: Test cells, ``fluorescence`` and ``spikes`` of shape ``(R, C, T)`` (:func:`load_test_cells`);
            the first ``config.n_cells`` cells are used.
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


def save_result(result: AmortizationResult, directory: str | Path = RESULTS_DIR, stem: str = "amortization") -> Path:
    """Write ``<stem>.csv`` (per-cell scores) and ``<stem>_cost.csv`` (the two arms) into ``directory``.

    Returns:
        The path of the scores file.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for rows, fields, name in ((result.scores, CellScore._fields, f"{stem}.csv"),
                               (result.costs, Cost._fields, f"{stem}_cost.csv")):
        with open(directory / name, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(fields)
            writer.writerows(rows)
    return directory / f"{stem}.csv"


def load_result(directory: str | Path = RESULTS_DIR, stem: str = "amortization") -> AmortizationResult | None:
    """Read back what :func:`save_result` wrote; ``None`` if the files are missing."""
    directory = Path(directory)
    paths = directory / f"{stem}.csv", directory / f"{stem}_cost.csv"
    if not all(p.exists() for p in paths):
        return None
    tables = []
    for path, kind in zip(paths, (CellScore, Cost), strict=True):
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            types = {name: type(default) for name, default in zip(kind._fields, _EXAMPLES[kind], strict=True)}
            tables.append([kind(**{k: types[k](v) for k, v in row.items()}) for row in reader])
    return AmortizationResult(*tables)


_EXAMPLES = {CellScore: (0, 0.0, 0.0, 0, 0.0), Cost: ("", "", 0, 0, 0.0, 0.0)}


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


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m spikebook.experiments.amortization",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the paper's size (30 cells, full checkpoint) and write the CSV cache")
    parser.add_argument("--recognition", choices=("DSF", "DSNF"), default="DSF")
    parser.add_argument("--n-cells", type=int, default=None, help="test cells (default 30, quick: 2)")
    parser.add_argument("--n-steps", type=int, default=None,
                        help="per-cell VIMCO steps (default: FULL_N_STEPS of the model; quick: 30)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--workers", type=int, default=1,
                        help="per-cell fits run at once, one process each (default 1)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder of the CSV files")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = AmortizationConfig(
        recognition=args.recognition,
        n_cells=args.n_cells or (30 if args.full else 2),
        n_steps=args.n_steps or (FULL_N_STEPS[args.recognition] if args.full else 30),
        eval_every=100 if args.full else 10,
    )
    if args.full:
        network = pretrained.load(config.pretrained_name)  # FileNotFoundError names the training command
    else:
        network = pretrained.load_or_train(config.pretrained_name, quick=True, progress=False)
    result = run_amortization(network.recognition, load_test_cells(config), config, network.history.steps[-1],
                              workers=args.workers)
    for cost in result.costs:
        print(cost)
    print(f"mean correlation: amortized {np.mean(result.column('amortized')):.3f}, "
          f"single cell {np.mean(result.column('single_cell')):.3f}")
    if args.full:
        print("wrote", save_result(result, args.out, stem=config.result_stem))


if __name__ == "__main__":
    _main()
