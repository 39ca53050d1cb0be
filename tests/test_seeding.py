"""Tests of spikebook.seeding: a seeded block depends on the seed alone and restores the caller's stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikebook import training
from spikebook.seeding import numpy_seeded, seeded


def _weights() -> dict[str, torch.Tensor]:
    return torch.nn.Linear(4, 3).state_dict()  # drawn from torch's global CPU generator


def test_seeded_makes_initial_weights_depend_on_the_seed_alone() -> None:
    torch.manual_seed(123)
    with seeded(7):
        first = _weights()
    after = torch.rand(3)
    torch.rand(5)  # the global stream moves on; seeded(7) must not care
    with seeded(7):
        second = _weights()
    with seeded(8):
        other = _weights()
    for k, v in first.items():
        torch.testing.assert_close(second[k], v, rtol=0, atol=0)
    assert any(not torch.equal(other[k], v) for k, v in first.items())
    torch.manual_seed(123)
    torch.testing.assert_close(torch.rand(3), after, rtol=0, atol=0)  # the caller's stream is restored
    assert training.seeded is seeded  # one home, re-exported by spikebook.training


def test_seeded_none_forks_the_callers_stream_without_reseeding() -> None:
    torch.manual_seed(5)
    with seeded(None):
        inside = torch.rand(3)
    after = torch.rand(3)
    torch.manual_seed(5)
    torch.testing.assert_close(inside, torch.rand(3), rtol=0, atol=0)  # the caller's stream, not a reseed
    torch.manual_seed(5)
    torch.testing.assert_close(after, torch.rand(3), rtol=0, atol=0)  # ... and not advanced by the block


def test_numpy_seeded_seeds_the_legacy_global_rng_and_restores_it() -> None:
    np.random.seed(11)
    with numpy_seeded(3):
        first = np.random.normal(size=4)
    after = np.random.normal(size=2)
    with numpy_seeded(3):
        np.testing.assert_array_equal(np.random.normal(size=4), first)
    np.random.seed(11)
    np.testing.assert_array_equal(np.random.normal(size=2), after)  # restored
    np.random.seed(11)
    with numpy_seeded(None):  # no seed: the block draws from the caller's stream
        untouched = np.random.normal(size=2)
    np.testing.assert_array_equal(untouched, after)


@pytest.mark.parametrize("context", [seeded, numpy_seeded])
@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_bad_seeds_are_refused_before_the_block_runs(context, seed) -> None:
    with pytest.raises((TypeError, ValueError), match="seed"), context(seed):
        pytest.fail("the block must not run")
