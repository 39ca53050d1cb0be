"""Tests of spikebook.supervised_training: windows, normalisation, tiled prediction, fitting, checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from spikebook.data.spikefinder import SpikefinderNeuron
from spikebook.supervised import BolteConfig, BolteNet, Ensemble, SimplifiedBolteNet, SimplifiedConfig
from spikebook.supervised_training import (
    FitHistory,
    SupervisedConfig,
    SupervisedFit,
    build_model,
    fit_supervised,
    infer_traces,
    load_models,
    make_windows,
    model_spec,
    normalize_calcium,
    predict,
    predict_neurons,
    save_models,
    window_starts,
)

SMALL = BolteConfig(attend_channels=8, width=0.125, n_cells=1)


def _neuron(column: int, dataset: int = 5, n: int = 1500, seed: int = 0, split: str = "train") -> SpikefinderNeuron:
    """A toy neuron: Poisson spikes convolved with an exponential kernel, plus noise, at 100 Hz."""
    rng = np.random.default_rng(seed + 100 * column + 1000 * dataset)
    spikes = rng.poisson(0.03, n).astype(float)
    kernel = np.exp(-np.arange(100) / 30.0)
    calcium = 3.0 + 2.0 * np.convolve(spikes, kernel)[:n] + 0.2 * rng.standard_normal(n)
    return SpikefinderNeuron(calcium, spikes, 100.0, dataset, split, column, "toy")  # type: ignore[arg-type]


def test_normalize_modes() -> None:
    a, b = np.array([1.0, 2.0, 3.0, np.nan]), np.array([5.0, 7.0])
    pooled = np.array([1.0, 2.0, 3.0, 5.0, 7.0])
    mu, sd = pooled.mean(), pooled.std()
    na, nb = normalize_calcium([a, b], "dataset")
    np.testing.assert_allclose(nb, (b - mu) / sd)
    assert np.isnan(na[-1])
    sa, _ = normalize_calcium([a, b], "as_submitted")  # the original divided by the variance
    np.testing.assert_allclose(sa[:3], 0.05 * (a[:3] - mu) / sd**2)
    _, nb = normalize_calcium([a, b], "neuron")
    np.testing.assert_allclose(nb, (b - b.mean()) / b.std())
    with pytest.raises(ValueError):
        normalize_calcium([a], "robust")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        normalize_calcium([np.ones(5)])


def test_window_starts_cover_the_trace() -> None:
    starts = window_starts(2500, 1000, 800)
    assert starts.tolist() == [0, 800, 1500]
    assert window_starts(700, 1000, 800).tolist() == [0]
    assert window_starts(1000, 1000, 800).tolist() == [0]
    with pytest.raises(ValueError):
        window_starts(100, 0, 800)


def test_make_windows_shapes_and_targets() -> None:
    c = [np.arange(2500.0), np.arange(600.0)]
    s = [np.ones(2500), np.ones(600)]
    w = make_windows(c, s, [4, 7], window=1000, buffer=100)
    assert w.calcium.shape == w.spikes.shape == (4, 1000)
    assert w.dataset.tolist() == [3, 3, 3, 6]
    assert w.calcium[1, 0].item() == 800.0  # stride = window - 2 buffer
    assert w.calcium[3, 600:].abs().sum() == 0  # a short trace is zero-padded
    # central parts tile the first trace's targets from sample 100 to 2400
    covered = np.zeros(2500, bool)
    for start in (0, 800, 1500):
        covered[start + 100 : start + 900] = True
    assert covered[100:2400].all()
    with pytest.raises(ValueError):
        make_windows([np.array([1.0, np.nan])], [np.zeros(2)], [1], window=2, buffer=0)
    with pytest.raises(ValueError):
        make_windows(c, s, [4], window=1000, buffer=100)
    with pytest.raises(ValueError):
        make_windows(c, s, [4, 7], window=100, buffer=50)


@pytest.mark.parametrize("model", [BolteNet(SMALL), SimplifiedBolteNet(SimplifiedConfig(channels=8, kernel=6))])
def test_tiled_prediction_equals_untiled(model) -> None:
    model = model.double().eval()
    x = np.random.default_rng(0).standard_normal(2345)
    tiled = predict(model, x, 3, window=400, buffer=60, batch_size=3)
    with torch.no_grad():
        whole = model(torch.from_numpy(x)[None], torch.tensor([2]))[0].numpy()
    np.testing.assert_allclose(tiled, whole, rtol=1e-10, atol=1e-12)


def test_prediction_keeps_nan_and_shapes() -> None:
    model = BolteNet(SMALL).double().eval()
    x = np.random.default_rng(1).standard_normal((2, 900))
    x[1, 700:] = np.nan
    out = predict(model, x, None, window=300, buffer=40)
    assert out.shape == x.shape
    assert np.isnan(out[1, 700:]).all() and np.isfinite(out[:, :700]).all()
    # the padded row's finite part is predicted as a trace of its own
    np.testing.assert_allclose(out[1, :700], predict(model, x[1, :700], None, window=300, buffer=40))
    with pytest.raises(ValueError):
        predict(model, np.array([1.0, np.inf]), None)
    with pytest.raises(ValueError):
        predict(model, x, 0)
    with pytest.raises(ValueError):
        predict(model, x, None, window=100, buffer=50)


def test_build_model_seeded_round_trip() -> None:
    a = build_model(model_spec(BolteNet(SMALL)), seed=3)
    b = build_model(model_spec(BolteNet(SMALL)), seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(ValueError):
        build_model({"class": "Unknown", "config": {}})


def test_ensemble_is_the_mean_of_its_members_and_round_trips(tmp_path) -> None:
    members = [build_model(model_spec(BolteNet(SMALL)), seed=1),
               build_model(model_spec(SimplifiedBolteNet(SimplifiedConfig(channels=4, kernel=5))), seed=2)]
    ensemble = Ensemble(members).eval()
    x, ds = torch.randn(2, 300), torch.tensor([3, 4])
    with torch.no_grad():
        expected = (members[0](x, ds) + members[1](x, ds)) / 2
        torch.testing.assert_close(ensemble(x, ds), expected)
    assert ensemble.receptive_field == max(m.receptive_field for m in members)
    fit = SupervisedFit(ensemble, FitHistory([], [], []), 0, float("nan"), SupervisedConfig(), 0.0)
    loaded = load_models(save_models(tmp_path / "e.pt", {"ensemble": fit}))[0]["ensemble"].model
    assert isinstance(loaded, Ensemble) and len(loaded.members) == 2
    np.testing.assert_allclose(predict(loaded, x.numpy(), 4, window=300, buffer=40),
                               predict(ensemble, x.numpy(), 4, window=300, buffer=40))
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        SupervisedConfig(window=100, buffer=50)
    with pytest.raises(ValueError):
        SupervisedConfig(loss="mse")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SupervisedConfig(lr=0)


def test_fit_lowers_loss_is_seeded_and_round_trips(tmp_path) -> None:
    train = [_neuron(j) for j in range(3)] + [_neuron(j, dataset=4) for j in range(2)]
    val = [_neuron(10), _neuron(10, dataset=4)]
    config = SupervisedConfig(window=300, buffer=40, batch_size=8, max_epochs=4, patience=4, lr=3e-3)

    def run():
        return fit_supervised(build_model(model_spec(BolteNet(SMALL)), seed=0), train, val, config, progress=False)

    fit = run()
    assert fit.history.train_loss[-1] < fit.history.train_loss[0]
    assert len(fit.history.val_corr) == 4 and fit.best_val == max(fit.history.val_corr)
    again = run()
    assert again.history.train_loss == fit.history.train_loss
    for p, q in zip(fit.model.parameters(), again.model.parameters()):
        assert torch.equal(p, q)
    path = save_models(tmp_path / "m.pt", {"regular": fit}, {"note": 1})
    loaded, meta = load_models(path)
    assert meta == {"note": 1} and loaded["regular"].config == config
    a = predict_neurons(fit.model, val, window=300, buffer=40)
    b = predict_neurons(loaded["regular"].model, val, window=300, buffer=40)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y)


def test_fit_rejects_overlapping_validation() -> None:
    train = [_neuron(0), _neuron(1)]
    with pytest.raises(ValueError, match="overlap"):
        fit_supervised(BolteNet(SMALL), train, train[:1], SupervisedConfig(window=300, buffer=40), progress=False)
    missing = dataclasses.replace(train[0], calcium=None)
    with pytest.raises(ValueError, match="calcium"):
        fit_supervised(BolteNet(SMALL), [missing], None, SupervisedConfig(window=300, buffer=40), progress=False)


def test_infer_traces_dataset_and_resampling() -> None:
    attended, agnostic = BolteNet(SMALL).eval(), BolteNet(SMALL).eval()
    x = np.stack([_neuron(0).calcium, _neuron(1).calcium])
    x[1, 1200:] = np.nan
    with_set = infer_traces(x, 100.0, attended, agnostic, dataset=5)
    without = infer_traces(x, 100.0, attended, agnostic, dataset=None)
    assert with_set.shape == x.shape and np.isnan(with_set[1, 1200:]).all()
    assert not np.allclose(with_set[0], without[0])
    z = (x - np.nanmean(x)) / np.nanstd(x)  # the traces are normalised as one dataset
    np.testing.assert_allclose(with_set[0], predict(attended, z[0], 5))
    at_50 = infer_traces(x[0, ::2], 50.0, attended, agnostic, dataset=5)
    assert at_50.shape == (750,) and np.isfinite(at_50).all()
    with pytest.raises(ValueError):
        infer_traces(x, 100.0, attended, None, dataset=None)
    with pytest.raises(ValueError):
        infer_traces(x, 100.0, attended, agnostic, dataset=11)
    np.testing.assert_array_equal(infer_traces(x, 100.0, attended, agnostic, dataset=5, trained_datasets=(4, 5)),
                                  with_set)
    with pytest.raises(ValueError, match=r"dataset=3: .*never trained.*trained datasets: 4, 5\)"):
        infer_traces(x, 100.0, attended, agnostic, dataset=3, trained_datasets=(4, 5))
    with pytest.raises(ValueError, match="trained datasets: none recorded"):
        infer_traces(x, 100.0, attended, agnostic, dataset=5, trained_datasets=())


def test_linear_filter_responses_oracle() -> None:
    """The impulse responses, convolved with a trace, equal the first layer on the linear channels."""
    from spikebook.supervised import input_features, linear_filter_responses

    model = BolteNet(SMALL).double()
    x = torch.randn(1, 200, dtype=torch.float64)
    feats = input_features(x)
    feats[:, [3, 4, 5, 9, 10, 11]] = 0.0
    direct = torch.nn.functional.conv1d(feats, model.attend.conv.weight)[0]  # (F, T), kernel 1
    kernels = linear_filter_responses(model, half_width=6)  # weight of x_{t+s}, s = -6..6
    t = 100
    expected = (kernels * x[0, t - 6 : t + 7]).sum(-1)
    torch.testing.assert_close(direct[:, t], expected)


def test_pretrained_entry_through_infer() -> None:
    import spikebook
    from spikebook import pretrained

    name = "attended-inception-spikefinder"
    if name not in pretrained.available():
        pytest.skip("checkpoint not on disk (python -m spikebook.experiments.spikefinder_table --full)")
    assert pretrained.checkpoint_path(name).stat().st_size < 1_000_000
    entry = pretrained.load(name)
    x = np.stack([_neuron(0).calcium, _neuron(1).calcium])
    for dataset in (5, None):
        out = spikebook.infer(x, fs=100, model=name, dataset=dataset)
        expected = infer_traces(x, 100.0, entry.attended, entry.agnostic, dataset)
        np.testing.assert_allclose(out, expected)
    with pytest.raises(ValueError):
        spikebook.infer(x, fs=100, dataset=5)  # dataset= only for the supervised entries
