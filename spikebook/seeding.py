"""Seeded random streams: the one home of the package's seeding helpers.

Randomness in spikebook is explicit: simulators and training loops take a seed and draw from their own
``torch.Generator``. Two kinds of code draw from a *global* stream instead, and these context managers
make them depend on a seed alone while leaving the caller's stream as it was:

* network constructors draw their initial weights from torch's global CPU generator (:func:`seeded`);
* OASIS draws from numpy's legacy global RNG (:func:`numpy_seeded`): its AR estimator replaces roots
  outside (0, 1) by ``0.95`` or ``0.15`` plus ``np.random.normal(0, 0.01)`` noise.

The lowest layer of the package: it imports only numpy, torch and :mod:`spikebook.validate`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch

from spikebook.validate import non_negative_int

__all__ = ["numpy_seeded", "seeded"]


@contextlib.contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Run the block with torch's global CPU generator seeded by ``seed``, restored afterwards.

    Building a network inside ``with seeded(seed):`` makes its initial weights depend on ``seed`` alone, not
    on what ran before in the process, and leaves the caller's random stream untouched.

    Args:
        seed: A non-negative int; ``None`` runs the block on a fork of the caller's stream (draws inside do
            not advance it) without reseeding.
    """
    if seed is not None:
        seed = non_negative_int(seed, "seed")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def numpy_seeded(seed: int | None) -> Iterator[None]:
    """Run the block with numpy's legacy global RNG seeded by ``seed``, the caller's state restored after it.

    Args:
        seed: A non-negative int below :math:`2^{32}` (numpy's limit); ``None`` leaves the global RNG alone
            (draws inside advance the caller's stream).
    """
    if seed is None:
        yield
        return
    seed = non_negative_int(seed, "seed")
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)
