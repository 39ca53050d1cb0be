"""spikebook.signal: resampling, runs of finite samples, and the halo tiling of long traces."""

import numpy as np
import pytest

from spikebook.metrics import rebin_to_rate
from spikebook.signal import (
    RATIO_RTOL,
    Window,
    batches,
    finite_runs,
    halo_windows,
    resample,
    resample_ratio,
    to_model_rate,
    to_user_rate,
)


@pytest.mark.parametrize(
    ("trace", "runs"),
    [
        ([1.0, 2.0, 3.0], [(0, 3)]),
        ([np.nan, 1.0, 2.0, np.nan, np.nan, 3.0], [(1, 3), (5, 6)]),
        ([1.0, np.nan], [(0, 1)]),
        ([np.nan, np.nan], []),
    ],
)
def test_finite_runs(trace, runs):
    assert finite_runs(np.array(trace)) == runs


def test_finite_runs_cover_exactly_the_finite_samples():
    rng = np.random.default_rng(0)
    trace = np.where(rng.random(500) < 0.3, np.nan, rng.standard_normal(500))
    covered = np.zeros(trace.shape, dtype=bool)
    for a, b in finite_runs(trace):
        assert not covered[a:b].any() and np.isfinite(trace[a:b]).all()
        assert (a == 0 or np.isnan(trace[a - 1])) and (b == trace.size or np.isnan(trace[b]))
        covered[a:b] = True
    np.testing.assert_array_equal(covered, np.isfinite(trace))


@pytest.mark.parametrize(
    ("fs_in", "fs_out", "expected"),
    [(60.0, 100.0, (5, 3)), (100, 60, (3, 5)), (60.06, 60.0, (999, 1000)), (30.0, 30.0, (1, 1))],
)
def test_resample_ratio_known_answers(fs_in, fs_out, expected):
    assert resample_ratio(fs_in, fs_out) == expected


def test_resample_ratio_errors():
    with pytest.raises(ValueError, match="exactly enough"):
        resample_ratio(1e6, 60.0)
    with pytest.raises(ValueError, match="fs_in must be a positive, finite number of Hz"):
        resample_ratio(float("nan"), 60.0)
    with pytest.raises(TypeError, match="fs_out must be a number of Hz"):
        resample_ratio(60.0, "100")


def test_resample_refuses_a_ratio_it_cannot_approximate():
    """Issue 33 row 16: from 100 kHz to 60 Hz (3/5000) the nearest up/down with down ≤ 1000 is 1/1000."""
    with pytest.raises(ValueError, match=r"100000 Hz to 60 Hz.*1/1000.*max_denominator"):
        resample(np.ones(10_000), 100_000.0, 60.0)
    assert resample(np.ones(10_000), 100_000.0, 60.0, max_denominator=5_000).size == 6  # exact: 3/5000
    # Awkward rates are within RATIO_RTOL: the recording rate of a CASCADE file, 60.06 Hz, NTSC's 29.97 Hz.
    for fs_in in (60.06, 29.97, 1 / 0.0167):
        up, down = resample_ratio(fs_in, 100.0)
        assert up / down == pytest.approx(100.0 / fs_in, rel=RATIO_RTOL)


def test_resample_of_one_sample_is_refused_or_constant():
    """Issue 33 row 16: a line through one sample is undefined (resample_poly gives NaN): refused, by name."""
    with pytest.raises(ValueError, match=r"1 sample.*padtype='line'.*at least 2.*'median'"):
        resample(np.ones(1), 30.0, 60.0)
    np.testing.assert_array_equal(resample(np.full(1, 3.0), 30.0, 60.0, padtype="median"), [3.0, 3.0])
    np.testing.assert_array_equal(resample(np.full(1, 3.0), 30.0, 30.0), [3.0])  # same rate: a copy
    assert np.isfinite(to_model_rate(np.full(1, 0.2), 30.0, 60.0)).all()  # what infer does with a lone sample


@pytest.mark.parametrize(("m", "core", "halo"), [(10, 3, 2), (100, 7, 5), (1_000, 250, 51), (20, 100, 51), (57, 1, 0)])
def test_windows_cover_every_bin_away_from_cuts(m, core, halo):
    kept = np.zeros(m, dtype=int)
    for w in halo_windows(0, m, core, halo):
        assert 0 <= w.start and w.start + w.length <= m
        assert w.length == min(m, core + 2 * halo)
        lo = w.start + halo if w.start > 0 else 0  # a cut is a window edge that is not a segment edge
        hi = w.start + w.length - halo if w.start + w.length < m else m
        assert lo <= w.keep_from and w.keep_to <= hi
        kept[w.keep_from : w.keep_to] += 1
    assert (kept >= 1).all()


def test_batches_group_equal_lengths_and_split_evenly():
    windows = [Window(i, 0, 50, 0, 50) for i in range(150)] + [Window(150, 0, 20, 0, 20)]
    groups = list(batches(windows, 136))
    assert [len(b) for b in groups] == [75, 75, 1]  # not 136 + 14: the calls stay equally full
    assert all(len({w.length for w in b}) == 1 for b in groups)
    assert sorted(w.segment for b in groups for w in b) == list(range(151))
    assert [len(b) for b in batches(windows[:10], 3)] == [2, 3, 2, 3]  # 4 batches, sizes within 1


def test_to_user_rate_known_answers():
    rng = np.random.default_rng(0)
    p = rng.random(20) * 0.5
    # fs = 120 Hz from 60 Hz: model bin j = output bins 2j and 2j + 1, each with half its probability
    np.testing.assert_allclose(to_user_rate(p, 40, 60.0, 120.0), np.repeat(p / 2, 2), atol=1e-12)
    # fs = 30 Hz: output bin i = model bins 2i and 2i + 1
    np.testing.assert_allclose(to_user_rate(p, 10, 60.0, 30.0), p[::2] + p[1::2], atol=1e-12)
    # same rate: identity
    np.testing.assert_allclose(to_user_rate(p, 20, 60.0, 60.0), p, atol=1e-12)


@pytest.mark.parametrize("fs", [7.8125, 25.0, 30.0, 100.0, 120.0, 59.94])
def test_to_user_rate_preserves_counts(fs):
    rng = np.random.default_rng(1)
    n = 150
    m = to_model_rate(np.zeros(n), fs, 60.0).shape[0]
    p = rng.random(m) * 0.3
    counts = to_user_rate(p, n, 60.0, fs)
    assert counts.shape == (n,) and (counts >= 0).all()
    # the total is kept up to the share of the last model bin that lies beyond the segment
    assert -1e-9 <= p.sum() - counts.sum() <= p[-1] + 1e-9
    if fs >= 60.0:
        assert counts.max() <= p.max() + 1e-12  # still probabilities
    # the same convention as the metrics' re-binning (complete bins)
    complete = rebin_to_rate(p, 60.0, fs)
    np.testing.assert_allclose(counts[: complete.shape[0]], complete, atol=1e-12)


def test_to_model_rate_is_polyphase_and_aligned():
    fs, T = 30.0, 600
    t = np.arange(T) / fs
    f = np.sin(2 * np.pi * 0.5 * t)  # 0.5 Hz, far below both Nyquist rates
    g = to_model_rate(f, fs, 60.0)
    assert g.shape == (2 * T,)
    t60 = np.arange(2 * T) / 60.0
    interior = slice(100, 2 * T - 100)
    np.testing.assert_allclose(g[interior], np.sin(2 * np.pi * 0.5 * t60[interior]), atol=1e-3)
