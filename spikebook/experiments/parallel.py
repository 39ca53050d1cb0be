"""Run independent per-cell fits in parallel processes: what the per-cell experiments share.

Taught in: book chapters "Amortization" and "Dendritic spines" (their ``workers`` option).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import torch

from spikebook.validate import positive_int

__all__ = ["map_unordered"]


def _with_threads(threads: int, fn: Callable[..., Any], *args: Any) -> Any:
    torch.set_num_threads(threads)
    return fn(*args)


def map_unordered(fn: Callable[..., Any], jobs: Sequence[tuple], workers: int = 1) -> Iterator[tuple[int, Any]]:
    """``fn(*job)`` for every job, yielded as ``(index, result)`` in the order the jobs finish.

    With ``workers == 1`` the jobs run here, one after the other (in order). Otherwise each runs in one of
    ``workers`` *spawned* processes (CUDA cannot be forked) with torch's current thread count; ``fn`` and
    the jobs must be picklable (a module-level function and tensors or arrays). Results depend on
    ``workers`` only if ``fn`` draws from a global random state: seed inside ``fn``.

    Args:
        fn: The work of one job.
        jobs: Argument tuples, one per job.
        workers: Processes at once (positive int).

    Raises:
        TypeError: if ``workers`` is not an int.
        ValueError: if ``workers`` is below 1.
    """
    workers = positive_int(workers, "workers")  # checked here, not at the first iteration
    if workers == 1:
        return ((i, fn(*job)) for i, job in enumerate(jobs))
    return _in_processes(fn, jobs, workers)


def _in_processes(fn: Callable[..., Any], jobs: Sequence[tuple], workers: int) -> Iterator[tuple[int, Any]]:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = {pool.submit(_with_threads, torch.get_num_threads(), fn, *job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            yield futures[future], future.result()
