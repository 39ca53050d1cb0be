r"""Training Bolte & Wildani's supervised nets on recorded neurons, with early stopping on held-out neurons.

The networks are :mod:`spikebook.supervised`; this module turns recordings into training windows, fits a
network, keeps the epoch that scores best on *whole held-out neurons*, and saves it with its configuration.

* :func:`make_windows`: windows of ``window`` samples (10 s) along each neuron, tiled as
  :func:`spikebook.signal.halo_windows` tiles a trace for prediction (core ``window - 2 buffer``, halo
  ``buffer``); the loss sees the central ``window - 2 buffer`` samples (original code: codekansas/spikefinder). Windows
  never straddle two neurons, and a neuron is on one side of a split only
  (:func:`spikebook.data.splits.split_by_neuron`).
* :func:`fit_supervised`: Adam, a seeded run, a tqdm bar, early stopping on the official Spikefinder
  correlation of held-out neurons (40 ms bins, :func:`validation_score`), the best state kept.
* :func:`save_models` / :func:`load_models`: several fits in one file, each with its frozen configurations
  beside the weights.

Shapes and units: traces ``(T,)`` at 100 Hz (10 ms bins), spikes as counts per bin, windows
``(N, window)``; dataset ids are Spikefinder dataset numbers 1-10 (embedding row ``dataset - 1``).

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.
    Berens P et al. (2018). Community-based benchmarking improves spike rate inference from two-photon
    calcium imaging data. PLoS Comput Biol 14(5):e1006157.

Taught in: book chapter "Supervised CNNs with attended convolution".
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from spikebook.saving import CheckpointError, check_writable, load_checkpoint, save_atomic
from spikebook.seeding import seeded
from spikebook.signal import halo_windows
from spikebook.supervised import (
    LOSSES,
    NORMALIZATIONS,
    Normalization,
    Recording,
    SupervisedNet,
    build_model,
    check_window,
    model_spec,
    normalized_groups,
    predict_neurons,
    score_neurons,
)
from spikebook.training.state import cpu_state
from spikebook.validate import non_negative_int, one_of, positive, positive_int

__all__ = [
    "FitHistory",
    "SupervisedConfig",
    "SupervisedFit",
    "Windows",
    "fit_supervised",
    "load_models",
    "make_windows",
    "save_models",
    "validation_score",
]


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


def make_windows(
    calcium: Sequence[np.ndarray], spikes: Sequence[np.ndarray], datasets: Sequence[int],
    window: int = 1000, buffer: int = 100,
) -> Windows:
    """Cut neuron-wise windows of ``window`` samples at stride ``window - 2 buffer``.

    The loss is computed on the central ``window - 2 buffer`` samples of each window, so consecutive
    windows tile each trace's targets (the last window is flush with the end and overlaps its neighbour):
    the windows of :func:`spikebook.signal.halo_windows` with core ``window - 2 buffer`` and halo
    ``buffer``. A trace shorter than ``window`` is zero-padded to one window.

    Args:
        calcium: per neuron, ``(T_i,)`` normalised calcium without NaN.
        spikes: per neuron, ``(T_i,)`` counts.
        datasets: per neuron, the Spikefinder dataset number (1-10).
        window: samples per window (1000 = 10 s).
        buffer: samples at each end whose outputs are not scored (100).

    Raises:
        ValueError: mismatched lengths, NaN in the inputs, or bad sizes.
    """
    window, buffer = check_window(window, buffer)
    if not (len(calcium) == len(spikes) == len(datasets)) or not calcium:
        raise ValueError("calcium, spikes and datasets must be non-empty and of equal length")
    xs, ys, ds = [], [], []
    for c, s, d in zip(calcium, spikes, datasets):
        row = positive_int(d, "dataset") - 1  # embedding row
        c, s = np.asarray(c, dtype=np.float32), np.asarray(s, dtype=np.float32)
        if c.shape != s.shape or c.ndim != 1:
            raise ValueError(f"calcium and spikes of a neuron must be equal 1-D, got {c.shape}, {s.shape}")
        if np.isnan(c).any() or np.isnan(s).any():
            raise ValueError("remove NaN padding before windowing")
        if c.size < window:
            c, s = np.pad(c, (0, window - c.size)), np.pad(s, (0, window - s.size))
        for w in halo_windows(0, c.size, window - 2 * buffer, buffer):
            xs.append(c[w.start : w.start + window])
            ys.append(s[w.start : w.start + window])
            ds.append(row)
    return Windows(torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys)), torch.tensor(ds))


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
            clipped to 1); see :data:`spikebook.supervised.LOSSES`.
        normalization: see :func:`spikebook.supervised.normalize_calcium` (``"as_submitted"`` for the
            variance bug).
        use_dataset: feed the dataset ids to the attended layer; False trains the model "without dataset
            knowledge" (``dataset=None``).
        seed: seed of the initial weights (through :func:`spikebook.supervised.build_model`), the window
            order and dropout.
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
        check_window(self.window, self.buffer)
        positive_int(self.batch_size, "batch_size")
        positive(self.lr, "lr")
        positive_int(self.max_epochs, "max_epochs")
        positive_int(self.patience, "patience")
        if self.steps_per_epoch is not None:
            positive_int(self.steps_per_epoch, "steps_per_epoch")
        one_of(self.loss, tuple(LOSSES), "loss")
        one_of(self.normalization, NORMALIZATIONS, "normalization")
        non_negative_int(self.seed, "seed")


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


def validation_score(model: SupervisedNet, neurons: Sequence[Recording], config: SupervisedConfig) -> float:
    """Mean official correlation over held-out neurons (NaN scores, e.g. of spike-free neurons, skipped;
    NaN if all are), predicted as ``config`` trained the model: what early stopping compares."""
    preds = predict_neurons(model, neurons, config.normalization, "own" if config.use_dataset else None,
                            window=config.window, buffer=config.buffer)
    r = score_neurons(preds, neurons)
    return float(r[np.isfinite(r)].mean()) if np.isfinite(r).any() else np.nan


def fit_supervised(
    model: SupervisedNet,
    train: Sequence[Recording],
    validation: Sequence[Recording] | None = None,
    config: SupervisedConfig | None = None,
    *,
    progress: bool = True,
    checkpoint_path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
) -> SupervisedFit:
    """Fit a supervised net on whole training neurons, selecting the epoch on held-out neurons.

    Each epoch visits the windows of :func:`make_windows` in a seeded random order (at most
    ``steps_per_epoch`` batches), minimising the loss on the central samples of each window with Adam.
    After each epoch the held-out neurons are predicted whole (:func:`spikebook.supervised.predict_neurons`)
    and scored with the official Spikefinder correlation; the state with the best mean is kept and training
    stops after ``patience`` epochs without improvement. Held-out neurons must not be among the training
    neurons.

    Args:
        model: a fresh network (:func:`spikebook.supervised.build_model`), trained in place.
        train: training neurons with calcium.
        validation: held-out neurons (disjoint from ``train``), or None (keep the last epoch).
        config: training settings.
        progress: show a tqdm bar over steps.
        checkpoint_path: if given, :func:`save_models` writes the kept state there (as ``{"model": fit}``),
            replacing a file of :func:`save_models`' kind; checked for writability before training.
        overwrite: replace any other file at ``checkpoint_path`` too (without, it is refused, unread).

    Raises:
        ValueError: if a validation neuron is also a training neuron, or a neuron lacks calcium.
        FileExistsError: a file at ``checkpoint_path`` that :func:`load_models` cannot read, without
            ``overwrite``.
        PermissionError, NotADirectoryError, IsADirectoryError: ``checkpoint_path`` cannot be written
            (:func:`spikebook.saving.check_writable`); raised before training.
    """
    config = config or SupervisedConfig()
    if checkpoint_path is not None:
        _check_target(check_writable(checkpoint_path), overwrite)
    if validation is not None and {n.key for n in train} & {n.key for n in validation}:
        raise ValueError("validation neurons overlap the training neurons: split by neuron first")
    start_time = time.perf_counter()
    calcium = normalized_groups(train, config.normalization)
    windows = make_windows(
        calcium, [n.spikes for n in train], [n.dataset for n in train], config.window, config.buffer
    )
    param = next(model.parameters())
    x_all, y_all = windows.calcium.to(param.dtype), windows.spikes.to(param.dtype)
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = LOSSES[config.loss]
    n_batches = -(-len(x_all) // config.batch_size)
    steps = min(n_batches, config.steps_per_epoch or n_batches)
    crop = slice(config.buffer, config.window - config.buffer)
    history = FitHistory([], [], [])
    best_state, best_epoch, best_val, stale = cpu_state(model), 0, -np.inf, 0
    bar = tqdm(total=steps * config.max_epochs, disable=not progress, desc="fit_supervised", leave=False)
    with seeded(config.seed):  # dropout
        for epoch in range(1, config.max_epochs + 1):
            model.train()
            order = torch.randperm(len(x_all), generator=generator)
            losses = []
            for k in range(steps):
                idx = order[k * config.batch_size : (k + 1) * config.batch_size]
                ds = windows.dataset[idx] if config.use_dataset else None
                rate = model(x_all[idx], ds)  # (b, window)
                loss = loss_fn(rate[:, crop], y_all[idx][:, crop])
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
                best_state, best_epoch, best_val, stale = cpu_state(model), epoch, val, 0
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


def _check_target(path: Path, overwrite: bool) -> None:
    """Refuse to replace a file at ``path`` that is not a :func:`save_models` file, unless ``overwrite``."""
    if overwrite or not path.exists():
        return
    try:
        ours = "models" in load_checkpoint(path)
    except CheckpointError:
        ours = False
    if not ours:
        raise FileExistsError(f"{path} exists and is not a file of save_models; pass overwrite=True to "
                              "replace it, or choose another checkpoint_path")


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
