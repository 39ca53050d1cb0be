"""Tests of spikebook.supervised: features, layers (attended convolution), models, losses, analysis."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats
import torch

from spikebook.supervised import (
    AttendedConv1d,
    BolteConfig,
    BolteNet,
    SameConv1d,
    SimplifiedBolteNet,
    SimplifiedConfig,
    backward_difference,
    bce_clipped,
    build_model,
    conv1d_same,
    input_features,
    linear_filter_responses,
    model_spec,
    pearson_loss,
    poisson_nll,
)


@pytest.mark.parametrize("k", [1, 5, 10, 20])
def test_same_conv_is_torchs_same_padding_without_its_warning(k: int) -> None:
    torch.manual_seed(k)
    ours = SameConv1d(3, 4, k)
    theirs = torch.nn.Conv1d(3, 4, k, padding="same")
    theirs.load_state_dict(ours.state_dict())  # same parameters, same names: checkpoints load unchanged
    x = torch.randn(2, 3, 50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch's own warns for even k
        expected = theirs(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = ours(x)
    assert got.shape == (2, 4, 50)
    torch.testing.assert_close(got, expected)
    # where an impulse at t = 25 lands: an even kernel reaches (k - 1) // 2 samples back, k // 2 ahead
    impulse = torch.zeros(1, 1, 50)
    impulse[0, 0, 25] = 1.0
    reach = torch.nonzero(conv1d_same(impulse, torch.ones(1, 1, k))[0, 0]).squeeze(1)
    assert reach.min() == 25 - k // 2 and reach.max() == 25 + (k - 1) // 2


def test_differences_known_answer() -> None:
    x = torch.arange(1.0, 7.0)[None]  # x = 1..6
    feats = input_features(x, pooled=False)[0]
    assert feats[1].tolist() == [0, 1, 1, 1, 1, 1]  # true backward differences, x_{-1} := x_0
    assert feats[2].tolist() == [0, 1, 0, 0, 0, 0]
    assert torch.equal(feats[3:], feats[:3].square())
    bug = input_features(x, as_submitted=True, pooled=False)[0]
    assert bug[1].tolist() == [1, 2, 3, 4, 5, 5]  # codekansas/spikefinder's DeltaFeature: copies of the trace
    assert bug[2].tolist() == [1, 2, 3, 4, 5, 4]  # the same layer applied twice
    assert torch.equal(backward_difference(x, as_submitted=True), bug[1:2])


def test_pooled_features_are_5_sample_means() -> None:
    x = torch.randn(2, 20, dtype=torch.float64)
    f = input_features(x)
    assert f.shape == (2, 12, 20)
    torch.testing.assert_close(f[:, 6:, 5], f[:, :6, 3:8].mean(-1))
    torch.testing.assert_close(f[:, 6:, 0], f[:, :6, 0:3].mean(-1))  # padding not counted


def test_attended_conv_scales_by_known_gains() -> None:
    layer = AttendedConv1d(3, 4, 5, n_datasets=2).double()
    gains = torch.tensor([[0.5, -0.25, 0.9, 0.0], [0.1, 0.2, -0.3, 0.4]], dtype=torch.float64)
    with torch.no_grad():
        layer.embedding.weight.copy_(torch.atanh(gains))
    x = torch.randn(2, 3, 30, dtype=torch.float64)
    dataset = torch.tensor([1, 0])
    plain = layer.conv(x)
    torch.testing.assert_close(layer(x, dataset), plain * gains[dataset].unsqueeze(-1))
    torch.testing.assert_close(layer(x, None), plain)  # no dataset knowledge: the plain conv
    relu = AttendedConv1d(3, 4, 5, n_datasets=2, activation=torch.nn.ReLU()).double()
    with torch.no_grad():
        relu.embedding.weight.copy_(torch.atanh(gains))
    torch.testing.assert_close(relu(x, dataset), relu.conv(x).relu() * gains[dataset].unsqueeze(-1))


@pytest.mark.parametrize(
    "model",
    [
        BolteNet(BolteConfig(attend_channels=16, n_cells=2)),
        BolteNet(BolteConfig(output="softplus", n_cells=1, attend_channels=8)),
        SimplifiedBolteNet(SimplifiedConfig(channels=16, kernel=6)),
    ],
)
def test_models_output_non_negative_rates(model: torch.nn.Module) -> None:
    x = torch.randn(3, 120)
    for dataset in (torch.tensor([0, 4, 9]), None):
        model.train()
        y = model(x, dataset)
        assert y.shape == (3, 120) and (y >= 0).all()
        y.sum().backward()  # differentiable end to end
    assert model.attend.embedding.weight.grad is not None


@pytest.mark.parametrize(("as_submitted", "expected"), [(True, 45), (False, 47)])
def test_regular_model_receptive_field_by_perturbation(as_submitted: bool, expected: int) -> None:
    model = BolteNet(BolteConfig(as_submitted_features=as_submitted, attend_channels=32)).double().eval()
    # as submitted (codekansas/spikefinder): 1 + 4 (pooled features) + 3 x 12 (Inception) + 4 (last conv) = 45
    assert model.receptive_field == expected
    x = torch.randn(1, 200, dtype=torch.float64)
    x2 = x.clone()
    x2[0, 100] += 1.0
    with torch.no_grad():
        changed = torch.nonzero(model(x2, torch.tensor([2])) != model(x, torch.tensor([2])))[:, 1]
    assert changed.max() - changed.min() + 1 == expected
    assert changed.numel() == expected  # contiguous


def test_simplified_receptive_field_by_perturbation() -> None:
    model = SimplifiedBolteNet(SimplifiedConfig(channels=8, kernel=6)).double().eval()
    x = torch.randn(1, 100, dtype=torch.float64)
    x2 = x.clone()
    x2[0, 50] += 1.0
    with torch.no_grad():
        changed = torch.nonzero(model(x2) != model(x))[:, 1]
    assert changed.numel() == model.receptive_field == 2 * 5 + 1 + 2


def test_configs_validate() -> None:
    with pytest.raises(ValueError):
        BolteConfig(dropout=1.0)
    with pytest.raises(ValueError):
        SimplifiedConfig(output="relu")  # type: ignore[arg-type]


def test_build_model_seeded_round_trip() -> None:
    a = build_model(model_spec(BolteNet(BolteConfig(attend_channels=8, width=0.125, n_cells=1))), seed=3)
    b = build_model(model_spec(BolteNet(BolteConfig(attend_channels=8, width=0.125, n_cells=1))), seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError):
        build_model({"class": "Unknown", "config": {}})
    state = torch.random.get_rng_state()
    build_model(model_spec(a), seed=4)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's stream is left as it was


def test_pearson_loss_known_answers() -> None:
    y = torch.rand(4, 50, dtype=torch.float64)
    torch.testing.assert_close(pearson_loss(y, y), torch.tensor(-7.0, dtype=torch.float64))
    torch.testing.assert_close(pearson_loss(3 * y + 1, y), torch.tensor(-7.0, dtype=torch.float64))
    torch.testing.assert_close(pearson_loss(-y, y), torch.tensor(7.0, dtype=torch.float64))
    assert pearson_loss(y, y, depth=0).item() == pytest.approx(-1.0)
    # oracle: the same sum written with numpy's corrcoef and [1, 1] / [1, 2, 1] kernels
    p = torch.rand(2, 30, dtype=torch.float64)
    expected = []
    for a, b in zip(p.numpy(), y[:2, :30].numpy()):
        r = [scipy.stats.pearsonr(a, b)[0]]
        for kernel in ([1, 1], [1, 2, 1]):
            r.append(
                scipy.stats.pearsonr(np.convolve(a, kernel, "valid"), np.convolve(b, kernel, "valid"))[0]
            )
        expected.append(-(r[0] + 2 * r[1] + 4 * r[2]))
    torch.testing.assert_close(pearson_loss(p, y[:2, :30], reduction="none"), torch.tensor(expected))
    assert pearson_loss(p, torch.zeros_like(p)).item() == 0.0  # constant window scores 0


def test_poisson_and_bce_closed_forms() -> None:
    rate = torch.tensor([[0.5, 2.0, 1e-3]], dtype=torch.float64)
    counts = torch.tensor([[0.0, 3.0, 1.0]], dtype=torch.float64)
    expected = -scipy.stats.poisson.logpmf(counts.numpy(), rate.numpy())
    torch.testing.assert_close(poisson_nll(rate, counts, eps=0.0, reduction="none"), torch.tensor(expected))
    prob = torch.tensor([[0.2, 0.7, 0.9]], dtype=torch.float64)
    want = torch.tensor([[-math.log(0.8), -math.log(0.7), -math.log(0.9)]], dtype=torch.float64)
    torch.testing.assert_close(bce_clipped(prob, counts, reduction="none"), want)  # 3 spikes -> target 1
    torch.testing.assert_close(bce_clipped(prob, counts), want.mean())
    assert torch.autograd.gradcheck(lambda r: poisson_nll(r, counts), (rate.clone().requires_grad_(),))


def test_linear_filter_responses_oracle() -> None:
    """The impulse responses, convolved with a trace, equal the first layer on the linear channels."""
    model = BolteNet(BolteConfig(attend_channels=8, width=0.125, n_cells=1)).double()
    x = torch.randn(1, 200, dtype=torch.float64)
    feats = input_features(x)
    feats[:, [3, 4, 5, 9, 10, 11]] = 0.0
    direct = torch.nn.functional.conv1d(feats, model.attend.conv.weight)[0]  # (F, T), kernel 1
    kernels = linear_filter_responses(model, half_width=6)  # weight of x_{t+s}, s = -6..6
    t = 100
    expected = (kernels * x[0, t - 6 : t + 7]).sum(-1)
    torch.testing.assert_close(direct[:, t], expected)
