"""Soma + spines: the eq. (5) model, its simulation, DS-F-DEN, Foopsi-RR and multi-channel training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from torch.func import functional_call

from spikebook.baselines import foopsi_rr, remove_bap
from spikebook.data.simulate import DendriticConfig, simulate_dendritic
from spikebook.experiments.dendrites import cache, fitting, table
from spikebook.experiments.dendrites.config import QUICK
from spikebook.generative import SCDF, SCF, BernoulliPrior, Dendritic, join_events, split_events
from spikebook.generative.constraints import shared_ndims
from spikebook.recognition import DSFDEN, CNNConfig
from spikebook.training import VimcoConfig, fit_sleep, fit_vimco, per_step_log_likelihood

SMALL_CNN = CNNConfig(filters=(4, 4), widths=(5, 5), out_width=3)


def events_of(shape, p=0.05, seed=1, dtype=torch.float64):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) < p).to(dtype)


def model64(n_cells=None, n_spines=3, **kwargs):
    cells = () if n_cells is None else (n_cells,)
    g = torch.Generator().manual_seed(3)
    comp = (*cells, 1 + n_spines)
    params = {
        "gamma": 0.9 + 0.08 * torch.rand((*comp, 1), generator=g, dtype=torch.float64),
        "delta": 0.8 + 0.4 * torch.rand(comp, generator=g, dtype=torch.float64),
        "bap": 0.2 + torch.rand((*cells, n_spines), generator=g, dtype=torch.float64),
        "alpha": 0.5 + torch.rand(comp, generator=g, dtype=torch.float64),
        "beta": -0.3 + 0.2 * torch.rand(comp, generator=g, dtype=torch.float64),
        "sigma": 0.02 + 0.05 * torch.rand(comp, generator=g, dtype=torch.float64),
        "kon": torch.full(cells, 0.02, dtype=torch.float64),
        "koff": torch.full(cells, 0.3, dtype=torch.float64),
        "eta": torch.full(cells, 1.8, dtype=torch.float64),
        "D": torch.full(cells, 5.0, dtype=torch.float64),
    }
    params.update(kwargs)
    return Dendritic(n_spines, n_cells=n_cells, **params).double()


# --- generative model: oracles, gradients, known answers, bad input ------------------------------


def test_log_prob_matches_per_compartment_scdf_oracle():
    """Each compartment is an SCDF driven by its own input: the soma's spikes, a spine's δ s^s + δ_b s^c."""
    model = model64(n_spines=3)
    events = events_of((2, 4, 300))
    f = model.sample(events)
    total = torch.zeros(2, dtype=torch.float64)
    for x in range(4):
        drive = model.delta[x] * events[:, x]
        if x > 0:
            drive = drive + model.bap[x - 1] * events[:, 0]
        single = SCDF(gamma=model.gamma[x], delta=1.0, alpha=model.alpha[x], beta=model.beta[x],
                      sigma=model.sigma[x], kon=model.kon, koff=model.koff, eta=model.eta, D=model.D).double()
        total = total + single.log_prob(f[:, x], drive)
    torch.testing.assert_close(model.log_prob(f, events), total)


def test_log_prob_matches_torch_normal_and_shapes():
    model = model64(n_cells=2, n_spines=3)
    events = events_of((5, 2, 4, 200))  # (K, C, 1+S, T)
    f = model.sample(events[0])  # (C, 1+S, T), broadcast against K samples
    expected = torch.distributions.Normal(model.mean(events), model.sigma.unsqueeze(-1)).log_prob(f).sum((-2, -1))
    log_p = model.log_prob(f, events)
    assert log_p.shape == (5, 2)
    torch.testing.assert_close(log_p, expected)
    assert model.log_prob_per_step(f, events).shape == (5, 2, 4, 200)


def test_calcium_matches_loop():
    model = model64(n_spines=2)
    events = events_of((3, 150), p=0.1)
    gamma, delta, bap = model.gamma[:, 0], model.delta, model.bap
    c = torch.zeros(3, dtype=torch.float64)
    out = []
    for t in range(150):
        drive = delta * events[:, t] + torch.cat([torch.zeros(1, dtype=torch.float64), bap]) * events[0, t]
        c = gamma * c + drive
        out.append(c)
    torch.testing.assert_close(model.calcium(events), torch.stack(out, -1))


class _LogProb(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, f, events):
        return self.model.log_prob(f, events)


def test_gradcheck_log_prob_float64():
    model = model64(n_spines=2)
    events = events_of((3, 40), p=0.15)
    f = model.sample(events).detach()
    wrapper = _LogProb(model)
    names = [n for n, _ in wrapper.named_parameters()]
    raw = tuple(p.detach().clone().requires_grad_(True) for _, p in wrapper.named_parameters())

    def log_prob(*params):
        return functional_call(wrapper, dict(zip(names, params, strict=True)), (f, events))

    assert torch.autograd.gradcheck(log_prob, raw)


def test_zero_bap_spine_is_independent_of_soma():
    model = model64(n_spines=2, bap=torch.tensor([0.0, 0.7], dtype=torch.float64))
    events = events_of((3, 300), p=0.05)
    other = events.clone()
    other[0] = events_of((300,), p=0.05, seed=9)  # different somatic spikes
    m1, m2 = model.mean(events), model.mean(other)
    torch.testing.assert_close(m1[1], m2[1])  # spine 1 (bAP 0) does not see the soma
    assert not torch.allclose(m1[2], m2[2])  # spine 2 does
    assert not torch.allclose(m1[0], m2[0])


def test_one_cell_matches_its_row_of_a_multicell_model():
    many = model64(n_cells=3, n_spines=2)
    events = events_of((3, 3, 100))
    f = many.sample(events)
    cells = torch.tensor([2, 0, 2])
    per_step = per_step_log_likelihood(many, f[cells], events[cells].unsqueeze(0), cells)
    torch.testing.assert_close(per_step[0].sum((-2, -1)), many.log_prob(f, events)[cells])


def test_shared_ndims_and_events_round_trip():
    model = model64(n_cells=2, n_spines=3)
    ndims = shared_ndims(model)
    assert ndims["raw_roots"] == 2 and ndims["raw_alpha"] == 1 and ndims["raw_bap"] == 1 and ndims["raw_kon"] == 0
    assert shared_ndims(SCF())["raw_roots"] == 1
    events = events_of((2, 4, 50))
    soma, spines = split_events(events)
    assert soma.shape == (2, 50) and spines.shape == (2, 3, 50)
    torch.testing.assert_close(join_events(soma, spines), events)


def test_bad_input():
    with pytest.raises(ValueError, match="n_spines"):
        Dendritic(0)
    with pytest.raises(TypeError, match="n_spines"):
        Dendritic(3.0)
    with pytest.raises(TypeError, match="n_cells"):
        Dendritic(3, n_cells=True)
    with pytest.raises(TypeError, match="n_compartments"):
        DSFDEN(2.0)
    with pytest.raises(ValueError, match="broadcast"):
        Dendritic(3, alpha=torch.ones(5))
    model = Dendritic(3)
    with pytest.raises(ValueError, match="1\\+S"):
        model.mean(torch.zeros(3, 100))
    with pytest.raises(ValueError, match="non-negative"):
        model.mean(-torch.ones(4, 100))
    with pytest.raises(ValueError, match="time steps"):
        model.log_prob(torch.zeros(4, 99), torch.zeros(4, 100))
    with pytest.raises(ValueError):
        split_events(torch.zeros(1, 10))


# --- simulation ----------------------------------------------------------------------------------


def test_simulation_is_seeded_and_shaped():
    config = DendriticConfig(n_cells=3, n_spines=4, n_steps=600)
    a, b = simulate_dendritic(config, seed=5), simulate_dendritic(config, seed=5)
    assert a.fluorescence.shape == a.events.shape == (3, 5, 600)
    torch.testing.assert_close(a.fluorescence, b.fluorescence)
    assert not torch.equal(a.fluorescence, simulate_dendritic(config, seed=6).fluorescence)
    assert ((a.rates_hz[:, 0] >= 0.6) & (a.rates_hz[:, 0] <= 1.1)).all()
    assert ((a.model.bap >= 0.3) & (a.model.bap <= 1.0)).all()
    assert set(a.events.unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError):
        DendriticConfig(soma_rate_hz=(2.0, 1.0))


# --- DS-F-DEN ------------------------------------------------------------------------------------


def test_dsfden_contract():
    net = DSFDEN(4, SMALL_CNN)
    f = torch.randn(2, 4, 80)
    g = torch.Generator().manual_seed(0)
    draw = net.sample_and_log_prob(f, 5, g)
    assert draw.spikes.shape == (5, 2, 4, 80) and draw.log_prob.shape == (5, 2) and draw.logits.shape == (2, 4, 80)
    torch.testing.assert_close(net.log_prob(draw.spikes, f), draw.log_prob)
    samples = net.sample(f, 5, torch.Generator().manual_seed(0))
    torch.testing.assert_close(samples, draw.spikes)
    marg = net.marginals(f)
    assert marg.shape == (2, 4, 80)
    # the log-probability is the sum of independent Bernoulli terms over compartments and time
    p = marg.detach()
    s = draw.spikes[0]
    naive = (s * p.log() + (1 - s) * (1 - p).log()).sum((-2, -1))
    torch.testing.assert_close(net.log_prob(s, f)[0], naive, rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="1\\+S"):
        net(torch.randn(2, 3, 80))
    with pytest.raises(ValueError, match="binary"):
        net.log_prob(torch.full((2, 4, 80), 2.0), f)


def test_fit_vimco_and_sleep_on_soma_and_spines_smoke():
    data = simulate_dendritic(DendriticConfig(n_cells=2, n_spines=2, n_steps=400), seed=0)
    generative = Dendritic(2, n_cells=2)
    generative.raw_delta.requires_grad_(False)
    prior = BernoulliPrior(torch.tensor([[0.9, 0.6, 0.6]] * 2), 60.0)  # (C, 1+S)
    net = DSFDEN(3, SMALL_CNN)
    losses = fit_sleep(net, generative, prior, n_steps=3, batch_size=2, chunk_len=100)
    assert len(losses) == 3 and all(np.isfinite(losses))
    before = generative.raw_bap.detach().clone()
    config = VimcoConfig(k_samples=4, chunk_len=100, buffers=(20, 10), batch_size=3, n_steps=4, eval_every=2)
    result = fit_vimco(net, generative, data.fluorescence[None], config, prior=prior, progress=False)
    assert np.isfinite(result.best_bound) and len(result.history.steps) == 3
    assert not torch.equal(generative.raw_bap.detach(), before)
    with pytest.raises(ValueError, match="prior rate"):
        fit_vimco(net, generative, data.fluorescence[None], config, prior=BernoulliPrior(torch.ones(3), 60.0),
                  progress=False)


# --- Foopsi-RR -----------------------------------------------------------------------------------


def test_remove_bap_known_answer():
    rng = np.random.default_rng(0)
    soma = (rng.random((1, 3000)) < 0.03) * rng.uniform(0.5, 1.5, (1, 3000))
    local = (rng.random((1, 2, 3000)) < 0.02) * rng.uniform(0.5, 1.5, (1, 2, 3000))
    spines = np.array([0.4, 0.9])[None, :, None] * soma[:, None] + local
    out = remove_bap(soma, spines)
    np.testing.assert_allclose(out.slope, [[0.4, 0.9]], atol=1e-3)
    assert np.corrcoef(out.local[0, 0], local[0, 0])[0, 1] > 0.99
    everywhere = remove_bap(soma, spines, active=None)  # all bins, with an intercept
    assert everywhere.local.shape == local.shape and np.isfinite(everywhere.slope).all()
    with pytest.raises(ValueError):
        remove_bap(soma, spines[..., :-1])
    with pytest.raises(ValueError, match="active"):
        remove_bap(soma, spines, active=1.5)


def test_foopsi_rr_removes_the_bap_of_a_linear_model():
    """Linear (SCF) compartments, low noise: slope ≈ bAP amplitude, synaptic inputs recovered."""
    n_steps, g = 4000, torch.Generator().manual_seed(0)
    soma = (torch.rand(n_steps, generator=g) < 0.02).double()
    syn = (torch.rand(2, n_steps, generator=g) < 0.02).double()
    bap = torch.tensor([0.5, 0.0], dtype=torch.float64)
    model = SCF(gamma=0.95, alpha=1.0, beta=0.0, sigma=0.01).double()
    drive = torch.cat([soma[None], syn + bap[:, None] * soma], 0)  # (3, T)
    f = model.sample(drive, g)
    out = foopsi_rr(f, 60.0)
    assert out.soma.shape == (1, n_steps) and out.spines.shape == (1, 2, n_steps)
    # the L1 deconvolution shrinks small events more than large ones, so the ratio comes out a bit low
    np.testing.assert_allclose(out.slope[0], [0.5, 0.0], atol=0.1)
    assert np.corrcoef(out.soma[0], soma.numpy())[0, 1] > 0.9
    for j in range(2):
        assert np.corrcoef(out.spines[0, j], syn[j].numpy())[0, 1] > 0.9
    with pytest.raises(ValueError, match="soma first"):
        foopsi_rr(f[:1], 60.0)


# --- experiment ----------------------------------------------------------------------------------


def test_experiment_quick_run_summary_and_cache(tmp_path):
    config = dataclasses.replace(
        QUICK, data=DendriticConfig(n_cells=2, n_spines=2, n_steps=800),
        training=dataclasses.replace(QUICK.training, n_steps=2, eval_every=1, k_samples=4, batch_size=2),
        sleep_steps=2, sleep_batch=2, sleep_len=100, network=SMALL_CNN,
    )
    result = table.run(config, progress=False)
    assert set(result.cells["method"]) == set(table.METHODS)
    assert len(result.summary) == 4 and (result.summary["n_cells"] == 2).all()
    assert result.example["DS-F-DEN"].shape == result.example["fluorescence"].shape == (3, 720)
    assert len(result.spines) == 4
    shown = table.format_summary(result.summary)
    assert list(shown["method"]) == list(table.METHODS)
    assert cache.load_cached(tmp_path) is None
    cache.save(result, tmp_path)
    loaded = cache.load_cached(tmp_path)
    for name in ("cells", "summary", "spines"):
        pd.testing.assert_frame_equal(getattr(loaded, name), getattr(result, name), check_dtype=False, rtol=1e-5)
    assert loaded.example.keys() == result.example.keys()
    np.testing.assert_allclose(loaded.example["DS-F-DEN"], result.example["DS-F-DEN"], rtol=1e-6)


def test_fit_cell_depends_on_its_seed_alone_and_keeps_the_callers_stream():
    config = dataclasses.replace(
        QUICK, data=DendriticConfig(n_cells=1, n_spines=2, n_steps=400),
        training=dataclasses.replace(QUICK.training, n_steps=2, eval_every=1, k_samples=4, batch_size=2),
        sleep_steps=2, final_sleep_steps=1, sleep_batch=2, sleep_len=100, network=SMALL_CNN,
    )
    f = simulate_dendritic(config.data, seed=0).fluorescence[0]
    torch.manual_seed(1)
    first = fitting.fit_cell(f, config, seed=3)[0]
    after_fit = torch.rand(3)
    torch.manual_seed(1)
    torch.testing.assert_close(after_fit, torch.rand(3), rtol=0, atol=0)  # the caller's stream moved on untouched
    torch.rand(7)  # another global state: the fit must not care
    second = fitting.fit_cell(f, config, seed=3)[0]
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
