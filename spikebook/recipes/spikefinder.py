"""Bolte & Wildani's supervised networks on the Spikefinder data: how the shipped entry is trained.

The pretrained entry ``"attended-inception-spikefinder"`` (:data:`spikebook.pretrained.SUPERVISED`) holds
the two networks of :data:`ATTENDED_INCEPTION`: the regular model (attended first layer + three Inception
cells at a quarter of the submitted width, 32 attended filters, true differences) and the same network
trained *without dataset knowledge* (``dataset=None``). Both are trained on the neurons of
:func:`load_data` (every training neuron with calcium on hand, whole neurons held out per set for the
early stopping) by :func:`train`.

A :class:`ModelRecipe` is one network layout and how it is trained: a single network, an
:class:`~spikebook.supervised.Ensemble` of seeds, or a refit on the training and validation neurons.

Taught in: book chapter "Supervised CNNs with attended convolution".

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.
    Berens P et al. (2018). PLoS Comput Biol 14(5):e1006157.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from spikebook.data.paths import data_root
from spikebook.data.spikefinder import SpikefinderNeuron, load_spikefinder
from spikebook.data.splits import split_by_neuron
from spikebook.supervised import BolteConfig, Ensemble, build_model
from spikebook.training.supervised import (
    FitHistory,
    SupervisedConfig,
    SupervisedFit,
    fit_supervised,
    validation_score,
)
from spikebook.validate import positive_int

__all__ = [
    "ATTENDED_INCEPTION",
    "QUICK_TRAINING",
    "REGULAR",
    "TEST_SETS",
    "TRAINING",
    "MapJobs",
    "ModelRecipe",
    "SpikefinderSplits",
    "fit_recipe",
    "load_data",
    "train",
    "training_for",
]

#: The official test sets whose ground truth is public.
TEST_SETS = (1, 3, 4, 5)


@dataclass(frozen=True)
class ModelRecipe:
    """A network layout and how it is trained.

    ``members > 1`` makes it an :class:`~spikebook.supervised.Ensemble`: the layout trained ``members``
    times, with seeds ``training.seed``, ``training.seed + 1``, ..., each member with its own early
    stopping, and their rates averaged.

    ``refit=True`` trains on the training *and* validation neurons together for exactly
    ``training.max_epochs`` epochs, without selection (the usual last step after model selection, e.g.
    Hastie et al. 2009, §7.10): the epoch count must come from a run validated on the held-out neurons.
    Its validation neurons are then in-sample, so it has no validation score.

    Attributes:
        spec: the layout, as :func:`spikebook.supervised.model_spec` writes it.
        training: how each network is trained.
        description: one line for tables and logs.
        members: networks averaged (seeds).
        refit: train on training + validation neurons, without selection.
    """

    spec: dict[str, Any]
    training: SupervisedConfig
    description: str = ""
    members: int = 1
    refit: bool = False

    def __post_init__(self) -> None:
        positive_int(self.members, "members")


#: The regular model of the entry: 32 attended filters, Inception cells at a quarter of the submitted width.
REGULAR = BolteConfig(attend_channels=32, width=0.25)
#: Its training: early stopping on the held-out neurons, at most 15 epochs.
TRAINING = SupervisedConfig(max_epochs=15, patience=3)

#: The networks of the entry ``"attended-inception-spikefinder"``, by the names its checkpoint gives them.
ATTENDED_INCEPTION: dict[str, ModelRecipe] = {
    "regular": ModelRecipe(
        {"class": "BolteNet", "config": dataclasses.asdict(REGULAR)}, TRAINING,
        "attended conv (32 filters) + 3 Inception cells (width 1/4), true differences",
    ),
    "agnostic": ModelRecipe(
        {"class": "BolteNet", "config": dataclasses.asdict(REGULAR)},
        dataclasses.replace(TRAINING, use_dataset=False),
        "regular, trained without dataset knowledge (dataset=None)",
    ),
}

#: Quick mode: the same code on short windows, a few steps.
QUICK_TRAINING = SupervisedConfig(max_epochs=1, steps_per_epoch=3, batch_size=8, window=600, buffer=60)


class SpikefinderSplits(NamedTuple):
    """The neurons: training and held-out neurons of the training sets, and the test sets."""

    train: list[SpikefinderNeuron]
    validation: list[SpikefinderNeuron]
    test: list[SpikefinderNeuron]
    report: str


def load_data(
    root: str | Path | None = None, quick: bool = False, held_out_fraction: float = 0.2, seed: int = 0
) -> SpikefinderSplits:
    """Every neuron with calcium: training sets split by neuron, and the official test sets.

    Missing calcium is reported in ``report``. Quick mode keeps the two shortest neurons of training sets
    4-6 (one of them held out) and one of test sets 4 and 5, each cut to 30 s.

    Args:
        root: the data folder (:func:`spikebook.data.paths.data_root`).
        quick: the small version.
        held_out_fraction: neurons of each training set held out (:func:`spikebook.data.splits.split_by_neuron`).
        seed: seed of the split.
    """
    root = data_root(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_data = load_spikefinder("train", root=root, warn=False)
        test_data = load_spikefinder("test", datasets=TEST_SETS, root=root, warn=False)
    neurons = train_data.with_calcium()
    test = test_data.with_calcium()
    if quick:
        neurons = _shortest(neurons, (4, 5, 6), 2)
        test = _shortest(test, (4, 5), 1)
    split = split_by_neuron(neurons, held_out_fraction, seed)
    report = "\n".join(r for r in (train_data.report(), test_data.report()) if r)
    return SpikefinderSplits(split.train, split.held_out, test, report)


def _shortest(neurons: Sequence[SpikefinderNeuron], sets: Sequence[int], k: int) -> list[SpikefinderNeuron]:
    out = []
    for d in sets:
        group = sorted((n for n in neurons if n.dataset == d), key=lambda n: n.spikes.size)
        out += [dataclasses.replace(n, calcium=n.calcium[:3000], spikes=n.spikes[:3000]) for n in group[:k]]
    return out


def training_for(recipe: ModelRecipe, quick: bool) -> SupervisedConfig:
    """The recipe's training, or in quick mode :data:`QUICK_TRAINING` with its normalisation and dataset use."""
    if not quick:
        return recipe.training
    return dataclasses.replace(
        QUICK_TRAINING, normalization=recipe.training.normalization, use_dataset=recipe.training.use_dataset
    )


#: How the members of an ensemble are run: ``map_jobs(fn, jobs)`` yields ``(index, fn(*jobs[index]))``
#: in any order (e.g. :func:`spikebook.experiments.parallel.map_unordered` with a number of workers).
MapJobs = Callable[[Callable[..., SupervisedFit], Sequence[tuple]], Iterable[tuple[int, SupervisedFit]]]


def _in_order(fn: Callable[..., SupervisedFit], jobs: Sequence[tuple]) -> Iterable[tuple[int, SupervisedFit]]:
    return ((i, fn(*job)) for i, job in enumerate(jobs))


def _fit_member(spec: dict[str, Any], train: list[SpikefinderNeuron], validation: list[SpikefinderNeuron] | None,
                config: SupervisedConfig, progress: bool) -> SupervisedFit:
    return fit_supervised(build_model(spec, seed=config.seed), train, validation, config, progress=progress)


def fit_recipe(
    recipe: ModelRecipe,
    data: SpikefinderSplits,
    training: SupervisedConfig | None = None,
    progress: bool = True,
    map_jobs: MapJobs | None = None,
) -> SupervisedFit:
    """One network, or an :class:`~spikebook.supervised.Ensemble` of ``recipe.members`` networks trained from
    consecutive seeds, on ``data.train`` with epochs selected on ``data.validation`` (both, without
    selection, for a refit).

    Args:
        recipe: what to train.
        data: the neurons.
        training: overrides ``recipe.training`` (e.g. :func:`training_for` in quick mode).
        progress: tqdm bars (only when the members run here, one after the other).
        map_jobs: runs the members (:data:`MapJobs`); None runs them here in order. The networks are the
            same either way: each member is seeded by its own training seed.
    """
    training = training or recipe.training
    train, validation = (data.train + data.validation, None) if recipe.refit else (data.train, data.validation)
    jobs = [(recipe.spec, train, validation, dataclasses.replace(training, seed=training.seed + m),
             progress and map_jobs is None) for m in range(recipe.members)]
    done = dict((map_jobs or _in_order)(_fit_member, jobs))
    fits = [done[m] for m in range(len(jobs))]
    if recipe.members == 1:
        return fits[0]
    ensemble = Ensemble([f.model for f in fits]).eval()
    # no history of its own: its members' epochs were selected one by one
    best_val = np.nan if recipe.refit else validation_score(ensemble, data.validation, training)
    return SupervisedFit(ensemble, FitHistory([], [], []), 0, best_val, training, sum(f.seconds for f in fits))


def train(
    data: SpikefinderSplits,
    recipes: Mapping[str, ModelRecipe] = ATTENDED_INCEPTION,
    quick: bool = False,
    progress: bool = True,
    map_jobs: MapJobs | None = None,
) -> dict[str, SupervisedFit]:
    """Train ``recipes`` (by default the shipped entry's two networks) on ``data`` (:func:`fit_recipe`).

    ``quick`` trains each with :func:`training_for`'s quick settings.
    """
    fits = {}
    for name, recipe in recipes.items():
        if progress:
            print(f"training {name}: {recipe.description}", flush=True)
        fits[name] = fit_recipe(recipe, data, training_for(recipe, quick), progress, map_jobs)
    return fits
