"""Scores for spike inference: binned correlation, spike-count error, the Spikefinder metric.

Every function here is a pure function of arrays: numpy arrays (or anything ``np.asarray`` accepts, torch
tensors included) go in, numpy arrays come out. Nothing here trains or plots.

Conventions (as everywhere in spikebook): time is the **last** axis, so traces are ``(..., T)`` with a
batch of traces ``(B, T)``; sampling rates are in Hz and bin widths in seconds. Spike trains are spike
*counts per sample* (not rates), so summing samples into bins gives counts per bin. The one exception is
:func:`spikefinder_correlation`, which takes arrays laid out like the Spikefinder CSV files, ``(T, N)``
(time down the rows, one neuron per column, NaN-padded at the end).

How the Spikefinder challenge scored a submission (Berens et al. 2018; ``spikefinder_eval.py``), per
neuron: drop the time steps where prediction or truth is NaN, sum blocks of 4 samples (100 Hz -> 25 Hz,
40 ms bins), truncate both to equal length, Pearson r. :func:`spikefinder_correlation` does exactly that
and reproduces the published per-cell scores.

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from spikebook.validate import positive, positive_int, rate_hz

__all__ = [
    "SpikefinderSummary",
    "as_numpy",
    "bin_factor",
    "bin_sum",
    "binned_correlation",
    "rebin_to_rate",
    "spike_count_error",
    "spikefinder_correlation",
    "summarize",
]

# A ratio within this relative distance of an integer counts as that integer (absorbs float noise such
# as 100 * 0.04 or 1 / 25 * 100).
_INTEGER_RTOL = 1e-9
# Largest denominator used when a rate ratio is turned into an exact fraction (see ``_rate_ratio``).
_MAX_DENOMINATOR = 10**6


def as_numpy(x: Any) -> np.ndarray:
    """Convert an array-like or torch tensor to a float64 numpy array (no copy where possible).

    The one conversion used by metrics, plotting and experiments.
    """
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def bin_sum(x: Any, factor: int, axis: int = -1) -> np.ndarray:
    r"""Sum non-overlapping blocks of ``factor`` samples along time, dropping an incomplete last block.

    .. math:: y_k = \sum_{i=0}^{f-1} x_{kf + i}, \qquad k = 0, \dots, \lfloor T / f \rfloor - 1

    This is the Spikefinder down-sampling: the official scorer computes
    ``np.convolve(x, np.ones(f), 'valid')[::f]``, which has exactly the same
    :math:`\lfloor T/f \rfloor` values. With counts per sample in, counts per bin come out.

    Args:
        x: Samples, any shape ``(..., T, ...)`` with time on ``axis``; e.g. spike counts per 10 ms bin.
            NaNs propagate into the block that contains them (drop them first if needed).
        factor: Block length :math:`f` in samples (``>= 1``); a bin is ``factor / fs`` seconds wide.
        axis: The time axis.

    Returns:
        Block sums, float64, same shape as ``x`` except ``T // factor`` on ``axis`` (0 if ``T < factor``).

    Raises:
        TypeError: If ``factor`` is not an int.
        ValueError: If ``factor < 1``.

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data" (evaluation code ``spikefinder_eval.py``).

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    factor = positive_int(factor, "factor")
    x = np.moveaxis(as_numpy(x), axis, -1)
    n_bins = x.shape[-1] // factor
    blocks = x[..., : n_bins * factor].reshape(*x.shape[:-1], n_bins, factor)
    return np.moveaxis(blocks.sum(axis=-1), -1, axis)


def bin_factor(fs: float, bin_s: float) -> int | float:
    r"""Number of samples per bin, :math:`f = f_s \cdot \Delta`, for bins of width ``bin_s`` at rate ``fs``.

    Integer ratios (100 Hz and 40 ms: :math:`f = 4`) come back as an ``int``, ready for :func:`bin_sum`.
    Non-integer ratios (60 Hz and 40 ms: :math:`f = 2.4`) come back as the ``float`` ratio: such bins
    cannot be formed from whole samples. spikebook's choice for that case is :func:`rebin_to_rate`, which
    integrates the counts over the exact bin edges (each sample's count split between the bins it
    overlaps), rather than rounding the bin width (which would change the time scale of the score) or
    interpolating the signal (which does not conserve spike counts). :func:`binned_correlation` with
    ``fs=``/``bin_s=`` makes this choice automatically.

    Args:
        fs: Sampling rate in Hz (``> 0``).
        bin_s: Bin width in seconds (``> 0``), e.g. 0.04 for the Spikefinder 25 Hz bins.

    Returns:
        ``int`` if :math:`f_s \Delta` is an integer (to a relative tolerance of 1e-9), else the ``float``
        ratio.

    Raises:
        TypeError: If ``fs`` or ``bin_s`` is not a real number.
        ValueError: If ``fs`` or ``bin_s`` is not positive and finite, or the bin is narrower than one
            sample (:math:`f_s \Delta < 1`).

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data".

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    ratio = rate_hz(fs, "fs") * positive(bin_s, "bin_s")
    nearest = round(ratio)
    if nearest >= 1 and abs(ratio - nearest) <= _INTEGER_RTOL * ratio:
        return int(nearest)
    if ratio < 1:
        raise ValueError(
            f"bins of {bin_s} s are narrower than one sample at {fs} Hz (fs * bin_s = {ratio:.6g} < 1)"
        )
    return ratio


def _rate_ratio(fs_in: float, fs_out: float) -> Fraction:
    """``fs_in / fs_out`` as an exact fraction, so that bin edges land exactly on sample edges."""
    # Rates such as 60.0 or 25.0 are exact; limit_denominator turns float noise (e.g. 1 / 0.04)
    # into the intended rational number.
    ratio = Fraction(rate_hz(fs_in, "fs_in")) / Fraction(rate_hz(fs_out, "fs_out"))
    exact = ratio.limit_denominator(_MAX_DENOMINATOR)
    if exact == 0:
        raise ValueError(f"fs_out={fs_out} Hz is more than {_MAX_DENOMINATOR:,} times fs_in={fs_in} Hz; "
                         "such fine bins are not supported")
    return exact


def rebin_to_rate(
    x: Any, fs_in: float, fs_out: float, axis: int = -1, keep_partial: bool = False
) -> np.ndarray:
    r"""Re-bin counts at rate ``fs_in`` into bins ``1 / fs_out`` wide by fractional-overlap integration.

    Input sample :math:`i` covers :math:`[i/f_\mathrm{in}, (i+1)/f_\mathrm{in})`, output bin :math:`k`
    covers :math:`[k/f_\mathrm{out}, (k+1)/f_\mathrm{out})`. Each sample's count is treated as spread
    uniformly over its interval and split between the output bins in proportion to the overlap:

    .. math:: y_k = \sum_i x_i \, f_\mathrm{in} \,
        \bigl|[i/f_\mathrm{in}, (i+1)/f_\mathrm{in}) \cap [k/f_\mathrm{out}, (k+1)/f_\mathrm{out})\bigr|

    Equivalently :math:`y_k = C(u_{k+1}) - C(u_k)` with :math:`C` the piecewise-linear cumulative count
    and :math:`u_k = k\, f_\mathrm{in} / f_\mathrm{out}` the bin edges in samples, which is how it is
    computed. Because the weights of every sample sum to one, spike counts are conserved exactly (up to
    float rounding). When :math:`f_\mathrm{in}/f_\mathrm{out}` is an integer the result equals
    :func:`bin_sum` with that factor. Example, 60 Hz to 25 Hz (2.4 samples per bin):
    :math:`y_0 = x_0 + x_1 + 0.4 x_2`, :math:`y_1 = 0.6 x_2 + x_3 + 0.8 x_4`.

    Args:
        x: Counts per input sample, shape ``(..., T, ...)`` with time on ``axis``. NaNs propagate into the
            bins they overlap (drop them first if needed).
        fs_in: Input sampling rate in Hz.
        fs_out: Output rate in Hz; output bins are ``1 / fs_out`` seconds wide. Usually ``fs_out <= fs_in``,
            but up-sampling is also well defined (each sample's count is shared among several bins).
        axis: The time axis.
        keep_partial: If False (default, like :func:`bin_sum`), only complete output bins are returned,
            :math:`\lfloor T f_\mathrm{out} / f_\mathrm{in} \rfloor` of them, and the counts of a trailing
            incomplete bin are dropped. If True, that incomplete last bin is kept as well, so that the total
            count is conserved for any ``T``.

    Returns:
        Counts per output bin, float64, same shape as ``x`` except the number of bins on ``axis``.

    Raises:
        TypeError, ValueError: If a rate is not a positive, finite number (:func:`spikebook.validate.rate_hz`),
            or ``fs_out`` more than a million times ``fs_in``.

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data" (scores at 25 Hz / 40 ms bins).

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    ratio = _rate_ratio(fs_in, fs_out)  # input samples per output bin, exact
    num, den = ratio.numerator, ratio.denominator
    x = np.moveaxis(as_numpy(x), axis, -1)
    n_samples = x.shape[-1]
    n_complete = (n_samples * den) // num
    n_bins = n_complete + int(keep_partial and n_complete * num < n_samples * den)
    # Bin edges in units of input samples, u_k = k * num / den, split exactly into whole + fraction.
    k = np.arange(n_bins + 1, dtype=np.int64)
    whole = np.minimum((k * num) // den, n_samples)  # (n_bins + 1,)
    frac = ((k * num) % den) / den
    frac[whole >= n_samples] = 0.0  # the partial last edge is clipped to the end of the trace
    index_at = np.minimum(whole, max(n_samples - 1, 0))  # sample that holds each edge (clipped)

    def integrate(v: np.ndarray) -> np.ndarray:
        """Integral of the piecewise-constant density v over each output bin, (..., n_bins)."""
        # Cumulative counts C(i) = sum(v[:i]) at sample edges; C(u) = C(whole) + frac * v[whole].
        cum = np.concatenate([np.zeros((*v.shape[:-1], 1)), np.cumsum(v, axis=-1)], axis=-1)  # (..., T+1)
        v_at = np.take(v, index_at, axis=-1) if n_samples else np.zeros_like(frac)
        return np.diff(cum[..., whole] + frac * v_at, axis=-1)

    # A NaN would poison the cumulative sum for every later bin: integrate with NaN as 0, then mark as NaN
    # exactly the bins that overlap a NaN sample (overlaps are >= 1/den > 0, so "> 0" is exact).
    is_nan = np.isnan(x)
    y = integrate(np.where(is_nan, 0.0, x))
    if is_nan.any():
        y[integrate(is_nan.astype(np.float64)) > 0] = np.nan
    return np.moveaxis(y, -1, axis)


def _unit_scale(x: np.ndarray) -> np.ndarray:
    """Each row of ``x`` divided by the power of two at or below its largest magnitude, into ``[-1, 1]``.

    Standardising before multiplying keeps the sums of squares of :func:`_pearson_rows` inside float64's
    range (``1e-200`` squared underflows to 0, ``1e155`` squared overflows). A power of two changes no
    mantissa, so r is bit for bit what it is without the scaling wherever that did not over- or underflow.
    """
    peak = np.abs(x).max(axis=-1, keepdims=True)
    _, exponent = np.frexp(np.where(np.isfinite(peak) & (peak > 0), peak, 1.0))  # peak = m * 2**e, m in [0.5, 1)
    return np.ldexp(x, -exponent)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Pearson r of each row of two ``(B, K)`` arrays; NaN for a row where ``x`` or ``y`` is constant."""
    if x.shape[-1] == 0:
        return np.full(x.shape[:-1], np.nan)
    x, y = _unit_scale(x), _unit_scale(y)
    dx = x - x.mean(axis=-1, keepdims=True)
    dy = y - y.mean(axis=-1, keepdims=True)
    denom = np.sqrt((dx * dx).sum(axis=-1) * (dy * dy).sum(axis=-1))
    # Constant rows (max == min, which includes fewer than 2 bins) have no defined correlation. Test the
    # values themselves, not the variance, because centring a constant can leave rounding noise.
    constant = (np.ptp(x, axis=-1) == 0) | (np.ptp(y, axis=-1) == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (dx * dy).sum(axis=-1) / denom
    r = np.clip(r, -1.0, 1.0)
    r[constant] = np.nan
    return r


def _check_pair(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    """Convert both inputs and check they have the same non-empty shape ``(..., T)``."""
    pred, truth = as_numpy(pred), as_numpy(truth)
    if pred.shape != truth.shape:
        raise ValueError(f"pred and truth must have the same shape, got {pred.shape} and {truth.shape}")
    if pred.ndim == 0 or pred.shape[-1] == 0:
        raise ValueError(f"traces must have at least one time step, got shape {pred.shape}")
    return pred, truth


def binned_correlation(
    pred: Any,
    truth: Any,
    factor: int | None = None,
    *,
    fs: float | None = None,
    bin_s: float | None = None,
) -> np.ndarray:
    r"""Pearson correlation per trace between predicted and true spikes, after summing them into bins.

    .. math:: r = \frac{\sum_k (\hat y_k - \bar{\hat y})(y_k - \bar y)}
        {\sqrt{\sum_k (\hat y_k - \bar{\hat y})^2 \, \sum_k (y_k - \bar y)^2}}

    where :math:`\hat y_k` and :math:`y_k` are the binned prediction and truth. The bins are given either
    by ``factor`` (samples per bin, :func:`bin_sum`) or by ``fs`` and ``bin_s`` (rate and bin width):
    then :func:`bin_factor` decides, and an integer ratio uses :func:`bin_sum` while a non-integer one
    (60 Hz and 40 ms) uses :func:`rebin_to_rate`. Give one or the other; with neither, ``factor=1`` (no
    binning).

    NaN rule (as in the Spikefinder scorer): per trace, the time steps where ``pred`` or ``truth`` is NaN
    are dropped *before* binning, and the remaining samples are binned as one contiguous signal.
    Undefined rule: a trace whose binned ``pred`` or binned ``truth`` is constant (every bin equal; this
    includes fewer than two bins left) gets :math:`r = \mathrm{NaN}`, never 0. Average with ``np.nanmean``
    only if excluding such traces is what you mean.

    Args:
        pred: Predicted spike counts (or rates) per sample, shape ``(..., T)``; numpy array or tensor.
        truth: True spike counts per sample, same shape as ``pred``.
        factor: Samples per bin (positive integer), e.g. 4 for 40 ms bins at 100 Hz.
        fs: Sampling rate in Hz of ``pred`` and ``truth`` (together with ``bin_s``).
        bin_s: Bin width in seconds (together with ``fs``), e.g. 0.04.

    Returns:
        Correlation per trace, float64, shape ``pred.shape[:-1]`` (a 0-d array for a single trace).

    Raises:
        ValueError: On a shape mismatch, empty traces (``T == 0``), ``factor < 1``, or when both or only
            part of ``factor`` / (``fs``, ``bin_s``) are given.

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data".

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    if fs is not None or bin_s is not None:
        if fs is None or bin_s is None:
            raise ValueError("give both fs (Hz) and bin_s (seconds), or use factor instead")
        if factor is not None:
            raise ValueError("give either factor or (fs, bin_s), not both")
        f = bin_factor(fs, bin_s)
    else:
        f = positive_int(1 if factor is None else factor, "factor")
    if isinstance(f, int):

        def binner(a: np.ndarray) -> np.ndarray:
            return bin_sum(a, f)

    else:  # non-integer samples per bin: integrate over the exact bin edges

        def binner(a: np.ndarray) -> np.ndarray:
            return rebin_to_rate(a, fs, 1.0 / bin_s)

    pred, truth = _check_pair(pred, truth)
    batch_shape = pred.shape[:-1]
    pred2 = pred.reshape(-1, pred.shape[-1])  # (B, T)
    truth2 = truth.reshape(-1, truth.shape[-1])
    nan = np.isnan(pred2) | np.isnan(truth2)
    if not nan.any():
        r = _pearson_rows(binner(pred2), binner(truth2))
    else:  # NaN patterns differ between traces, so their binned lengths do too: one trace at a time
        r = np.empty(len(pred2))
        for b, keep in enumerate(~nan):
            r[b] = _pearson_rows(binner(pred2[b : b + 1, keep]), binner(truth2[b : b + 1, keep]))[0]
    return r.reshape(batch_shape)


def spike_count_error(pred: Any, truth: Any) -> np.ndarray:
    r"""Relative error of the total spike count per trace.

    .. math:: e = \frac{\sum_t \hat s_t - \sum_t s_t}{\sum_t s_t}

    This is the count "factor" :math:`\sum \hat s / \sum s` of the original code minus one: 0 means the
    right number of spikes, -0.5 half of them, 1 twice as many. NaN-safe: time steps where ``pred`` or
    ``truth`` is NaN are left out of both sums. Rule: a trace with no true spikes in the remaining time
    steps gets NaN (the relative error is undefined), never inf.

    Args:
        pred: Predicted spike counts per sample (expected counts or rates times the sample width), shape
            ``(..., T)``.
        truth: True spike counts per sample, same shape.

    Returns:
        Relative count error per trace, float64, shape ``pred.shape[:-1]`` (dimensionless).

    Raises:
        ValueError: On a shape mismatch or empty traces.

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data".

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    pred, truth = _check_pair(pred, truth)
    keep = ~(np.isnan(pred) | np.isnan(truth))
    n_pred = np.where(keep, pred, 0.0).sum(axis=-1)
    n_true = np.where(keep, truth, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = (n_pred - n_true) / n_true
    return np.where(n_true == 0, np.nan, err)


def spikefinder_correlation(pred: Any, truth: Any, factor: int = 4) -> np.ndarray:
    r"""The official Spikefinder correlation, one value per neuron, from CSV-shaped ``(T, N)`` arrays.

    Per neuron (column) :math:`n`: drop the time steps where prediction or truth is NaN; sum the remaining
    samples into blocks of ``factor`` (:func:`bin_sum`; 4 samples = 40 ms at 100 Hz, i.e. 25 Hz);
    truncate both to equal length; Pearson r (:func:`binned_correlation`):

    .. math:: r_n = \operatorname{corr}\bigl(\mathrm{bin}_f(\hat s_n), \mathrm{bin}_f(s_n)\bigr)

    Reproduces the per-cell values of the published analysis
    (``official_results/results_24_07_17.csv``). If ``pred`` and ``truth`` have different numbers of
    rows (one submission file is one row short), the shorter is NaN-padded at the end, i.e. the missing
    rows are treated as padding, which gives the same result as the official pandas-based scorer.
    A neuron with a constant binned prediction or truth gets NaN (see :func:`binned_correlation`).

    Args:
        pred: Predicted spikes, shape ``(T_pred, N)`` (time down the rows, one neuron per column, NaN
            padding) as read by :func:`spikebook.data.spikefinder.read_spikefinder_csv`; a 1-D ``(T,)``
            array is one neuron.
        truth: True spike counts per 10 ms bin, shape ``(T_truth, N)`` (same ``N``).
        factor: Samples per bin (positive integer); 4 is the challenge's 40 ms at 100 Hz.

    Returns:
        Correlation per neuron, float64, shape ``(N,)``.

    Raises:
        ValueError: If the number of neurons differs, an input is not 1-D or 2-D, has fewer rows than
            columns (fewer time steps than neurons: a neurons × time array, which would otherwise be scored
            as one "neuron" per time step), or ``factor < 1``.

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data" (``spikefinder_eval.py``, method ``corr``).

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    pred, truth = as_numpy(pred), as_numpy(truth)
    if pred.ndim == 1:
        pred = pred[:, None]
    if truth.ndim == 1:
        truth = truth[:, None]
    if pred.ndim != 2 or truth.ndim != 2:
        raise ValueError(f"expected (T, N) arrays, got shapes {pred.shape} and {truth.shape}")
    for name, a in (("pred", pred), ("truth", truth)):
        if a.shape[0] < a.shape[1]:  # a recording has more time steps than neurons: this is (N, T)
            raise ValueError(
                f"{name} has shape {a.shape}: {a.shape[0]} time steps (rows) for {a.shape[1]} neurons (columns); "
                f"spikefinder_correlation takes the CSV layout (T, N), time down the rows. For a neurons × time "
                f"array pass {name}.T, or use binned_correlation, which takes (N, T)"
            )
    if pred.shape[1] != truth.shape[1]:
        raise ValueError(f"pred has {pred.shape[1]} neurons (columns) but truth has {truth.shape[1]}")
    n_rows = max(len(pred), len(truth))

    def pad(a: np.ndarray) -> np.ndarray:
        return np.pad(a, ((0, n_rows - len(a)), (0, 0)), constant_values=np.nan)

    # Dropping NaNs jointly leaves equal lengths, so the official "truncate" step is implied here.
    return binned_correlation(pad(pred).T, pad(truth).T, factor=factor)  # (N,)


class SpikefinderSummary(NamedTuple):
    """Dataset-level summary of per-neuron scores (see :func:`summarize`).

    Attributes:
        per_dataset: Mean score over the scored neurons of each dataset, ``{dataset: mean}``.
        n_neurons: Number of neurons with a finite score per dataset (those that enter the means).
        n_nan: Number of neurons per dataset whose score was NaN and is excluded.
        pooled: Mean over all scored neurons of all datasets (neuron-weighted; the paper's "mean over
            neurons").
        dataset_mean: Unweighted mean of the per-dataset means (every dataset counts once).
    """

    per_dataset: dict[int, float]
    n_neurons: dict[int, int]
    n_nan: dict[int, int]
    pooled: float
    dataset_mean: float


def summarize(r_by_dataset: Mapping[int, Any]) -> SpikefinderSummary:
    r"""Per-dataset and pooled means of per-neuron scores.

    .. math:: \bar r_d = \frac{1}{N_d} \sum_{n \in d} r_n, \qquad
        \bar r_\mathrm{pooled} = \frac{\sum_d \sum_{n \in d} r_n}{\sum_d N_d}, \qquad
        \bar r_\mathrm{datasets} = \frac{1}{D} \sum_d \bar r_d

    NaN rule: neurons with a NaN score (undefined correlation) are excluded from every mean and counted
    in ``n_nan``, so that the exclusion is visible. A dataset with no finite score has mean NaN and is
    left out of ``dataset_mean``.

    Args:
        r_by_dataset: Per-neuron scores keyed by dataset number, e.g. ``{1: r1, 2: r2}`` with each ``r``
            of shape ``(N_d,)`` as returned by :func:`spikefinder_correlation`.

    Returns:
        A :class:`SpikefinderSummary` with per-dataset means and counts, the pooled (neuron-weighted)
        mean and the unweighted mean over datasets.

    References:
        Berens et al. 2018, PLoS Comput Biol 14(5):e1006157, "Community-based benchmarking improves spike
        rate inference from two-photon calcium imaging data".

    Taught in: book chapter 'Spikefinder and how it is scored'.
    """
    per_dataset: dict[int, float] = {}
    n_neurons: dict[int, int] = {}
    n_nan: dict[int, int] = {}
    finite_all = []
    for dataset, r in r_by_dataset.items():
        r = as_numpy(r).ravel()
        finite = r[~np.isnan(r)]
        n_neurons[dataset] = len(finite)
        n_nan[dataset] = len(r) - len(finite)
        per_dataset[dataset] = float(finite.mean()) if len(finite) else float("nan")
        finite_all.append(finite)
    pooled_values = np.concatenate(finite_all) if finite_all else np.empty(0)
    pooled = float(pooled_values.mean()) if len(pooled_values) else float("nan")
    means = [m for m in per_dataset.values() if not np.isnan(m)]
    dataset_mean = float(np.mean(means)) if means else float("nan")
    return SpikefinderSummary(per_dataset, n_neurons, n_nan, pooled, dataset_mean)
