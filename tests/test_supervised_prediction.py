"""Tests of spikebook.supervised.prediction: normalisation, tiled prediction, users' traces, the shipped entry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikebook.signal import halo_windows
from spikebook.supervised import (
    BolteConfig,
    BolteNet,
    SimplifiedBolteNet,
    SimplifiedConfig,
    normalize_calcium,
    predict,
    predict_fluorescence,
)

SMALL = BolteConfig(attend_channels=8, width=0.125, n_cells=1)


def _calcium(n: int, t: int, seed: int = 0) -> np.ndarray:
    """``(n, t)`` toy fluorescence at 100 Hz: Poisson spikes through an exponential kernel, plus noise."""
    rng = np.random.default_rng(seed)
    spikes = rng.poisson(0.03, (n, t)).astype(float)
    kernel = np.exp(-np.arange(100) / 30.0)
    return 3.0 + 2.0 * np.stack([np.convolve(s, kernel)[:t] for s in spikes]) + 0.2 * rng.standard_normal((n, t))


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


def test_predict_fluorescence_dataset_and_resampling() -> None:
    attended, agnostic = BolteNet(SMALL).eval(), BolteNet(SMALL).eval()
    x = _calcium(2, 1500)
    x[1, 1200:] = np.nan
    with_set = predict_fluorescence(x, 100.0, attended, agnostic, dataset=5)
    without = predict_fluorescence(x, 100.0, attended, agnostic, dataset=None)
    assert with_set.shape == x.shape and np.isnan(with_set[1, 1200:]).all()
    assert not np.allclose(with_set[0], without[0])
    z = (x - np.nanmean(x)) / np.nanstd(x)  # the traces are normalised as one dataset
    np.testing.assert_allclose(with_set[0], predict(attended, z[0], 5))
    at_50 = predict_fluorescence(x[0, ::2], 50.0, attended, agnostic, dataset=5)
    assert at_50.shape == (750,) and np.isfinite(at_50).all()
    with pytest.raises(ValueError):
        predict_fluorescence(x, 100.0, attended, None, dataset=None)
    with pytest.raises(ValueError):
        predict_fluorescence(x, 100.0, attended, agnostic, dataset=11)
    np.testing.assert_array_equal(predict_fluorescence(x, 100.0, attended, agnostic, dataset=5, trained_datasets=(4, 5)),
                                  with_set)
    with pytest.raises(ValueError, match=r"dataset=3: .*never trained.*trained datasets: 4, 5\)"):
        predict_fluorescence(x, 100.0, attended, agnostic, dataset=3, trained_datasets=(4, 5))
    with pytest.raises(ValueError, match="trained datasets: none recorded"):
        predict_fluorescence(x, 100.0, attended, agnostic, dataset=5, trained_datasets=())


def test_pretrained_entry_through_infer() -> None:
    import spikebook
    from spikebook import pretrained

    name = "attended-inception-spikefinder"
    if name not in pretrained.available():
        pytest.skip("checkpoint not on disk (python -m spikebook.experiments.spikefinder_table --full)")
    assert pretrained.checkpoint_path(name).stat().st_size < 1_000_000
    entry = pretrained.load(name)
    x = _calcium(2, 1500)
    for dataset in (5, None):
        out = spikebook.infer(x, fs=100, model=name, dataset=dataset)
        expected = predict_fluorescence(x, 100.0, entry.attended, entry.agnostic, dataset)
        np.testing.assert_allclose(out, expected)
    with pytest.raises(ValueError):
        spikebook.infer(x, fs=100, dataset=5)  # dataset= only for the supervised entries


def _predict_by_hand(model, x: np.ndarray, dataset: int, window: int, buffer: int) -> np.ndarray:
    """The tiling written out: windows every ``window - 2 buffer`` samples, the last flush with the end; each
    keeps its outputs ``buffer`` samples from an inner cut (all of them at the trace's own ends)."""
    stride, n = window - 2 * buffer, x.size
    starts = [0] if n <= window else [*range(0, n - window, stride), n - window]
    out = np.full(n, np.nan)
    ids = torch.tensor([dataset - 1])
    for s in starts:
        with torch.no_grad():
            y = model(torch.from_numpy(x[s : s + window])[None], ids)[0].numpy()
        lo = 0 if s == 0 else buffer
        hi = y.size if s + y.size == n else y.size - buffer
        out[s + lo : s + hi] = y[lo:hi]
    return out


@pytest.mark.parametrize("n", [5, 400, 401, 999, 1234])
def test_tiling_is_the_halo_tiling_written_out(n: int) -> None:
    """Short buffers (below half the receptive field): the output depends on where the cuts are, so it
    shows that the windows and the kept outputs are the ones of the rule written out by hand."""
    model = BolteNet(SMALL).double().eval()
    x = np.random.default_rng(n).standard_normal(n)
    got = predict(model, x, 3, window=100, buffer=7, batch_size=4)
    np.testing.assert_allclose(got, _predict_by_hand(model, x, 3, 100, 7), rtol=1e-12, atol=1e-14)
    kept = np.zeros(n, int)
    for w in halo_windows(0, n, 100 - 2 * 7, 7):
        kept[w.keep_from : w.keep_to] += 1
    assert (kept >= 1).all()  # every sample is predicted


def test_predict_refuses_bad_dataset_and_batch_size() -> None:
    """Issue 33 row 23: a dataset outside 1..n_datasets, or batch_size 0, is refused at the door."""
    model, x = BolteNet(SMALL), np.zeros(300)
    for dataset in (0, SMALL.n_datasets + 1):
        with pytest.raises(ValueError, match="dataset"):
            predict(model, x, dataset)
    with pytest.raises(ValueError, match="batch_size"):
        predict(model, x, 1, batch_size=0)
