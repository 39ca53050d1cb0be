"""Tests for spikebook.objectives: oracle (naive loops), gradcheck and known-answer (enumeration) tests."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from spikebook.objectives import iwae_bound, log_mean_exp, vimco_learning_signal, vimco_surrogate

DTYPE = torch.float64
BASELINES = ("geometric", "arithmetic", "none")


def _random_log_probs(n_samples: int, n_traces: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Leaf (K, B) tensors of log p and log q with a spread of a few nats, as in a real batch."""
    g = torch.Generator().manual_seed(seed)
    log_p = (-20.0 + 3.0 * torch.randn(n_samples, n_traces, generator=g, dtype=DTYPE)).requires_grad_()
    log_q = (-5.0 + 2.0 * torch.randn(n_samples, n_traces, generator=g, dtype=DTYPE)).requires_grad_()
    return log_p, log_q


# --------------------------------------------------------------------------------------------------
# Naive oracles: one trace at a time, Python floats, formulas written as in the papers.
# --------------------------------------------------------------------------------------------------
def _naive_bound(log_w: list[float]) -> float:
    return math.log(sum(math.exp(x) for x in log_w) / len(log_w))


def _naive_vimco(log_w: list[float], baseline: str) -> tuple[list[float], list[float]]:
    """Return (w_tilde_k, L_hat_k) for one trace, straight from the definitions."""
    n = len(log_w)
    bound = _naive_bound(log_w)
    total = sum(math.exp(x) for x in log_w)
    w_tilde = [math.exp(x) / total for x in log_w]
    signal = []
    for k in range(n):
        others = [log_w[j] for j in range(n) if j != k]
        if baseline == "none":
            loo = 0.0  # plain score-function estimator: the learning signal is the bound itself
        elif baseline == "geometric":
            # Mnih & Rezende: slot k gets the log of the geometric mean of the others.
            replaced = list(log_w)
            replaced[k] = sum(others) / (n - 1)
            loo = _naive_bound(replaced)
        else:
            # Original DeepSpike code: log of the arithmetic mean of the other K-1 weights ...
            loo = math.log(sum(math.exp(x) for x in others) / (n - 1))
            # ... which equals Mnih & Rezende's arithmetic-mean variant (slot k gets the mean weight).
            replaced = list(log_w)
            replaced[k] = math.log(sum(math.exp(x) for x in others) / (n - 1))
            assert math.isclose(loo, _naive_bound(replaced), rel_tol=1e-13, abs_tol=1e-12)
        signal.append(bound - loo)
    return w_tilde, signal


# --------------------------------------------------------------------------------------------------
# Oracle tests
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_samples", [1, 2, 5])
def test_iwae_bound_matches_naive_loop(n_samples: int) -> None:
    log_p, log_q = _random_log_probs(n_samples, 6, seed=0)
    got = iwae_bound(log_p, log_q)
    assert got.shape == (6,)
    for b in range(6):
        log_w = (log_p[:, b] - log_q[:, b]).tolist()
        assert got[b].item() == pytest.approx(_naive_bound(log_w), rel=1e-13, abs=1e-12)
    assert torch.equal(log_mean_exp(log_p - log_q, dim=0), got)


@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("n_samples", [2, 3, 7])
def test_vimco_surrogate_value_is_the_bound(n_samples: int, baseline: str) -> None:
    log_p, log_q = _random_log_probs(n_samples, 5, seed=1)
    surrogate = vimco_surrogate(log_p, log_q, baseline)
    assert surrogate.shape == (5,)
    # value-preserving: exactly L_K, not merely close
    assert torch.equal(surrogate, iwae_bound(log_p, log_q))
    for b in range(5):
        log_w = (log_p[:, b] - log_q[:, b]).tolist()
        assert surrogate[b].item() == pytest.approx(_naive_bound(log_w), rel=1e-13, abs=1e-12)


@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("n_samples", [2, 3, 7])
def test_vimco_gradients_match_naive_leave_one_out(n_samples: int, baseline: str) -> None:
    log_p, log_q = _random_log_probs(n_samples, 5, seed=2)
    vimco_surrogate(log_p, log_q, baseline).sum().backward()
    signal = vimco_learning_signal(log_p.detach() - log_q.detach(), baseline)
    for b in range(5):
        w_tilde, naive_signal = _naive_vimco((log_p[:, b] - log_q[:, b]).tolist(), baseline)
        for k in range(n_samples):
            # d S / d log p_k = w~_k ;  d S / d log q_k = L^_k - w~_k
            assert log_p.grad[k, b].item() == pytest.approx(w_tilde[k], rel=1e-10, abs=1e-13)
            assert log_q.grad[k, b].item() == pytest.approx(naive_signal[k] - w_tilde[k], rel=1e-10,
                                                            abs=1e-12)
            assert signal[k, b].item() == pytest.approx(naive_signal[k], rel=1e-10, abs=1e-12)


def test_baselines_coincide_for_two_samples() -> None:
    log_w = torch.randn(2, 7, generator=torch.Generator().manual_seed(6), dtype=DTYPE)
    torch.testing.assert_close(vimco_learning_signal(log_w, "geometric"),
                               vimco_learning_signal(log_w, "arithmetic"), rtol=0, atol=1e-14)
    # both are L_2 - log w_other
    torch.testing.assert_close(vimco_learning_signal(log_w, "geometric"),
                               log_mean_exp(log_w) - log_w.flip(0), rtol=0, atol=1e-14)


def test_iwae_bound_gradcheck() -> None:
    log_p, log_q = _random_log_probs(4, 3, seed=3)
    assert torch.autograd.gradcheck(iwae_bound, (log_p, log_q))


@pytest.mark.parametrize("baseline", ["geometric", "arithmetic"])  # "none" is not shift-invariant
def test_vimco_stable_for_large_and_dominated_log_weights(baseline: str) -> None:
    """Long traces give log-weights of thousands of nats; float32 must not lose the signal."""
    g = torch.Generator().manual_seed(4)
    log_w64 = -5000.0 + 5.0 * torch.randn(16, 3, generator=g, dtype=DTYPE)
    log_w64[0, 2] += 800.0  # one sample dominates: the other weights underflow against it
    ref = vimco_learning_signal(log_w64, baseline)
    # shifting all log-weights of a trace by a constant leaves L^ unchanged (exactly, up to rounding)
    shifted = vimco_learning_signal(log_w64 + torch.tensor([0.0, 1e3, -1e3], dtype=DTYPE), baseline)
    torch.testing.assert_close(shifted, ref, rtol=0, atol=1e-9)
    got32 = vimco_learning_signal(log_w64.float(), baseline)
    assert torch.isfinite(got32).all()
    # float32 rounding of -5000 is ~2.4e-4 nats per log-weight; L^ inherits only that input error
    torch.testing.assert_close(got32.double(), ref, rtol=0, atol=2e-3)

    log_p = log_w64.float().requires_grad_()
    log_q = torch.zeros_like(log_p, requires_grad=True)
    vimco_surrogate(log_p, log_q, baseline).sum().backward()
    assert torch.isfinite(log_p.grad).all() and torch.isfinite(log_q.grad).all()
    torch.testing.assert_close(log_p.grad.sum(0), torch.ones(3))


def test_invalid_inputs_raise() -> None:
    x = torch.zeros(3, 2, dtype=DTYPE)
    with pytest.raises(ValueError, match="K >= 2"):
        vimco_surrogate(x[:1], x[:1])
    with pytest.raises(ValueError, match="K >= 1"):
        iwae_bound(x[:0], x[:0])
    with pytest.raises(ValueError, match="same shape"):
        vimco_surrogate(x, torch.zeros(3, 3, dtype=DTYPE))
    with pytest.raises(ValueError, match=r"\(K, B\)"):
        iwae_bound(x[:, 0], x[:, 0])
    with pytest.raises(ValueError, match=r"\(K, B\)"):
        vimco_surrogate(x[..., None], x[..., None])
    with pytest.raises(ValueError, match="NaN"):
        vimco_surrogate(x, torch.full_like(x, math.nan))
    with pytest.raises(ValueError, match="NaN"):
        iwae_bound(torch.full_like(x, math.nan), x)
    with pytest.raises(ValueError, match="infinite"):
        vimco_surrogate(torch.full_like(x, -math.inf), x)
    with pytest.raises(ValueError, match="baseline"):
        vimco_surrogate(x, x, baseline="harmonic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="floating-point"):
        iwae_bound(torch.zeros(3, 2, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))


# --------------------------------------------------------------------------------------------------
# Known answers by enumeration: a tiny model with T = 4 binary spikes (2^4 = 16 trains).
#   prior        s_t ~ Bernoulli(p0), independent
#   likelihood   f_t ~ N(a * c_t + b, sigma^2),  c = causal exponential-kernel convolution of s
#   recognition  q(s) = prod_t Bernoulli(sigmoid(phi_t))
# theta = (a, b) plays the generative parameters, phi the recognition parameters.
# --------------------------------------------------------------------------------------------------
N_BINS = 4
P0, SIGMA, GAMMA = 0.2, 0.5, 0.6
_t = torch.arange(N_BINS, dtype=DTYPE)
# KERNEL[t, u] = GAMMA^(t-u) for u <= t: calcium c = KERNEL @ s
KERNEL = torch.where(_t[:, None] >= _t[None, :], GAMMA ** (_t[:, None] - _t[None, :]), 0.0)
TRACE = torch.tensor([0.15, 1.05, 0.70, 0.25], dtype=DTYPE)  # observed f, roughly one spike at t = 1
TRAINS = ((torch.arange(2**N_BINS)[:, None] >> torch.arange(N_BINS)) & 1).to(DTYPE)  # (16, T)


def _params() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    phi = torch.tensor([-1.0, 0.5, -0.5, -1.5], dtype=DTYPE, requires_grad=True)
    gain = torch.tensor(0.9, dtype=DTYPE, requires_grad=True)
    offset = torch.tensor(0.05, dtype=DTYPE, requires_grad=True)
    return phi, gain, offset


def _log_joint(s: torch.Tensor, gain: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """log p(f, s) summed over time; s (..., T), gain and offset broadcast against s.shape[:-1]."""
    mean = gain[..., None] * (s @ KERNEL.T) + offset[..., None]  # (..., T)
    log_lik = torch.distributions.Normal(mean, SIGMA).log_prob(TRACE).sum(-1)
    log_prior = (s * math.log(P0) + (1 - s) * math.log(1 - P0)).sum(-1)
    return log_lik + log_prior


def _log_q(s: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """log q(s) summed over time; phi (..., T) broadcasts against s."""
    return -F.binary_cross_entropy_with_logits(phi.expand_as(s), s, reduction="none").sum(-1)


def _exact_log_evidence(gain: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    return torch.logsumexp(_log_joint(TRAINS, gain, offset), dim=0)


def _exact_expected_bound(n_samples: int, phi: torch.Tensor, gain: torch.Tensor,
                          offset: torch.Tensor) -> torch.Tensor:
    """E_q[L_K] by summing over all 16^K tuples of trains; differentiable in every parameter."""
    grids = torch.meshgrid(*[torch.arange(len(TRAINS))] * n_samples, indexing="ij")
    idx = torch.stack([g.reshape(-1) for g in grids])  # (K, 16^K): every K-tuple of train indices
    log_p = _log_joint(TRAINS, gain, offset)[idx]  # (K, 16^K)
    log_q = _log_q(TRAINS, phi)[idx]  # (K, 16^K)
    prob = log_q.sum(0).exp()  # q(s_1) ... q(s_K)
    return (prob * iwae_bound(log_p, log_q)).sum()


def _draw(n_draws: int, n_samples: int, phi: torch.Tensor, seed: int) -> torch.Tensor:
    """(K, N, T) spike trains from q, all drawn at once from one generator."""
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n_draws * n_samples, N_BINS, generator=g, dtype=DTYPE)
    return (u < torch.sigmoid(phi.detach())).to(DTYPE).reshape(n_samples, n_draws, N_BINS)


def test_elbo_is_the_one_sample_bound() -> None:
    phi, gain, offset = _params()
    with torch.no_grad():
        log_p, log_q = _log_joint(TRAINS, gain, offset), _log_q(TRAINS, phi)  # (16,)
        # K = 1: L_1 is the per-sample ELBO estimate log p - log q
        torch.testing.assert_close(iwae_bound(log_p[None], log_q[None]), log_p - log_q, rtol=0, atol=0)
        # and its expectation is log p(f) - KL(q || p(s | f)), with the posterior by enumeration
        log_post = log_p - _exact_log_evidence(gain, offset)
        kl = (log_q.exp() * (log_q - log_post)).sum()
        elbo = _exact_expected_bound(1, phi, gain, offset)
    torch.testing.assert_close(elbo, _exact_log_evidence(gain, offset) - kl, rtol=0, atol=1e-12)


def test_expected_bound_increases_with_k_and_approaches_log_evidence() -> None:
    phi, gain, offset = _params()
    with torch.no_grad():
        log_evidence = _exact_log_evidence(gain, offset).item()
        bounds = [_exact_expected_bound(k, phi, gain, offset).item() for k in (1, 2, 3)]
        assert bounds[0] < bounds[1] < bounds[2] < log_evidence

        # Monte Carlo with K = 1000. With r = w / p(f), E_q[r] = 1 and Var_q[r] = chi2(p(s|f) || q),
        # known exactly here. The delta method gives L_K - log p(f) ~ (r_bar - 1) - (r_bar - 1)^2 / 2:
        # bias -chi2 / (2K), standard deviation sqrt(chi2 / K). Averaging R independent estimates,
        # the mean lies within chi2 / (2K) + 4 sqrt(chi2 / (K R)) of log p(f).
        log_post = _log_joint(TRAINS, gain, offset) - log_evidence
        chi2 = ((2 * log_post - _log_q(TRAINS, phi)).exp().sum() - 1).item()
        n_samples, n_reps = 1000, 16
        s = _draw(n_reps, n_samples, phi, seed=5)  # (K, R, T)
        estimates = iwae_bound(_log_joint(s, gain, offset), _log_q(s, phi))  # (R,)
    assert 0.1 < chi2 < 10  # q is neither the posterior nor far from it
    tolerance = chi2 / (2 * n_samples) + 4 * math.sqrt(chi2 / (n_samples * n_reps))
    assert abs(estimates.mean().item() - log_evidence) < tolerance
    assert bounds[2] < estimates.mean().item() + 4 * math.sqrt(chi2 / (n_samples * n_reps))


def _per_draw_gradients(surrogate_fn, n_samples: int, n_draws: int, seed: int) -> torch.Tensor:
    """(N, T + 2) gradients of one surrogate draw each w.r.t. (phi, gain, offset).

    Each draw gets its own leaf copy of the parameters, so one backward pass yields every draw's
    gradient separately and the standard error can be taken from the draws.
    """
    phi, gain, offset = _params()
    s = _draw(n_draws, n_samples, phi, seed)  # (K, N, T)
    phi_n = phi.detach().expand(n_draws, N_BINS).clone().requires_grad_()  # (N, T)
    gain_n = gain.detach().expand(n_draws).clone().requires_grad_()  # (N,)
    offset_n = offset.detach().expand(n_draws).clone().requires_grad_()  # (N,)
    log_p, log_q = _log_joint(s, gain_n, offset_n), _log_q(s, phi_n)  # (K, N)
    surrogate_fn(log_p, log_q).sum().backward()
    return torch.cat([phi_n.grad, gain_n.grad[:, None], offset_n.grad[:, None]], dim=1)


def _exact_gradient(n_samples: int) -> torch.Tensor:
    phi, gain, offset = _params()
    grads = torch.autograd.grad(_exact_expected_bound(n_samples, phi, gain, offset), (phi, gain, offset))
    return torch.cat([grads[0], grads[1][None], grads[2][None]])  # (T + 2,)


def _z_scores(per_draw: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    se = per_draw.std(dim=0) / math.sqrt(per_draw.shape[0])
    return (per_draw.mean(dim=0) - exact) / se


N_DRAWS = 20_000


@pytest.mark.parametrize("baseline", BASELINES)
@pytest.mark.parametrize("n_samples", [2, 3])
def test_vimco_gradient_is_unbiased(n_samples: int, baseline: str) -> None:
    exact = _exact_gradient(n_samples)
    per_draw = _per_draw_gradients(lambda lp, lq: vimco_surrogate(lp, lq, baseline), n_samples, N_DRAWS,
                                   seed=10 + n_samples)
    z = _z_scores(per_draw, exact)
    assert z.abs().max() < 4, f"z-scores {z.tolist()}"


def test_unbiasedness_check_has_power() -> None:
    """Differentiating L_K alone (no score-function term) is biased for phi; the check must see it."""
    exact = _exact_gradient(3)
    per_draw = _per_draw_gradients(iwae_bound, 3, N_DRAWS, seed=13)
    z = _z_scores(per_draw, exact)
    assert z[:N_BINS].abs().max() > 10
    # the generative part of the gradient is pathwise and stays unbiased
    assert z[N_BINS:].abs().max() < 4
