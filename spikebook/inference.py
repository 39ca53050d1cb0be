"""The user-facing entry point: spike probabilities for a batch of fluorescence traces.

``spikebook.infer(traces, fs)`` runs a trained recognition network on NumPy traces of any length and
sampling rate and returns per-bin spike probabilities of the same shape. This is the amortized inference
of Speiser et al. (2017), §3.2: once the network is trained, inference on new data is one forward pass
(DS-F) or a few sampled passes of a recurrent network (DS-NF), with no optimisation per trace.

``infer`` validates its arguments, picks the predictor of the named entry
(:func:`spikebook.pretrained.predictor`) or wraps a network instance, and runs it: for the DeepSpike networks
:func:`spikebook.recognition.tiled.tiled_marginals` (segments between NaNs, resampling to the network's
rate, exact halo windows for DS-F, batches, mapping back to ``fs``); for the supervised entries
:func:`spikebook.supervised.predict_fluorescence`.

References:
    Speiser et al. (2017). Fast amortized inference of neural activity from calcium imaging data with
    variational autoencoders. NeurIPS 30, §3.2.

Taught in: book chapter "Speed: amortized inference is fast".
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from spikebook import pretrained
from spikebook.recognition import RecognitionModel
from spikebook.recognition.tiled import MODEL_FS_HZ, PRECISIONS, Precision
from spikebook.supervised import SUPERVISED_FS_HZ
from spikebook.validate import as_traces, positive_int, rate_hz

__all__ = ["DEFAULT_MODEL", "MAX_UPSAMPLING", "RAW_LEVEL", "SHORT_TRACE_S", "infer"]

#: The pretrained network :func:`infer` uses by default.
DEFAULT_MODEL = "dsf-scf-60hz"

#: :func:`infer` warns when the median absolute value of the traces exceeds this: ΔF/F-like traces
#: (what the DeepSpike networks are trained on) have medians near 0; raw fluorescence is in the hundreds.
RAW_LEVEL = 10.0

#: :func:`infer` warns when its traces are shorter than this many seconds while there are more of them than
#: that many seconds of samples: a time × cells array (the Spikefinder CSV layout) read as cells × time.
SHORT_TRACE_S = 5.0

#: The largest factor by which :func:`infer` up-samples traces to its network's rate: the lowest rate
#: accepted is the network's rate over this (0.6 Hz for the 60 Hz DeepSpike networks, 1 Hz for the 100 Hz
#: supervised ones). Calcium imaging below 1 Hz is rare; a rate given in kHz (``0.03`` for 30 Hz) is not,
#: and it would up-sample 2,000× — gigabytes for a short recording — and return noise.
MAX_UPSAMPLING = 100


def _pick_device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    chosen = torch.device(device)
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}: CUDA is not available to this torch; use device='cpu' or None")
    return chosen


def _warn_if_raw(x: np.ndarray) -> None:
    """Warn when traces look like raw fluorescence rather than ΔF/F (median |value| above :data:`RAW_LEVEL`)."""
    probe = x[:, :: max(1, x.size // 100_000)]  # ~10⁵ evenly strided samples, a view of a large input
    probe = np.abs(probe[np.isfinite(probe)])
    level = float(np.median(probe)) if probe.size else 0.0
    if level > RAW_LEVEL:
        warnings.warn(
            f"the traces' median |value| is {level:.3g}: they look like raw fluorescence, while the DeepSpike "
            "networks expect ΔF/F-like traces (nothing is normalised here); convert them first, e.g. with "
            "spikebook.data.preprocess.delta_f_over_f",
            UserWarning,
            stacklevel=3,
        )


def _warn_if_transposed(x: np.ndarray, fs: float) -> None:
    """Warn when ``(n, T)`` traces look like a time × cells array: ``T`` under :data:`SHORT_TRACE_S` seconds
    at ``fs`` while ``n`` rows would be longer than that."""
    n, length = x.shape
    short = SHORT_TRACE_S * fs
    if length < short <= n:
        warnings.warn(
            f"traces of shape {x.shape} are read as {n} traces of {length} samples ({length / fs:.3g} s at {fs:g} Hz) "
            f"each; this looks like a time × cells array (the layout of the Spikefinder CSV files, which "
            f"read_spikefinder_csv keeps): infer takes cells × time, so pass traces.T",
            UserWarning,
            stacklevel=3,
        )


def _check_upsampling(fs: float, fs_model: float, name: str) -> None:
    """Refuse ``fs`` more than :data:`MAX_UPSAMPLING` times below the network's rate ``fs_model``."""
    if fs * MAX_UPSAMPLING < fs_model:
        raise ValueError(
            f"fs={fs:g} Hz is {fs_model / fs:.4g} times below the rate of {name} ({fs_model:g} Hz); infer "
            f"up-samples at most {MAX_UPSAMPLING}× (fs ≥ {fs_model / MAX_UPSAMPLING:g} Hz). fs is in Hz: was it "
            f"given in kHz (30 Hz is fs=30.0, not 0.03)?"
        )


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

    The layout is cells × time, as everywhere in spikebook. Traces shorter than :data:`SHORT_TRACE_S`
    seconds at ``fs`` while there are more rows than that many seconds of samples get a warning: that is
    the signature of a time × cells array, such as the Spikefinder CSV files that
    :func:`spikebook.data.spikefinder.read_spikefinder_csv` returns as they are (pass ``traces.T``).

    Args:
        traces: Fluorescence, shape ``(n, T)`` (one row per trace) or ``(T,)``, floating point. NaN marks
            missing samples (e.g. padding of shorter traces): they come back as NaN, and each run of
            finite samples between NaNs is inferred separately, as its own trace. The masked samples of a
            ``numpy.ma`` masked array are missing samples too (read as NaN).
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
            stay float32. Faster on CPUs with native bfloat16 (AVX-512 BF16 or AMX) and on recent GPUs,
            *slower* on CPUs without it; probabilities differ from float32 in the fifth decimal (chapter
            "Speed" measures both).
        compiled: DS-NF only (ignored for DS-F, one CNN pass, and the supervised entries): run its backward
            GRU and its sampling loop as :func:`torch.compile`-d blocks of steps (``DSNF.marginals(...,
            compiled=True)``): faster on CPU (chapter "Speed"), after a compilation of tens of seconds per new
            batch shape (once per process for a long job; needs the C++ compiler torch.compile uses). The
            same random numbers are drawn: probabilities agree with the eager loop to float rounding.

    Returns:
        Array of the shape of ``traces`` (1-D in, 1-D out), dtype float32 or float64 like the input:
        per-bin spike probabilities at ``fs`` (expected spike counts per bin when ``fs`` is below the
        model's rate, see :func:`spikebook.signal.to_user_rate`), NaN where the input is NaN.

    Raises:
        TypeError: ``traces`` not floating point; ``model`` neither a name nor a RecognitionModel;
            ``fs`` not a number.
        ValueError: ``traces`` empty, not 1-D/2-D, holding ±inf or an all-NaN trace; ``fs ≤ 0``; ``fs``
            more than :data:`MAX_UPSAMPLING` (100) times below the network's rate (below 0.6 Hz for the
            60 Hz DeepSpike networks, 1 Hz for the supervised entries: most likely a rate in kHz); unknown
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
    _warn_if_transposed(x, fs)
    if isinstance(model, str):
        chosen = pretrained.predictor(model)
        if model_fs is not None and not chosen.supervised and rate_hz(model_fs, "model_fs") != chosen.fs_model:
            raise ValueError(f"{model!r} was trained at {chosen.fs_model} Hz; model_fs={model_fs} contradicts it")
    elif isinstance(model, RecognitionModel):
        chosen = pretrained.DeepSpikePredictor(model, MODEL_FS_HZ if model_fs is None else rate_hz(model_fs, "model_fs"))
    else:
        raise TypeError(
            f"model must be a pretrained name (str) or a spikebook RecognitionModel, got {type(model).__name__}"
        )
    _check_upsampling(fs, SUPERVISED_FS_HZ if chosen.supervised else chosen.fs_model, chosen.name)
    if chosen.supervised:
        # Settings of the DeepSpike path are refused, not ignored (n_samples is ignored, as for DS-F).
        given = {"precision": precision != "float32", "batch_size": batch_size is not None,
                 "chunk_len": chunk_len is not None, "device": device is not None, "model_fs": model_fs is not None,
                 "compiled": compiled}
        if any(given.values()):
            names = ", ".join(f"{k}=" for k, v in given.items() if v)
            raise ValueError(f"{names} only for the DeepSpike networks; the supervised ones take traces, fs and "
                             "dataset (float32, 100 Hz)")
        out = chosen.predict(x, fs, dataset=dataset)
        return out[0] if squeeze else out
    if dataset is not None:
        which = repr(model) if isinstance(model, str) else f"a {type(model).__name__} instance"
        raise ValueError(f"dataset={dataset!r}: {which} has no dataset embeddings (the DeepSpike networks are "
                         "trained without dataset labels); dataset= is only for the supervised entries "
                         f"{sorted(pretrained.SUPERVISED)}")
    positive_int(n_samples, "n_samples")
    for name, value in (("batch_size", batch_size), ("chunk_len", chunk_len)):
        if value is not None:
            positive_int(value, name)
    _warn_if_raw(x)
    out = chosen.predict(x, fs, n_samples=n_samples, batch_size=batch_size, chunk_len=chunk_len,
                         device=_pick_device(device), seed=seed, precision=precision, compiled=compiled)
    return out[0] if squeeze else out
