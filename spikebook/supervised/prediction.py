r"""Spike rates from a supervised net: normalised calcium, tiled prediction, recorded neurons, users' traces.

* :func:`normalize_calcium`: one mean and one standard deviation per dataset (pooled over its neurons),
  :math:`(x - \mu) / \sigma`; ``"as_submitted"`` reproduces the original's :math:`0.05 (x-\mu)/\sigma^2`
  (it divided by the *variance*, original code: codekansas/spikefinder); ``"neuron"`` normalises each trace by itself.
* :func:`predict`: normalised calcium of any length, tiled by :func:`spikebook.signal.halo_windows` into
  windows whose outputs within ``buffer`` of a cut are discarded, so (``buffer`` ≥ half the receptive
  field) the result equals the untiled prediction; NaN padding is kept.
* :func:`predict_neurons` / :func:`score_neurons`: Spikefinder records, each normalised within its own
  file, and their official correlation (40 ms bins, :func:`spikebook.metrics.spikefinder_correlation`).
* :func:`predict_fluorescence`: raw traces at any rate with a pretrained pair (attended net and the net
  without dataset knowledge), what :func:`spikebook.infer` calls for the supervised entries.

Shapes and units: traces ``(T,)`` or ``(n, T)`` at 100 Hz (10 ms bins) unless a rate ``fs`` is given,
outputs spike rates per bin of the same shape; dataset ids are Spikefinder dataset numbers 1-10 (embedding
row ``dataset - 1``).

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.
    Berens P et al. (2018). Community-based benchmarking improves spike rate inference from two-photon
    calcium imaging data. PLoS Comput Biol 14(5):e1006157.

Taught in: book chapters "Supervised CNNs with attended convolution" and "What the embeddings learned".
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Literal, Protocol

import numpy as np
import torch

from spikebook.metrics import spikefinder_correlation
from spikebook.signal import batches, finite_runs, halo_windows, to_model_rate, to_user_rate
from spikebook.supervised.models import Ensemble, SupervisedNet
from spikebook.validate import as_traces, non_negative_int, one_of, positive_int, rate_hz

__all__ = [
    "NORMALIZATIONS",
    "SUPERVISED_FS_HZ",
    "Normalization",
    "Recording",
    "check_window",
    "normalize_calcium",
    "normalized_groups",
    "predict",
    "predict_fluorescence",
    "predict_neurons",
    "score_neurons",
]

#: Sampling rate of the Spikefinder data and of every supervised net, in Hz.
SUPERVISED_FS_HZ = 100.0

Normalization = Literal["dataset", "neuron", "as_submitted"]
#: The values of ``normalization`` (:func:`normalize_calcium`).
NORMALIZATIONS: tuple[Normalization, ...] = ("dataset", "neuron", "as_submitted")


class Recording(Protocol):
    """What is read of a recorded neuron (:class:`spikebook.data.spikefinder.SpikefinderNeuron` has it)."""

    calcium: np.ndarray | None  # (T,) fluorescence at 100 Hz
    spikes: np.ndarray  # (T,) counts per 10 ms bin
    dataset: int  # Spikefinder dataset number, 1-10
    split: str  # "train" or "test"

    @property
    def key(self) -> Any:
        """What identifies the neuron."""


def check_window(window: int, buffer: int) -> tuple[int, int]:
    """``(window, buffer)`` if ``window`` is a positive int, ``buffer`` a non-negative one and ``window > 2 buffer``."""
    window, buffer = positive_int(window, "window"), non_negative_int(buffer, "buffer")
    if window - 2 * buffer < 1:
        raise ValueError(f"need window > 2 buffer, got window={window}, buffer={buffer}")
    return window, buffer


def _dataset_row(model: SupervisedNet, dataset: int) -> int:
    """The embedding row ``dataset - 1`` of ``model``, once ``dataset`` is checked to lie in 1..n_datasets."""
    config = model.members[0].config if isinstance(model, Ensemble) else model.config
    dataset = positive_int(dataset, "dataset")
    if dataset > config.n_datasets:
        raise ValueError(f"dataset must be in 1..{config.n_datasets} (the model's datasets), got {dataset}")
    return dataset - 1


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
    one_of(mode, NORMALIZATIONS, "mode")
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

    Each run of finite samples is predicted on its own, cut by :func:`spikebook.signal.halo_windows` into
    windows of ``window`` samples at stride ``window - 2 buffer`` (core ``window - 2 buffer``, halo
    ``buffer``): of each window only the outputs at least ``buffer`` samples from an inner cut are kept (at
    a run's own ends, the window's outputs are kept, as the untiled network would give). With ``buffer`` at
    least half the receptive field (:attr:`~spikebook.supervised.BolteNet.receptive_field`), the result
    equals ``model(whole trace)`` in eval mode. NaN samples come back as NaN.

    Args:
        model: a trained network (put in eval mode here and restored after).
        calcium: ``(T,)`` or ``(n, T)`` normalised calcium at 100 Hz, NaN padding allowed.
        dataset: Spikefinder dataset number whose embedding to use, or None (no dataset scaling: the model
            trained without dataset knowledge).
        window: samples per window.
        buffer: samples discarded at each inner cut.
        batch_size: windows per forward pass (:func:`spikebook.signal.batches`).

    Returns:
        Same shape as ``calcium``, float64, non-negative rates (NaN where the input is NaN).

    Raises:
        TypeError: for a non-floating-point input (:func:`spikebook.validate.as_traces`).
        ValueError: for a non-1-D/2-D or empty input, ±inf, an all-NaN trace, bad sizes, or a ``dataset``
            outside ``1..n_datasets`` of the model.
    """
    window, buffer = check_window(window, buffer)
    batch_size = positive_int(batch_size, "batch_size")
    row = None if dataset is None else _dataset_row(model, dataset)
    x, squeeze = as_traces(calcium, "calcium")
    x = x.astype(np.float64, copy=False)
    out = np.full(x.shape, np.nan)
    runs = [(r, a, b) for r, trace in enumerate(x) for a, b in finite_runs(trace)]
    sources = [x[r, a:b] for r, a, b in runs]  # the finite runs, and where their rates go (views of out)
    targets = [out[r, a:b] for r, a, b in runs]
    windows = [w for i, s in enumerate(sources) for w in halo_windows(i, s.size, window - 2 * buffer, buffer)]
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches(windows, batch_size):
                chunk = np.stack([sources[w.segment][w.start : w.start + w.length] for w in batch])
                ids = None if row is None else torch.full((len(batch),), row, dtype=torch.long)
                rates = model(torch.as_tensor(chunk, dtype=param.dtype), ids).double().numpy()  # (b, length)
                for w, y in zip(batch, rates):
                    targets[w.segment][w.keep_from : w.keep_to] = y[w.keep_from - w.start : w.keep_to - w.start]
    finally:
        model.train(was_training)
    return out[0] if squeeze else out


def normalized_groups(neurons: Sequence[Recording], mode: Normalization) -> list[np.ndarray]:
    """Calcium of each neuron, normalised within its ``(split, dataset)`` group (one Spikefinder file).

    Raises:
        ValueError: if a neuron has no calcium, or :func:`normalize_calcium` refuses a group.
    """
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
    neurons: Sequence[Recording],
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
    calcium = normalized_groups(neurons, normalization)
    return [
        predict(model, c, n.dataset if dataset == "own" else dataset, **kwargs) for n, c in zip(neurons, calcium)
    ]


def score_neurons(predictions: Sequence[np.ndarray], neurons: Sequence[Recording]) -> np.ndarray:
    """Official Spikefinder correlation (40 ms bins) per neuron, ``(N,)``."""
    return np.array([spikefinder_correlation(p, n.spikes)[0] for p, n in zip(predictions, neurons)])


def _pick_network(
    attended: SupervisedNet, agnostic: SupervisedNet | None, dataset: int | None,
    trained_datasets: Collection[int] | None,
) -> tuple[SupervisedNet, int | None]:
    """The network of a pretrained pair that ``dataset`` asks for, and the dataset it is called with."""
    if dataset is None:
        if agnostic is None:
            raise ValueError("dataset=None needs the network trained without dataset knowledge")
        return agnostic, None
    n_rows = attended.attend.embedding.num_embeddings
    dataset = positive_int(dataset, "dataset")
    if dataset > n_rows:
        raise ValueError(f"dataset must be a Spikefinder dataset number 1..{n_rows} or None, got {dataset!r}")
    if trained_datasets is not None and dataset not in trained_datasets:
        trained = ", ".join(map(str, sorted(trained_datasets))) or "none recorded"
        raise ValueError(
            f"dataset={dataset}: the attended net's embedding of Spikefinder dataset {dataset} was "
            f"never trained (no training neuron came from it; trained datasets: {trained}), so it would "
            "predict noise; use dataset=None (the net trained without dataset knowledge) for other data"
        )
    return attended, dataset


def predict_fluorescence(
    traces: np.ndarray,
    fs: float,
    attended: SupervisedNet,
    agnostic: SupervisedNet | None,
    dataset: int | None = None,
    normalization: Normalization = "dataset",
    *,
    trained_datasets: Collection[int] | None = None,
) -> np.ndarray:
    """Spike rates for raw fluorescence at any rate with a pretrained supervised pair (what :func:`spikebook.infer` calls).

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
            (:func:`spikebook.validate.as_traces`); for ``dataset`` outside 1-10 or outside
            ``trained_datasets``, or ``None`` without ``agnostic``.
    """
    x, squeeze = as_traces(traces)
    x = x.astype(np.float64, copy=False)
    fs = rate_hz(fs, "fs")
    net, ds = _pick_network(attended, agnostic, dataset, trained_datasets)
    if normalization == "neuron":
        z = np.stack(normalize_calcium(list(x), normalization))
    else:  # one group: pool the statistics over all traces
        finite = np.isfinite(x)
        z = np.full_like(x, np.nan)
        z[finite] = normalize_calcium([x[finite]], normalization)[0]
    out = np.full(x.shape, np.nan)
    for r, trace in enumerate(z):
        for a, b in finite_runs(trace):
            seg = to_model_rate(trace[a:b], fs, SUPERVISED_FS_HZ)
            rate = predict(net, seg, ds)
            out[r, a:b] = rate if seg.size == b - a and fs == SUPERVISED_FS_HZ else to_user_rate(
                rate, b - a, SUPERVISED_FS_HZ, fs
            )
    return out[0] if squeeze else out
