"""The supervised MLphys fit of the GCaMP6 diagnostic recovers known parameters from simulated traces."""

from __future__ import annotations

import pytest
import torch

from spikebook.experiments import gcamp_mlphys as gm
from spikebook.generative import MLphys

TRUE = {"tau_decay": 0.5, "tau_on": 0.07, "alpha": 0.12, "eta": 1.0, "c0": 1.0, "omega": 0.05}


def test_fit_given_spikes_recovers_the_simulating_parameters():
    gen = torch.Generator().manual_seed(0)
    n, t, fs = 3, 4_000, 60.0
    truth = MLphys(**{k: torch.full((n,), v) for k, v in TRUE.items()}, beta=torch.zeros(n),
                   sigma=torch.full((n,), 0.02), fs=fs, delay=torch.full((n,), 0.3))
    spikes = (torch.rand(n, t, generator=gen) < 1.0 / fs).float()  # 1 Hz
    with torch.no_grad():
        f = truth.sample(spikes, generator=gen)
    start = MLphys(tau_decay=torch.full((n,), 1.0), tau_on=torch.full((n,), 0.03), alpha=torch.full((n,), 0.2),
                   eta=torch.ones(n), c0=torch.ones(n), omega=torch.full((n,), 0.05), beta=torch.zeros(n),
                   sigma=torch.full((n,), 0.05), fs=fs, delay=torch.full((n,), 0.5))
    model = gm.fit_given_spikes(start, f, spikes, steps=800)
    fitted = gm.parameters(model)
    assert fitted.shape == (n, len(gm.PARAMETERS))
    one = torch.zeros(n, 120)
    one[:, 10] = 1.0
    with torch.no_grad():  # the response to one spike is what the fit has to get right
        torch.testing.assert_close(model.mean(one), truth.mean(one), atol=0.01, rtol=0.0)
    assert fitted.tau_decay.median() == pytest.approx(TRUE["tau_decay"], rel=0.15)
    assert fitted.tau_on.median() == pytest.approx(TRUE["tau_on"], rel=0.25)
    assert fitted.sigma.median() == pytest.approx(0.02, rel=0.1)


def test_parameters_reads_back_the_constructor_values():
    model = MLphys(**{k: torch.tensor([v, 2 * v]) for k, v in TRUE.items()}, beta=torch.zeros(2),
                   sigma=torch.tensor([0.1, 0.2]), fs=30.0)
    table = gm.parameters(model)
    for k, v in TRUE.items():
        assert table[k].tolist() == pytest.approx([v, 2 * v], rel=1e-5)
    assert table.delay.isna().all()  # eq. (4) as printed has no delay
    delayed = MLphys(tau_on=0.01, omega=1e-6, fs=30.0, delay=torch.tensor([0.2, 0.7]))
    assert gm.parameters(delayed).delay.tolist() == pytest.approx([0.2, 0.7], rel=1e-5)
    linear = MLphys(tau_decay=0.5, tau_on=0.01, alpha=0.3, eta=1.0, omega=1e-6, beta=0.0, sigma=0.1, fs=30.0)
    assert gm.parameters(linear).peak_1ap.item() == pytest.approx(0.3 * 1.0, rel=0.05)  # fast rise: ~alpha
    assert gm.parameters(linear).ratio_2ap.item() == pytest.approx(1.0, rel=1e-4)
    # Hill exponent 2 from c0 = 1, no saturation, instant rise: peak drives (1 + 1)^2 - 1 = 3 and (1 + 2)^2 - 1 = 8, ratio 8 / 6
    hill = MLphys(tau_decay=0.5, tau_on=0.001, alpha=0.3, eta=2.0, c0=1.0, omega=1e-6, beta=0.0, sigma=0.1, fs=30.0)
    assert gm.parameters(hill).ratio_2ap.item() == pytest.approx(8 / 6, rel=1e-4)


def test_fit_given_spikes_rejects_mismatched_shapes():
    model = MLphys(fs=60.0)
    with pytest.raises(ValueError, match="both be"):
        gm.fit_given_spikes(model, torch.zeros(2, 100), torch.zeros(2, 99))
