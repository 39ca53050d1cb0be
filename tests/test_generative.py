"""Generative models: oracles, gradients, known answers, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import torch

from spikebook.generative import SCDF, SCF, BernoulliPrior, Dendritic, MLphys, hill_from_polynomial
from spikebook.generative.constraints import POSITIVE, REAL, UNIT_INTERVAL, Constrained
from spikebook.generative.drift import predicted_variance
from spikebook.generative.dynamics import first_order_scan


@pytest.fixture(autouse=True)
def _float64():
    """Exact comparisons in double precision; restore the default afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def spike_train(shape, p=0.05, seed=1):
    return (torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) < p).double()


# --- oracles -------------------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [[0.95], [1.5, -0.56], [1.7, -0.72]])
def test_scf_calcium_matches_lfilter(gamma):
    spikes = spike_train((3, 500), p=0.1)
    model = SCF(gamma=gamma, delta=1.3)
    expected = scipy.signal.lfilter([1.3], [1.0, *(-np.array(gamma))], spikes.numpy(), axis=-1)
    np.testing.assert_allclose(model.calcium(spikes).detach().numpy(), expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.gamma.detach().numpy(), gamma, atol=1e-12)


def test_time_varying_scan_matches_loop():
    u, g = torch.randn(4, 300), torch.rand(4, 300)
    x, prev = [], torch.zeros(4)
    for t in range(300):
        prev = g[:, t] * prev + u[:, t]
        x.append(prev)
    torch.testing.assert_close(first_order_scan(u, g), torch.stack(x, -1))


@pytest.mark.parametrize("make", [SCF, SCDF, MLphys])
def test_log_prob_matches_torch_normal(make):
    model = make(sigma=0.07)
    spikes = spike_train((2, 3, 200))
    f = model.sample(spikes)
    expected = torch.distributions.Normal(model.mean(spikes), model.sigma).log_prob(f).sum(-1)
    torch.testing.assert_close(model.log_prob(f, spikes), expected)


def test_per_cell_parameters_broadcast_over_samples():
    model = SCF(gamma=torch.tensor([[0.9], [0.97]]), alpha=torch.tensor([0.3, 0.5]), sigma=torch.tensor([0.1, 0.2]))
    spikes = spike_train((5, 2, 100))  # (K, C, T)
    f = model.sample(spikes[0])  # (C, T) broadcasts against K samples
    log_p = model.log_prob(f, spikes)
    assert log_p.shape == (5, 2)
    single = SCF(gamma=0.97, alpha=0.5, sigma=0.2)
    torch.testing.assert_close(log_p[:, 1], single.log_prob(f[1], spikes[:, 1]))


# --- gradients -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: SCF(gamma=[1.6, -0.63], alpha=torch.tensor([0.3, 0.4])),
        lambda: SCDF(kon=0.05, eta=torch.tensor([1.5, 2.5]), sigma=0.05),
        lambda: SCDF(kon=0.05, sigma=0.05, euler=True),
        lambda: MLphys(tau_on=0.05, eta=torch.tensor([0.8, 1.4]), omega=0.5, sigma=0.05),
        lambda: MLphys(tau_on=0.05, eta=1.2, euler=True, sigma=0.05),
        lambda: MLphys(tau_on=0.05, eta=1.3, omega=0.5, sigma=0.05, delay=torch.tensor([0.3, 0.6])),
        lambda: MLphys(tau_on=0.05, eta=1.3, sigma=torch.tensor([0.05, 0.08]), drift=torch.tensor([0.01, 0.03])),
    ],
    ids=["SCF-AR2", "SCDF", "SCDF-euler", "MLphys", "MLphys-euler", "MLphys-delay", "MLphys-drift"],
)
def test_gradcheck_log_prob_all_parameters(make):
    """d log p / d raw parameter, for every parameter, against finite differences."""
    model = make()
    spikes = spike_train((2, 40), p=0.2)
    f = model.sample(spikes).detach()
    names = [name for name, _ in model.named_parameters()]
    assert {"raw_alpha", "raw_beta", "raw_sigma", "raw_roots"} <= set(names)

    def log_prob(*raw):
        for name, value in zip(names, raw, strict=True):
            model._parameters[name] = value  # swap in the gradcheck inputs as the raw parameters
        return model.log_prob(f, spikes)

    inputs = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    assert torch.autograd.gradcheck(log_prob, inputs)


# --- known answers -------------------------------------------------------------------------


def test_scf_impulse_response_closed_form():
    alpha, delta, gamma, beta = 0.4, 1.5, 0.93, -0.3
    spikes = torch.zeros(50)
    spikes[0] = 1
    model = SCF(gamma=gamma, delta=delta, alpha=alpha, beta=beta)
    t = torch.arange(50, dtype=torch.float64)
    torch.testing.assert_close(model.mean(spikes) - beta, alpha * delta * gamma**t)


def test_scf_time_constants_round_trip():
    model = SCF.from_time_constants(torch.tensor([0.5, 1.2]), fs=60.0, tau_rise=torch.tensor([0.05, 0.1]))
    torch.testing.assert_close(model.time_constants(60.0), torch.tensor([[0.5, 0.05], [1.2, 0.1]]))


def _ar2_impulse_response(gamma1, gamma2, n_steps):
    """Direct float64 AR(2) recursion h_t = gamma1 h_{t-1} + gamma2 h_{t-2} + [t == 0]."""
    h = [0.0, 0.0]
    for t in range(n_steps):
        h.append(gamma1 * h[-1] + gamma2 * h[-2] + (1.0 if t == 0 else 0.0))
    return torch.tensor(h[2:])


def _impulse(n_steps):
    spikes = torch.zeros(n_steps)
    spikes[0] = 1
    return spikes


@pytest.mark.parametrize("root", [0.1, 0.5, 0.8, 0.95, 0.999])
def test_scf_critically_damped_kernel_is_exact(root):
    """A repeated real root (gamma = (2r, -r^2)) is accepted and its kernel is delta (t+1) r^t."""
    n_steps, delta = 400, 1.3
    gamma = [1.6, -0.64] if root == 0.8 else [2 * root, -root * root]
    model = SCF(gamma=gamma, delta=delta)
    torch.testing.assert_close(model.roots.detach(), torch.tensor([root, root]), rtol=0, atol=1e-12)
    torch.testing.assert_close(model.gamma.detach(), torch.tensor(gamma), rtol=0, atol=1e-12)
    t = torch.arange(n_steps, dtype=torch.float64)
    kernel = model.calcium(_impulse(n_steps)).detach()
    tiny = 1e-300  # r = 0.1 underflows into subnormals, where rounding is absolute
    torch.testing.assert_close(kernel, delta * (t + 1) * root**t, rtol=1e-12, atol=tiny)
    torch.testing.assert_close(kernel, delta * _ar2_impulse_response(*gamma, n_steps), rtol=1e-10, atol=tiny)


def test_repeated_root_tolerance_follows_the_dtype_of_gamma():
    """Rounding (1.8, -0.81) to float32 leaves the roots 1e-4 off the real axis: still the double root 0.9."""
    model = SCF(gamma=torch.tensor([1.8, -0.81], dtype=torch.float32))
    assert model.roots.dtype == torch.float32
    torch.testing.assert_close(model.roots.detach(), torch.full((2,), 0.9, dtype=torch.float32))
    with pytest.raises(ValueError, match="complex"):
        SCF(gamma=torch.tensor([1.8, -0.81 - 1e-4], dtype=torch.float32))


@pytest.mark.parametrize("relative", [0.0, 1e-9, -1e-9], ids=["equal", "rise+1e-9", "rise-1e-9"])
def test_from_time_constants_equal_or_nearly_equal_taus_is_exact(relative):
    """tau_rise at or within 1e-9 of tau_decay: the kernel matches the direct recursion and the
    cancellation-free closed form r2^t expm1((t+1) L) / expm1(L), L = log(r1 / r2)."""
    n_steps, fs, tau, delta = 600, 60.0, 0.4, 1.3
    model = SCF.from_time_constants(tau_decay=tau, fs=fs, tau_rise=tau * (1 + relative), delta=delta)
    r1, r2 = (float(r) for r in model.roots.detach())
    assert abs(r1 - r2) < 1e-9
    kernel = model.calcium(_impulse(n_steps)).detach()
    direct = delta * _ar2_impulse_response(r1 + r2, -r1 * r2, n_steps)
    torch.testing.assert_close(kernel, direct, rtol=1e-10, atol=0)
    t = torch.arange(n_steps, dtype=torch.float64)
    if r1 == r2:
        closed = (t + 1) * r1**t
    else:
        log_ratio = math.log1p((r1 - r2) / r2)
        closed = r2**t * torch.expm1((t + 1) * log_ratio) / math.expm1(log_ratio)
    torch.testing.assert_close(kernel, delta * closed, rtol=1e-13, atol=0)
    rebuilt = SCF(gamma=model.gamma.detach(), delta=delta)  # near-double root through roots_from_gamma
    torch.testing.assert_close(rebuilt.calcium(_impulse(n_steps)).detach(), kernel, rtol=1e-10, atol=0)


@pytest.mark.parametrize("gamma", [[1.6, -0.7], [1.6, -0.64 - 1e-10], [[1.5, -0.56], [1.6, -0.7]]])
def test_truly_complex_roots_still_raise(gamma):
    with pytest.raises(ValueError, match="complex roots"):
        SCF(gamma=gamma)


def test_repeated_root_log_prob_sample_and_gradients():
    spikes = spike_train((2, 3, 300), p=0.05)
    models = [
        SCF(gamma=[1.6, -0.64], sigma=0.05),
        SCDF(gamma=[1.6, -0.64], sigma=0.05),
        SCF(gamma=[[1.6, -0.64], [1.5, -0.56], [1.8, -0.81]], sigma=0.05),
    ]
    for model in models:
        f = model.sample(spikes, torch.Generator().manual_seed(0)).detach()
        log_prob = model.log_prob(f, spikes)
        expected = torch.distributions.Normal(model.mean(spikes), model.sigma.unsqueeze(-1)).log_prob(f).sum(-1)
        torch.testing.assert_close(log_prob, expected)
        log_prob.sum().backward()
        assert torch.isfinite(model.raw_roots.grad).all() and (model.raw_roots.grad != 0).all()
    dendritic = Dendritic(n_spines=2, gamma=[1.6, -0.64])
    torch.testing.assert_close(dendritic.roots.detach(), torch.full((3, 2), 0.8), rtol=0, atol=1e-12)
    events = spike_train((4, 3, 200), p=0.05)
    assert torch.isfinite(dendritic.log_prob(dendritic.sample(events), events)).all()


def _mean_rise(model, rate_hz, fs=60.0, n_steps=3000):
    spikes = BernoulliPrior(rate_hz, fs).sample((20, n_steps), torch.Generator().manual_seed(3))
    return (model.mean(spikes) - model.beta).mean()


def test_scdf_saturates_at_high_rates_and_stays_bounded():
    model = SCDF(kon=0.05, koff=0.1, eta=2.0, D=6.0)
    low, high = _mean_rise(model, 10.0), _mean_rise(model, 20.0)
    assert high < 1.9 * low
    linear = SCF(gamma=0.95, alpha=0.9)
    assert _mean_rise(linear, 20.0) / _mean_rise(linear, 10.0) > 1.9  # the linear model does double
    burst = torch.ones(500) * 3.0  # extreme calcium: rates far above 1 per step
    for euler in (False, True):
        d = SCDF(kon=5.0, koff=2.0, D=6.0, euler=euler).indicator(burst)
        assert (d >= 0).all() and (d <= 6.0 + 1e-12).all()


def test_scdf_facilitation_supralinear_pairs():
    model = SCDF(kon=0.002, koff=0.1, eta=2.0)
    one, two = torch.zeros(200), torch.zeros(200)
    one[10] = 1
    two[10] = 2
    rise = lambda s: (model.mean(s) - model.beta).max()
    assert rise(two) > 3.0 * rise(one)  # Hill exponent 2: two spikes give ~4x one spike


@pytest.mark.parametrize("make", [lambda e: SCDF(kon=0.05, euler=e), lambda e: MLphys(tau_on=0.2, euler=e)])
def test_exact_and_euler_agree_as_step_shrinks(make):
    """Refine the grid: the Euler and exact updates converge at first order."""
    errors = []
    for refine in (1, 4, 16):
        exact, euler = make(False), make(True)
        for m in (exact, euler):
            if isinstance(m, MLphys):
                m.fs = 60.0 * refine
                m.roots = torch.tensor([math.exp(-1.0 / (1.0 * 60 * refine))])
            else:
                m.kon, m.koff = m.kon / refine, m.koff / refine
                m.roots = m.roots ** (1.0 / refine)
        spikes = torch.zeros(60 * refine)
        spikes[::refine * 6] = 1
        errors.append((exact.indicator(spikes) - euler.indicator(spikes)).abs().max().item())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < errors[0] / 8  # first order: ~4x smaller per 4x refinement


def test_bernoulli_prior_log_prob_closed_form():
    prior = BernoulliPrior(0.9, 60.0)
    spikes = torch.zeros(100)
    spikes[[3, 50]] = 1
    p = 0.9 / 60
    torch.testing.assert_close(prior.log_prob(spikes), torch.tensor(2 * math.log(p) + 98 * math.log1p(-p)))
    draws = prior.sample((200, 1000), torch.Generator().manual_seed(0))
    assert abs(draws.mean().item() - p) < 4 * math.sqrt(p * (1 - p) / draws.numel())


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_raises():
    model = SCF()
    spikes = torch.zeros(2, 100)
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(torch.full((2, 100), float("nan")), spikes)
    with pytest.raises(ValueError, match="same number of time steps"):
        model.log_prob(torch.zeros(2, 99), spikes)
    with pytest.raises(ValueError, match="broadcast"):
        model.log_prob(torch.zeros(3, 100), spikes)
    with pytest.raises(ValueError, match="non-negative"):
        model.mean(-spikes - 1)
    with pytest.raises(ValueError, match="non-empty"):
        model.mean(torch.zeros(2, 0))
    with pytest.raises(ValueError, match="rate_hz"):
        BernoulliPrior(-1.0, 60.0)
    with pytest.raises(ValueError, match="rate_hz"):
        BernoulliPrior(70.0, 60.0)
    with pytest.raises(ValueError, match="outside"):
        SCF(gamma=1.2)
    with pytest.raises(ValueError, match="complex"):
        SCF(gamma=[1.0, -0.5])
    with pytest.raises(ValueError, match="sigma"):
        SCF(sigma=-0.1)
    with pytest.raises(ValueError, match="binary"):
        BernoulliPrior(1.0, 60.0).log_prob(torch.tensor([0.0, 2.0]))


@pytest.mark.parametrize(
    ("transform", "inside", "outside"),
    [
        (UNIT_INTERVAL, [1e-6, 0.5, 1 - 1e-6], [0.0, 1.0, -0.1, 1.1]),
        (POSITIVE, [1e-6, 3.0], [0.0, -1.0]),
        (REAL, [-5.0, 0.0, 5.0], [float("inf"), float("nan")]),
    ],
    ids=["unit-interval", "positive", "real"],
)
def test_constrained_accepts_the_open_support_only(transform, inside, outside):
    """Values strictly inside the support round-trip; the support's ends and beyond raise (torch's sigmoid
    inverse would clamp 0 and 1 to finite raw values)."""

    class Holder(torch.nn.Module):
        x = Constrained(transform, "a test parameter")

    holder = Holder()
    holder.x = torch.tensor(inside)
    torch.testing.assert_close(holder.x, torch.tensor(inside), rtol=1e-6, atol=0)
    for value in outside:
        with pytest.raises(ValueError, match="x must"):
            holder.x = value


def test_prior_per_step_and_cell_selection():
    prior = BernoulliPrior(torch.tensor([1.0, 6.0, 12.0]), 60.0)
    spikes = spike_train((4, 3, 50), p=0.1)
    per_step = prior.log_prob_per_step(spikes)
    assert per_step.shape == spikes.shape
    torch.testing.assert_close(per_step.sum(-1), prior.log_prob(spikes))
    chosen = prior.select(torch.tensor([2, 2, 0]))
    torch.testing.assert_close(chosen.rate_hz, torch.tensor([12.0, 12.0, 1.0]))
    shared = BernoulliPrior(2.0, 60.0)
    assert shared.select(torch.tensor([0, 1])) is shared


@pytest.mark.parametrize("pnonlin", [(0.73, -0.05), (0.3,), ()])
def test_hill_from_polynomial_reproduces_mlspike_indicator(pnonlin):
    """k spikes in one frame, with a near-instant rise and no decay, reach MLspike's a * P(k) under eq. (4)."""
    a = 0.07
    p2, p3 = (*pnonlin, 0.0, 0.0)[:2]
    model = MLphys(tau_decay=1e4, tau_on=1e-5, beta=0.0, fs=60.0, **hill_from_polynomial(a, pnonlin))
    counts = torch.arange(1.0, 6.0)
    spikes = torch.zeros(5, 1, 20)
    spikes[:, 0, 10] = counts
    peak = (model.alpha * model.indicator(spikes)[:, 0, 10]).detach().double()
    k = counts.double()
    expected = a * ((1 - p2 - p3) * k + p2 * k**2 + p3 * k**3)
    torch.testing.assert_close(peak, expected, atol=1e-3, rtol=0)


def test_hill_from_polynomial_bad_input():
    with pytest.raises(ValueError, match="positive"):
        hill_from_polynomial(0.0, (0.7,))
    with pytest.raises(ValueError, match="p2, p3"):
        hill_from_polynomial(0.07, (0.7, 0.1, 0.1))


def test_mlphys_delay_closed_form():
    """One spike with delay d: calcium (1 - d) at its frame, (1 - d) gamma + d one frame later, then decay."""
    d, tau, fs = torch.tensor([0.25, 0.7]), 0.5, 60.0
    model = MLphys(tau_decay=tau, fs=fs, delay=d)
    spikes = torch.zeros(2, 30)
    spikes[:, 5] = 1.0
    gamma = math.exp(-1.0 / (tau * fs))
    t = torch.arange(30.0)
    after = ((1 - d[:, None]) * gamma + d[:, None]) * gamma ** (t - 6).clamp(min=0)
    expected = torch.where(t < 5, 0.0, torch.where(t == 5, 1 - d[:, None], after))
    torch.testing.assert_close(model.calcium(spikes), expected)
    # counts are conserved: a spike train's calcium is the mix of its own and its one-frame shift
    train = spike_train((3, 2, 80), p=0.2)
    plain = MLphys(tau_decay=tau, fs=fs)
    shifted = torch.nn.functional.pad(train[..., :-1], (1, 0))
    torch.testing.assert_close(
        model.calcium(train), (1 - d[:, None]) * plain.calcium(train) + d[:, None] * plain.calcium(shifted)
    )


def test_mlphys_without_delay_is_eq4_and_keeps_its_parameters():
    plain, near_zero = MLphys(eta=1.4, omega=0.3), MLphys(eta=1.4, omega=0.3, delay=1e-6)
    assert "raw_delay" not in dict(plain.named_parameters())
    assert "raw_delay" in dict(near_zero.named_parameters())
    spikes = spike_train((2, 100), p=0.1)
    torch.testing.assert_close(plain.mean(spikes), near_zero.mean(spikes), atol=1e-5, rtol=0)
    assert not plain.delayed
    plain.delay = 0.4  # a delay assigned after construction takes effect too
    assert plain.delayed
    torch.testing.assert_close(plain.calcium(spikes), MLphys(eta=1.4, omega=0.3, delay=0.4).calcium(spikes))


@pytest.mark.parametrize("delay", [0.0, 1.0, -0.2, float("nan")])
def test_mlphys_delay_outside_open_interval_raises(delay):
    with pytest.raises(ValueError, match="delay"):
        MLphys(delay=delay)


# --- drifting baseline ---------------------------------------------------------------------


def random_walk_covariance(sigma: float, nu: float, n_steps: int) -> torch.Tensor:
    """Cov(f - mean) of the drifting-baseline model: b_0 ~ N(0, sigma^2), steps N(0, nu^2), white noise."""
    t = torch.arange(n_steps, dtype=torch.float64)
    return sigma**2 + nu**2 * torch.minimum(t[:, None], t[None, :]) + sigma**2 * torch.eye(n_steps)


@pytest.mark.parametrize(("sigma", "nu"), [(0.05, 0.01), (0.03, 0.2), (1.0, 1e-4)])
def test_drift_log_prob_is_the_dense_gaussian_with_the_baseline_integrated_out(sigma, nu):
    model = MLphys(eta=1.3, omega=0.3, sigma=sigma, drift=nu)
    spikes = spike_train((3, 60), p=0.1)
    f = model.sample(spikes)
    dense = torch.distributions.MultivariateNormal(model.mean(spikes), random_walk_covariance(sigma, nu, 60))
    torch.testing.assert_close(model.log_prob(f, spikes), dense.log_prob(f))


def test_drift_predicted_variance_follows_the_riccati_recursion():
    sigma, nu = torch.tensor([[0.05], [0.5]]), torch.tensor([[0.002], [0.3]])
    expected = [sigma**2]
    for _ in range(199):
        v = expected[-1]
        expected.append(v * sigma**2 / (v + sigma**2) + nu**2)
    torch.testing.assert_close(predicted_variance(sigma, nu, 200), torch.cat(expected, -1))


def test_drift_samples_have_the_model_covariance():
    sigma, nu, n = 0.05, 0.02, 20
    model = MLphys(sigma=sigma, drift=nu, alpha=0.0 + 1e-9)  # no spike signal: f - beta is baseline + noise
    f = model.sample(torch.zeros(40_000, n), torch.Generator().manual_seed(0))
    empirical = torch.cov((f - model.beta).T)
    expected = random_walk_covariance(sigma, nu, n)
    assert (empirical - expected).abs().max() < 5 * expected.max() * math.sqrt(2 / 40_000)


def test_mlphys_without_drift_has_no_drift_parameter():
    plain = MLphys()
    assert not plain.drifting and "raw_drift" not in dict(plain.named_parameters())
    assert MLphys(drift=0.01).drifting
    with pytest.raises(ValueError, match="drift"):
        MLphys(drift=0.0)


def test_a_parameter_with_more_axes_than_its_per_cell_form_is_refused():
    """Issue 33 row 14: ``alpha`` of shape (3, 1) gave samples (3, 3, T); a gain is () or (C,)."""
    with pytest.raises(ValueError, match=r"alpha must have 0 axes .shared by all cells. or 1 .per cell.*\(3, 1\)"):
        SCF(alpha=torch.full((3, 1), 0.3))
    with pytest.raises(ValueError, match=r"sigma must have 0 axes"):
        SCF(sigma=torch.full((1, 3), 0.1))
    assert SCF(alpha=torch.full((3,), 0.3), gamma=torch.full((3, 1), 0.9)).sample(torch.zeros(3, 50)).shape == (3, 50)


@pytest.mark.parametrize("fs", [math.inf, math.nan, 0.0])
def test_bernoulli_prior_refuses_a_sampling_rate_that_is_not_positive_and_finite(fs):
    """Issue 33 row 17: ``fs=inf`` gave a prior without spikes and a NaN log-probability."""
    with pytest.raises(ValueError, match="fs must be a positive, finite number of Hz"):
        BernoulliPrior(1.0, fs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("make", [lambda: SCDF(eta=30.0), lambda: MLphys(eta=40.0)], ids=["SCDF", "MLphys"])
def test_a_large_hill_coefficient_in_a_burst_saturates_instead_of_giving_nan(make, dtype):
    """Issue 33 row 18: :math:`c^\\eta` overflowed float32 (``inf / inf`` in the dye's steady state), giving
    50-85 % NaN fluorescence; the dye saturates instead, and the gradients stay finite."""
    model = make().to(dtype)
    spikes = torch.zeros(2, 400, dtype=dtype)
    spikes[:, 50:80] = 10.0 if dtype == torch.float32 else 1e10  # a burst: c^eta beyond the largest float
    with torch.no_grad():
        f = model.sample(spikes, torch.Generator().manual_seed(0))
        dye = model.indicator(spikes)
    assert torch.isfinite(f).all() and torch.isfinite(dye).all()
    if isinstance(model, SCDF):
        torch.testing.assert_close(dye[:, 79], model.D.expand(2))  # fully bound
    model.log_prob(f, spikes).sum().backward()
    for name, p in model.named_parameters():
        assert torch.isfinite(p.grad).all(), name
