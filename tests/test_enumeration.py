"""Enumeration helpers: completeness and agreement with a brute-force sum."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from spikebook.enumeration import all_spike_trains, exact_posterior
from spikebook.generative import SCF, BernoulliPrior


def test_all_trains_are_distinct_and_complete():
    trains = all_spike_trains(5)
    assert trains.shape == (32, 5)
    assert {tuple(row.int().tolist()) for row in trains} == set(itertools.product((0, 1), repeat=5))


def test_exact_posterior_matches_brute_force():
    torch.set_default_dtype(torch.float64)
    try:
        model, prior = SCF(gamma=0.9, alpha=1.0, beta=0.0, sigma=0.3), BernoulliPrior(6.0, 60.0)
        f = model.sample(torch.tensor([0.0, 1.0, 0.0, 0.0, 1.0, 0.0]))
        exact = exact_posterior(model, prior, f)
        total = sum(
            math.exp(model.log_prob(f, s).item() + prior.log_prob(s).item())
            for s in (torch.tensor(bits, dtype=torch.float64) for bits in itertools.product((0, 1), repeat=6))
        )
        assert exact.log_evidence.item() == pytest.approx(math.log(total), rel=1e-12)
        assert exact.posterior.sum().item() == pytest.approx(1.0, rel=1e-12)
        assert exact.marginals.shape == (6,)
    finally:
        torch.set_default_dtype(torch.float32)


def test_bad_sizes_raise():
    with pytest.raises(ValueError, match="enumeration"):
        all_spike_trains(0)
    with pytest.raises(ValueError, match="enumeration"):
        all_spike_trains(30)
    with pytest.raises(ValueError, match="one trace"):
        exact_posterior(SCF(), BernoulliPrior(1.0, 60.0), torch.zeros(2, 4))


def test_exact_posterior_reads_any_array_and_refuses_huge_traces():
    """Issue 33 row 24: numpy, integer and float16 input is read as float64; f = 1e30 is refused, not NaN."""
    import numpy as np

    model, prior = SCF(), BernoulliPrior(1.0, 60.0)
    reference = exact_posterior(model, prior, torch.tensor([0.0, 1.0, 0.0, 2.0], dtype=torch.float64)).marginals
    for f in (np.array([0.0, 1.0, 0.0, 2.0]), torch.tensor([0, 1, 0, 2]), torch.tensor([0.0, 1.0, 0.0, 2.0]).half()):
        torch.testing.assert_close(exact_posterior(model, prior, f).marginals, reference)
    for dtype in (torch.float32, torch.float64):
        with pytest.raises(ValueError, match="too large"):
            exact_posterior(model, prior, torch.full((4,), 1e30, dtype=dtype))
    with pytest.raises(ValueError, match="NaN or infinite"):
        exact_posterior(model, prior, torch.tensor([0.0, float("nan")]))
