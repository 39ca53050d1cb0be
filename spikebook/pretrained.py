"""Pretrained DeepSpike networks: the recipes that made them, and loading them back.

Each entry is a :class:`Recipe`: which recognition network, which simulated dataset and generative
model, and which :class:`~spikebook.training.VimcoConfig`. :func:`train` runs a recipe (the chapters
call it when a checkpoint is missing or ``retrain=True``) and saves a small checkpoint — the trained
recognition weights, the learned per-cell generative parameters, the training history and the
recipe — in ``spikebook/checkpoints/``; :func:`load` reads it back.

The simulation entries (:class:`Recipe`) are trained on the paper's simulated *training* cells (§2.4;
:func:`spikebook.data.simulate.paper_datasets`, seed 0, 50 cells × 3 traces × 10,000 steps at 60 Hz). Checkpoints are selected on the bound of
held-out data of the same cells — the last ``heldout_steps`` samples of every trace, never seen in
training — not on spike labels. Labels only score the final network on the 100 test cells.

The real-data entries (:class:`~spikebook.recipes.gcamp.GcampRecipe`, ``dsf-gcamp6s-60hz`` and
``dsf-gcamp6f-60hz``) are trained on every neuron of one indicator of the Chen et al. (2013) recordings by the
protocol of :mod:`spikebook.recipes.gcamp`: VIMCO with MLspike's drifting baseline in the per-segment models
(``baseline="drifting"``), the DS-F variant that scored best on held-out neurons of both indicators (their
cross-validated scores are in each entry's description), the one-standard-error checkpoint rule up to
20,000 steps (``gcamp.DSF_CONFIG``), then the sleep phase. The labels of the neurons they are trained
on choose only the sleep length. They are the networks to use on GCaMP6 recordings: there the simulation
entries score about 0.3 lower (chapter "Real GCaMP6 recordings").

From the command line: ``python -m spikebook.pretrained train dsf-scf-60hz`` (``--seed 1`` trains another
draw into ``dsf-scf-60hz-seed1.pt``, beside the shipped entry); ``python -m spikebook.pretrained list``.

Taught in: book chapters "SCF data: Table 1, first column", "Correlated posteriors" and "Real GCaMP6
recordings".
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import torch

from spikebook.data.simulate import SimulationConfig, paper_datasets, simulate
from spikebook.generative import SCDF, SCF, BernoulliPrior, CalciumModel
from spikebook.recipes import gcamp
from spikebook.recipes.gcamp import GcampRecipe
from spikebook.recognition import DSF, DSNF, RecognitionModel
from spikebook.saving import checkpoint_name, load_checkpoint, save_atomic
from spikebook.training import FitResult, History, VimcoConfig, fit_vimco, seeded

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

#: Initial generative parameters, those of the original notebooks (``notes/ORIGINAL_CODE.md`` §2.3),
#: in natural units; every cell starts from the same values.
INITIAL_PARAMETERS = {
    "SCF": {"gamma": 0.97, "alpha": 0.69, "beta": -0.3, "sigma": 0.079},
    "SCDF": {"gamma": 0.953, "alpha": 1.10, "beta": -0.2, "sigma": 0.018, "kon": 0.0067, "koff": 0.119,
             "eta": 2.17, "D": 6.0},
}


@dataclass(frozen=True)
class Recipe:
    """How a pretrained network was made.

    Attributes:
        recognition: ``"DSF"`` or ``"DSNF"`` with their default (paper) layouts.
        data: generative model of the simulation and of training, ``"SCF"`` or ``"SCDF"``.
        training: the VIMCO hyper-parameters.
        prior_rate_hz: rate of the Bernoulli spike prior (0.9 Hz: the original's 0.015 per 60 Hz bin).
        heldout_steps: the last samples of every training trace, kept for checkpoint selection.
        fs: sampling rate in Hz of the training data.
        description: one line for :func:`available`.
    """

    recognition: Literal["DSF", "DSNF"]
    data: Literal["SCF", "SCDF"]
    training: VimcoConfig = field(default_factory=VimcoConfig)
    prior_rate_hz: float = 0.9
    heldout_steps: int = 2_000
    fs: float = 60.0
    description: str = ""


#: DS-NF costs ~1 s per step on a 2-core CPU at the paper's K = 64 and 20 chunks of 300 bins (the
#: recurrent loop runs over every bin of every sample), so its recipe is cut to fit a CPU afternoon:
#: K = 32 samples, 8 chunks of 250 bins (buffers 80/40), 1,500 steps (6,000 for SCF). On a GPU, use the paper's
#: settings (``VimcoConfig()``) with more steps.
DSNF_TRAINING = VimcoConfig(k_samples=32, batch_size=8, chunk_len=250, buffers=(80, 40), n_steps=1_500, eval_every=100)

RECIPES = {
    "dsf-scf-60hz": Recipe(
        "DSF", "SCF", VimcoConfig(n_steps=10_000),
        description="DS-F trained on SCF simulations (paper ranges), 60 Hz",
    ),
    "dsnf-scf-60hz": Recipe(
        "DSNF", "SCF", dataclasses.replace(DSNF_TRAINING, n_steps=6_000), heldout_steps=600,
        description="DS-NF trained on SCF simulations (paper ranges), 60 Hz",
    ),
    "dsf-scdf-60hz": Recipe(
        "DSF", "SCDF", VimcoConfig(n_steps=5_000),
        description="DS-F trained on SCDF simulations (paper ranges), 60 Hz",
    ),
    "dsnf-scdf-60hz": Recipe(
        "DSNF", "SCDF", DSNF_TRAINING, heldout_steps=600,
        description="DS-NF trained on SCDF simulations (paper ranges), 60 Hz",
    ),
    # cross-validated scores of the same protocol (4 folds, seed 0): chapter "Real GCaMP6 recordings"
    "dsf-gcamp6s-60hz": GcampRecipe(
        "DS-F", "GCaMP6s", baseline="drifting",
        description="DS-F trained on the 7 GCaMP6s neurons of Chen et al. 2013, drifting baseline, 60 Hz (CV r = 0.735)",
    ),
    "dsf-gcamp6f-60hz": GcampRecipe(
        "DS-F", "GCaMP6f", baseline="drifting",
        description="DS-F trained on the 11 GCaMP6f neurons of Chen et al. 2013, drifting baseline, 60 Hz (CV r = 0.699)",
    ),
}

#: Supervised entries (Bolte & Wildani, trained on Spikefinder data, 100 Hz): each checkpoint holds the
#: attended net (``"regular"``) and the same net trained without dataset knowledge (``"agnostic"``). They
#: are made by ``python -m spikebook.experiments.spikefinder_table --full`` and loaded as a
#: :class:`SupervisedPretrained`.
SUPERVISED = {
    "attended-inception-spikefinder": "attended conv + 3 Inception cells (width 1/4), Spikefinder sets 4-8, 100 Hz",
}

#: Sizes of a quick run (CI, quick mode): the same code path on a toy problem.
QUICK = {"n_cells": 3, "n_steps": 1_200, "heldout_steps": 400, "train_steps": 20, "eval_every": 10}


class Pretrained(NamedTuple):
    """A trained network with what it was trained with.

    Attributes:
        name: the entry's name.
        recognition: the recognition network, in eval mode.
        generative: the generative model with the learned per-cell parameters of the training cells.
        history: training history (steps, train bound, held-out bound, nats per scored bin).
        recipe: how it was made.
        quick: whether it is a quick (toy) run.

    For the real-data entries, ``generative`` holds one MLphys model per training segment.
    """

    name: str
    recognition: RecognitionModel
    generative: CalciumModel
    history: History
    recipe: Recipe | GcampRecipe
    quick: bool


class SupervisedPretrained(NamedTuple):
    """A supervised entry of :data:`SUPERVISED` (see :mod:`spikebook.supervised`).

    Attributes:
        name: the entry's name.
        attended: the attended net (use with ``dataset=k``, the Spikefinder set number, for ``k`` in
            :attr:`trained_datasets`).
        agnostic: the net trained without dataset knowledge (``dataset=None``).
        fits: every net in the file with its training history and configuration.
        meta: training and validation neurons (keys ``(split, dataset, index)``), data report.
    """

    name: str
    attended: Any
    agnostic: Any
    fits: dict[str, Any]
    meta: dict[str, Any]

    @property
    def trained_datasets(self) -> tuple[int, ...]:
        """The Spikefinder datasets whose embedding rows were trained: those of the training neurons.

        The attended net has a row for every dataset 1-10, but a row no training neuron used keeps its random
        initial values, and predictions with it are noise. Empty if the checkpoint does not record its
        training neurons (then no row is vouched for).
        """
        return tuple(sorted({int(key[1]) for key in self.meta.get("train_neurons", ())}))


def _recipe(name: str) -> Recipe | GcampRecipe:
    if name not in RECIPES:
        raise ValueError(f"unknown pretrained model {name!r}; known: {sorted(RECIPES) + sorted(SUPERVISED)}")
    return RECIPES[name]


def checkpoint_path(name: str, quick: bool = False, seed: int = 0) -> Path:
    """Where the checkpoint of ``name`` lives.

    Quick runs get their own file (never shipped), and so do training seeds other than 0, the shipped
    run (``dsf-scf-60hz-seed1.pt``): training another seed never overwrites the shipped entry.
    """
    if name not in SUPERVISED:
        _recipe(name)
    return CHECKPOINT_DIR / checkpoint_name(name, quick, seed)


def available() -> list[str]:
    """Names of the entries whose full checkpoint is on disk."""
    return [name for name in [*RECIPES, *SUPERVISED] if checkpoint_path(name).exists()]


def fresh_networks(recipe: Recipe | GcampRecipe, n_cells: int) -> tuple[RecognitionModel, CalciumModel]:
    """An untrained recognition network and a generative model of ``n_cells`` cells at the initial values.

    For a :class:`GcampRecipe` the cells are training segments (:func:`spikebook.recipes.gcamp.make_networks`).
    """
    if isinstance(recipe, GcampRecipe):
        return gcamp.make_networks(recipe, n_cells)
    recognition = DSF() if recipe.recognition == "DSF" else DSNF()
    initial = dict(INITIAL_PARAMETERS[recipe.data])
    per_cell = {k: torch.full((n_cells,), float(v)) for k, v in initial.items() if k != "gamma"}
    gamma = torch.full((n_cells, 1), initial["gamma"])
    generative = (SCF if recipe.data == "SCF" else SCDF)(gamma=gamma, **per_cell)
    generative.raw_delta.requires_grad_(False)  # delta trades off against alpha: fix it at 1
    return recognition, generative


def train(name: str, quick: bool = False, progress: bool = True, seed: int = 0) -> FitResult:
    """Run the recipe of ``name`` and save its checkpoint (see the module docstring).

    Args:
        name: an entry of :data:`RECIPES`.
        quick: train on a toy version (:data:`QUICK` sizes; for the real-data entries
            :data:`spikebook.recipes.gcamp.QUICK`) and save it under ``<name>-quick.pt``.
        progress: show a progress bar.
        seed: seed of the training run (the data always use seed 0); seeds other than 0 are saved
            beside the entry (:func:`checkpoint_path`) and loaded with ``load(name, seed=...)``.
    """
    recipe = _recipe(name)
    if isinstance(recipe, GcampRecipe):  # needs the Chen et al. (2013) recordings in SPIKEBOOK_DATA
        return gcamp.train(recipe, checkpoint_path(name, quick, seed), quick, progress, seed)
    if quick:
        config = SimulationConfig(model=recipe.data, n_cells=QUICK["n_cells"], n_steps=QUICK["n_steps"], fs=recipe.fs)
        traces = simulate(config, seed=0).fluorescence
        heldout = QUICK["heldout_steps"]
        training = dataclasses.replace(recipe.training, n_steps=QUICK["train_steps"], eval_every=QUICK["eval_every"])
    else:
        traces = paper_datasets(recipe.data, seed=0, fs=recipe.fs)["train"].fluorescence
        heldout, training = recipe.heldout_steps, recipe.training
    with seeded(seed):  # the initial weights depend on the seed alone
        recognition, generative = fresh_networks(recipe, traces.shape[1])
    path = checkpoint_path(name, quick, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    # a full run resumes from its own file after an interruption; quick runs (chapters executed in
    # parallel) each get a private one
    resume = path.with_suffix(f".{os.getpid()}.resume" if quick else ".resume")
    result = fit_vimco(
        recognition,
        generative,
        traces[..., :-heldout],
        training,
        prior=BernoulliPrior(recipe.prior_rate_hz, recipe.fs),
        seed=seed,
        validation=traces[..., -heldout:],
        checkpoint_path=resume,
        progress=progress,
    )
    save_atomic(
        {
            "recognition": result.recognition.state_dict(),
            "generative": result.generative.state_dict(),
            "history": tuple(result.history),
            "best_step": result.best_step,
            "recipe": dataclasses.asdict(recipe),
        },
        path,
    )
    if quick:
        resume.unlink(missing_ok=True)
    # a full run keeps its resumable state (optimizers, RNG, history; not shipped): raising the recipe's
    # n_steps and training again continues where it stopped
    return result


def load(name: str, quick: bool = False, seed: int = 0) -> Pretrained | SupervisedPretrained:
    """Load a pretrained entry (a :class:`SupervisedPretrained` for the names in :data:`SUPERVISED`).

    ``seed`` picks a run of :func:`train` with another seed (0: the shipped entry).

    Raises:
        FileNotFoundError: if the checkpoint is missing, naming the command that makes it.
    """
    if name in SUPERVISED:
        if seed:
            raise ValueError(f"{name!r} has no seed runs: seed= applies to the entries of RECIPES")
        return _load_supervised(name, quick)
    recipe = _recipe(name)
    path = checkpoint_path(name, quick, seed)
    if not path.exists():
        flag = (" --quick" if quick else "") + (f" --seed {seed}" if seed else "")
        raise FileNotFoundError(f"no checkpoint for {name!r} at {path}; make it with "
                                f"`python -m spikebook.pretrained train {name}{flag}`")
    state = load_checkpoint(path)
    n_cells = state["generative"]["raw_alpha"].shape[0]  # cells, or training segments for real data
    recognition, generative = fresh_networks(recipe, n_cells)
    # a real-data entry is a GcampRecord: the network after its sleep phase
    slept = isinstance(recipe, GcampRecipe)
    recognition.load_state_dict(gcamp.GcampRecord.from_dict(state).state("slept") if slept else state["recognition"])
    generative.load_state_dict(state["generative"])
    return Pretrained(name, recognition.eval(), generative.requires_grad_(False), History(*state["history"]),
                      recipe, quick)


def _load_supervised(name: str, quick: bool) -> SupervisedPretrained:
    from spikebook.training.supervised import load_models

    path = checkpoint_path(name, quick)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint for {name!r} at {path}; make it with "
                                "`python -m spikebook.experiments.spikefinder_table --full`")
    fits, meta = load_models(path)
    agnostic = fits.get("agnostic")
    return SupervisedPretrained(name, fits["regular"].model, agnostic.model if agnostic else None, fits, meta)


def load_or_train(name: str, quick: bool, retrain: bool = False, progress: bool = True) -> Pretrained:
    """What a chapter calls: the shipped full checkpoint unless ``retrain``; else train (quick or full).

    Without a full checkpoint, a quick run reuses an existing quick checkpoint unless ``retrain``.
    """
    if not retrain and checkpoint_path(name).exists():
        return load(name)
    if not retrain and quick and checkpoint_path(name, quick=True).exists():
        return load(name, quick=True)
    train(name, quick=quick, progress=progress)
    return load(name, quick=quick)


def _main() -> None:
    parser = argparse.ArgumentParser(prog="python -m spikebook.pretrained", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="entries and whether their checkpoint is on disk")
    train_cmd = commands.add_parser("train", help="run a recipe and save its checkpoint")
    train_cmd.add_argument("name", choices=sorted(RECIPES))
    train_cmd.add_argument("--quick", action="store_true", help="toy sizes (seconds)")
    train_cmd.add_argument("--seed", type=int, default=0, help="training seed (default 0, the shipped entry)")
    args = parser.parse_args()
    if args.command == "list":
        descriptions = {**{name: recipe.description for name, recipe in RECIPES.items()}, **SUPERVISED}
        for name, description in descriptions.items():
            print(f"{name:30s} {'on disk' if checkpoint_path(name).exists() else 'missing':8s} {description}")
    else:
        result = train(args.name, quick=args.quick, seed=args.seed)
        print(f"best held-out bound {result.best_bound:.4f} nats/bin at step {result.best_step}")


if __name__ == "__main__":
    _main()
