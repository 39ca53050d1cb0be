"""Running a recognition network over long recordings: segments, resampling, halo windows, batches.

The one runner behind :func:`spikebook.infer` and the scores that select the GCaMP6 networks, so that a
network is scored during training exactly as users run it. What happens, in order:

1. **Segments.** Each trace is split into its maximal runs of finite samples
   (:func:`spikebook.signal.finite_runs`); each run is inferred on its own, as if it were a separate trace
   (the network sees zeros beyond its ends). NaN positions stay NaN.
2. **Resampling** to the network's rate when ``fs`` differs (:func:`spikebook.signal.to_model_rate`:
   polyphase FIR, edges padded with the segment's median).
3. **Windows and batches.** Segments are cut into windows of a core plus a halo on each side
   (:func:`spikebook.signal.halo_windows`). For DS-F the halo is the network's receptive half-width τ, so
   every kept output is *exactly* the unchunked one. For DS-NF (recurrent, unbounded memory) it is
   :data:`DSNF_HALO_S` seconds, about three decay times of the slowest transients of the paper's data.
   Windows of equal length are stacked a batch at a time, so memory stays bounded whatever the length.
4. **Mapping back** to ``fs`` (:func:`spikebook.signal.to_user_rate`): expected spikes per output bin.

Taught in: book chapter "Speed: amortized inference is fast".
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import numpy as np
import torch

from spikebook.recognition.base import RecognitionModel
from spikebook.recognition.cnn import DSF
from spikebook.recognition.rnn import DSNF
from spikebook.signal import batches, finite_runs, halo_windows, resample_ratio, to_model_rate, to_user_rate

__all__ = ["DSNF_HALO_S", "MODEL_FS_HZ", "PRECISIONS", "Precision", "tiled_marginals"]

#: Sampling rate (Hz) of a network given without one: that of the paper's simulated data.
MODEL_FS_HZ = 60.0

#: Halo (seconds) on each side of a DS-NF window: ~3 decay times of the slowest calcium transients of the
#: paper's data (γ = 0.99 per 60 Hz bin: τ ≈ 1.7 s).
DSNF_HALO_S = 5.0

#: Arithmetic the network may run in.
PRECISIONS = ("float32", "bfloat16")
Precision = Literal["float32", "bfloat16"]

# Window sizes in model bins: ~40k bins per DS-F call keep the activations cache-sized on a CPU; DS-NF's
# cost per call is one recurrent step after the other over the window, for windows × samples rows.
_DSF_CHUNK = 2_500
_DSF_BINS_PER_CALL = {"cpu": 40_000, "cuda": 4_000_000}
_DSNF_CHUNK = (2_000, 10_000)  # shortest and longest default DS-NF window core
_DSNF_ROWS_PER_CALL = {"cpu": 4_608, "cuda": 65_536}


def tiled_marginals(
    network: RecognitionModel,
    x: np.ndarray,
    fs: float,
    fs_model: float,
    *,
    n_samples: int = 30,
    batch_size: int | None = None,
    chunk_len: int | None = None,
    device: str | torch.device | None = None,
    seed: int | None = 0,
    precision: Precision = "float32",
    compiled: bool = False,
) -> np.ndarray:
    """Spike probabilities of the already validated traces ``x``, ``(n, T)`` at ``fs`` Hz.

    For DS-F the exact factorized marginal :math:`q_\\phi(s_t = 1 \\mid f)`; for DS-NF (or any other
    recognition model) the Monte-Carlo marginal over ``n_samples`` sampled trains. The arguments are those
    of :func:`spikebook.infer`, checked there; ``device=None`` runs on the network's own device.

    Returns:
        ``(n, T)``, float32 or float64 like ``x``, NaN where ``x`` is NaN.
    """
    param = next(network.parameters())
    dev = param.device if device is None else torch.device(device)
    if param.device != dev:  # a copy: the caller's network stays where it is
        network = copy.deepcopy(network).to(dev)
        param = next(network.parameters())
    factorized = isinstance(network, DSF)
    if compiled and not (factorized or isinstance(network, DSNF)):
        raise ValueError(f"compiled=True is for DS-NF (and ignored for DS-F), not {type(network).__name__}")

    resample = resample_ratio(fs, fs_model) != (1, 1)
    out = np.full(x.shape, np.nan, dtype=np.result_type(x.dtype, np.float32))
    sources: list[np.ndarray] = []  # per segment: fluorescence at the model's rate
    targets: list[np.ndarray] = []  # per segment: probabilities at the model's rate (a view of out if no resampling)
    places: list[tuple[int, int, int]] = []  # per segment: (row, start, end) in the input
    for row, trace in enumerate(x):
        for start, end in finite_runs(trace):
            places.append((row, start, end))
            if resample:
                sources.append(to_model_rate(trace[start:end], fs, fs_model))
                targets.append(np.empty(sources[-1].shape[0], dtype=out.dtype))
            else:
                sources.append(trace[start:end])
                targets.append(out[row, start:end])

    if factorized:
        halo = network.half_width  # exact: kept outputs never see a cut
        core = chunk_len or _DSF_CHUNK
        bins = _DSF_BINS_PER_CALL.get(dev.type, _DSF_BINS_PER_CALL["cpu"])
        per_call = batch_size or max(1, bins // (core + 2 * halo))
    else:
        halo = round(DSNF_HALO_S * fs_model)
        rows = _DSNF_ROWS_PER_CALL.get(dev.type, _DSNF_ROWS_PER_CALL["cpu"])
        per_call = batch_size or max(1, rows // n_samples)
        # Short windows turn time into batch when there is little data; long ones waste less on halos when
        # there are enough windows to fill every call anyway.
        total = sum(src.shape[0] for src in sources)
        core = chunk_len or min(max(math.ceil(total / per_call), _DSNF_CHUNK[0]), _DSNF_CHUNK[1])
    windows = [w for i, src in enumerate(sources) for w in halo_windows(i, src.shape[0], core, halo, not factorized)]
    generator = None if seed is None else torch.Generator(device=dev).manual_seed(seed)

    low = precision == "bfloat16"
    with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=low):
        for batch in batches(windows, per_call):
            chunk = np.stack([sources[w.segment][w.start : w.start + w.length] for w in batch])
            f = torch.from_numpy(chunk).to(device=dev, dtype=param.dtype)  # (b, length)
            if factorized:
                probs = network.marginals(f)  # exact marginals, (b, length)
            elif compiled:
                probs = network.marginals(f, n_samples, generator, compiled=True)  # checked above: a DSNF
            else:
                probs = network.marginals(f, n_samples, generator)  # Monte-Carlo marginals, (b, length)
            probs = probs.to(param.dtype).cpu().numpy()
            for w, p in zip(batch, probs):
                targets[w.segment][w.keep_from : w.keep_to] = p[w.keep_from - w.start : w.keep_to - w.start]

    if resample:
        for (row, start, end), p in zip(places, targets):
            out[row, start:end] = to_user_rate(p, end - start, fs_model, fs)
    return out
