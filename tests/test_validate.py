"""spikebook.validate: the one home of argument checks, each error naming the argument and the value."""

import numpy as np
import pytest
import torch

from spikebook.validate import (
    as_traces,
    finite,
    finite_trace,
    non_negative_int,
    one_of,
    positive,
    positive_int,
    rate_hz,
)


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


def test_rate_hz():
    assert rate_hz(np.int64(100), "fs") == 100.0 and isinstance(rate_hz(60, "fs"), float)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="fs must be a positive, finite number of Hz"):
            rate_hz(bad, "fs")
    for bad in ("60", True, None):
        with pytest.raises(TypeError, match="number of Hz"):
            rate_hz(bad, "fs")


def test_integer_checks_name_the_argument_and_refuse_bools_floats_and_out_of_range():
    assert positive_int(np.int64(3), "n") == 3 and isinstance(positive_int(np.int64(3), "n"), int)
    assert non_negative_int(0, "seed") == 0
    for bad, error in ((0, ValueError), (-2, ValueError), (True, TypeError), (2.0, TypeError), ("3", TypeError)):
        with pytest.raises(error, match=r"n must be a positive int"):
            positive_int(bad, "n")
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        non_negative_int(-1, "seed")


def test_float_checks():
    assert positive(np.float32(0.5), "lr") == 0.5 and finite(-3, "beta") == -3.0
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="lr must be positive"):
            positive(bad, "lr")
    for bad in (float("inf"), float("nan")):
        with pytest.raises(ValueError, match="lr must be finite"):
            positive(bad, "lr")
    with pytest.raises(TypeError, match="beta must be a real number"):
        finite(True, "beta")
    assert one_of("a", ("a", "b"), "mode") == "a"
    with pytest.raises(ValueError, match="mode must be one of 'a', 'b'; got 'c'"):
        one_of("c", ("a", "b"), "mode")


def test_finite_trace():
    np.testing.assert_array_equal(finite_trace([1, 2]), [1.0, 2.0])
    for bad in ([], [[1.0]], [1.0, np.nan], [np.inf]):
        with pytest.raises(ValueError, match="f "):
            finite_trace(bad)


def test_as_traces_reads_masked_samples_as_nan() -> None:
    """Issue 33 row 25: a masked array's masked samples are missing (NaN), not silently used."""
    x = np.ma.masked_array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], mask=[[0, 1, 0], [0, 0, 0]])
    array, squeeze = as_traces(x)
    assert not squeeze and not isinstance(array, np.ma.MaskedArray)
    np.testing.assert_array_equal(array, [[1.0, np.nan, 3.0], [4.0, 5.0, 6.0]])
