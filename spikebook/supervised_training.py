r"""Training and applying the supervised spike nets of Bolte & Wildani on Spikefinder recordings.

The models are in :mod:`spikebook.supervised`; this module turns recordings into training windows, fits a
model with early stopping on *whole held-out neurons*, saves it with its configuration, and predicts spike
rates for full traces.

* :func:`normalize_calcium`: one mean and one standard deviation per dataset (pooled over its neurons),
  ``(x - \mu) / \sigma``; ``"as_submitted"`` reproduces the original's :math:`0.05 (x-\mu)/\sigma^2` (it
  divided by the *variance*, ORIGINAL_CODE.md §1.2); ``"neuron"`` normalises each trace by itself.
* :func:`make_windows`: windows of ``window`` samples (10 s) at stride ``window - 2 buffer`` along each
  neuron; the loss sees the central ``window - 2 buffer`` samples (ORIGINAL_CODE.md §1.2). Windows never
  straddle two neurons, and a neuron is on one side of a split only (:func:`spikebook.data.spikefinder.split_by_neuron`).
* :func:`fit_supervised`: Adam, a seeded run, a tqdm bar, early stopping on the official Spikefinder
  correlation of held-out neurons (40 ms bins, :func:`spikebook.metrics.spikefinder_correlation`), the best
  state kept.
* :func:`predict`: full traces, tiled windows whose outputs within ``buffer`` of a cut are discarded, so
  (``buffer`` ≥ half the receptive field) the result equals the untiled prediction; NaN padding is kept.
* :func:`save_models` / :func:`load_models`: checkpoints with the frozen configurations beside the weights.

Shapes and units: traces ``(T,)`` or ``(n, T)`` at 100 Hz (10 ms bins), spikes as counts per bin, windows
``(N, window)``; dataset ids are Spikefinder dataset numbers 1-10 (embedding row ``dataset - 1``).

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.
    Berens P et al. (2018). Community-based benchmarking improves spike rate inference from two-photon
    calcium imaging data. PLoS Comput Biol 14(5):e1006157.

Taught in: book chapter "Supervised CNNs with attended convolution".
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from spikebook.data.spikefinder import SpikefinderNeuron
from spikebook.metrics import spikefinder_correlation
from spikebook.saving import load_checkpoint, save_atomic
from spikebook.signal import finite_runs, to_model_rate, to_user_rate
from spikebook.supervised import (
    BolteConfig,
    BolteNet,
    Ensemble,
    SimplifiedBolteNet,
    SimplifiedConfig,
    bce_clipped,
    pearson_loss,
    poisson_nll,
)
from spikebook.validate import as_traces, rate_hz

__all__ = [
    "SUPERVISED_FS_HZ",
    "FitHistory",
    "SupervisedConfig",
    "SupervisedFit",
    "Windows",
    "build_model",
    "fit_supervised",
    "infer_traces",
    "load_models",
    "make_windows",
    "model_spec",
    "normalize_calcium",
    "predict",
    "predict_neurons",
    "save_models",
    "score_neurons",
    "validation_score",
    "window_starts",
]

Normalization = Literal["dataset", "neuron", "as_submitted"]
SupervisedNet = BolteNet | SimplifiedBolteNet | Ensemble


# ---------------------------------------------------------------------------------------------------------
# Normalisation and windows
# ---------------------------------------------------------------------------------------------------------


def normalize_calcium(traces: Sequence[np.ndarray], mode: Normalization = "dataset") -> list[np.ndarray]:
    r"""Normalise the calcium traces of one dataset.

    * ``"dataset"``: :math:`\tilde x = (x - \mu) / \sigma` with one :math:`\mu` and one :math:`\sigma` (the
      standard deviation) pooled over all samples of all ``traces``, as the original code meant to.
    * ``"as_submitted"``: :math:`\tilde x = 0.05 (x - \mu) / \sigma^2`, the original's variance bug.
    * ``"neuron"``: each trace with its own :math:`\mu, \sigma`.

    NaN samples are ignored in the statistics and stay NaN.

    Args:
        traces: the ``(T_i,)`` traces of one dataset (one file), at 100 Hz.
        mode: see above.

    Returns:
        The normalised traces, float64, same shapes.

    Raises:
        ValueError: for an unknown mode, no traces, or a constant (or all-NaN) group.
    """
    if mode not in ("dataset", "neuron", "as_submitted"):
        raise ValueError(f"mode must be 'dataset', 'neuron' or 'as_submitted', got {mode!r}")
    arrays = [np.asarray(t, dtype=np.float64) for t in traces]
    if not arrays or any(a.ndim != 1 for a in arrays):
        raise ValueError("traces must be a non-empty sequence of 1-D arrays")
    groups = [[a] for a in arrays] if mode == "neuron" else [arrays]
    out = []
    for group in groups:
        pooled = np.concatenate(group)
        mu, sd = np.nanmean(pooled), np.nanstd(pooled)
        if not np.isfinite(sd) or sd == 0:
            raise ValueError("cannot normalise a constant or all-NaN trace group")
        scale = 0.05 / sd**2 if mode == "as_submitted" else 1.0 / sd
        out += [(a - mu) * scale for a in group]
    return out


def window_starts(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Start indices of windows covering ``range(n_samples)``: every ``stride``, the last flush with the end.

    A trace no longer than one window gives the single start 0 (the window is zero-padded).
    """
    if window < 1 or stride < 1 or n_samples < 1:
        raise ValueError(f"need positive sizes, got n_samples={n_samples}, window={window}, stride={stride}")
    if n_samples <= window:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, n_samples - window, stride))
    starts.append(n_samples - window)
    return np.asarray(starts, dtype=np.int64)


class Windows(NamedTuple):
    """Training windows.

    Attributes:
        calcium: ``(N, window)`` normalised calcium, float32 (zero-padded where a trace is shorter).
        spikes: ``(N, window)`` spike counts per 10 ms bin.
        dataset: ``(N,)`` long, embedding row (Spikefinder dataset number minus one).
    """

    calcium: Tensor
    spikes: Tensor
    dataset: Tensor


def _check_window(window: int, buffer: int) -> None:
    if buffer < 0 or window - 2 * buffer < 1:
        raise ValueError(f"need buffer >= 0 and window > 2 buffer, got window={window}, buffer={buffer}")


def make_windows(
    calcium: Sequence[np.ndarray], spikes: Sequence[np.ndarray], datasets: Sequence[int],
    window: int = 1000, buffer: int = 100,
) -> Windows:
    """Cut neuron-wise windows of ``window`` samples at stride ``window - 2 buffer``.

    The loss is computed on the central ``window - 2 buffer`` samples of each window, so consecutive
    windows tile each trace's targets (the last window is flush with the end and overlaps its neighbour).

    Args:
        calcium: per neuron, ``(T_i,)`` normalised calcium without NaN.
        spikes: per neuron, ``(T_i,)`` counts.
        datasets: per neuron, the Spikefinder dataset number (1-10).
        window: samples per window (1000 = 10 s).
        buffer: samples at each end whose outputs are not scored (100).

    Raises:
        ValueError: mismatched lengths, NaN in the inputs, or bad sizes.
    """
    _check_window(window, buffer)
    if not (len(calcium) == len(spikes) == len(datasets)) or not calcium:
        raise ValueError("calcium, spikes and datasets must be non-empty and of equal length")
    xs, ys, ds = [], [], []
    for c, s, d in zip(calcium, spikes, datasets):
        c, s = np.asarray(c, dtype=np.float32), np.asarray(s, dtype=np.float32)
        if c.shape != s.shape or c.ndim != 1:
            raise ValueError(f"calcium and spikes of a neuron must be equal 1-D, got {c.shape}, {s.shape}")
        if np.isnan(c).any() or np.isnan(s).any():
            raise ValueError("remove NaN padding before windowing")
        if c.size < window:
            c, s = np.pad(c, (0, window - c.size)), np.pad(s, (0, window - s.size))
        for start in window_starts(c.size, window, window - 2 * buffer):
            xs.append(c[start : start + window])
            ys.append(s[start : start + window])
            ds.append(int(d) - 1)
    return Windows(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)), torch.tensor(ds))


# ---------------------------------------------------------------------------------------------------------
# Models from frozen configurations
# ---------------------------------------------------------------------------------------------------------


def model_spec(model: SupervisedNet) -> dict[str, Any]:
    """``{"class": ..., "config": {...}}`` (an :class:`Ensemble`: ``{"class": "Ensemble", "members": [...]}``):
    what :func:`build_model` needs to rebuild ``model``."""
    if isinstance(model, Ensemble):
        return {"class": "Ensemble", "members": [model_spec(m) for m in model.members]}
    return {"class": type(model).__name__, "config": dataclasses.asdict(model.config)}


def build_model(spec: dict[str, Any], seed: int | None = None) -> SupervisedNet:
    """A fresh network from :func:`model_spec`'s dictionary; ``seed`` fixes the initial weights."""
    classes = {"BolteNet": (BolteNet, BolteConfig), "SimplifiedBolteNet": (SimplifiedBolteNet, SimplifiedConfig)}
    if spec.get("class") not in (*classes, "Ensemble"):
        raise ValueError(f"unknown model class {spec.get('class')!r}; known: {sorted((*classes, 'Ensemble'))}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if spec["class"] == "Ensemble":
            return Ensemble([build_model(member) for member in spec["members"]])
        cls, config_cls = classes[spec["class"]]
        return cls(config_cls(**spec["config"]))


# ---------------------------------------------------------------------------------------------------------
# Prediction on full traces
# ---------------------------------------------------------------------------------------------------------


def _dataset_tensor(dataset: int | None, n: int) -> Tensor | None:
    if dataset is None:
        return None
    if isinstance(dataset, bool) or not isinstance(dataset, (int, np.integer)) or dataset < 1:
        raise ValueError(f"dataset must be a Spikefinder dataset number >= 1 or None, got {dataset!r}")
    return torch.full((n,), int(dataset) - 1, dtype=torch.long)


def predict(
    model: SupervisedNet,
    calcium: np.ndarray,
    dataset: int | None,
    *,
    window: int = 1000,
    buffer: int = 100,
    batch_size: int = 64,
) -> np.ndarray:
    """Spike rates per 10 ms bin for normalised calcium traces of any length, by tiled windows.

    Each run of finite samples is predicted on its own; windows at stride ``window - 2 buffer`` are
    batched, and of each window only the outputs at least ``buffer`` samples from an inner cut are kept
    (at a trace's own ends, the window's outputs are kept, as the untiled network would give). With
    ``buffer`` at least half the receptive field (:attr:`BolteNet.receptive_field`), the result equals
    ``model(whole trace)`` in eval mode. NaN samples come back as NaN.

    Args:
        model: a trained network (put in eval mode here and restored after).
        calcium: ``(T,)`` or ``(n, T)`` normalised calcium at 100 Hz, NaN padding allowed.
        dataset: Spikefinder dataset number whose embedding to use, or None (no dataset scaling: the model
            trained without dataset knowledge).
        window: samples per window.
        buffer: samples discarded at each inner cut.
        batch_size: windows per forward pass.

    Returns:
        Same shape as ``calcium``, float64, non-negative rates (NaN where the input is NaN).

    Raises:
        TypeError: for a non-floating-point input (:func:`spikebook.validate.as_traces`).
        ValueError: for a non-1-D/2-D or empty input, ±inf, an all-NaN trace, or bad sizes.
    """
    _check_window(window, buffer)
    x, squeeze = as_traces(calcium, "calcium")
    x = x.astype(np.float64, copy=False)
    out = np.full(x.shape, np.nan)
    stride = window - 2 * buffer
    pieces: list[tuple[int, int, int, int, int]] = []  # (row, seg_start, seg_end, win_start, win_len)
    for row, trace in enumerate(x):
        for a, b in finite_runs(trace):
            for s in window_starts(b - a, window, stride):
                pieces.append((row, a, b, int(s), min(window, b - a)))
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            by_len: dict[int, list[tuple[int, int, int, int, int]]] = {}
            for p in pieces:
                by_len.setdefault(p[4], []).append(p)
            for length, group in by_len.items():
                for i in range(0, len(group), batch_size):
                    batch = group[i : i + batch_size]
                    chunk = np.stack([x[r, a + s : a + s + length] for r, a, _, s, _ in batch])
                    ds = _dataset_tensor(dataset, len(batch))
                    rates = model(torch.as_tensor(chunk, dtype=param.dtype), ds).double().numpy()
                    for (r, a, b, s, n), y in zip(batch, rates):
                        keep_from = 0 if s == 0 else buffer
                        keep_to = n if a + s + n == b else n - buffer
                        out[r, a + s + keep_from : a + s + keep_to] = y[keep_from:keep_to]
    finally:
        model.train(was_training)
    return out[0] if squeeze else out


def _normalized_groups(neurons: Sequence[SpikefinderNeuron], mode: Normalization) -> list[np.ndarray]:
    """Calcium of each neuron, normalised within its ``(split, dataset)`` group (one Spikefinder file)."""
    groups: dict[tuple[str, int], list[int]] = {}
    for i, n in enumerate(neurons):
        if n.calcium is None:
            raise ValueError(f"neuron {n.key} has no calcium")
        groups.setdefault((n.split, n.dataset), []).append(i)
    out: list[np.ndarray] = [np.empty(0)] * len(neurons)
    for idx in groups.values():
        for i, c in zip(idx, normalize_calcium([neurons[i].calcium for i in idx], mode)):
            out[i] = c
    return out


def predict_neurons(
    model: SupervisedNet,
    neurons: Sequence[SpikefinderNeuron],
    normalization: Normalization = "dataset",
    dataset: int | None | Literal["own"] = "own",
    **kwargs: Any,
) -> list[np.ndarray]:
    """:func:`predict` for Spikefinder records, each normalised within its own file (split, dataset).

    Args:
        model: the network.
        neurons: records with calcium.
        normalization: as the model was trained.
        dataset: ``"own"`` uses each neuron's dataset embedding; an int forces one embedding (e.g. a proxy
            for a set without training data); None predicts without dataset knowledge.
        **kwargs: passed to :func:`predict`.
    """
    calcium = _normalized_groups(neurons, normalization)
    return [
        predict(model, c, n.dataset if dataset == "own" else dataset, **kwargs) for n, c in zip(neurons, calcium)
    ]


def score_neurons(predictions: Sequence[np.ndarray], neurons: Sequence[SpikefinderNeuron]) -> np.ndarray:
    """Official Spikefinder correlation (40 ms bins) per neuron, ``(N,)``."""
    return np.array([spikefinder_correlation(p, n.spikes)[0] for p, n in zip(predictions, neurons)])


# ---------------------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupervisedConfig:
    """How a supervised net is trained (CPU-friendly defaults; the original's in brackets).

    Attributes:
        window: samples per training window (1000).
        buffer: unscored samples at each window end (100).
        batch_size: windows per step (32).
        lr: Adam learning rate (1e-5 in the original; 1e-3 converges within a CPU budget).
        max_epochs: passes over the training windows (50).
        patience: epochs without a better validation score before stopping.
        steps_per_epoch: cap on the steps of one epoch (None: every window once).
        loss: ``"pearson"`` (multi-scale, depth 2, the submission's), ``"poisson"`` or ``"bce"`` (targets
            clipped to 1).
        normalization: see :func:`normalize_calcium` (``"as_submitted"`` for the variance bug).
        use_dataset: feed the dataset ids to the attended layer; False trains the model "without dataset
            knowledge" (``dataset=None``).
        seed: seed of the initial weights (through :func:`build_model`), the window order and dropout.
    """

    window: int = 1000
    buffer: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    max_epochs: int = 8
    patience: int = 3
    steps_per_epoch: int | None = None
    loss: Literal["pearson", "poisson", "bce"] = "pearson"
    normalization: Normalization = "dataset"
    use_dataset: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        _check_window(self.window, self.buffer)
        if self.batch_size < 1 or self.max_epochs < 1 or self.patience < 1 or not self.lr > 0:
            raise ValueError("batch_size, max_epochs, patience must be >= 1 and lr > 0")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise ValueError("steps_per_epoch must be >= 1 or None")
        if self.loss not in ("pearson", "poisson", "bce"):
            raise ValueError(f"loss must be 'pearson', 'poisson' or 'bce', got {self.loss!r}")
        if self.normalization not in ("dataset", "neuron", "as_submitted"):
            raise ValueError(f"unknown normalization {self.normalization!r}")


class FitHistory(NamedTuple):
    """Per epoch: mean training loss and mean validation correlation (official scorer, NaN without validation)."""

    epoch: list[int]
    train_loss: list[float]
    val_corr: list[float]


class SupervisedFit(NamedTuple):
    """Result of :func:`fit_supervised`.

    Attributes:
        model: the network with the best validation state (eval mode).
        history: per-epoch losses and validation scores.
        best_epoch: epoch of the kept state (the last epoch without validation).
        best_val: its mean validation correlation.
        config: the training configuration.
        seconds: wall time of the fit.
    """

    model: SupervisedNet
    history: FitHistory
    best_epoch: int
    best_val: float
    config: SupervisedConfig
    seconds: float


def validation_score(
    model: SupervisedNet, neurons: Sequence[SpikefinderNeuron], config: SupervisedConfig
) -> float:
    """Mean official correlation over held-out neurons (NaN scores, e.g. of spike-free neurons, skipped;
    NaN if all are), predicted as ``config`` trained the model: what early stopping compares."""
    preds = predict_neurons(model, neurons, config.normalization, "own" if config.use_dataset else None,
                            window=config.window, buffer=config.buffer)
    r = score_neurons(preds, neurons)
    return float(r[np.isfinite(r)].mean()) if np.isfinite(r).any() else np.nan


def _loss(config: SupervisedConfig, rate: Tensor, spikes: Tensor) -> Tensor:
    if config.loss == "pearson":
        return pearson_loss(rate, spikes)
    if config.loss == "poisson":
        return poisson_nll(rate, spikes)
    return bce_clipped(rate, spikes)


def fit_supervised(
    model: SupervisedNet,
    train: Sequence[SpikefinderNeuron],
    validation: Sequence[SpikefinderNeuron] | None = None,
    config: SupervisedConfig | None = None,
    *,
    progress: bool = True,
    checkpoint_path: str | os.PathLike[str] | None = None,
) -> SupervisedFit:
    """Fit a supervised net on whole training neurons, selecting the epoch on held-out neurons.

    Each epoch visits the windows of :func:`make_windows` in a seeded random order (at most
    ``steps_per_epoch`` batches), minimising the loss on the central samples of each window with Adam.
    After each epoch the held-out neurons are predicted whole (:func:`predict_neurons`) and scored with the
    official Spikefinder correlation; the state with the best mean is kept and training stops after
    ``patience`` epochs without improvement. Held-out neurons must not be among the training neurons.

    Args:
        model: a fresh network (:func:`build_model`), trained in place.
        train: training neurons with calcium.
        validation: held-out neurons (disjoint from ``train``), or None (keep the last epoch).
        config: training settings.
        progress: show a tqdm bar over steps.
        checkpoint_path: if given, :func:`save_models` writes the kept state there (as ``{"model": fit}``).

    Raises:
        ValueError: if a validation neuron is also a training neuron, or a neuron lacks calcium.
    """
    config = config or SupervisedConfig()
    if validation is not None and {n.key for n in train} & {n.key for n in validation}:
        raise ValueError("validation neurons overlap the training neurons: split by neuron first")
    start_time = time.perf_counter()
    calcium = _normalized_groups(train, config.normalization)
    windows = make_windows(
        calcium, [n.spikes for n in train], [n.dataset for n in train], config.window, config.buffer
    )
    param = next(model.parameters())
    x_all, y_all = windows.calcium.to(param.dtype), windows.spikes.to(param.dtype)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    n_batches = -(-len(x_all) // config.batch_size)
    steps = min(n_batches, config.steps_per_epoch or n_batches)
    crop = slice(config.buffer, config.window - config.buffer)
    history = FitHistory([], [], [])
    best_state, best_epoch, best_val, stale = copy.deepcopy(model.state_dict()), 0, -np.inf, 0
    bar = tqdm(total=steps * config.max_epochs, disable=not progress, desc="fit_supervised", leave=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # dropout
        for epoch in range(1, config.max_epochs + 1):
            model.train()
            order = torch.randperm(len(x_all), generator=generator)
            losses = []
            for k in range(steps):
                idx = order[k * config.batch_size : (k + 1) * config.batch_size]
                ds = windows.dataset[idx] if config.use_dataset else None
                rate = model(x_all[idx], ds)  # (b, window)
                loss = _loss(config, rate[:, crop], y_all[idx][:, crop])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
                bar.update()
                bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses):.3f}")
            val = validation_score(model, validation, config) if validation else np.nan
            history.epoch.append(epoch)
            history.train_loss.append(float(np.mean(losses)))
            history.val_corr.append(val)
            if progress:
                bar.write(f"epoch {epoch}: train loss {history.train_loss[-1]:.4f}, validation r {val:.4f}")
            if not validation or not np.isfinite(best_val) or val > best_val:
                best_state, best_epoch, best_val, stale = copy.deepcopy(model.state_dict()), epoch, val, 0
            else:
                stale += 1
                if stale >= config.patience:
                    break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    fit = SupervisedFit(model, history, best_epoch, float(best_val), config, time.perf_counter() - start_time)
    if checkpoint_path is not None:
        save_models(checkpoint_path, {"model": fit})
    return fit


# ---------------------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------------------


def save_models(
    path: str | os.PathLike[str], fits: dict[str, SupervisedFit], meta: dict[str, Any] | None = None
) -> Path:
    """Save several fitted nets in one file: weights, model spec, training config and history of each.

    Written atomically (a temporary file, then renamed). ``meta`` is stored as is (e.g. validation
    scores, the training neurons; :func:`spikebook.pretrained.load` reads the datasets of
    ``meta["train_neurons"]``, keys ``(split, dataset, index)``, as the embeddings that were trained). Configs
    and histories are stored as plain dictionaries, so :func:`load_models` never has to unpickle a class.

    Raises:
        TypeError: if ``meta`` holds anything but plain data (:func:`spikebook.saving.check_plain`).
    """
    state = {
        "models": {
            name: {
                "spec": model_spec(fit.model),
                "state_dict": fit.model.state_dict(),
                "training": dataclasses.asdict(fit.config),
                "history": fit.history._asdict(),
                "best_epoch": fit.best_epoch,
                "best_val": fit.best_val,
                "seconds": fit.seconds,
            }
            for name, fit in fits.items()
        },
        "meta": meta or {},
    }
    return save_atomic(state, path)


def load_models(path: str | os.PathLike[str]) -> tuple[dict[str, SupervisedFit], dict[str, Any]]:
    """Load :func:`save_models`' file: ``({name: SupervisedFit}, meta)``, networks in eval mode.

    Raises:
        spikebook.saving.CheckpointError: naming the file, if it is not a checkpoint, is truncated, or carries
            objects that are not plain data (refused unread: :func:`spikebook.saving.load_checkpoint`).
    """
    state = load_checkpoint(path)
    fits = {}
    for name, entry in state["models"].items():
        model = build_model(entry["spec"])
        model.load_state_dict(entry["state_dict"])
        fits[name] = SupervisedFit(
            model.eval(), FitHistory(**entry["history"]), entry["best_epoch"], entry["best_val"],
            SupervisedConfig(**entry["training"]), entry["seconds"],
        )
    return fits, state["meta"]


# ---------------------------------------------------------------------------------------------------------
# Users' traces
# ---------------------------------------------------------------------------------------------------------

#: Sampling rate of the Spikefinder data and of every supervised net, in Hz.
SUPERVISED_FS_HZ = 100.0


def infer_traces(
    traces: np.ndarray,
    fs: float,
    attended: SupervisedNet,
    agnostic: SupervisedNet | None,
    dataset: int | None = None,
    normalization: Normalization = "dataset",
    *,
    trained_datasets: Collection[int] | None = None,
) -> np.ndarray:
    """Spike rates for raw traces with a pretrained supervised pair (what :func:`spikebook.infer` calls).

    The traces are taken as *one dataset*: normalised with one mean and standard deviation pooled over all
    of them (:func:`normalize_calcium`), resampled to 100 Hz if needed, predicted with the attended net and
    the embedding of Spikefinder set ``dataset`` or, for ``dataset=None``, with the net trained without
    dataset knowledge, and mapped back to ``fs`` as expected counts per bin
    (:func:`spikebook.signal.to_user_rate`). The networks were trained with a correlation loss, so the
    scale of the output is arbitrary: compare shapes, not magnitudes.

    Args:
        traces: ``(n, T)`` or ``(T,)`` fluorescence, NaN padding allowed.
        fs: sampling rate in Hz.
        attended: the net with dataset embeddings.
        agnostic: the net trained without dataset knowledge (needed for ``dataset=None``).
        dataset: Spikefinder dataset number 1-10 whose embedding to use, or None.
        normalization: as the nets were trained.
        trained_datasets: the datasets whose embedding rows ``attended`` was trained on
            (:attr:`spikebook.pretrained.SupervisedPretrained.trained_datasets`); any other ``dataset`` is
            refused, since an untrained row gives noise. ``None``: not checked.

    Returns:
        Array of the shape of ``traces``, NaN where the input is NaN.

    Raises:
        TypeError, ValueError: for traces or a rate that :func:`spikebook.infer` refuses too
            (:func:`spikebook.validate.as_traces`); for ``dataset`` outside 1-10 or outside ``trained_datasets``, or ``None``
            without ``agnostic``.
    """

    x, squeeze = as_traces(traces)
    x = x.astype(np.float64, copy=False)
    fs = rate_hz(fs, "fs")
    if dataset is None:
        if agnostic is None:
            raise ValueError("dataset=None needs the network trained without dataset knowledge")
        net, ds = agnostic, None
    else:
        n_rows = attended.attend.embedding.num_embeddings
        if isinstance(dataset, bool) or not isinstance(dataset, (int, np.integer)) or not 1 <= dataset <= n_rows:
            raise ValueError(f"dataset must be a Spikefinder dataset number 1..{n_rows} or None, got {dataset!r}")
        if trained_datasets is not None and int(dataset) not in trained_datasets:
            trained = ", ".join(map(str, sorted(trained_datasets))) or "none recorded"
            raise ValueError(
                f"dataset={int(dataset)}: the attended net's embedding of Spikefinder dataset {int(dataset)} was "
                f"never trained (no training neuron came from it; trained datasets: {trained}), so it would "
                "predict noise; use dataset=None (the net trained without dataset knowledge) for other data"
            )
        net, ds = attended, int(dataset)
    rows = normalize_calcium(list(x), normalization) if normalization == "neuron" else None
    if rows is None:  # one group: pool the statistics over all traces
        finite = x[np.isfinite(x)]
        flat = normalize_calcium([finite], normalization)[0]
        z = np.full_like(x, np.nan)
        z[np.isfinite(x)] = flat
    else:
        z = np.stack(rows)
    out = np.full(x.shape, np.nan)
    for r, trace in enumerate(z):
        for a, b in finite_runs(trace):
            seg = to_model_rate(trace[a:b], fs, SUPERVISED_FS_HZ)
            rate = predict(net, seg, ds)
            out[r, a:b] = rate if seg.size == b - a and fs == SUPERVISED_FS_HZ else to_user_rate(
                rate, b - a, SUPERVISED_FS_HZ, fs
            )
    return out[0] if squeeze else out
