"""Diagnostics of the GCaMP6 runs, not results: slow residual power, learning curves, the sleep scans, timing.

The label-free ones (:func:`slow_residual_power`, :func:`heldout_bounds`, the bounds of
:func:`learning_curves`) motivate choices made without labels, such as the drifting baseline. The labelled
ones (:func:`lag_scores`, the training-neuron correlation of :func:`learning_curves`, :func:`sleep_choices`)
describe the runs; choosing anything on the test neurons' lag scores would tune on test labels.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.signal import welch

from spikebook.data.groundtruth import GcampNeuron
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.gcamp.crossval import N_FOLDS, saved_folds
from spikebook.experiments.gcamp.scoring import cdec_predictions, network_predictions
from spikebook.generative import MLphys
from spikebook.generative.indicators import Indicator
from spikebook.recipes.gcamp import BASELINES, Baseline, Network, score_neuron
from spikebook.recognition import RecognitionModel

__all__ = ["best_lags", "heldout_bounds", "lag_scores", "learning_curves", "shift_frames", "sleep_choices",
           "slow_residual_power", "timing_curves"]


def slow_residual_power(
    recognition: RecognitionModel,
    generative: MLphys,
    segments: np.ndarray,
    cutoff_hz: float = 0.5,
    n_samples: int = 8,
    seed: int = 0,
) -> np.ndarray:
    """Per segment, the slow power left in the residual, in units of what the model's white noise explains.

    The residual :math:`r = f - \\bar F` is the segment minus the mean, over ``n_samples`` spike trains
    drawn from ``recognition``, of the model's noise-free fluorescence :math:`\\alpha d_t + \\beta`. Its
    Welch power spectral density between 0 and ``cutoff_hz`` is divided by the white-noise level
    :math:`2\\sigma^2/f_s` that a constant-baseline model (eq. 4) assumes. About 1: the noise term explains the
    slow part of the residual. Much more than 1: slow structure (a drifting baseline, or slow misfit) that the
    model has no term for. No label enters.

    Args:
        recognition: The network whose samples explain the spikes.
        generative: One MLphys parameter set per segment (``C`` cells).
        segments: The segments the parameters belong to, ``(C, T)``.
        cutoff_hz: Upper edge of the slow band.
        n_samples: Spike trains drawn per segment.
        seed: Seed of the draws.

    Returns:
        One ratio per segment, ``(C,)``.
    """
    f = torch.as_tensor(segments, dtype=torch.float32)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        residual = (f - generative.mean(recognition.sample(f, n_samples, generator)).mean(0)).numpy()
    freqs, power = welch(residual, fs=generative.fs, nperseg=min(1024, residual.shape[-1]), axis=-1)
    white = 2.0 * generative.sigma.detach().numpy() ** 2 / generative.fs
    slow = (freqs > 0) & (freqs < cutoff_hz)  # Welch removes each window's mean: the 0 Hz bin is empty
    return power[:, slow].mean(-1) / white


def learning_curves(indicator: Indicator, network: Network = "DS-F", baseline: Baseline = "drifting",
                    quick: bool = False, results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """Every evaluation of each saved fold run: training and held-out bound, its s.e., and the selected step.

    Read from the fold records. The bounds are label-free; the two last columns are not, and are NaN for runs
    trained without label selection (the paper's early stopping); ``heldout_se`` is NaN where a run did not
    record it (reproduction notes).

    Returns:
        Long table ``fold, step, train_bound, heldout_bound, heldout_se, selected, train_correlation,
        label_selected_step`` (``selected``: the step the held-out bound selected; ``train_correlation``: the
        mean correlation on the fold's training neurons at that evaluation; ``label_selected_step``: the step
        the paper's early stopping kept); missing folds are skipped.
    """
    frames = []
    for fold, record in saved_folds(indicator, network, baseline, quick, results_dir):
        labels = record.label_selection
        frames.append(pd.DataFrame({"fold": fold, "step": record.history.steps,
                                    "train_bound": record.history.train_bound,
                                    "heldout_bound": record.history.heldout_bound,
                                    "heldout_se": list(record.history.heldout_se), "selected": record.best_step,
                                    "train_correlation": math.nan if labels is None else labels.curve,
                                    "label_selected_step": math.nan if labels is None else labels.step}))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        columns=["fold", "step", "train_bound", "heldout_bound", "heldout_se", "selected", "train_correlation",
                 "label_selected_step"])


def heldout_bounds(indicator: Indicator, network: Network = "DS-F", results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """Best held-out bound (nats per frame) of each saved fold, with a constant and with a drifting baseline.

    The label-free number that selects each run's checkpoint (:func:`learning_curves`); NaN where a run is
    missing. One row per fold, columns ``"constant baseline"`` and ``"drifting baseline"``.
    """
    best = {f"{baseline} baseline": learning_curves(indicator, network, baseline, results_dir=results_dir)
            .groupby("fold").heldout_bound.max() for baseline in BASELINES}
    return pd.DataFrame(best, dtype=float).reindex(pd.RangeIndex(N_FOLDS, name="fold"))


def sleep_choices(indicator: Indicator, network: Network = "DS-F", baseline: Baseline = "drifting",
                  quick: bool = False, results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """The sleep-length scan of each saved fold (:func:`~spikebook.recipes.gcamp.sleep_network`): mean
    correlation on the fold's training neurons per length (columns), and the length kept (``"kept"``); one row
    per fold, missing folds and folds without a sleep phase skipped."""
    rows = {fold: {**record.sleep.scan, "kept": record.sleep.steps}
            for fold, record in saved_folds(indicator, network, baseline, quick, results_dir) if record.sleep}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("fold")


def shift_frames(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` moved ``lag`` frames later (``lag < 0``: earlier), zero-filled at the end it leaves."""
    out = np.zeros_like(x)
    if lag >= 0:
        out[lag:] = x[: x.shape[0] - lag]
    else:
        out[:lag] = x[-lag:]
    return out


def lag_scores(
    predictions: Sequence[Sequence[np.ndarray]], neurons: Sequence[GcampNeuron], lags: range = range(-3, 4)
) -> pd.DataFrame:
    """:func:`~spikebook.recipes.gcamp.score_neuron` with every prediction moved by each lag: a diagnostic of
    timing, not a result.

    A method whose correlation peaks at a negative lag places its spikes late relative to the labelled
    spike times (by the indicator's rise, a model mismatch, or an offset between imaging and
    electrophysiology clocks).

    Returns:
        Long table ``neuron, lag, correlation``.
    """
    return pd.DataFrame(
        [(n.name, lag, score_neuron([shift_frames(p, lag) for p in pred], n))
         for pred, n in zip(predictions, neurons, strict=True) for lag in lags],
        columns=["neuron", "lag", "correlation"],
    )


def best_lags(curves: pd.DataFrame) -> pd.DataFrame:
    """How many neurons score best at each lag, per method (and per indicator, if ``curves`` has that column).

    Args:
        curves: A long table of :func:`lag_scores` rows with a ``method`` column (:func:`timing_curves`), lags
            in ascending order per neuron: a neuron's tie goes to its earliest lag.

    Returns:
        One row per (indicator,) method, one column per lag that is some neuron's best, neuron counts.
    """
    keys = [key for key in ("indicator", "method") if key in curves]
    best = curves.loc[curves.groupby([*keys, "neuron"]).correlation.idxmax()]
    return best.groupby(keys).lag.value_counts().unstack(fill_value=0)


def timing_curves(neurons: Sequence[GcampNeuron], network: Network = "DS-F", lags: range = range(-3, 4),
                  quick: bool = False, results_dir: Path = RESULTS_DIR) -> pd.DataFrame:
    """:func:`lag_scores` of the cross-validated ``network`` (constant baseline) and of CDEC on one indicator's
    neurons.

    Returns:
        Long table ``neuron, lag, correlation, method``.
    """
    predictions = network_predictions(neurons, network, quick=quick, results_dir=results_dir)
    return pd.concat([
        lag_scores(predictions, neurons, lags).assign(method=network),
        lag_scores([cdec_predictions(n) for n in neurons], neurons, lags).assign(method="CDEC"),
    ], ignore_index=True)
