"""Tests of spikebook.recognition (DS-F and DS-NF).

Kinds (STYLE.md rule 9): oracle (naive Conv1d / GRUCell loops against the fast code), gradcheck, known
answer (for tiny T, enumerate all 2^T spike trains: normalisation, sampling frequencies, marginals),
round trip (sample → log_prob), smoke (the paper-sized defaults).
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikebook.recognition import DSF, DSNF, CNNConfig, RNNConfig

TINY_CNN = CNNConfig(filters=(4, 3), widths=(5, 3), out_width=3, out_bias=0.0)
TINY_RNN = RNNConfig(
    filters=(3,), widths=(3,), n_features=3, feature_width=3, n_backward=8, n_forward=8, out_bias=0.0
)


def _jitter(model: nn.Module, scale: float) -> nn.Module:
    """Add seeded noise to every parameter so that tiny models have non-trivial distributions."""
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return model


def _tiny(kind: str) -> nn.Module:
    model = DSF(TINY_CNN) if kind == "dsf" else DSNF(TINY_RNN)
    return _jitter(model, 0.3).double()


def _all_trains(T: int, B: int) -> torch.Tensor:
    """All 2^T binary trains, shape (2^T, B, T), in itertools.product order (first bin most significant)."""
    trains = torch.tensor(list(itertools.product([0.0, 1.0], repeat=T)), dtype=torch.float64)
    return trains.unsqueeze(1).expand(-1, B, -1)


# ----------------------------------------------------------------------------------------- configs
def test_default_configs_are_the_original_code():
    assert CNNConfig() == CNNConfig((30, 25, 25, 20, 15), (31, 21, 21, 13, 11), 0.2, 11, -3.0)
    c = RNNConfig()
    assert (c.filters, c.widths, c.n_features, c.feature_width) == (
        (20, 15, 15, 15),
        (31, 21, 21, 11),
        13,
        11,
    )
    assert (c.n_backward, c.n_forward, c.out_bias) == (64, 64, -5.0)
    assert DSF().half_width == 51  # 103-bin receptive field
    assert CNNConfig(filters=[2], widths=[3]).filters == (2,)  # lists are stored as tuples
    with pytest.raises(AttributeError):
        CNNConfig().out_bias = 0.0  # frozen


@pytest.mark.parametrize(
    "kwargs",
    [
        {"filters": (4, 3), "widths": (5,)},
        {"filters": (4,), "widths": (4,)},
        {"filters": (0,), "widths": (3,)},
        {"filters": (4,), "widths": (-3,)},
        {"negative_slope": -0.1},
        {"out_width": 2},
        {"out_bias": math.nan},
    ],
)
def test_cnn_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        CNNConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [{"filters": (4.0,), "widths": (3,)}, {"out_width": 3.0}, {"filters": (4,), "widths": (True,)}])
def test_cnn_config_rejects_bad_types(kwargs):
    with pytest.raises(TypeError):  # a wrong type is a TypeError (spikebook.validate)
        CNNConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs", [{"filters": (4,), "widths": ()}, {"feature_width": 4}, {"n_forward": 0}, {"n_backward": -1}]
)
def test_rnn_config_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        RNNConfig(**kwargs)


# ------------------------------------------------------------------------------- shared contract
@pytest.mark.parametrize("model", [DSF(), DSNF()], ids=["DSF", "DSNF"])
def test_paper_defaults_build_and_run(model):
    f = torch.randn(2, 200)
    spikes = model.sample(f, n=3)
    assert spikes.shape == (3, 2, 200)
    lp = model.log_prob(spikes, f)
    assert lp.shape == (3, 2) and torch.isfinite(lp).all()
    p = model.marginals(f, n_samples=4)
    assert p.shape == (2, 200) and ((p > 0) & (p < 1)).all()


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_shapes_and_values(kind):
    model = _tiny(kind)
    f = torch.randn(3, 17, dtype=torch.float64)
    s = model.sample(f, n=5)
    assert s.shape == (5, 3, 17) and not s.requires_grad
    assert ((s == 0) | (s == 1)).all()
    assert model.log_prob(s, f).shape == (5, 3)
    assert model.log_prob(s[0], f).shape == (1, 3)  # (B, T) spikes read as n = 1
    assert torch.equal(model.log_prob(s[0], f), model.log_prob(s[:1], f))
    assert model.marginals(f, n_samples=2).shape == (3, 17)
    assert model.sample(torch.randn(2, 1, dtype=torch.float64)).shape == (1, 2, 1)  # T = 1


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_same_seed_same_samples(kind):
    model = _tiny(kind)
    f = torch.randn(2, 30, dtype=torch.float64)
    a = model.sample(f, 4, generator=torch.Generator().manual_seed(7))
    b = model.sample(f, 4, generator=torch.Generator().manual_seed(7))
    c = model.sample(f, 4, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_sample_and_log_prob_round_trip(kind):
    model = _tiny(kind)
    f = torch.randn(2, 25, dtype=torch.float64)
    res = model.sample_and_log_prob(f, 6, generator=torch.Generator().manual_seed(3))
    spikes = model.sample(f, 6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(res.spikes, spikes)
    torch.testing.assert_close(res.log_prob, model.log_prob(spikes, f), rtol=0, atol=1e-12)
    res.log_prob.sum().backward()  # differentiable for the score-function (VIMCO) gradient
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_gradcheck_log_prob(kind):
    model = _tiny(kind)
    f = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    spikes = model.sample(f.detach(), 2)
    assert torch.autograd.gradcheck(lambda x: model.log_prob(spikes, x), (f,))


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_float32_model_accepts_float64_traces(kind):
    model = DSF(TINY_CNN) if kind == "dsf" else DSNF(TINY_RNN)
    assert model.sample(torch.randn(2, 9, dtype=torch.float64)).dtype == torch.float32


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
@pytest.mark.parametrize(
    "f",
    [
        torch.tensor([[0.0, math.nan, 1.0]]),
        torch.tensor([[0.0, math.inf, 1.0]]),
        torch.zeros(5),
        torch.zeros(2, 3, 5),
        torch.zeros(2, 5, dtype=torch.long),
        torch.zeros(2, 0),
    ],
    ids=["nan", "inf", "1d", "3d", "int", "empty"],
)
def test_bad_fluorescence_raises(kind, f):
    model = _tiny(kind)
    for call in (model.sample, model.marginals, lambda x: model.log_prob(torch.zeros(x.shape[-1]), x)):
        with pytest.raises(ValueError):
            call(f)


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_bad_spikes_raise(kind):
    model = _tiny(kind)
    f = torch.randn(2, 10, dtype=torch.float64)
    for spikes in (torch.zeros(3, 2, 11), torch.zeros(2, 9), torch.zeros(3, 1, 10), torch.full((2, 10), 2.0)):
        with pytest.raises(ValueError):
            model.log_prob(spikes, f)
    with pytest.raises(ValueError):
        model.sample(f, n=0)
    with pytest.raises(TypeError, match="n must"):
        model.sample(f, n=2.0)


# ------------------------------------------------------------------------------------------- DS-F
def _naive_dsf_logits(model: DSF, f: torch.Tensor) -> torch.Tensor:
    """Oracle: the same network with plain Conv1d (weights (C_out, C_in, 1, k) → (C_out, C_in, k))."""
    x = f.unsqueeze(1)  # (B, 1, T)
    convs = model.cnn.convs
    for i, conv in enumerate(convs):
        k = conv.kernel_size[1]
        x = F.conv1d(x, conv.weight.squeeze(2), conv.bias, padding=k // 2)
        if i < len(convs) - 1:
            x = F.leaky_relu(x, model.config.negative_slope)
    return x.squeeze(1)


def test_dsf_matches_conv1d_oracle():
    model = _tiny("dsf")
    f = torch.randn(3, 50, dtype=torch.float64)
    torch.testing.assert_close(model(f), _naive_dsf_logits(model, f), rtol=1e-12, atol=1e-12)
    default = DSF().double()
    f = torch.randn(2, 300, dtype=torch.float64)
    torch.testing.assert_close(default(f), _naive_dsf_logits(default, f), rtol=1e-10, atol=1e-10)


def test_dsf_log_prob_is_the_naive_bernoulli_sum():
    model = _tiny("dsf")
    f = torch.randn(2, 40, dtype=torch.float64)
    p = model.marginals(f)  # exact for DS-F
    torch.testing.assert_close(p, torch.sigmoid(model(f)))
    spikes = model.sample(f, 7)
    naive = (spikes * torch.log(p) + (1 - spikes) * torch.log1p(-p)).sum(-1)
    torch.testing.assert_close(model.log_prob(spikes, f), naive, rtol=1e-12, atol=1e-12)


def test_dsf_same_padding_and_receptive_field():
    model = _tiny("dsf")
    half = model.half_width
    assert half == 2 + 1 + 1
    T, t0 = 40, 20
    f = torch.randn(1, T, dtype=torch.float64)
    g = f.clone()
    g[0, t0] += 1.0
    p, q = model.marginals(f), model.marginals(g)
    assert p.shape == (1, T)
    changed = ((p - q).abs() > 1e-12).nonzero()[:, 1].tolist()
    assert changed == list(range(t0 - half, t0 + half + 1))  # exactly the receptive window


def test_dsf_sampling_frequencies_match_probabilities():
    model = _tiny("dsf")
    f = torch.randn(2, 30, dtype=torch.float64)
    n = 20_000
    freq = model.sample(f, n, generator=torch.Generator().manual_seed(0)).mean(0)
    p = model.marginals(f)
    assert ((freq - p).abs() <= 5 * torch.sqrt(p * (1 - p) / n) + 3 / n).all()


# ------------------------------------------------------------------------------------------ DS-NF
def _naive_dsnf_logits(model: DSNF, f: torch.Tensor, spikes: torch.Tensor) -> torch.Tensor:
    """Oracle: the paper's description with nn.GRUCell loops and explicit concatenations.

    Args:
        f: (B, T); spikes: (B, T) teacher-forcing input. Returns logits (B, T).
    """
    B, T = f.shape
    x = torch.cat([model.cnn(f).transpose(1, 2), f.unsqueeze(-1)], -1)  # (B, T, 14-like)
    rnn = model.backward_rnn
    back = nn.GRUCell(rnn.input_size, rnn.hidden_size).double()
    back.load_state_dict(
        {
            "weight_ih": rnn.weight_ih_l0,
            "weight_hh": rnn.weight_hh_l0,
            "bias_ih": rnn.bias_ih_l0,
            "bias_hh": rnn.bias_hh_l0,
        }
    )
    b = f.new_zeros(B, rnn.hidden_size)
    bs = [None] * T
    for t in reversed(range(T)):
        b = back(x[:, t], b)
        bs[t] = b
    h = f.new_zeros(B, model.config.n_forward)
    s_prev = f.new_zeros(B, 1)
    logits = []
    for t in range(T):
        c_t = torch.cat([x[:, t], bs[t]], -1)
        h = model.cell(torch.cat([c_t, s_prev], -1), h)
        logits.append(model.out(torch.cat([c_t, h], -1)).squeeze(-1))
        s_prev = spikes[:, t : t + 1]
    return torch.stack(logits, 1)


def test_dsnf_matches_grucell_oracle():
    model = _tiny("dsnf")
    f = torch.randn(2, 150, dtype=torch.float64)  # > one time block of the fast loop
    spikes = model.sample(f, 3)
    fast = model(f, spikes)  # teacher-forced logits (n, B, T)
    for i in range(3):
        torch.testing.assert_close(fast[i], _naive_dsnf_logits(model, f, spikes[i]), rtol=1e-10, atol=1e-10)
    naive_lp = -F.binary_cross_entropy_with_logits(fast, spikes, reduction="none").sum(-1)
    torch.testing.assert_close(model.log_prob(spikes, f), naive_lp)


def test_dsnf_compiled_marginals_equal_the_eager_loop():
    """``compiled=True``: the same thresholds through torch.compile'd blocks of steps, another layout."""
    model = _tiny("dsnf")
    f = torch.randn(2, 150, dtype=torch.float64)  # > one time block and not a multiple of the unrolled steps
    with torch.no_grad():
        torch.testing.assert_close(model._context(f, compiled=True), model._context(f), rtol=0, atol=1e-12)
    eager = model.marginals(f, 3, torch.Generator().manual_seed(4))
    compiled = model.marginals(f, 3, torch.Generator().manual_seed(4), compiled=True)
    assert 0.05 < eager.mean() < 0.95  # spikes are sampled and fed back: flips would show
    torch.testing.assert_close(compiled, eager, rtol=0, atol=1e-12)
    assert not compiled.requires_grad


@pytest.fixture(scope="module")
def enumerated():
    """A tiny DS-NF (float64), two 5-bin traces, and the exact q(s | f) of all 32 trains."""
    torch.manual_seed(0)
    model = _jitter(DSNF(TINY_RNN), 0.3).double()
    with torch.no_grad():  # strengthen the spike feedback so that q is far from factorized
        model.cell.weight_ih[:, -1] *= 4.0
        model.out.weight[0, -TINY_RNN.n_forward :] *= 4.0
    f = torch.randn(2, 5, dtype=torch.float64)
    trains = _all_trains(5, 2)  # (32, 2, 5)
    with torch.no_grad():
        probs = model.log_prob(trains, f).exp()  # (32, 2)
    return model, f, trains, probs


def test_dsnf_is_normalised(enumerated):
    _, _, _, probs = enumerated
    torch.testing.assert_close(probs.sum(0), torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-12)


def test_dsnf_is_not_factorized(enumerated):
    """Sanity check that the spike feedback matters: the joint differs from the product of marginals."""
    _, _, trains, probs = enumerated
    marg = (probs.unsqueeze(-1) * trains).sum(0)  # (2, 5)
    product = (trains * marg + (1 - trains) * (1 - marg)).prod(-1)  # (32, 2)
    assert (probs - product).abs().max() > 0.02  # 0.047 for this seed


def test_dsnf_sampling_frequencies_match_log_prob(enumerated):
    model, f, _, probs = enumerated
    n = 20_000
    s = model.sample(f, n, generator=torch.Generator().manual_seed(0))  # (n, 2, 5)
    code = (s * 2.0 ** torch.arange(4, -1, -1, dtype=s.dtype)).sum(-1).long()  # (n, 2), product order
    freq = torch.stack([torch.bincount(code[:, b], minlength=32) for b in range(2)], 1) / n  # (32, 2)
    # Each frequency is Binomial(n, p)/n: allow 5 standard deviations, plus 3/n for the lattice of counts.
    assert ((freq - probs).abs() <= 5 * torch.sqrt(probs * (1 - probs) / n) + 3 / n).all()


def test_dsnf_marginals_match_enumeration(enumerated):
    model, f, trains, probs = enumerated
    exact = (probs.unsqueeze(-1) * trains).sum(0)  # (2, 5)
    estimate = model.marginals(f, n_samples=20_000, generator=torch.Generator().manual_seed(1))
    # Average of 20,000 conditional probabilities in [0, 1]: sd ≤ 0.5 / sqrt(20,000) ≈ 0.0035.
    torch.testing.assert_close(estimate, exact, rtol=0, atol=0.018)
    assert not estimate.requires_grad


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_sample_result_logits_give_the_log_prob(kind):
    model = DSF(TINY_CNN) if kind == "dsf" else DSNF(TINY_RNN)
    f = torch.randn(3, 40)
    draw = model.sample_and_log_prob(f, 5, torch.Generator().manual_seed(0))
    logits, spikes = torch.broadcast_tensors(draw.logits, draw.spikes)
    naive = (spikes * F.logsigmoid(logits) + (1 - spikes) * F.logsigmoid(-logits)).sum(-1)
    torch.testing.assert_close(draw.log_prob, naive)
    assert draw.logits.requires_grad
