"""Checks on the fluorescence arrays and sampling rates that users hand to spikebook, in one place.

Every entry point that takes recorded traces (:func:`spikebook.infer`, the supervised networks'
:func:`~spikebook.supervised_training.predict` and :func:`~spikebook.supervised_training.infer_traces`,
the constrained-deconvolution baseline :func:`~spikebook.baselines.cdec`) validates them here, so bad input
gets the same clear error everywhere:

* a tensor or an array of shape ``(n, T)`` or ``(T,)``, not empty, floating point (integers too where NaN
  cannot be asked for, as in :func:`~spikebook.baselines.cdec`: raw counts have no missing-sample marker);
* NaN marks missing samples (the padding of the Spikefinder files, dropped frames): allowed as padding,
  but a trace may not be all NaN; ±inf is never allowed;
* a sampling rate is a positive, finite number of Hz; :func:`resample_ratio` turns two of them into the
  small integers ``up / down`` of a polyphase resampler.

:func:`finite_runs` cuts a NaN-padded trace into the maximal runs of finite samples that are inferred
on their own.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import torch

__all__ = ["as_traces", "check_rate", "finite_runs", "resample_ratio"]


def as_traces(traces: Any, name: str = "traces", allow_nan: bool = True) -> tuple[np.ndarray, bool]:
    """Validate traces and return them as a 2-D array, with whether the input was one trace.

    Args:
        traces: ``(n, T)`` or ``(T,)`` array-like or tensor of floating-point fluorescence.
        name: What to call them in errors.
        allow_nan: Whether NaN may mark missing samples. Without, any NaN raises, and integer arrays
            are accepted too (as float64).

    Returns:
        ``(array, squeeze)``: the ``(n, T)`` array in its own floating dtype (a view where possible) and
        ``True`` if the input was a single ``(T,)`` trace.

    Raises:
        TypeError: a non-floating dtype where NaN may mark missing samples (an integer array cannot mark
            them; cast it), a non-numeric one otherwise.
        ValueError: another number of dimensions, no samples, ±inf, an all-NaN trace, or NaN where
            ``allow_nan`` is false.
    """
    if isinstance(traces, torch.Tensor):
        traces = traces.detach().cpu().numpy()
    array = np.asarray(traces)
    if not np.issubdtype(array.dtype, np.floating):
        if allow_nan or not np.issubdtype(array.dtype, np.integer):
            kind = "a floating-point array (NaN marks missing samples)" if allow_nan else "a real-valued array"
            raise TypeError(f"{name} must be {kind}, got dtype {array.dtype}; cast with {name}.astype(np.float32)")
        array = array.astype(np.float64)  # integer counts, e.g. raw camera values: no NaN to mark anyway
    if array.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (n, T) or (T,), got {array.ndim}-D shape {array.shape}")
    squeeze = array.ndim == 1
    array = array[None] if squeeze else array
    if array.size == 0:
        raise ValueError(f"{name} are empty (shape {array.shape if not squeeze else array.shape[1:]})")
    if np.isinf(array).any():
        raise ValueError(f"{name} contain ±inf; only NaN is allowed (it marks missing samples)")
    nan = np.isnan(array)
    bad = np.flatnonzero(nan.any(axis=1) if not allow_nan else nan.all(axis=1))
    if bad.size:
        what = "contain NaN; remove the padding first" if not allow_nan else "are all NaN; drop them"
        raise ValueError(f"{name} {bad[:10].tolist()} {what}")
    return array, squeeze


def check_rate(name: str, value: float) -> float:
    """A sampling rate in Hz as a float; a clear error for anything but a positive, finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number of Hz, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number of Hz, got {value!r}")
    return float(value)


def resample_ratio(fs_in: float, fs_out: float, max_denominator: int = 1_000) -> tuple[int, int]:
    """Integers ``(up, down)`` with ``up / down ≈ fs_out / fs_in`` and ``down ≤ max_denominator``.

    Exact for round rates (60 → 100 Hz: 5/3); otherwise the nearest such fraction (60.06 → 60 Hz: 999/1000,
    1 ppm from 1000/1001). The polyphase filter's length grows with ``max(up, down)``, hence the small
    bound.

    Raises:
        TypeError, ValueError: a rate that :func:`check_rate` refuses, or a ratio that rounds to 0.
    """
    ratio = Fraction(check_rate("fs_out", fs_out) / check_rate("fs_in", fs_in)).limit_denominator(max_denominator)
    if ratio == 0:
        raise ValueError(f"cannot resample from {fs_in} Hz to {fs_out} Hz: ratio below 1/{max_denominator}")
    return ratio.numerator, ratio.denominator


def finite_runs(trace: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs ``trace[start:end]`` of finite samples of a 1-D trace, in order."""
    finite = np.isfinite(trace).astype(np.int8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], finite, [0]])))
    return [(int(a), int(b)) for a, b in zip(change[::2], change[1::2])]
