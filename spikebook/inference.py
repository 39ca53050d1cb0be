"""The user-facing entry point: spike probabilities for a batch of fluorescence traces.

``spikebook.infer(traces, fs)`` runs a trained recognition network on NumPy traces of any length and
sampling rate and returns per-bin spike probabilities of the same shape. This is the amortized inference
of Speiser et al. (2017), §3.2: once the network is trained, inference on new data is one forward pass
(DS-F) or a few sampled passes of a recurrent network (DS-NF), with no optimisation per trace.

What happens, in order:

1. **Validation** (:func:`spikebook.validate.as_traces`, shared by every entry that takes traces). ``(n, T)`` or
   ``(T,)`` floating-point traces; NaN allowed (padding, dropped frames), ±inf not; a trace may not be
   all NaN.
2. **Segments.** Each trace is split into its maximal runs of finite samples; each run is inferred on its
   own, as if it were a separate trace (the network sees zeros beyond its ends, like at a trace's ends).
   NaN positions stay NaN in the output. NaN padding at the end of shorter traces is the common case.
3. **Resampling** (when ``fs`` differs from the model's rate, 60 Hz for the shipped models): each segment
   is resampled to the model's rate with :func:`scipy.signal.resample_poly` (polyphase FIR, no FFT
   wrap-around; the edges are padded with the segment's median, i.e. its baseline, not with zeros).
4. **Chunked, batched inference.** Segments are cut into windows of a fixed length: a core of
   ``chunk_len`` model bins plus a halo on each side. For DS-F the halo is the network's receptive
   half-width τ (51 bins for the paper's layout), so every kept output is *exactly* the unchunked one.
   For DS-NF (recurrent, unbounded memory) the halo is :data:`DSNF_HALO_S` seconds, ~3 decay times of
   the slowest calcium transients of the paper's data; results differ from unchunked inference only
   through what the recurrent states carry over more than that (plus Monte-Carlo noise). Windows of
   equal length are stacked ``batch_size`` at a time, so memory stays bounded whatever the recording
   length: an hour of 500 cells at 60 Hz (10⁸ bins) needs the input, the output (and, when resampling,
   one copy at the model's rate) plus a few MB of activations per call.
5. **Mapping back** to ``fs``: see :func:`spikebook.signal.to_user_rate` — the output is the *expected number of spikes in
   each output bin*, which is the per-bin spike probability whenever ``fs ≥`` the model's rate.

References:
    Speiser et al. (2017). Fast amortized inference of neural activity from calcium imaging data with
    variational autoencoders. NeurIPS 30, §3.2.

Taught in: book chapter "Speed: amortized inference is fast".
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Literal

import numpy as np
import torch

from spikebook.recognition import DSF, DSNF, RecognitionModel
from spikebook.signal import (
    batches,
    finite_runs,
    halo_windows,
    resample_ratio,
    to_model_rate,
    to_user_rate,
)
from spikebook.validate import as_traces, rate_hz

__all__ = ["DEFAULT_MODEL", "DSNF_HALO_S", "MODEL_FS_HZ", "PRECISIONS", "RAW_LEVEL", "infer"]

#: The pretrained network :func:`infer` uses by default.
DEFAULT_MODEL = "dsf-scf-60hz"

#: Sampling rate (Hz) assumed for a :class:`~spikebook.recognition.RecognitionModel` instance passed
#: without ``model_fs`` (the rate of the paper's simulated data and of every shipped network).
MODEL_FS_HZ = 60.0

#: Halo (seconds) on each side of a DS-NF window. The recurrent networks have unbounded memory, so
#: chunking is approximate; 5 s is ~3 decay times of the slowest calcium transients of the paper's
#: data (γ = 0.99 per 60 Hz bin: τ ≈ 1.7 s).
DSNF_HALO_S = 5.0

#: :func:`infer` warns when the median absolute value of the traces exceeds this: ΔF/F-like traces
#: (what the DeepSpike networks are trained on) have medians near 0; raw fluorescence is in the hundreds.
RAW_LEVEL = 10.0

#: Values of ``infer(..., precision=)``.
PRECISIONS = ("float32", "bfloat16")
Precision = Literal["float32", "bfloat16"]

# Defaults of the chunking, in model bins (see PERF notes: ~40k bins per DS-F call keep the activations
# cache-sized on CPU). DS-NF rows = windows × samples: each time step is one matmul and one pass over
# the rows' gates. Measured on 2 cores (50 traces of 10,000 bins, bfloat16, batches split evenly,
# infer(..., batch_size=rows // 30)): ~2,000 rows per call 135 ms per trace eager, 69 ms compiled;
# ~4,600 rows 115 ms eager, 68 ms compiled; ~8,200 rows 74 ms compiled (shorter windows, more halo).
_DSF_CHUNK = 2_500
_DSF_BINS_PER_CALL = {"cpu": 40_000, "cuda": 4_000_000}
_DSNF_CHUNK = (2_000, 10_000)  # shortest and longest default DS-NF window core
_DSNF_ROWS_PER_CALL = {"cpu": 4_608, "cuda": 65_536}


# ---------------------------------------------------------------------------------------- validation


def _check_positive_int(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{name} must be a positive int or None, got {value!r}")


def _resolve_model(model: str | RecognitionModel, model_fs: float | None) -> tuple[RecognitionModel, float]:
    """A pretrained name or an instance → (network, its sampling rate in Hz)."""
    if isinstance(model, str):
        from spikebook import pretrained  # imported here: it pulls in training and simulation code

        if model not in pretrained.RECIPES:
            raise ValueError(
                f"unknown pretrained model {model!r}; available: {sorted(pretrained.RECIPES)} "
                f"(checkpoints on disk: {pretrained.available()}), or pass a RecognitionModel instance"
            )
        network = _load_pretrained(model)
        fs_model = pretrained.RECIPES[model].fs
        if model_fs is not None and rate_hz(model_fs, "model_fs") != fs_model:
            raise ValueError(f"{model!r} was trained at {fs_model} Hz; model_fs={model_fs} contradicts it")
        return network, fs_model
    if not isinstance(model, RecognitionModel):
        raise TypeError(
            f"model must be a pretrained name (str) or a spikebook RecognitionModel, got {type(model).__name__}"
        )
    return model, MODEL_FS_HZ if model_fs is None else rate_hz(model_fs, "model_fs")


#: Networks loaded by name, keyed by (name, checkpoint modification time): repeated calls (one trace
#: at a time, say) must not re-read the checkpoint, and a retrained checkpoint is picked up.
_LOADED: dict[tuple[str, int], RecognitionModel] = {}


def _load_pretrained(name: str) -> RecognitionModel:
    from spikebook import pretrained

    path = pretrained.checkpoint_path(name)
    if not path.exists():
        return pretrained.load(name).recognition  # raises FileNotFoundError naming the command that makes it
    key = (name, path.stat().st_mtime_ns)
    if key not in _LOADED:
        for stale in [k for k in _LOADED if k[0] == name]:
            del _LOADED[stale]
        _LOADED[key] = pretrained.load(name).recognition
    return _LOADED[key]


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ---------------------------------------------------------------------------------------- entry point


def infer(
    traces: np.ndarray,
    fs: float,
    model: str | RecognitionModel = DEFAULT_MODEL,
    n_samples: int = 30,
    batch_size: int | None = None,
    chunk_len: int | None = None,
    device: str | torch.device | None = None,
    *,
    model_fs: float | None = None,
    seed: int | None = 0,
    dataset: int | None = None,
    precision: Precision = "float32",
    compiled: bool = False,
) -> np.ndarray:
    """Per-bin spike probabilities for fluorescence traces, from a trained recognition network.

    Amortized inference (Speiser et al. 2017, §3.2): no optimisation per trace, only network passes.
    For DS-F the output is the exact factorized marginal :math:`q_\\phi(s_t = 1 \\mid f) = \\sigma(\\ell_t)`
    (one CNN pass); for DS-NF (or any other recognition model) it is the Monte-Carlo marginal
    :math:`\\frac1n\\sum_i q_\\phi(s_t = 1 \\mid f, s^{(i)}_{<t})` over ``n_samples`` sampled trains.

    Traces must be on the scale the network was trained on: nothing is normalised here. The real-data
    entries ``dsf-gcamp6s-60hz`` and ``dsf-gcamp6f-60hz`` take ΔF/F with the slow baseline removed (at 0;
    :func:`spikebook.data.preprocess.delta_f_over_f` gives it from raw fluorescence); the simulation entries
    the paper's simulated scale (SCF: a baseline near −0.3 and spike amplitudes 0.25–0.5). Traces whose
    median absolute value exceeds :data:`RAW_LEVEL` (raw fluorescence, most likely) get a warning.

    Args:
        traces: Fluorescence, shape ``(n, T)`` (one row per trace) or ``(T,)``, floating point. NaN marks
            missing samples (e.g. padding of shorter traces): they come back as NaN, and each run of
            finite samples between NaNs is inferred separately, as its own trace.
        fs: Sampling rate of ``traces`` in Hz. If it differs from the model's rate, traces are resampled
            to it (:func:`spikebook.signal.to_model_rate`) and the probabilities mapped back (:func:`spikebook.signal.to_user_rate`).
        model: A pretrained name (see :data:`spikebook.pretrained.RECIPES`, loaded with
            :func:`spikebook.pretrained.load`) or a :class:`~spikebook.recognition.RecognitionModel`
            instance (its weights are used as they are; it is copied, not moved, if it lives on another
            device).
        n_samples: Sampled trains averaged for non-factorized models (DS-NF); ignored for DS-F and the
            supervised entries.
        batch_size: Windows per network call. ``None``: ~40,000 bins per DS-F call on CPU (cache-sized
            activations), ~4,608 sampled rows (windows × ``n_samples``) per DS-NF call; more on CUDA.
        chunk_len: Core length of a window in model bins (the halo comes on top). ``None``: 2,500 for
            DS-F; for DS-NF the total length divided by ``batch_size``, clipped to 2,000–10,000 (the
            recurrent loop runs over a window's bins one after the other: short windows run side by side
            when there is little data, long ones waste less on halos when there is a lot).
        device: Torch device; ``None`` picks CUDA when available, else CPU.
        model_fs: Sampling rate (Hz) of an instance ``model``; ``None`` means :data:`MODEL_FS_HZ`.
            Pretrained names carry their own.
        seed: Seed of the sampling for DS-NF (``None``: torch's global generator).
        dataset: Only for the supervised entries of :data:`spikebook.pretrained.SUPERVISED` (e.g.
            ``"attended-inception-spikefinder"``): the Spikefinder dataset number whose embedding to use, one
            of the entry's ``trained_datasets`` (4-8 for the shipped entry), or ``None`` for the net trained
            without dataset knowledge; see :func:`spikebook.supervised.predict_fluorescence` (traces
            normalised as one dataset).
        precision: ``"float32"`` (default) or ``"bfloat16"``: run the network under
            :func:`torch.autocast` with bfloat16, so the convolutions (and DS-NF's per-step recurrent
            matmul) compute in bfloat16 while the outputs, the recurrent state and the gate arithmetic
            stay float32. DS-F runs ~1.7× faster on CPUs with native bfloat16 (AVX-512 BF16 or AMX)
            and on recent GPUs; *slower* on CPUs without it. Probabilities differ from float32 by
            ~3e-5 on average (measured on simulated SCF traces: the same correlations to 4 decimals, chapter
            "Speed").
        compiled: DS-NF only (ignored for DS-F, one CNN pass, and the supervised entries): run its backward
            GRU and its sampling loop as :func:`torch.compile`-d blocks of steps (``DSNF.marginals(...,
            compiled=True)``): on 2 CPU cores 1.4–1.8× faster for 50 traces and 2× for one (chapter
            "Speed"), after a compilation of tens of seconds per new batch shape (once per process for a
            long job; needs the C++ compiler torch.compile uses). The
            same random numbers are drawn: probabilities agree with the eager loop to float rounding.

    Returns:
        Array of the shape of ``traces`` (1-D in, 1-D out), dtype float32 or float64 like the input:
        per-bin spike probabilities at ``fs`` (expected spike counts per bin when ``fs`` is below the
        model's rate, see :func:`spikebook.signal.to_user_rate`), NaN where the input is NaN.

    Raises:
        TypeError: ``traces`` not floating point; ``model`` neither a name nor a RecognitionModel;
            ``fs`` not a number.
        ValueError: ``traces`` empty, not 1-D/2-D, holding ±inf or an all-NaN trace; ``fs ≤ 0``; unknown
            model name (the message lists the available ones); non-positive ``n_samples``,
            ``batch_size`` or ``chunk_len``; an unknown ``precision``; a setting of the DeepSpike networks
            (``precision``, ``batch_size``, ``chunk_len``, ``device``, ``model_fs``, ``compiled``) with a
            supervised entry; ``dataset`` with a DeepSpike network, or a ``dataset`` whose embedding the
            supervised entry never trained (the message lists the trained ones); ``compiled=True`` with a
            recognition model other than DS-F and DS-NF.
        FileNotFoundError: A pretrained name whose checkpoint is not on disk (the message says how to
            make it).

    Example:
        >>> probs = spikebook.infer(traces, fs=60.0)  # traces: (n_cells, T) NumPy array  # doctest: +SKIP

    References:
        Speiser et al. (2017), §3.2.

    Taught in: book chapter "Speed: amortized inference is fast".
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    x, squeeze = as_traces(traces)
    fs = rate_hz(fs, "fs")
    if isinstance(model, str):
        from spikebook import pretrained

        if model in pretrained.SUPERVISED:  # supervised nets (Bolte & Wildani) have their own path
            from spikebook.supervised import predict_fluorescence

            # Settings of the DeepSpike path are refused, not ignored (n_samples is ignored, as for DS-F).
            given = {"precision": precision != "float32", "batch_size": batch_size is not None,
                     "chunk_len": chunk_len is not None, "device": device is not None, "model_fs": model_fs is not None,
                     "compiled": compiled}
            if any(given.values()):
                names = ", ".join(f"{k}=" for k, v in given.items() if v)
                raise ValueError(f"{names} only for the DeepSpike networks; the supervised ones take traces, fs and "
                                 "dataset (float32, 100 Hz)")

            entry = pretrained.load(model)
            out = predict_fluorescence(x, fs, entry.attended, entry.agnostic, dataset,
                               trained_datasets=entry.trained_datasets)
            return out[0] if squeeze else out
    if dataset is not None:
        from spikebook.pretrained import SUPERVISED

        which = repr(model) if isinstance(model, str) else f"a {type(model).__name__} instance"
        raise ValueError(f"dataset={dataset!r}: {which} has no dataset embeddings (the DeepSpike networks are "
                         "trained without dataset labels); dataset= is only for the supervised entries "
                         f"{sorted(SUPERVISED)}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("chunk_len", chunk_len)
    network, fs_model = _resolve_model(model, model_fs)
    # median |value| of an evenly strided sample of ~10⁵ samples (a view: no copy of a large input)
    probe = x[:, :: max(1, x.size // 100_000)]
    probe = np.abs(probe[np.isfinite(probe)])
    level = float(np.median(probe)) if probe.size else 0.0
    if level > RAW_LEVEL:
        warnings.warn(
            f"the traces' median |value| is {level:.3g}: they look like raw fluorescence, while the DeepSpike "
            "networks expect ΔF/F-like traces (nothing is normalised here); convert them first, e.g. with "
            "spikebook.data.preprocess.delta_f_over_f",
            UserWarning,
            stacklevel=2,
        )
    dev = _pick_device(device)
    param = next(network.parameters())
    if param.device != dev:
        network = copy.deepcopy(network).to(dev)
        param = next(network.parameters())
    factorized = isinstance(network, DSF)
    if compiled and not (factorized or isinstance(network, DSNF)):
        raise ValueError(f"compiled=True is for DS-NF (and ignored for DS-F), not {type(network).__name__}")

    # Segments: maximal runs of finite samples, at the model's rate.
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
        # The recurrent loop runs over a window's bins one after the other: short windows turn time into
        # batch when there is little data (one trace: 5 windows of 2,000 + 2 · 300 bins side by side),
        # long ones waste less on halos when there are enough windows to fill every call anyway.
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
    return out[0] if squeeze else out
