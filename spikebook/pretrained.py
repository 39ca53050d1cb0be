"""The shipped networks: a registry from a name to its recipe, its checkpoint and a predictor.

Each DeepSpike entry of :data:`RECIPES` is a recipe of :mod:`spikebook.recipes`: a
:class:`~spikebook.recipes.simulated.SimulatedRecipe` (trained on the paper's simulations) or a
:class:`~spikebook.recipes.gcamp.GcampRecipe` (trained on the Chen et al. 2013 GCaMP6 recordings). The
supervised entries of :data:`SUPERVISED` (Bolte & Wildani) are made by
:mod:`spikebook.recipes.spikefinder`. :func:`train` runs a recipe and saves a small checkpoint in
``spikebook/checkpoints/``; :func:`load` reads it back; :func:`predictor` gives what :func:`spikebook.infer`
runs: an object with ``predict(traces, fs, ...)``.

The GCaMP6 entries are the networks to use on GCaMP6 recordings: the simulation entries reproduce the
paper's simulation results but do much worse on real data (chapter "Real GCaMP6 recordings", which also
gives what the same protocol scores on held-out neurons).

From the command line: ``python -m spikebook.pretrained train dsf-scf-60hz`` (``--seed 1`` trains another
draw into ``dsf-scf-60hz-seed1.pt``, beside the shipped entry); ``python -m spikebook.pretrained list``.

Taught in: book chapters "SCF data: Table 1, first column", "Correlated posteriors" and "Real GCaMP6
recordings".
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

from spikebook.generative import CalciumModel
from spikebook.recipes import gcamp, simulated
from spikebook.recipes.gcamp import GcampRecipe
from spikebook.recipes.simulated import DSNF_TRAINING, SimulatedRecipe
from spikebook.recognition import RecognitionModel
from spikebook.recognition.tiled import tiled_marginals
from spikebook.saving import checkpoint_name, load_checkpoint
from spikebook.training import FitResult, History, VimcoConfig

__all__ = [
    "CHECKPOINT_DIR",
    "RECIPES",
    "SUPERVISED",
    "DeepSpikePredictor",
    "Predictor",
    "Pretrained",
    "SupervisedPredictor",
    "SupervisedPretrained",
    "available",
    "checkpoint_path",
    "load",
    "load_or_train",
    "make_networks",
    "predictor",
    "train",
]

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"

Recipe = SimulatedRecipe | GcampRecipe

#: The DeepSpike entries, name → recipe.
RECIPES: dict[str, Recipe] = {
    "dsf-scf-60hz": SimulatedRecipe(
        "DS-F", "SCF", VimcoConfig(n_steps=10_000),
        description="DS-F trained on SCF simulations (paper ranges), 60 Hz",
    ),
    "dsnf-scf-60hz": SimulatedRecipe(
        "DS-NF", "SCF", dataclasses.replace(DSNF_TRAINING, n_steps=6_000), heldout_steps=600,
        description="DS-NF trained on SCF simulations (paper ranges), 60 Hz",
    ),
    "dsf-scdf-60hz": SimulatedRecipe(
        "DS-F", "SCDF", VimcoConfig(n_steps=5_000),
        description="DS-F trained on SCDF simulations (paper ranges), 60 Hz",
    ),
    "dsnf-scdf-60hz": SimulatedRecipe(
        "DS-NF", "SCDF", DSNF_TRAINING, heldout_steps=600,
        description="DS-NF trained on SCDF simulations (paper ranges), 60 Hz",
    ),
    "dsf-gcamp6s-60hz": GcampRecipe(
        "DS-F", "GCaMP6s", baseline="drifting",
        description="DS-F trained on the 7 GCaMP6s neurons of Chen et al. 2013, drifting baseline, 60 Hz",
    ),
    "dsf-gcamp6f-60hz": GcampRecipe(
        "DS-F", "GCaMP6f", baseline="drifting",
        description="DS-F trained on the 11 GCaMP6f neurons of Chen et al. 2013, drifting baseline, 60 Hz",
    ),
}

#: Supervised entries (Bolte & Wildani, Spikefinder data, 100 Hz), name → description: each checkpoint holds
#: the attended net (``"regular"``) and the same net trained without dataset knowledge (``"agnostic"``),
#: made by ``python -m spikebook.experiments.spikefinder_table --full``.
SUPERVISED = {
    "attended-inception-spikefinder": "attended conv + 3 Inception cells (width 1/4), Spikefinder sets 4-8, 100 Hz",
}


class Pretrained(NamedTuple):
    """A trained DeepSpike network with what it was trained with.

    Attributes:
        name: the entry's name.
        recognition: the recognition network, in eval mode (for a GCaMP6 entry: after its sleep phase).
        generative: the generative model with the learned parameters of the training cells (for a GCaMP6
            entry: one MLphys model per training segment).
        history: training history (steps, train bound, held-out bound, its standard error).
        recipe: how it was made.
        quick: whether it is a quick (toy) run.
    """

    name: str
    recognition: RecognitionModel
    generative: CalciumModel
    history: History
    recipe: Recipe
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


def _recipe(name: str) -> Recipe:
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


def make_networks(recipe: Recipe, n_cells: int) -> tuple[RecognitionModel, CalciumModel]:
    """An untrained recognition network and a generative model of ``n_cells`` cells (training segments for
    a GCaMP6 recipe) at the recipe's initial values."""
    module = gcamp if isinstance(recipe, GcampRecipe) else simulated
    return module.make_networks(recipe, n_cells)


def train(name: str, quick: bool = False, progress: bool = True, seed: int = 0) -> FitResult:
    """Run the recipe of ``name`` and save its checkpoint.

    Args:
        name: an entry of :data:`RECIPES` (the :data:`SUPERVISED` entries are made by
            ``python -m spikebook.experiments.spikefinder_table --full``; naming one raises ``ValueError``).
        quick: a toy version (the ``QUICK`` sizes of its recipe module), saved under ``<name>-quick.pt``.
        progress: show a progress bar.
        seed: seed of the training run (the data always use seed 0); seeds other than 0 are saved
            beside the entry (:func:`checkpoint_path`) and loaded with ``load(name, seed=...)``.
    """
    if name in SUPERVISED:
        raise ValueError(f"{name!r} is a supervised entry: it is made by "
                         "`python -m spikebook.experiments.spikefinder_table --full`, not by train()")
    recipe = _recipe(name)
    module = gcamp if isinstance(recipe, GcampRecipe) else simulated
    return module.train(recipe, checkpoint_path(name, quick, seed), quick, progress, seed)


def load(name: str, quick: bool = False, seed: int = 0) -> Pretrained | SupervisedPretrained:
    """Load a pretrained entry (a :class:`SupervisedPretrained` for the names in :data:`SUPERVISED`).

    ``seed`` picks a run of :func:`train` with another seed (0: the shipped entry).

    Raises:
        FileNotFoundError: if the checkpoint is missing, naming the command that makes it.
        spikebook.saving.CheckpointError: if the file is not a checkpoint (refused unread).
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
    recognition, generative = make_networks(recipe, n_cells)
    slept = isinstance(recipe, GcampRecipe)  # a GCaMP6 entry is a GcampRecord: use the slept network
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


# ------------------------------------------------------------------------------------------- predictors


class Predictor(Protocol):
    """What :func:`spikebook.infer` runs: spike probabilities (or rates) for validated ``(n, T)`` traces."""

    name: str
    supervised: bool

    def predict(self, traces: np.ndarray, fs: float, **options: Any) -> np.ndarray: ...


@dataclasses.dataclass(frozen=True)
class DeepSpikePredictor:
    """A recognition network at its sampling rate ``fs_model``, run by
    :func:`spikebook.recognition.tiled.tiled_marginals` (options: those of :func:`spikebook.infer`)."""

    network: RecognitionModel
    fs_model: float
    name: str = "a RecognitionModel instance"
    supervised: bool = False

    def predict(self, traces: np.ndarray, fs: float, **options: Any) -> np.ndarray:
        return tiled_marginals(self.network, traces, fs, self.fs_model, **options)


@dataclasses.dataclass(frozen=True)
class SupervisedPredictor:
    """A supervised entry: the attended net for ``dataset=k`` among its trained datasets, the agnostic net
    for ``dataset=None`` (:func:`spikebook.supervised.predict_fluorescence`)."""

    entry: SupervisedPretrained
    supervised: bool = True

    @property
    def name(self) -> str:
        return self.entry.name

    def predict(self, traces: np.ndarray, fs: float, dataset: int | None = None) -> np.ndarray:
        from spikebook.supervised import predict_fluorescence

        return predict_fluorescence(traces, fs, self.entry.attended, self.entry.agnostic, dataset,
                                    trained_datasets=self.entry.trained_datasets)


#: Predictors loaded by name, keyed by (name, checkpoint modification time): repeated calls do not re-read
#: the checkpoint, and a retrained checkpoint is picked up.
_LOADED: dict[tuple[str, int], Predictor] = {}


def predictor(name: str) -> Predictor:
    """The predictor of the entry ``name``, loaded once per checkpoint version.

    Raises:
        ValueError: for an unknown name (the message lists the entries and those on disk).
        FileNotFoundError: if the checkpoint is missing, naming the command that makes it.
    """
    if name not in RECIPES and name not in SUPERVISED:
        raise ValueError(f"unknown pretrained model {name!r}; available: {sorted(RECIPES) + sorted(SUPERVISED)} "
                         f"(checkpoints on disk: {available()}), or pass a RecognitionModel instance")
    path = checkpoint_path(name)
    if not path.exists():
        load(name)  # raises FileNotFoundError naming the command that makes it
    key = (name, path.stat().st_mtime_ns)
    if key not in _LOADED:
        for stale in [k for k in _LOADED if k[0] == name]:
            del _LOADED[stale]
        entry = load(name)
        _LOADED[key] = (SupervisedPredictor(entry) if isinstance(entry, SupervisedPretrained)
                        else DeepSpikePredictor(entry.recognition, RECIPES[name].fs, name))
    return _LOADED[key]


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
