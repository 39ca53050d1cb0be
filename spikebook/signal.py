"""Signals in time: rates, resampling, runs of finite samples, and the tiling of long traces.

The one home of what every inference path does to a trace before and after a network sees it:

* :func:`resample_ratio` turns two rates into the small integers ``up / down`` of a polyphase resampler;
  :func:`resample` resamples with it; :func:`to_model_rate` and :func:`to_user_rate` take a recording to a
  network's rate and its per-bin spike probabilities back to the recording's bins (an exact integral);
* :func:`finite_runs` cuts a NaN-padded trace into the runs of finite samples, each inferred on its own;
* :func:`halo_windows` and :func:`batches` tile a long run into overlapping windows whose kept outputs are
  at least a halo from every cut, so a tiled prediction equals the untiled one.

Taught in: book chapter "Speed: amortized inference is fast".
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from spikebook.validate import finite_trace, positive_int, rate_hz

__all__ = [
    "RATIO_RTOL",
    "Window",
    "batches",
    "finite_runs",
    "halo_windows",
    "resample",
    "resample_ratio",
    "to_model_rate",
    "to_user_rate",
]


#: The largest relative error :func:`resample_ratio` accepts between ``up / down`` and ``fs_out / fs_in``:
#: a trace's duration changes by at most this fraction (1 s in 1,000 s), far below what a calcium kernel
#: of tenths of a second notices.
RATIO_RTOL = 1e-3


def resample_ratio(fs_in: float, fs_out: float, max_denominator: int = 1_000) -> tuple[int, int]:
    """Integers ``(up, down)`` with ``up / down ≈ fs_out / fs_in`` and ``down ≤ max_denominator``.

    Exact for round rates (60 → 100 Hz: 5/3); otherwise the nearest such fraction (60.06 → 60 Hz: 999/1000,
    1 ppm from 1000/1001). The polyphase filter's length grows with ``max(up, down)``, hence the small
    bound. A fraction with ``p = up ≥ 1`` is within ``1 / (p · max_denominator)`` of the ratio, so the
    bound binds only when down-sampling by more than ``max_denominator`` (100 kHz → 60 Hz is 3/5000, whose
    nearest fraction with ``down ≤ 1000`` is 1/1000, 67 % off): then it refuses rather than change the
    duration by more than :data:`RATIO_RTOL`.

    Raises:
        TypeError, ValueError: a rate that :func:`spikebook.validate.rate_hz` refuses.
        ValueError: no ``up / down`` with ``down ≤ max_denominator`` within :data:`RATIO_RTOL` of the ratio.
    """
    max_denominator = positive_int(max_denominator, "max_denominator")
    exact = rate_hz(fs_out, "fs_out") / rate_hz(fs_in, "fs_in")
    ratio = Fraction(exact).limit_denominator(max_denominator)
    error = abs(float(ratio) - exact) / exact
    if error > RATIO_RTOL:
        raise ValueError(
            f"cannot resample from {fs_in:g} Hz to {fs_out:g} Hz exactly enough: the nearest ratio up/down with "
            f"down ≤ max_denominator={max_denominator} is {ratio.numerator}/{ratio.denominator}, {error:.2g} off "
            f"{exact:.6g} (at most {RATIO_RTOL:g} is allowed); pass a larger max_denominator "
            f"(≥ {math.ceil(fs_in / fs_out)}) or resample in two steps"
        )
    return ratio.numerator, ratio.denominator


def resample(
    f: np.ndarray, fs_in: float, fs_out: float, max_denominator: int = 1_000, padtype: str = "line"
) -> np.ndarray:
    """Resample a trace from ``fs_in`` to ``fs_out`` Hz with a polyphase FIR filter.

    :func:`scipy.signal.resample_poly` (Kaiser window, β = 5) filters in the time domain, so a step or a
    fast transient rings only within the filter's length and nothing wraps around the ends, unlike FFT
    resampling. Samples stay aligned at ``t = i / fs``. The rate ratio is approximated by a fraction
    ``up/down`` with ``down <= max_denominator`` (:func:`resample_ratio`); the output
    has ``ceil(T * up / down)`` samples.

    Args:
        f: trace, ``(T,)``, finite.
        fs_in: its sampling rate in Hz.
        fs_out: the target rate in Hz.
        max_denominator: bound on ``down``.
        padtype: how the filter sees beyond the ends (``resample_poly``'s option): ``"line"`` continues
            the trend (raw fluorescence; needs 2 samples or more), ``"median"`` the segment's baseline (what
            :func:`spikebook.infer` uses for ΔF/F segments).

    Returns:
        The trace at ``fs_out``, float64 (a copy when the rates agree).

    Raises:
        ValueError: ``f`` not one finite, non-empty trace; a ratio :func:`resample_ratio` cannot approximate
            within :data:`RATIO_RTOL`; a single sample with ``padtype="line"``.
    """
    import scipy.signal  # slow to import: only when resampling

    f = finite_trace(f)
    up, down = resample_ratio(fs_in, fs_out, max_denominator)
    if up == down:
        return f.copy()
    if padtype == "line" and f.size < 2:  # resample_poly would fit a line through one sample: NaN
        raise ValueError(
            "f has 1 sample: padtype='line' continues the trend of the trace, which needs at least 2 samples; "
            "use padtype='median' (a constant) for a single sample"
        )
    return scipy.signal.resample_poly(f, up, down, padtype=padtype)


def finite_runs(trace: np.ndarray) -> list[tuple[int, int]]:
    """The maximal runs ``trace[start:end]`` of finite samples of a 1-D trace, in order."""
    finite = np.isfinite(trace).astype(np.int8)
    change = np.flatnonzero(np.diff(np.concatenate([[0], finite, [0]])))
    return [(int(a), int(b)) for a, b in zip(change[::2], change[1::2])]


def to_model_rate(f: np.ndarray, fs: float, fs_model: float) -> np.ndarray:
    """Resample a fluorescence segment from ``fs`` to the model's rate with a polyphase FIR filter.

    :func:`resample` with the edges padded by the segment's median (its baseline): no FFT wrap-around, samples aligned at ``t = i / fs``.

    Args:
        f: One finite segment, shape ``(T,)``, sampled at ``fs`` Hz.
        fs: Its sampling rate in Hz.
        fs_model: The model's rate in Hz.

    Returns:
        The segment at ``fs_model``, shape ``(ceil(T · up / down),)`` with ``up / down ≈ fs_model / fs``
        (:func:`resample_ratio`), float64.

    Taught in: book chapter "Speed: amortized inference is fast".
    """
    return resample(f, fs, fs_model, padtype="median")


def to_user_rate(p: np.ndarray, n_out: int, fs_model: float, fs: float) -> np.ndarray:
    """Map per-bin spike probabilities at the model's rate to expected spike counts per bin at ``fs``.

    The rule: sample :math:`j` at the model's rate :math:`f_m` stands for the bin
    :math:`[j/f_m, (j+1)/f_m)`, and its probability :math:`p_j` for a spike rate :math:`p_j f_m` that
    is constant within the bin. Output sample :math:`i` is the integral of that rate over its own bin
    :math:`[i/f_s, (i+1)/f_s)`, i.e. the expected number of spikes in it:

    .. math:: \\hat n_i = \\sum_j p_j \\, f_m \\,
        \\bigl|[j/f_m, (j+1)/f_m) \\cap [i/f_s, (i+1)/f_s)\\bigr| .

    This is the convention of :func:`spikebook.metrics.rebin_to_rate` (bins start at the samples, counts
    are split by overlap), so inferring at ``fs`` gives what inferring at the model's rate and re-binning
    the result with it gives. Consequences: values are non-negative (an exact integral, not a filter:
    no ringing); the total expected count is kept, exactly when the segment spans a whole number of model
    bins, else up to the last model bin's share beyond the segment's end; for :math:`f_s \\ge f_m` every
    output bin lies within at most two model bins with a total weight ≤ 1, so
    :math:`\\hat n_i \\le \\max_j p_j \\le 1` is a per-bin spike probability (``fs = 120``:
    :math:`\\hat n_{2j} = \\hat n_{2j+1} = p_j / 2`); for :math:`f_s < f_m` an output bin spans several
    model bins and :math:`\\hat n_i` is an expected *count*, which can exceed 1 (``fs = 30``:
    :math:`\\hat n_i = p_{2i} + p_{2i+1}`). It is not clipped, so that sums stay spike counts.

    Args:
        p: Spike probabilities at the model's rate, shape ``(m,)`` with ``m ≥ n_out · f_m / f_s``
            (what :func:`to_model_rate` returns for ``n_out`` samples).
        n_out: Number of output bins (the segment's length at ``fs``).
        fs_model: The model's rate in Hz.
        fs: The output rate in Hz.

    Returns:
        Expected spike counts per output bin, shape ``(n_out,)``, float64.

    Taught in: book chapter "Speed: amortized inference is fast".
    """
    p = np.asarray(p, dtype=np.float64)
    up, down = resample_ratio(fs, fs_model)
    if p.shape[0] * down < n_out * up:
        raise ValueError(f"{p.shape[0]} model bins do not cover {n_out} bins at {fs} Hz")
    # Cumulative expected count at the model's bin edges (in model bins): C(0) = 0, C(j + 1) = Σ_{k≤j} p_k;
    # C is piecewise linear in between, so np.interp integrates the piecewise-constant rate exactly.
    cumulative = np.concatenate([[0.0], np.cumsum(p)])
    tau = np.arange(n_out + 1, dtype=np.float64) * up / down  # output bin edges in model bins
    return np.diff(np.interp(tau, np.arange(p.shape[0] + 1, dtype=np.float64), cumulative))


class Window(NamedTuple):
    """One network input: ``segment[start:start + length]``; outputs ``[keep_from, keep_to)`` are kept."""

    segment: int
    start: int
    length: int
    keep_from: int
    keep_to: int


def halo_windows(segment: int, m: int, core: int, halo: int, even: bool = False) -> Iterator[Window]:
    """Cover ``range(m)`` by windows of length ``core + 2 · halo``, each output ≥ ``halo`` from a cut.

    Window k starts at ``k · core``; the last one ends at ``m``. A window keeps its outputs from
    ``halo`` after its start (from 0 for the first) to ``halo`` before its end (to ``m`` for the last),
    so no kept output sees a cut within its receptive half-width ``halo``. A segment no longer than one
    window is one window. With ``even``, ``core`` is first shrunk to the smallest value that needs as
    many windows, so that they tile the segment without a last window overlapping its neighbour more
    than the halos do (for DS-NF, whose halos are long and whose cost is per bin computed).
    """
    if even and m > core + 2 * halo:
        core = math.ceil((m - 2 * halo) / math.ceil((m - 2 * halo) / core))
    length = core + 2 * halo
    if m <= length:
        yield Window(segment, 0, m, 0, m)
        return
    start = 0
    while start + length < m:
        yield Window(segment, start, length, start + halo if start else 0, start + length - halo)
        start += core
    yield Window(segment, m - length, length, m - length + halo, m)


def batches(windows: list[Window], batch_size: int) -> Iterator[list[Window]]:
    """Group windows of equal length (so they stack) into batches of at most ``batch_size``.

    The batches of a group are made as equal as possible (150 windows with ``batch_size`` 136 give
    two batches of 75, not 136 + 14): a small last batch would use the cores poorly for DS-NF, whose
    cost per call is one step after the other over the window's length.
    """
    by_length: dict[int, list[Window]] = {}
    for window in windows:
        by_length.setdefault(window.length, []).append(window)
    for group in by_length.values():
        k = math.ceil(len(group) / batch_size)  # batches of this length; their sizes differ by at most 1
        for i in range(k):
            yield group[i * len(group) // k : (i + 1) * len(group) // k]
