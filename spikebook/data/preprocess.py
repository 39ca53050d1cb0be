"""Preprocessing of real fluorescence traces (Speiser et al. 2017, §2.4).

* :func:`percentile_baseline`: the slow baseline :math:`F_0(t)`, the 5th percentile of :math:`F` in a
  centred window of 6,000 samples (``scipy.ndimage.percentile_filter``, O(T log w)).
* :func:`delta_f_over_f`: :math:`\\Delta F/F = (F - F_0)/F_0`.
* :func:`subtract_baseline`: :math:`\\Delta F/F - F_0`, for traces that are already ΔF/F.
* :func:`bin_spike_times`: spike times histogrammed on frame intervals.

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.ndimage

from spikebook.validate import finite_trace


def percentile_baseline(f: np.ndarray, window: int = 6_000, percentile: float = 5.0) -> np.ndarray:
    """Running percentile :math:`F_0(t)` over a centred window of ``window`` samples.

    Near the ends the window is mirrored (``mode="reflect"``), so the baseline is defined everywhere.

    Args:
        f: raw fluorescence, ``(T,)``.
        window: window length in samples (6,000 in the paper, at the native frame rate).
        percentile: which percentile (5 in the paper).

    Returns:
        ``(T,)`` baseline.
    """
    f = finite_trace(f)
    if window < 1 or not 0 <= percentile <= 100:
        raise ValueError(f"need window >= 1 and 0 <= percentile <= 100, got {window}, {percentile}")
    return scipy.ndimage.percentile_filter(f, percentile, size=min(window, 2 * f.size - 1), mode="reflect")


def delta_f_over_f(f: np.ndarray, window: int = 6_000, percentile: float = 5.0) -> np.ndarray:
    """:math:`(F - F_0)/F_0` with :math:`F_0` from :func:`percentile_baseline`.

    Raises:
        ValueError: if the baseline is not strictly positive (ΔF/F needs raw, positive fluorescence;
            pass traces that are already ΔF/F through :func:`percentile_baseline` subtraction instead).
    """
    f = finite_trace(f)
    baseline = percentile_baseline(f, window, percentile)
    if (baseline <= 0).any():
        raise ValueError("the baseline F0 must be positive for dF/F; is the trace already dF/F?")
    return (f - baseline) / baseline


def subtract_baseline(dff: np.ndarray, window: int = 6_000, percentile: float = 5.0) -> np.ndarray:
    """Remove the slow baseline of a ΔF/F trace: :math:`f - F_0`, with :math:`F_0` its running percentile.

    Args:
        dff: ΔF/F, ``(T,)``, finite.
        window: Window in samples (6,000 in the paper).
        percentile: Percentile of the baseline (5 in the paper).

    Returns:
        ``(T,)`` float32 trace whose baseline sits at 0 (what the GCaMP6 networks are trained on).
    """
    dff = finite_trace(dff, "dff")
    return (dff - percentile_baseline(dff, window, percentile)).astype(np.float32)


def bin_spike_times(
    spike_times_s: np.ndarray, frame_times_s: np.ndarray, convention: Literal["centred", "causal"] = "centred"
) -> np.ndarray:
    """Count spikes per frame.

    Two conventions for which spikes a frame's sample can show:

    * ``"centred"``: frame ``i`` covers ``[t_i - Δ/2, t_i + Δ/2)`` around its time stamp.
    * ``"causal"``: frame ``i`` covers ``(t_{i-1}, t_i]``, the spikes since the previous sample: a sample
      taken at ``t_i`` can only reflect spikes that happened before it. This matches generative models in
      which :math:`s_t` raises :math:`f_t` in the same bin (SCF, SCDF, MLphys); the first frame's bin starts
      one frame interval before it.

    Args:
        spike_times_s: spike times in seconds, ``(n,)``.
        frame_times_s: increasing frame time stamps in seconds, ``(T,)``.
        convention: ``"centred"`` or ``"causal"``.

    Returns:
        ``(T,)`` spike counts; spikes outside the frames' span are dropped.
    """
    frames = np.asarray(frame_times_s, dtype=np.float64)
    if frames.ndim != 1 or frames.size < 2 or not (np.diff(frames) > 0).all():
        raise ValueError("frame_times_s must be an increasing (T,) array with T >= 2")
    if convention == "centred":
        mid = (frames[1:] + frames[:-1]) / 2
        edges = np.concatenate([[frames[0] - (mid[0] - frames[0])], mid, [frames[-1] + (frames[-1] - mid[-1])]])
        counts, _ = np.histogram(np.asarray(spike_times_s, dtype=np.float64), bins=edges)
        return counts.astype(np.float64)
    if convention == "causal":
        edges = np.concatenate([[frames[0] - (frames[1] - frames[0])], frames])
        # (t_{i-1}, t_i]: searchsorted with side="left" puts a spike exactly at t_i into frame i
        index = np.searchsorted(edges, np.asarray(spike_times_s, dtype=np.float64), side="left") - 1
        inside = (index >= 0) & (index < frames.size)
        return np.bincount(index[inside], minlength=frames.size).astype(np.float64)
    raise ValueError(f"convention must be 'centred' or 'causal', got {convention!r}")
