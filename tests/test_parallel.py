"""map_unordered: every job once, results keyed by job, the same in one process as in several."""

from __future__ import annotations

import math

import pytest

from spikebook.experiments.parallel import map_unordered


@pytest.mark.parametrize("workers", [1, 2])
def test_every_job_once_with_its_result(workers):
    jobs = [(n,) for n in (5, 0, 7, 3)]
    out = dict(map_unordered(math.factorial, jobs, workers))
    assert out == {0: 120, 1: 1, 2: 5040, 3: 6}


def test_serial_runs_in_order_and_lazily():
    calls = []

    def record(x):
        calls.append(x)
        return -x

    results = map_unordered(record, [(1,), (2,), (3,)], 1)
    assert calls == []  # nothing runs before iteration
    assert list(results) == [(0, -1), (1, -2), (2, -3)] and calls == [1, 2, 3]


@pytest.mark.parametrize(("workers", "error"), [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_workers_rejected_before_any_job(workers, error):
    with pytest.raises(error, match="workers"):
        map_unordered(math.factorial, [(1,)], workers)
