"""Cross-validated predictions and their scores: the fold networks, the pretrained entries and CDEC.

Scores are Pearson correlations between the predicted marginal probability and the true spikes in 40 ms
bins, per neuron over all its recordings (:func:`spikebook.recipes.gcamp.score_neuron`); 40 ms is not a whole
number of 16.65 ms frames, so frames are re-binned by exact fractional overlap. CDEC (OASIS, AR(1), its
parameters estimated per recording) is scored on the same traces.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from spikebook.baselines import ar1_gamma, cdec
from spikebook.data.groundtruth import GcampNeuron
from spikebook.data.splits import neuron_folds
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.gcamp.crossval import N_FOLDS, FoldRun, check_seeds, load_fold
from spikebook.inference import infer
from spikebook.recipes.gcamp import Baseline, Network, Stage, score_neuron
from spikebook.recognition import RecognitionModel

__all__ = ["cdec_predictions", "network_predictions", "neuron_scores"]


def network_predictions(
    neurons: Sequence[GcampNeuron],
    network: Network = "DS-F",
    *,
    baseline: Baseline = "constant",
    stage: Stage = "slept",
    seeds: Sequence[int] = (0,),
    quick: bool = False,
    results_dir: Path = RESULTS_DIR,
) -> list[list[np.ndarray]]:
    """Cross-validated marginals: every neuron's recordings inferred by the fold network that never saw it.

    Args:
        neurons: All neurons of one indicator, in :func:`~spikebook.data.groundtruth.load_neurons` order (the
            folds depend on it).
        network: ``"DS-F"`` or ``"DS-NF"``.
        baseline: Which runs: ``"constant"`` or ``"drifting"``.
        stage: Which state of each run (:meth:`~spikebook.recipes.gcamp.GcampRecord.state`).
        seeds: Training seeds of the fold networks; with several, the prediction is the mean of their marginals
            (an ensemble of independently trained networks, not the paper's method).
        quick: Use the quick runs.
        results_dir: Where the runs are saved.

    Returns:
        Per neuron, one marginal spike probability per recording, each ``(T_i,)``.
    """
    seeds = check_seeds(seeds)
    folds = neuron_folds(len(neurons), N_FOLDS)
    out: list[list[np.ndarray]] = [[] for _ in neurons]
    for fold in range(N_FOLDS):
        models = [load_fold(FoldRun(neurons[0].indicator, network, fold, seed, baseline, quick=quick), stage,
                            results_dir)[0] for seed in seeds]
        for i, (neuron, k) in enumerate(zip(neurons, folds, strict=True)):
            if k == fold:
                out[i] = [np.mean([infer(t, neuron.fs, m, model_fs=neuron.fs) for m in models], axis=0)
                          for t in neuron.traces]
    return out


def neuron_scores(model: str | RecognitionModel, neurons: Sequence[GcampNeuron]) -> np.ndarray:
    """:func:`~spikebook.recipes.gcamp.score_neuron` of every neuron, each recording inferred by ``model``.

    ``model`` is a network instance, run at the neuron's own frame rate (the fold networks are trained at it),
    or a pretrained entry by name, applied as a user would (:func:`spikebook.infer`): at its own rate, each
    recording resampled to it if that differs. Which traces an entry has seen is up to the entry: the
    simulation ones (``dsf-scf-60hz``, ...) saw none of these, the real-data ones (``dsf-gcamp6s-60hz``, ...)
    were trained on their indicator's recordings, whose labels chose only the sleep length.
    """
    by_name = isinstance(model, str)
    return np.array([score_neuron([infer(t, n.fs, model, model_fs=None if by_name else n.fs) for t in n.traces], n)
                     for n in neurons])


def cdec_predictions(neuron: GcampNeuron) -> list[np.ndarray]:
    """OASIS AR(1) constrained deconvolution per recording, γ estimated unshrunk as for the SCF table."""
    out = []
    for trace in neuron.traces:
        y = trace.astype(np.float64)
        tau = -1.0 / (neuron.fs * math.log(float(ar1_gamma(y[None])[0])))
        out.append(cdec(y, neuron.fs, p=1, penalty=1, tau_d=tau).spikes.ravel())
    return out
