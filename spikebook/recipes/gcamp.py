r"""DeepSpike networks trained on real GCaMP6 recordings (Speiser et al. 2017, §3.3).

The protocol, the paper's with the choices it leaves open made explicit: Chen et al. (2013) recordings in
CASCADE's curation, spikes counted in the first frame sampled after them, ΔF/F with the slow baseline removed
(§3.1), at the frame rate (:func:`spikebook.data.groundtruth.load_neurons`); one MLphys model (eq. 4) per
one-minute segment (:data:`SEGMENT_FRAMES`), since gain, baseline and noise drift between segments, started at
the indicator's values (:mod:`spikebook.generative.indicators`), optionally with MLspike's drifting baseline
(not in the paper); VIMCO with selection and early stopping on the bound of held-out frames, no label entering
(:func:`train_network`); then a sleep phase whose length is chosen by the correlation on the training neurons,
the one number chosen with labels (:func:`sleep_network`). ``label_selection`` also keeps the state the
paper's early stopping keeps (the highest mean correlation on the training neurons).

A run's outcome is a :class:`GcampRecord`, the VIMCO, slept and label-selected states in separate fields,
saved as a versioned plain dictionary. :func:`train` makes a shipped entry from every neuron of one indicator;
the chapter's cross-validation runs :func:`train_network` and :func:`sleep_network` on three folds' neurons.
One module of about 500 lines because its steps share the segments, the scoring and the record they fill; the
neurons, the indicator priors and the training loops live below it (:mod:`spikebook.data.groundtruth`,
:mod:`spikebook.generative.indicators`, :mod:`spikebook.training`).

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from spikebook.data.groundtruth import GcampNeuron, load_neurons
from spikebook.generative import BernoulliPrior, MLphys
from spikebook.generative.indicators import INITIAL_MLPHYS, Indicator, indicator_mlphys
from spikebook.metrics import rebin_to_rate
from spikebook.recipes.simulated import DSNF_TRAINING
from spikebook.recognition import DSF, DSNF, RecognitionModel
from spikebook.recognition.tiled import tiled_marginals
from spikebook.saving import save_atomic
from spikebook.seeding import seeded
from spikebook.training import FitResult, History, VimcoConfig, cpu_state, fit_sleep, fit_vimco
from spikebook.validate import non_negative_int, one_of, positive

__all__ = [
    "BASELINES",
    "BIN_S",
    "DSF_CONFIG",
    "DSNF_CONFIG",
    "FORMAT",
    "HELDOUT_FRAMES",
    "NETWORKS",
    "PRIOR_RATE_HZ",
    "QUICK",
    "SEGMENT_FRAMES",
    "SLEEP_CHUNK_LEN",
    "SLEEP_GRID",
    "STAGES",
    "GcampQuick",
    "GcampRecipe",
    "GcampRecord",
    "LabelSelection",
    "SleepPhase",
    "VimcoRun",
    "cut_segments",
    "initial_mlphys",
    "learned_mlphys",
    "make_networks",
    "new_network",
    "own_rate_marginals",
    "score_neuron",
    "sleep_network",
    "train",
    "train_network",
    "training_correlation",
]

Network = Literal["DS-F", "DS-NF"]
Baseline = Literal["constant", "drifting"]
#: A trained state of a run: as VIMCO selected it, after the sleep phase, or by the paper's early stopping.
Stage = Literal["vimco", "slept", "label_selected"]
NETWORKS: tuple[Network, ...] = ("DS-F", "DS-NF")
BASELINES: tuple[Baseline, ...] = ("constant", "drifting")
STAGES: tuple[Stage, ...] = ("vimco", "slept", "label_selected")
StateDict = dict[str, Tensor]

#: Frames per training segment (one minute at 60 Hz); each segment has its own generative parameters.
SEGMENT_FRAMES = 3_600
#: The last frames of every training segment, held out for checkpoint selection.
HELDOUT_FRAMES = 600
#: Prior spike rate (Hz) during training: the simulations' 0.9 Hz (0.015 per 60 Hz bin), not the labels'
#: rate, which an unsupervised method does not know.
PRIOR_RATE_HZ = 0.9
#: Early stopping: a run stops once its selected state is this many evaluations old. The held-out bound moves
#: by a few nats between evaluations, hence a patience counted in evaluations.
PATIENCE_EVALUATIONS = 10
#: No run stops before this step: a lucky early evaluation must not end a run whose bound is still rising.
MIN_STEPS = 3_000
#: VIMCO for DS-F: the paper's K = 64 and chunks, minibatches of 5 chunks (not 20) and a generative learning
#: rate of 0.05, because every minibatch comes from one segment and each of a fold's 60-110 segments would
#: otherwise get only a few dozen updates; the one-standard-error rule, up to 20,000 steps (its held-out bound
#: keeps rising longer than DS-NF's; reproduction notes).
DSF_CONFIG = VimcoConfig(batch_size=5, eval_every=200, gen_lr=0.05, patience=PATIENCE_EVALUATIONS * 200,
                         selection="one_se", n_steps=20_000, min_steps=MIN_STEPS)
#: VIMCO for DS-NF: the CPU-sized settings of the simulated DS-NF entries
#: (:data:`spikebook.recipes.simulated.DSNF_TRAINING`), minibatches of 4 chunks, for the same reasons.
DSNF_CONFIG = dataclasses.replace(DSNF_TRAINING, batch_size=4, eval_every=100, gen_lr=0.05, selection="one_se",
                                  patience=PATIENCE_EVALUATIONS * 100, n_steps=10_000, min_steps=MIN_STEPS)
CONFIGS: dict[Network, VimcoConfig] = {"DS-F": DSF_CONFIG, "DS-NF": DSNF_CONFIG}
#: Candidate lengths (Adam steps) of the sleep phase, 0 meaning none (the paper's protocol). No label-free
#: criterion exists for it: the held-out bound always prefers the VIMCO network, the quantity VIMCO maximises.
SLEEP_GRID = (0, 100, 200, 300, 400, 500)
#: Frames of the simulated chunk each training segment contributes to a sleep step.
SLEEP_CHUNK_LEN = 400
#: Width of the bins the correlations are computed in (seconds): the paper's 40 ms.
BIN_S = 0.04
#: Version of the saved :class:`GcampRecord` dictionaries.
FORMAT = 2


@dataclass(frozen=True)
class GcampQuick:
    """Sizes of a quick run (CI, quick mode): the same code path on a toy problem.

    Attributes:
        n_steps: VIMCO steps.
        eval_every: Steps between evaluations.
        max_segments: Training segments (the first ones).
        neurons: Neurons of the indicator used (the first ones, in name order).
        sleep_grid: Candidate sleep lengths.
    """

    n_steps: int = 10
    eval_every: int = 5
    max_segments: int = 4
    neurons: int = 4
    sleep_grid: tuple[int, ...] = (0, 3, 5)


QUICK = GcampQuick()


@dataclass(frozen=True)
class GcampRecipe:
    """How a network is trained on the recordings of one GCaMP6 indicator (the protocol of this module).

    Attributes:
        recognition: ``"DS-F"`` or ``"DS-NF"`` with their default (paper) layouts.
        indicator: ``"GCaMP6s"`` or ``"GCaMP6f"`` (Chen et al. 2013, CASCADE curation).
        fs: Frame rate of the recordings in Hz, the rate the network works at.
        baseline: ``"constant"`` (eq. 4) or ``"drifting"`` (MLspike's random walk added to every segment's
            model; :mod:`spikebook.generative.drift`).
        description: One line for :func:`spikebook.pretrained.available`.
    """

    recognition: Network
    indicator: Indicator
    fs: float = 60.06
    baseline: Baseline = "constant"
    description: str = ""

    def __post_init__(self) -> None:
        one_of(self.recognition, NETWORKS, "recognition")
        one_of(self.indicator, tuple(INITIAL_MLPHYS), "indicator")
        one_of(self.baseline, BASELINES, "baseline")
        positive(self.fs, "fs")


def new_network(recognition: Network) -> RecognitionModel:
    """An untrained DS-F or DS-NF with the paper's layout."""
    return DSF() if one_of(recognition, NETWORKS, "recognition") == "DS-F" else DSNF()


def cut_segments(
    neurons: Sequence[GcampNeuron], max_segments: int | None, kind: Literal["traces", "spikes"] = "traces"
) -> np.ndarray:
    """Every whole :data:`SEGMENT_FRAMES`-frame segment of every recording, ``(C, SEGMENT_FRAMES)``.

    ``kind`` picks the fluorescence (``"traces"``) or the spike counts (``"spikes"``) of the same segments;
    ``max_segments`` keeps the first ones (``None``: all).
    """
    segs = [x[i : i + SEGMENT_FRAMES] for n in neurons for x in getattr(n, kind)
            for i in range(0, len(x) - SEGMENT_FRAMES + 1, SEGMENT_FRAMES)]
    return np.stack(segs[:max_segments] if max_segments else segs)


def initial_mlphys(indicator: Indicator, segments: np.ndarray, fs: float,
                   baseline: Baseline = "constant") -> MLphys:
    """MLphys with one parameter set per segment at the indicator's starting values, the noise from the data.

    The noise s.d. starts at a robust, label-free estimate per segment, the median absolute first difference
    over :math:`0.6745\\sqrt2` (rare transients barely move a median); the baseline at 0 (it was removed).

    Args:
        indicator: ``"GCaMP6s"`` or ``"GCaMP6f"``.
        segments: ``(C, T)`` traces.
        fs: Frame rate in Hz.
        baseline: ``"drifting"`` adds MLspike's random walk
            (:func:`~spikebook.generative.indicators.indicator_mlphys`).
    """
    noise = np.median(np.abs(np.diff(segments, axis=1)), axis=1) / (0.6745 * math.sqrt(2))
    sigma = torch.as_tensor(np.maximum(noise, 1e-3), dtype=torch.float32)
    return indicator_mlphys(indicator, sigma, fs, one_of(baseline, BASELINES, "baseline") == "drifting")


def make_networks(recipe: GcampRecipe, n_cells: int) -> tuple[RecognitionModel, MLphys]:
    """An untrained network and MLphys of ``n_cells`` segments at the indicator's values with unit noise (the
    shapes a checkpoint is loaded into; :func:`initial_mlphys` starts the noise from the data instead)."""
    sigma = torch.ones(n_cells)
    return new_network(recipe.recognition), indicator_mlphys(recipe.indicator, sigma, recipe.fs,
                                                             recipe.baseline == "drifting")


def score_neuron(predictions: Sequence[np.ndarray], neuron: GcampNeuron) -> float:
    """Pearson correlation in :data:`BIN_S` bins between predictions and spikes, over all of a neuron's
    recordings concatenated; frames are re-binned by exact fractional overlap
    (:func:`spikebook.metrics.rebin_to_rate`).
    """
    pred = np.concatenate([rebin_to_rate(p, neuron.fs, 1.0 / BIN_S) for p in predictions])
    true = np.concatenate([rebin_to_rate(s, neuron.fs, 1.0 / BIN_S) for s in neuron.spikes])
    return float(np.corrcoef(pred, true)[0, 1])


def own_rate_marginals(model: RecognitionModel, trace: np.ndarray, fs: float) -> np.ndarray:
    """:math:`q_\\phi(s_t = 1 \\mid f)` of one recording at its own rate ``fs``, run exactly as
    :func:`spikebook.infer` runs a network (:func:`~spikebook.recognition.tiled.tiled_marginals`): the
    choices made on training neurons see what users will get. DS-NF: 30 sampled trains, seed 0.
    """
    return tiled_marginals(model, np.asarray(trace)[None], fs, fs)[0]


def training_correlation(model: RecognitionModel, neurons: Sequence[GcampNeuron],
) -> float:
    """Mean :func:`score_neuron` of ``model`` over the neurons it was trained on: what the sleep length and the
    paper's early stopping choose by.

    Raises:
        ValueError: if a neuron has no correlation (no spikes, or a constant prediction): it could not vote,
            and a NaN would mis-rank the choices.
    """
    scores = np.array([score_neuron([own_rate_marginals(model, t, n.fs) for t in n.traces], n) for n in neurons])
    if not np.isfinite(scores).all():
        raise ValueError(f"a training neuron has no correlation (no spikes or a constant prediction): {scores}")
    return float(scores.mean())


class SleepPhase(NamedTuple):
    """The sleep phase of a run (:func:`sleep_network`).

    Attributes:
        steps: The length kept (Adam steps; 0: none).
        scan: Mean training-neuron correlation after each length of the grid.
        state: The network after ``steps`` sleep steps.
    """

    steps: int
    scan: dict[int, float]
    state: StateDict


class LabelSelection(NamedTuple):
    """The paper's early stopping within a VIMCO run (``label_selection`` of :func:`train_network`).

    Attributes:
        curve: Mean training-neuron correlation at every evaluation, aligned with the history's steps.
        step: The step of the kept state, the first maximum of ``curve``.
        correlation: Its correlation.
        state: The kept network.
    """

    curve: list[float]
    step: int
    correlation: float
    state: StateDict


@dataclass(frozen=True)
class GcampRecord:
    """What a run of the protocol produced; saved with :meth:`to_dict` as plain data (:data:`FORMAT`).

    Attributes:
        recipe: What was trained.
        seed: The training seed.
        train_neurons: Names of the neurons trained on, in order (their segments are the generative cells).
        history: VIMCO's learning curves.
        best_step: The step of the state the held-out bound selected.
        vimco: That network.
        generative: The per-segment MLphys models at that step.
        sleep: The sleep phase (``None`` before it).
        label_selection: The paper's early stopping (``None`` for a run without it).
    """

    recipe: GcampRecipe
    seed: int
    train_neurons: tuple[str, ...]
    history: History
    best_step: int
    vimco: StateDict
    generative: StateDict
    sleep: SleepPhase | None = None
    label_selection: LabelSelection | None = None

    def state(self, stage: Stage) -> StateDict:
        """The network's weights at ``stage``.

        Raises:
            ValueError: if the run has not had that stage (no sleep phase yet, or no label selection).
        """
        if one_of(stage, STAGES, "stage") == "vimco":
            return self.vimco
        if stage == "slept":
            if self.sleep is None:
                raise ValueError("the run has had no sleep phase yet (sleep_network)")
            return self.sleep.state
        if self.label_selection is None:
            raise ValueError("the run was trained without label selection (the paper's early stopping)")
        return self.label_selection.state

    def network(self, stage: Stage) -> RecognitionModel:
        """The network at ``stage``, in eval mode (:meth:`state`)."""
        model = new_network(self.recipe.recognition)
        model.load_state_dict(self.state(stage))
        return model.eval()

    def to_dict(self) -> dict[str, Any]:
        """Plain data for :func:`spikebook.saving.save_atomic`, the history a tuple in :class:`History` order."""
        return {"format": FORMAT, "recipe": dataclasses.asdict(self.recipe), "seed": self.seed,
                "train_neurons": list(self.train_neurons), "history": tuple(list(x) for x in self.history),
                "best_step": self.best_step, "vimco": self.vimco, "generative": self.generative,
                "sleep": None if self.sleep is None else self.sleep._asdict(),
                "label_selection": None if self.label_selection is None else self.label_selection._asdict()}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> GcampRecord:
        """The record :meth:`to_dict` saved.

        Raises:
            ValueError: if ``saved`` is not a record of format :data:`FORMAT`.
        """
        if saved.get("format") != FORMAT:
            raise ValueError(f"not a GCaMP6 run record of format {FORMAT} (format {saved.get('format')!r})")
        return cls(GcampRecipe(**saved["recipe"]), saved["seed"], tuple(saved["train_neurons"]),
                   History(*saved["history"]), saved["best_step"], saved["vimco"], saved["generative"],
                   None if saved["sleep"] is None else SleepPhase(**saved["sleep"]),
                   None if saved["label_selection"] is None else LabelSelection(**saved["label_selection"]))


class VimcoRun(NamedTuple):
    """What :func:`train_network` returns.

    Attributes:
        record: The run's record, without a sleep phase.
        fit: What :func:`~spikebook.training.fit_vimco` returned (the selected network and models, the history).
    """

    record: GcampRecord
    fit: FitResult


def _check_neurons(recipe: GcampRecipe, neurons: Sequence[GcampNeuron]) -> None:
    wrong = [n.name for n in neurons if n.indicator != recipe.indicator]
    if not neurons or wrong:
        raise ValueError(f"need neurons of {recipe.indicator}, got {len(neurons)} (other indicators: {wrong})")


def train_network(
    recipe: GcampRecipe,
    neurons: Sequence[GcampNeuron],
    *,
    seed: int = 0,
    quick: bool = False,
    label_selection: bool = False,
    progress: bool = True,
) -> VimcoRun:
    """VIMCO on the segments of ``neurons``: the network and one MLphys model per segment, selected and stopped
    on the held-out bound (the module docstring's protocol).

    Args:
        recipe: What to train.
        neurons: The training neurons.
        seed: Seed of the initial weights and of the run.
        quick: Toy sizes (:data:`QUICK`).
        label_selection: Also keep the state the paper's early stopping keeps: at every evaluation the network
            is scored on ``neurons`` (:func:`training_correlation`, their labels only), and the first state with
            the highest score is kept. Scoring draws no random numbers: the run, and the state the bound
            selects, are those of a run without it.
        progress: Show a progress bar.
    """
    _check_neurons(recipe, neurons)
    seed = non_negative_int(seed, "seed")
    segments = cut_segments(neurons, QUICK.max_segments if quick else None)  # (C, SEGMENT_FRAMES)
    traces = torch.as_tensor(segments)[None]  # (1, C, T)
    fs = neurons[0].fs
    config = CONFIGS[recipe.recognition]
    if quick:
        config = dataclasses.replace(config, n_steps=QUICK.n_steps, eval_every=QUICK.eval_every)
    with seeded(seed):  # the initial weights depend on the seed alone
        recognition = new_network(recipe.recognition)
    curve: list[float] = []
    kept: dict[str, Any] = {}

    def keep_best_correlation(step: int) -> None:
        curve.append(training_correlation(recognition, neurons))
        if not kept or curve[-1] > kept["correlation"]:
            kept.update(step=step, correlation=curve[-1], state=cpu_state(recognition))

    fit = fit_vimco(recognition, initial_mlphys(recipe.indicator, segments, fs, recipe.baseline),
                    traces[..., :-HELDOUT_FRAMES], config, prior=BernoulliPrior(PRIOR_RATE_HZ, fs), seed=seed,
                    validation=traces[..., -HELDOUT_FRAMES:], progress=progress,
                    callback=keep_best_correlation if label_selection else None)
    record = GcampRecord(recipe, seed, tuple(n.name for n in neurons), fit.history, fit.best_step,
                         cpu_state(fit.recognition), cpu_state(fit.generative),
                         label_selection=LabelSelection(curve, **kept) if label_selection else None)
    return VimcoRun(record, fit)


def learned_mlphys(record: GcampRecord, neurons: Sequence[GcampNeuron],
                   quick: bool = False) -> tuple[MLphys, np.ndarray]:
    """A run's per-segment MLphys models as VIMCO learned them, with the training segments they belong to.

    Args:
        record: The run.
        neurons: Its training neurons (:attr:`GcampRecord.train_neurons`), whose segments fix the models' order.
        quick: Whether it was a quick run (its first :data:`QUICK` segments).

    Raises:
        ValueError: if ``neurons`` are not the run's training neurons.
    """
    if tuple(n.name for n in neurons) != record.train_neurons:
        raise ValueError(f"the run was trained on {list(record.train_neurons)}, not {[n.name for n in neurons]}")
    segments = cut_segments(neurons, QUICK.max_segments if quick else None)
    generative = initial_mlphys(record.recipe.indicator, segments, neurons[0].fs, record.recipe.baseline)
    generative.load_state_dict(record.generative)
    return generative, segments


def sleep_network(
    record: GcampRecord,
    neurons: Sequence[GcampNeuron],
    *,
    quick: bool = False,
) -> GcampRecord:
    r"""The sleep phase: the VIMCO network trained further on traces simulated from its learned models.

    VIMCO (:func:`train_network`) learns one MLphys model per training segment and the network jointly, by
    the importance-weighted bound. This phase keeps those models fixed and trains the network on pairs
    :math:`(s, f)` drawn from them (:func:`~spikebook.training.fit_sleep`: spikes from the 0.9 Hz prior, traces
    from each segment's learned model; no recorded trace enters): wake-sleep (Bornschein & Bengio 2015), θ
    from the data, φ by the sleep objective :math:`-\log q_\phi(s \mid f)`, which trains the network where the
    model puts its mass rather than where the VIMCO gradient happens to reach.

    One run of ``max(SLEEP_GRID)`` steps (seeded by the record's seed) is snapshotted at every length of
    :data:`SLEEP_GRID`; the snapshot with the highest :func:`training_correlation` on ``neurons`` is kept (the
    shortest on a tie). A second sleep phase starts again from the VIMCO network.

    Args:
        record: A run of :func:`train_network`.
        neurons: Its training neurons (their segments fix the learned models' order; their labels choose
            the length).
        quick: Whether it is a quick run (:data:`QUICK`'s segments and grid).

    Returns:
        ``record`` with its :class:`SleepPhase`.
    """
    generative, segments = learned_mlphys(record, neurons, quick)
    model = new_network(record.recipe.recognition)
    model.load_state_dict(record.vimco)
    grid = QUICK.sleep_grid if quick else SLEEP_GRID
    snapshots = {0: record.vimco}

    def keep(step: int) -> None:
        if step in grid:
            snapshots[step] = cpu_state(model)

    prior = BernoulliPrior(torch.full((len(segments),), PRIOR_RATE_HZ), neurons[0].fs)
    fit_sleep(model, generative.requires_grad_(False), prior, max(grid), batch_size=1, chunk_len=SLEEP_CHUNK_LEN,
              seed=record.seed, callback=keep)
    model.cpu().eval()
    scan = {}
    for steps in grid:
        model.load_state_dict(snapshots[steps])
        scan[steps] = training_correlation(model, neurons)
    chosen = max(grid, key=scan.__getitem__)  # the first maximum: the shortest on a tie
    return dataclasses.replace(record, sleep=SleepPhase(chosen, scan, snapshots[chosen]))


def train(recipe: GcampRecipe, path: Path, quick: bool = False, progress: bool = True, seed: int = 0,
          root: str | Path | None = None) -> FitResult:
    """Train ``recipe`` on every neuron of its indicator, then its sleep phase; save the record at ``path``.

    Needs the Chen et al. (2013) recordings (:func:`spikebook.data.groundtruth.load_chen2013`). The labels of
    the neurons trained on choose only the sleep length; what to expect on new neurons is what the chapter's
    cross-validation folds measure on theirs.

    Args:
        recipe: What to train.
        path: Where the record goes.
        quick: Toy sizes (:data:`QUICK`), on the first neurons.
        progress: Show a progress bar.
        seed: Seed of the training run.
        root: Data folder (``None``: :func:`~spikebook.data.paths.data_root`).

    Returns:
        What :func:`~spikebook.training.fit_vimco` returned, its ``recognition`` the network after the sleep
        phase.
    """
    neurons = load_neurons(recipe.indicator, root)
    if quick:
        neurons = neurons[: QUICK.neurons]
    run = train_network(recipe, neurons, seed=seed, quick=quick, progress=progress)
    record = sleep_network(run.record, neurons, quick=quick)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_atomic(record.to_dict(), path)
    return run.fit._replace(recognition=record.network("slept"))
