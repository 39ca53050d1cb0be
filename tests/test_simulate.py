"""Simulated datasets: seeds, shapes, protocol, bad configurations."""

from __future__ import annotations

import pytest
import torch

from spikebook.data.simulate import PAPER_RANGES, SimulationConfig, paper_datasets, simulate


def test_same_seed_same_data_different_seed_different_data():
    config = SimulationConfig(model="SCDF", n_cells=4, n_steps=500)
    a, b, c = simulate(config, seed=3), simulate(config, seed=3), simulate(config, seed=4)
    torch.testing.assert_close(a.fluorescence, b.fluorescence)
    assert torch.equal(a.spikes, b.spikes)
    assert not torch.equal(a.spikes, c.spikes)


@pytest.mark.parametrize("model", ["SCF", "SCDF"])
def test_protocol_shapes_rates_and_parameter_ranges(model):
    config = SimulationConfig(model=model, n_cells=30, n_steps=6000, rates_hz=(0.6, 0.9, 1.1))
    data = simulate(config, seed=0)
    assert data.fluorescence.shape == data.spikes.shape == (3, 30, 6000)
    assert set(data.spikes.unique().tolist()) <= {0.0, 1.0}
    rates = data.spikes.mean(dim=(1, 2)) * config.fs
    n = 30 * 6000
    for rate, expected in zip(rates, config.rates_hz, strict=True):
        p = expected / config.fs
        assert abs(rate / config.fs - p) < 4 * (p * (1 - p) / n) ** 0.5
    for name, (low, high) in PAPER_RANGES[model].items():
        value = getattr(data.model, name) if name != "gamma" else data.model.gamma[:, 0]
        assert value.shape == (30,)
        assert (value >= low - 1e-5).all() and (value <= high + 1e-5).all(), name
    # the fluorescence is the model's mean plus noise of the model's sigma
    residual = (data.fluorescence - data.model.mean(data.spikes)) / data.model.sigma.unsqueeze(-1)
    assert abs(residual.std().item() - 1.0) < 0.01


def test_paper_splits_are_disjoint_draws():
    splits = paper_datasets("SCF", seed=0, n_steps=100, sizes=(5, 5, 10))
    assert [s.fluorescence.shape[1] for s in splits.values()] == [5, 5, 10]
    assert not torch.equal(splits["train"].model.alpha, splits["validation"].model.alpha)


def test_bad_configurations_raise():
    with pytest.raises(ValueError, match="model"):
        SimulationConfig(model="GCaMP")
    with pytest.raises(ValueError, match="rates_hz"):
        SimulationConfig(rates_hz=(-0.5,))
    with pytest.raises(ValueError, match="positive"):
        SimulationConfig(n_steps=0)
    with pytest.raises(TypeError, match="n_cells"):
        SimulationConfig(n_cells=10.0)
    with pytest.raises(ValueError, match="low > high"):
        simulate(SimulationConfig(n_cells=2, n_steps=10), ranges={**PAPER_RANGES["SCF"], "alpha": (0.5, 0.2)})


def test_a_partial_ranges_keeps_the_papers_ranges_for_the_other_parameters():
    """Issue 33 row 15: ``ranges={"gamma": ...}`` left alpha, sigma at the class defaults (one value for all
    cells); the others now come from :data:`PAPER_RANGES`, drawn exactly as if given in full."""
    config = SimulationConfig(n_cells=20, n_steps=10)
    partial = simulate(config, seed=3, ranges={"gamma": (0.9, 0.95)})
    full = simulate(config, seed=3, ranges={**PAPER_RANGES["SCF"], "gamma": (0.9, 0.95)})
    assert torch.equal(partial.fluorescence, full.fluorescence)
    low, high = PAPER_RANGES["SCF"]["sigma"]
    sigma = partial.model.sigma
    assert sigma.unique().numel() == 20 and low <= sigma.min() and sigma.max() <= high
    assert (partial.model.gamma <= 0.95 + 1e-6).all()
    with pytest.raises(ValueError, match="ranges has parameters the SCF model lacks: 'tau'"):
        simulate(config, ranges={"tau": (0.1, 0.2)})


def test_paper_datasets_refuse_an_infinite_sampling_rate():
    """Issue 33 row 17: ``fs=inf``."""
    with pytest.raises(ValueError, match="fs must be a positive, finite number of Hz"):
        paper_datasets(fs=float("inf"), n_steps=10, sizes=(1, 1, 1))
