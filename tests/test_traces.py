"""spikebook.traces: the one validation of user traces and rates, and the runs of finite samples."""

import numpy as np
import pytest
import torch

from spikebook.traces import as_traces, check_rate, finite_runs, resample_ratio


def test_as_traces_shapes_dtypes_and_views():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out, squeeze = as_traces(x)
    assert out is x or np.shares_memory(out, x)
    assert not squeeze and out.dtype == np.float32
    one, squeeze = as_traces(x[0])
    assert squeeze and one.shape == (1, 3)
    from_tensor, _ = as_traces(torch.tensor(x, dtype=torch.float64, requires_grad=True))
    np.testing.assert_array_equal(from_tensor, x)


def test_integer_traces_only_where_nan_cannot_be_asked_for():
    counts = np.array([[3, 5, 4], [1, 0, 2]], dtype=np.uint16)
    out, _ = as_traces(counts, "f", allow_nan=False)
    assert out.dtype == np.float64 and np.array_equal(out, counts)
    with pytest.raises(TypeError, match="floating-point"):
        as_traces(counts)
    with pytest.raises(TypeError, match="real-valued"):
        as_traces(np.array([True, False]), "f", allow_nan=False)


def test_as_traces_nan_padding_and_its_refusal():
    x = np.array([[0.1, 0.2, np.nan], [0.3, np.nan, 0.4]])
    assert as_traces(x)[0] is x  # padding is allowed by default
    with pytest.raises(ValueError, match=r"f \[0, 1\] contain NaN"):
        as_traces(x, "f", allow_nan=False)
    with pytest.raises(ValueError, match=r"traces \[1\] are all NaN"):
        as_traces(np.array([[0.1, 0.2], [np.nan, np.nan]]))


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (np.arange(4), TypeError, r"calcium\.astype"),
        (np.array([True, False]), TypeError, "floating-point"),
        (np.zeros((1, 2, 3)), ValueError, "3-D"),
        (np.zeros((3, 0)), ValueError, "empty"),
        (np.zeros(0), ValueError, "empty"),
        (np.array([0.0, -np.inf]), ValueError, "inf"),
    ],
)
def test_as_traces_errors(bad, error, match):
    with pytest.raises(error, match=match):
        as_traces(bad, "calcium")


def test_check_rate():
    assert check_rate("fs", np.int64(100)) == 100.0 and isinstance(check_rate("fs", 60), float)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fs must be a positive, finite number of Hz"):
            check_rate("fs", bad)
    for bad in ("60", True, None):
        with pytest.raises(TypeError, match="number of Hz"):
            check_rate("fs", bad)


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
    with pytest.raises(ValueError, match="ratio below 1/1000"):
        resample_ratio(1e6, 60.0)
    with pytest.raises(ValueError, match="fs_in must be a positive, finite number of Hz"):
        resample_ratio(float("nan"), 60.0)
    with pytest.raises(TypeError, match="fs_out must be a number of Hz"):
        resample_ratio(60.0, "100")
