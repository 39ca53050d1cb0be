r"""Per-cell (non-amortized) variational inference on one test cell, and the score of a network on one cell.

The per-cell arm may look at a cell's fluorescence but not at its spikes: its checkpoint is selected by the
bound on the held-out end of the cell's own traces (:func:`split_cell`), and the spikes enter only the score
(:func:`cell_correlation`).

Taught in: book chapter "Amortization".
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from spikebook import pretrained
from spikebook.data.simulate import SimulatedData, paper_datasets
from spikebook.experiments.amortization.config import AmortizationConfig
from spikebook.generative import BernoulliPrior
from spikebook.metrics import binned_correlation
from spikebook.recognition import DSF, DSNF, RecognitionModel
from spikebook.training import FitResult, fit_vimco, seeded

__all__ = ["CellSplit", "cell_correlation", "fit_single_cell", "load_test_cells", "split_cell"]


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
        recognition = DSF(config.network) if config.recognition == "DS-F" else DSNF(config.network)
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
