"""DeepSpike networks trained on the paper's simulated data (Speiser et al. 2017, §2.4).

A :class:`SimulatedRecipe` names the recognition network, the generative model of the simulation and of
training, and the VIMCO settings. :func:`train` trains it on the paper's simulated *training* cells
(:func:`spikebook.data.simulate.paper_datasets`, seed 0, 50 cells × 3 traces × 10,000 steps at 60 Hz)
with one generative model per cell. The state is selected on the bound of held-out data of the same cells
— the last ``heldout_steps`` samples of every trace, never seen in training — not on spike labels.

Taught in: book chapters "SCF data: Table 1, first column" and "Correlated posteriors".
"""

from __future__ import annotations

import dataclasses
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from spikebook.data.simulate import SimulationConfig, paper_datasets, simulate
from spikebook.generative import SCDF, SCF, BernoulliPrior, CalciumModel
from spikebook.recognition import DSF, DSNF, RecognitionModel
from spikebook.saving import save_atomic
from spikebook.seeding import seeded
from spikebook.training import FitResult, VimcoConfig, fit_vimco
from spikebook.validate import positive_int

__all__ = ["DSNF_TRAINING", "INITIAL_PARAMETERS", "QUICK", "SimulatedQuick", "SimulatedRecipe", "make_networks",
           "train"]

Network = Literal["DS-F", "DS-NF"]

#: Initial generative parameters in natural units, those of the original notebooks (mackelab/DeepSpike);
#: every cell starts from the same values.
INITIAL_PARAMETERS = {
    "SCF": {"gamma": 0.97, "alpha": 0.69, "beta": -0.3, "sigma": 0.079},
    "SCDF": {"gamma": 0.953, "alpha": 1.10, "beta": -0.2, "sigma": 0.018, "kon": 0.0067, "koff": 0.119,
             "eta": 2.17, "D": 6.0},
}

#: DS-NF's settings cut to fit a CPU: its recurrent loop runs over every bin of every sample, so K = 32
#: samples and 8 chunks of 250 bins (the paper: 64 and 20 of 300). On a GPU use ``VimcoConfig()``.
DSNF_TRAINING = VimcoConfig(k_samples=32, batch_size=8, chunk_len=250, buffers=(80, 40), n_steps=1_500, eval_every=100)


@dataclass(frozen=True)
class SimulatedRecipe:
    """How a network trained on simulations is made.

    Attributes:
        recognition: ``"DS-F"`` or ``"DS-NF"`` with their default (paper) layouts.
        data: generative model of the simulation and of training, ``"SCF"`` or ``"SCDF"``.
        training: the VIMCO hyper-parameters.
        prior_rate_hz: rate of the Bernoulli spike prior (0.9 Hz: the original's 0.015 per 60 Hz bin).
        heldout_steps: the last samples of every training trace, kept for checkpoint selection.
        fs: sampling rate in Hz of the training data.
        description: one line for :func:`spikebook.pretrained.available`.
    """

    recognition: Network
    data: Literal["SCF", "SCDF"]
    training: VimcoConfig = field(default_factory=VimcoConfig)
    prior_rate_hz: float = 0.9
    heldout_steps: int = 2_000
    fs: float = 60.0
    description: str = ""

    def __post_init__(self) -> None:
        if self.recognition not in ("DS-F", "DS-NF") or self.data not in INITIAL_PARAMETERS:
            raise ValueError(f"recognition must be 'DS-F' or 'DS-NF' and data 'SCF' or 'SCDF', got "
                             f"{self.recognition!r}, {self.data!r}")
        positive_int(self.heldout_steps, "heldout_steps")


@dataclass(frozen=True)
class SimulatedQuick:
    """Sizes of a quick run (CI, quick mode): the same code path on a toy problem.

    Attributes:
        n_cells: Simulated cells (one generative model each).
        trace_steps: Samples ``T`` of every simulated trace.
        heldout_steps: Samples at the end of every trace held out for checkpoint selection.
        train_steps: VIMCO steps.
        eval_every: VIMCO steps between evaluations.
    """

    n_cells: int = 3
    trace_steps: int = 1_200
    heldout_steps: int = 400
    train_steps: int = 20
    eval_every: int = 10


QUICK = SimulatedQuick()


def make_networks(recipe: SimulatedRecipe, n_cells: int) -> tuple[RecognitionModel, CalciumModel]:
    """An untrained recognition network and a generative model of ``n_cells`` cells at the initial values.

    The spike amplitude :math:`\\delta` is fixed at 1: it trades off against the gain :math:`\\alpha`.
    """
    recognition = DSF() if recipe.recognition == "DS-F" else DSNF()
    initial = dict(INITIAL_PARAMETERS[recipe.data])
    per_cell = {k: torch.full((n_cells,), float(v)) for k, v in initial.items() if k != "gamma"}
    gamma = torch.full((n_cells, 1), initial["gamma"])
    generative = (SCF if recipe.data == "SCF" else SCDF)(gamma=gamma, **per_cell)
    generative.raw_delta.requires_grad_(False)
    return recognition, generative


def train(recipe: SimulatedRecipe, path: Path, quick: bool = False, progress: bool = True, seed: int = 0) -> FitResult:
    """Train ``recipe`` and save its checkpoint at ``path`` (weights, learned generative parameters, history).

    A full run keeps a resumable state beside ``path`` (``.resume``; optimisers, RNG, history): training
    again with more ``n_steps`` continues where it stopped. Quick runs (chapters executed in parallel) each
    get a private one, removed at the end.

    Args:
        recipe: what to train.
        path: where the checkpoint goes.
        quick: a toy version (:data:`QUICK` sizes).
        progress: show a progress bar.
        seed: seed of the training run (the simulated data always use seed 0).
    """
    if quick:
        config = SimulationConfig(model=recipe.data, n_cells=QUICK.n_cells, n_steps=QUICK.trace_steps, fs=recipe.fs)
        traces = simulate(config, seed=0).fluorescence
        heldout = QUICK.heldout_steps
        training = dataclasses.replace(recipe.training, n_steps=QUICK.train_steps, eval_every=QUICK.eval_every)
    else:
        traces = paper_datasets(recipe.data, seed=0, fs=recipe.fs)["train"].fluorescence
        heldout, training = recipe.heldout_steps, recipe.training
    with seeded(seed):  # the initial weights depend on the seed alone
        recognition, generative = make_networks(recipe, traces.shape[1])
    path.parent.mkdir(parents=True, exist_ok=True)
    resume = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.resume" if quick else ".resume")
    result = fit_vimco(recognition, generative, traces[..., :-heldout], training,
                       prior=BernoulliPrior(recipe.prior_rate_hz, recipe.fs), seed=seed,
                       validation=traces[..., -heldout:], checkpoint_path=resume, progress=progress)
    save_atomic({"recognition": result.recognition.state_dict(), "generative": result.generative.state_dict(),
                 "history": tuple(result.history), "best_step": result.best_step,
                 "recipe": dataclasses.asdict(recipe)}, path)
    if quick:
        resume.unlink(missing_ok=True)
    return result
