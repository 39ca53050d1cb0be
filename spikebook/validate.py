"""Argument checks shared by the whole package: one home, one wording of every error.

Each check takes the value and the name the caller knows it by, returns the value in its canonical type,
and raises with a message that names the argument, the value and what is allowed. Every public function
checks its arguments at the door through these, so bad input fails where it enters, not deep inside
PyTorch or NumPy.

* numbers: :func:`positive_int`, :func:`non_negative_int` (seeds, counts that may be zero),
  :func:`positive` and :func:`finite` (floats), :func:`rate_hz` (a sampling rate), :func:`one_of`;
* recorded traces: :func:`finite_trace` (one finite ``(T,)`` segment) and :func:`as_traces` — a tensor or an array of shape ``(n, T)`` or ``(T,)``, not empty,
  floating point (integers too where NaN cannot be asked for, as in the constrained-deconvolution
  baseline: raw counts have no missing-sample marker); NaN marks missing samples (padding, dropped frames)
  and is allowed unless a trace is all NaN; ±inf never is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any, TypeVar

import numpy as np
import torch

__all__ = [
    "as_traces",
    "finite",
    "finite_trace",
    "non_negative_int",
    "one_of",
    "positive",
    "positive_int",
    "rate_hz",
]

T = TypeVar("T")


def _int(value: Any, name: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {what}, got {value!r} ({type(value).__name__})")
    return int(value)


def positive_int(value: Any, name: str) -> int:
    """``value`` as an ``int`` if it is an integer ≥ 1 (not a bool)."""
    value = _int(value, name, "a positive int")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def non_negative_int(value: Any, name: str) -> int:
    """``value`` as an ``int`` if it is an integer ≥ 0 (not a bool), e.g. a seed."""
    value = _int(value, name, "a non-negative int")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value}")
    return value


def finite(value: Any, name: str) -> float:
    """``value`` as a ``float`` if it is a finite real number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def positive(value: Any, name: str) -> float:
    """``value`` as a ``float`` if it is a finite number > 0."""
    value = finite(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def rate_hz(value: Any, name: str = "fs") -> float:
    """A sampling rate in Hz as a ``float``: a positive, finite number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of Hz, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number of Hz, got {value!r}")
    return float(value)


def one_of(value: T, choices: Collection[T], name: str) -> T:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def as_traces(traces: Any, name: str = "traces", allow_nan: bool = True) -> tuple[np.ndarray, bool]:
    """Validate traces and return them as a 2-D array, with whether the input was one trace.

    Args:
        traces: ``(n, T)`` or ``(T,)`` array-like or tensor of floating-point fluorescence; a bfloat16 or
            float16 tensor is read as float32, and a masked array as float64 with NaN at its masked samples.
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
        low = traces.is_floating_point() and torch.finfo(traces.dtype).bits < 32  # numpy has no bfloat16
        traces = (traces.detach().float() if low else traces.detach()).cpu().numpy()
    if isinstance(traces, np.ma.MaskedArray):
        traces = np.ma.filled(traces.astype(float), np.nan)  # a masked sample is a missing one
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


def finite_trace(f: Any, name: str = "f") -> np.ndarray:
    """One non-empty trace of shape ``(T,)`` with only finite samples, as float64 (a segment, not padding)."""
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"{name} must be one non-empty trace of shape (T,), got shape {f.shape}")
    if not np.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or infinite values; cut the trace into finite segments first")
    return f
