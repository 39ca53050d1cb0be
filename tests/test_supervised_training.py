"""Tests of spikebook.training.supervised: windows, configuration, fitting, checkpoints."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from spikebook.data.spikefinder import SpikefinderNeuron
from spikebook.signal import halo_windows
from spikebook.supervised import (
    BolteConfig,
    BolteNet,
    Ensemble,
    SimplifiedBolteNet,
    SimplifiedConfig,
    build_model,
    model_spec,
    predict,
    predict_neurons,
)
from spikebook.training.supervised import (
    FitHistory,
    SupervisedConfig,
    SupervisedFit,
    fit_supervised,
    load_models,
    make_windows,
    save_models,
)

SMALL = BolteConfig(attend_channels=8, width=0.125, n_cells=1)


def _neuron(column: int, dataset: int = 5, n: int = 1500, seed: int = 0, split: str = "train") -> SpikefinderNeuron:
    """A toy neuron: Poisson spikes convolved with an exponential kernel, plus noise, at 100 Hz."""
    rng = np.random.default_rng(seed + 100 * column + 1000 * dataset)
    spikes = rng.poisson(0.03, n).astype(float)
    kernel = np.exp(-np.arange(100) / 30.0)
    calcium = 3.0 + 2.0 * np.convolve(spikes, kernel)[:n] + 0.2 * rng.standard_normal(n)
    return SpikefinderNeuron(calcium, spikes, 100.0, dataset, split, column, "toy")  # type: ignore[arg-type]




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
    # the windows are those of the prediction's tiling: starts every 800 samples, the last flush with the end
    assert [w.start for w in halo_windows(0, 2500, 800, 100)] == [0, 800, 1500]
    assert [w.start for w in halo_windows(0, 1000, 800, 100)] == [0]
    with pytest.raises(ValueError):
        make_windows([np.array([1.0, np.nan])], [np.zeros(2)], [1], window=2, buffer=0)
    with pytest.raises(ValueError):
        make_windows(c, s, [4], window=1000, buffer=100)
    with pytest.raises(ValueError):
        make_windows(c, s, [4, 7], window=100, buffer=50)




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
    with pytest.raises(ValueError, match="lr must be finite"):  # issue 33 row 9
        SupervisedConfig(lr=float("inf"))


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



def test_fit_never_overwrites_a_file_that_is_not_a_model_file(tmp_path) -> None:
    """Issue 33 row 2: a user's file at ``checkpoint_path`` is refused before training, unless overwrite=True."""
    train, config = [_neuron(0)], SupervisedConfig(window=300, buffer=40, batch_size=8, max_epochs=1)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    with pytest.raises(FileExistsError, match="notes.txt.*overwrite=True"):
        fit_supervised(BolteNet(SMALL), train, None, config, progress=False, checkpoint_path=notes)
    assert notes.read_text() == "my notes"
    fit_supervised(BolteNet(SMALL), train, None, config, progress=False, checkpoint_path=notes, overwrite=True)
    assert "model" in load_models(notes)[0]
    # a file of save_models' kind is this function's own output: retraining replaces it
    fit_supervised(BolteNet(SMALL), train, None, config, progress=False, checkpoint_path=notes)


def test_fit_checks_the_checkpoint_folder_before_training(tmp_path, monkeypatch) -> None:
    """Issue 33 row 3: an unwritable checkpoint path fails at once, naming the path, before any epoch."""
    import spikebook.training.supervised as module

    (tmp_path / "file").write_text("")
    monkeypatch.setattr(module, "make_windows", lambda *a, **k: pytest.fail("trained before checking"))
    with pytest.raises(NotADirectoryError, match="file"):
        fit_supervised(BolteNet(SMALL), [_neuron(0)], None, SupervisedConfig(window=300, buffer=40),
                       progress=False, checkpoint_path=tmp_path / "file" / "m.pt")
