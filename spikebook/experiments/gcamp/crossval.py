"""Cross-validation over neurons: one network per fold, trained on the other folds' neurons.

Every neuron is scored by a network that never saw it: the neurons of one indicator are dealt into
:data:`N_FOLDS` folds (:func:`spikebook.data.splits.neuron_folds`), and a :class:`FoldRun` trains on the
neurons outside its fold by the protocol of :mod:`spikebook.recipes.gcamp`. Each run's record is saved in
``<results>/gcamp/`` (small: weights and learning curves).

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from spikebook.data.groundtruth import GcampNeuron
from spikebook.data.splits import neuron_folds
from spikebook.experiments import RESULTS_DIR
from spikebook.generative.indicators import Indicator
from spikebook.recipes.gcamp import (
    BASELINES,
    STAGES,
    Baseline,
    GcampRecipe,
    GcampRecord,
    Network,
    Stage,
    VimcoRun,
    sleep_network,
    train_network,
)
from spikebook.recognition import RecognitionModel
from spikebook.saving import checkpoint_name, load_checkpoint, save_atomic
from spikebook.validate import non_negative_int, one_of

__all__ = ["N_FOLDS", "STAGE_SUFFIX", "FoldRun", "check_seeds", "load_fold", "load_record",
           "method_name", "saved_folds", "sleep_fold", "train_fold", "train_or_load", "training_neurons"]

N_FOLDS = 4
#: What the rows of a run's stage are called in the tables, after the network's name
#: (:data:`~spikebook.recipes.gcamp.STAGES`).
STAGE_SUFFIX: dict[Stage, str] = {"slept": "", "vimco": ", VIMCO only", "label_selected": ", paper's early stopping"}


def check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    """``seeds`` as a tuple of distinct non-negative ints, at least one."""
    seeds = tuple(non_negative_int(x, f"seeds[{i}]") for i, x in enumerate(seeds))
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, at least one, got {seeds!r}")
    return seeds


def method_name(network: Network, baseline: Baseline = "constant", seeds: Sequence[int] = (0,),
                stage: Stage = "slept") -> str:
    """The name of a network's rows in the tables.

    ``"DS-F"`` for the shipped seed 0, ``"DS-F, seed 3"`` for another seed, ``"DS-F, 6-seed ensemble"`` for
    the mean of several seeds' marginals; ``"DS-F, drifting baseline"`` (``..., seed 3``) with a drifting
    baseline; the stage's :data:`STAGE_SUFFIX` at the end (``"DS-F, VIMCO only"``).
    """
    seeds = check_seeds(seeds)
    name = f"{network}, drifting baseline" if one_of(baseline, BASELINES, "baseline") == "drifting" else network
    if seeds != (0,):
        name = f"{name}, seed {seeds[0]}" if len(seeds) == 1 else f"{name}, {len(seeds)}-seed ensemble"
    return name + STAGE_SUFFIX[one_of(stage, STAGES, "stage")]


@dataclass(frozen=True)
class FoldRun:
    """One training run of the cross-validation: it names the run's checkpoint and its rows.

    Attributes:
        indicator: ``"GCaMP6s"`` or ``"GCaMP6f"``.
        network: ``"DS-F"`` or ``"DS-NF"``.
        fold: The fold left out, ``0 .. N_FOLDS - 1``.
        seed: The training seed (0: the shipped run).
        baseline: ``"constant"`` (eq. 4) or ``"drifting"`` (:class:`~spikebook.recipes.gcamp.GcampRecipe`).
        label_selection: The selection rules the run records: the held-out bound always, and with this the
            paper's early stopping too (``label_selection`` of :func:`~spikebook.recipes.gcamp.train_network`).
        quick: A toy run (:data:`~spikebook.recipes.gcamp.QUICK` sizes), saved under its own name.
    """

    indicator: Indicator
    network: Network
    fold: int
    seed: int = 0
    baseline: Baseline = "constant"
    label_selection: bool = False
    quick: bool = False

    def __post_init__(self) -> None:
        if non_negative_int(self.fold, "fold") >= N_FOLDS:
            raise ValueError(f"fold must be below {N_FOLDS}, got {self.fold}")
        non_negative_int(self.seed, "seed")
        _ = self.recipe  # validates indicator, network and baseline

    @property
    def recipe(self) -> GcampRecipe:
        """What the run trains."""
        return GcampRecipe(self.network, self.indicator, baseline=self.baseline)

    @property
    def name(self) -> str:
        """How messages name the run, e.g. ``"DS-F, drifting baseline on GCaMP6s, fold 2"``."""
        quick = " (quick)" if self.quick else ""
        return f"{method_name(self.network, self.baseline, (self.seed,))} on {self.indicator}, fold {self.fold}{quick}"

    def path(self, results_dir: Path = RESULTS_DIR) -> Path:
        """The run's checkpoint: ``<results_dir>/gcamp/dsf-gcamp6s-drift-fold0.pt`` and the like.

        Seed 0 is the shipped run (``dsf-gcamp6s-fold0.pt``); other seeds (``dsf-gcamp6s-fold0-seed1.pt``) and
        quick runs get their own files, so training them never overwrites it.
        """
        drift = "-drift" if self.baseline == "drifting" else ""
        stem = f"{self.network.lower().replace('-', '')}-{self.indicator.lower()}{drift}-fold{self.fold}"
        return Path(results_dir) / "gcamp" / checkpoint_name(stem, self.quick, self.seed)


def training_neurons(neurons: Sequence[GcampNeuron], fold: int) -> list[GcampNeuron]:
    """The neurons a fold's network is trained on: all of the indicator's but the fold's own.

    ``neurons`` are all neurons of one indicator, in :func:`~spikebook.data.groundtruth.load_neurons` order (the
    folds depend on it).
    """
    folds = neuron_folds(len(neurons), N_FOLDS)
    return [n for n, k in zip(neurons, folds, strict=True) if k != fold]


def load_record(run: FoldRun, results_dir: Path = RESULTS_DIR) -> GcampRecord:
    """The saved record of ``run``.

    Raises:
        FileNotFoundError: if the run was never saved.
        spikebook.saving.CheckpointError: naming the file, if it is not a checkpoint, is truncated, or carries
            objects that are not plain data (refused unread: :func:`spikebook.saving.load_checkpoint`).
    """
    return GcampRecord.from_dict(load_checkpoint(run.path(results_dir)))


def load_fold(run: FoldRun, stage: Stage = "slept",
              results_dir: Path = RESULTS_DIR) -> tuple[RecognitionModel, GcampRecord]:
    """A saved fold network at ``stage`` (eval mode) and its record.

    Raises:
        ValueError: naming the run, if it has not had that stage (:meth:`~spikebook.recipes.gcamp.GcampRecord.state`).
    """
    record = load_record(run, results_dir)
    try:
        return record.network(stage), record
    except ValueError as err:
        raise ValueError(f"{run.name}: {err}") from err


def saved_folds(indicator: Indicator, network: Network, baseline: Baseline = "constant", quick: bool = False,
                results_dir: Path = RESULTS_DIR) -> Iterator[tuple[int, GcampRecord]]:
    """``(fold, record)`` of each saved seed-0 fold run, in fold order; missing folds skipped."""
    for fold in range(N_FOLDS):
        run = FoldRun(indicator, network, fold, baseline=baseline, quick=quick)
        if run.path(results_dir).exists():
            yield fold, load_record(run, results_dir)


def train_fold(run: FoldRun, neurons: Sequence[GcampNeuron], progress: bool = True,
               results_dir: Path = RESULTS_DIR) -> VimcoRun:
    """VIMCO on the neurons outside the run's fold (:func:`~spikebook.recipes.gcamp.train_network`), saved."""
    trained = train_network(run.recipe, training_neurons(neurons, run.fold), seed=run.seed, quick=run.quick,
                            label_selection=run.label_selection, progress=progress)
    path = run.path(results_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(trained.record.to_dict(), path)
    return trained


def sleep_fold(run: FoldRun, neurons: Sequence[GcampNeuron], results_dir: Path = RESULTS_DIR) -> GcampRecord:
    """The sleep phase of the saved run (:func:`~spikebook.recipes.gcamp.sleep_network`), saved with it."""
    record = sleep_network(load_record(run, results_dir), training_neurons(neurons, run.fold), quick=run.quick)
    save_atomic(record.to_dict(), run.path(results_dir))
    return record


def train_or_load(run: FoldRun, neurons: Sequence[GcampNeuron], retrain: bool = False, progress: bool = True,
                  results_dir: Path = RESULTS_DIR) -> GcampRecord:
    """The run's record after its sleep phase: loaded if saved, else trained and slept.

    A saved run is trained again if ``retrain``, or if the run asks for label selection and the saved one was
    trained without it; a saved run without a sleep phase gets one.
    """
    path = run.path(results_dir)
    record = None if retrain or not path.exists() else load_record(run, results_dir)
    if record is None or run.label_selection and record.label_selection is None:
        record = train_fold(run, neurons, progress, results_dir).record
    if record.sleep is None:
        record = sleep_fold(run, neurons, results_dir)
    return record
