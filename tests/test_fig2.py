"""Fig. 2 (correlated posteriors): per-true-spike counting, reconstructions, and a tiny end-to-end run."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from spikebook.data.simulate import SimulationConfig, simulate
from spikebook.experiments.fig2 import cache, counting, evaluation, figures, posterior
from spikebook.generative import SCDF
from spikebook.recognition import DSF, DSNF, CNNConfig, RecognitionModel, RNNConfig, SampleResult
from spikebook.recognition.base import bernoulli_log_prob

matplotlib.use("Agg")

TINY_CNN = CNNConfig(filters=(4, 3), widths=(5, 3), out_width=3, out_bias=-2.0)
TINY_RNN = RNNConfig(filters=(3,), widths=(3,), n_features=3, feature_width=3, n_backward=8, n_forward=8,
                     out_bias=-2.0)
TINY = evaluation.Fig2Config(n_cells=2, n_steps=600, n_samples=4, window_start_s=1.0, window_s=2.0,
                       n_reconstructions=2, n_raster=3, cells_per_batch=1)


def _train(length: int, *bins: int) -> np.ndarray:
    x = np.zeros(length)
    x[list(bins)] = 1
    return x


def _naive_counts(samples: np.ndarray, truth: np.ndarray, w: int) -> np.ndarray:
    """Oracle: give every sampled spike to its nearest true spike (earlier on ties) if within w bins."""
    true_bins = list(np.flatnonzero(truth))
    counts = np.zeros((len(samples), len(true_bins)), dtype=np.int64)
    for k, train in enumerate(samples):
        for t in np.flatnonzero(train):
            distances = [abs(t - b) for b in true_bins]
            if distances and min(distances) <= w:
                counts[k, distances.index(min(distances))] += 1  # index() picks the first (earlier) minimum
    return counts


# --------------------------------------------------------------------------- counting
def test_count_known_answers_single_true_spike():
    truth = _train(20, 10)
    samples = np.stack([
        _train(20),  # nothing sampled → 0
        _train(20, 10),  # exact → 1
        _train(20, 8, 12),  # both edges of the ±2 window → 2
        _train(20, 7, 13),  # just outside → 0
        _train(20, 9, 10, 11),  # three → 3
    ])
    counts = counting.count_sampled_spikes(samples, truth, half_width=2)
    assert counts.shape == (5, 1)
    np.testing.assert_array_equal(counts[:, 0], [0, 1, 2, 0, 3])
    np.testing.assert_array_equal(counting.count_sampled_spikes(samples, truth, half_width=3)[:, 0], [0, 1, 2, 2, 3])
    np.testing.assert_array_equal(counting.count_sampled_spikes(samples, truth, half_width=0)[:, 0], [0, 1, 0, 0, 1])


def test_count_overlapping_windows_split_by_distance_without_double_counting():
    truth = _train(20, 5, 7)  # windows [3, 7] and [5, 9] overlap on 5..7
    samples = np.stack([
        _train(20, 6),  # equidistant → the earlier true spike
        _train(20, 7),  # on the second spike → second
        _train(20, 5, 7),  # one each
        _train(20, 3, 4, 8, 9),  # two each
        _train(20, 6, 7, 8),  # 6 → first, 7 and 8 → second
    ])
    counts = counting.count_sampled_spikes(samples, truth, half_width=2)
    np.testing.assert_array_equal(counts, [[1, 0], [0, 1], [1, 1], [2, 2], [1, 2]])
    # no double counting: per sample, the counts add up to the sampled spikes inside the union of windows
    assert (counts.sum(1) == samples[:, 3:10].sum(1)).all()


def test_count_borders_and_trains_without_true_spikes():
    truth = _train(10, 0, 9)
    counts = counting.count_sampled_spikes(_train(10, 0, 1, 2, 3, 8)[None], truth, half_width=2)
    np.testing.assert_array_equal(counts, [[3, 1]])  # 3 is outside both windows
    empty = counting.count_sampled_spikes(np.ones((4, 10)), np.zeros(10), half_width=2)
    assert empty.shape == (4, 0) and empty.dtype == np.int64


def test_count_matches_naive_oracle_and_batches_concatenate():
    rng = np.random.default_rng(0)
    truth = (rng.random((3, 200)) < 0.08).astype(float)  # dense: many overlapping windows
    samples = (rng.random((6, 3, 200)) < 0.1).astype(float)
    for w in (0, 1, 2, 5):
        batched = counting.count_sampled_spikes(torch.from_numpy(samples), torch.from_numpy(truth), half_width=w)
        oracle = np.concatenate([_naive_counts(samples[:, b], truth[b], w) for b in range(3)], axis=1)
        np.testing.assert_array_equal(batched, oracle)
    assert batched.shape == (6, int(truth.sum()))


def test_count_rejects_bad_input():
    with pytest.raises(ValueError, match="binary"):
        counting.count_sampled_spikes(np.zeros((2, 10)), 2 * _train(10, 3))
    with pytest.raises(ValueError, match="need samples"):
        counting.count_sampled_spikes(np.zeros((2, 10)), np.zeros(11))
    with pytest.raises(ValueError, match="half_width"):
        counting.count_sampled_spikes(np.zeros((2, 10)), np.zeros(10), half_width=-1)
    with pytest.raises(TypeError, match="half_width"):
        counting.count_sampled_spikes(np.zeros((2, 10)), np.zeros(10), half_width=1.5)


def test_count_histogram_pools_and_clips():
    counts = np.array([[0, 1, 1, 5], [2, 1, 4, 3]])
    np.testing.assert_array_equal(counting.count_histogram(counts, max_count=3), [1, 3, 1, 3])
    assert counting.count_histogram(counts, max_count=3).sum() == counts.size


def test_factorized_timing_uncertainty_spreads_counts_correlated_does_not():
    """The paper's point in miniature: a spike at bin 10 or 11 with probability 1/2 each.

    Independent Bernoulli(1/2) bins (the best factorized q) give 0, 1, 2 spikes with probabilities
    1/4, 1/2, 1/4; a correlated q that picks exactly one of the two bins always gives 1.
    """
    generator = torch.Generator().manual_seed(0)
    n = 20_000
    truth = _train(30, 10)
    factorized = torch.zeros(n, 30)
    factorized[:, 10:12] = (torch.rand(n, 2, generator=generator) < 0.5).float()
    correlated = torch.zeros(n, 30)
    correlated[torch.arange(n), 10 + torch.randint(0, 2, (n,), generator=generator)] = 1.0
    p_factorized = counting.count_histogram(counting.count_sampled_spikes(factorized, truth), 3) / n
    np.testing.assert_allclose(p_factorized, [0.25, 0.5, 0.25, 0.0], atol=0.015)
    np.testing.assert_array_equal(counting.count_histogram(counting.count_sampled_spikes(correlated, truth), 3), [0, n, 0, 0])


# --------------------------------------------------------------------------- reconstructions, draws
def test_noise_free_mean_uses_each_traces_own_cell():
    model = SCDF(gamma=torch.tensor([[0.93], [0.95], [0.97]]), alpha=torch.tensor([0.8, 0.9, 1.0]),
                 beta=torch.tensor([-0.2, 0.0, 0.1]), sigma=torch.tensor([0.02, 0.03, 0.04]),
                 kon=torch.tensor([0.003, 0.005, 0.007]), koff=torch.tensor([0.08, 0.1, 0.11]),
                 eta=torch.tensor([2.0, 2.1, 2.2]), D=torch.tensor([5.5, 6.0, 6.5]))
    spikes = (torch.rand(5, 4, 80) < 0.1).float()  # (K, B, T)
    cells = torch.tensor([2, 0, 2, 1])
    means = posterior.noise_free_mean(model, spikes, cells)
    assert means.shape == (5, 4, 80)
    for b, c in enumerate(cells.tolist()):
        full = torch.zeros(5, 3, 80)
        full[:, c] = spikes[:, b]
        torch.testing.assert_close(means[:, b], model.mean(full)[:, c])


@pytest.mark.parametrize("kind", ["dsf", "dsnf"])
def test_posterior_draws_shapes_and_marginals(kind):
    model = DSF(TINY_CNN) if kind == "dsf" else DSNF(TINY_RNN)
    f = torch.randn(3, 50)
    draws = posterior.posterior_draws(model, f, 7, torch.Generator().manual_seed(0))
    assert draws.spikes.shape == (7, 3, 50) and draws.marginals.shape == (3, 50)
    assert set(draws.spikes.unique().tolist()) <= {0.0, 1.0}
    assert ((draws.marginals > 0) & (draws.marginals < 1)).all()
    if kind == "dsf":  # factorized: the marginals are exact, whatever the samples
        torch.testing.assert_close(draws.marginals, torch.sigmoid(model(f)).detach())


# --------------------------------------------------------------------------- end to end
class _Oracle(RecognitionModel):
    """A q that puts (nearly) all its mass on the true spike train of each trace it was given."""

    def __init__(self, f: torch.Tensor, spikes: torch.Tensor) -> None:
        super().__init__()
        self.f, self.spikes = f.reshape(-1, f.shape[-1]), spikes.reshape(-1, f.shape[-1])

    def _logits(self, f: torch.Tensor) -> torch.Tensor:
        rows = [int((self.f == row).all(-1).nonzero()[0]) for row in f]
        return 40.0 * (2 * self.spikes[rows] - 1)  # (B, T)

    def sample_and_log_prob(self, f, n=1, generator=None):
        logits = self._logits(f)
        spikes = (logits > 0).float().expand(n, *logits.shape)
        return SampleResult(spikes, bernoulli_log_prob(logits, spikes), logits)

    def log_prob(self, spikes, f):
        return bernoulli_log_prob(self._logits(f), spikes.reshape(-1, *f.shape))


@pytest.fixture(scope="module")
def tiny_data():
    return simulate(SimulationConfig(model="SCDF", n_cells=3, n_steps=TINY.n_steps), seed=5)


def test_evaluate_with_a_perfect_posterior_gives_known_answers(tiny_data):
    oracle = _Oracle(tiny_data.fluorescence, tiny_data.spikes)
    result = evaluation.evaluate({"oracle": oracle}, tiny_data, TINY)
    t = result.traces
    n_spikes = int(tiny_data.spikes[:, : TINY.n_cells].sum())
    np.testing.assert_array_equal(result.counts["oracle"], [0, TINY.n_samples * n_spikes, 0, 0, 0])
    np.testing.assert_allclose(t["frac_one_oracle"], 1.0)
    np.testing.assert_allclose(t["sampled_per_true_oracle"], 1.0)
    np.testing.assert_allclose(t["log_q_true_oracle"], 0.0, atol=1e-12)
    np.testing.assert_allclose(t["corr_oracle"], 1.0)
    # the true train explains the trace down to the noise: RMSE ≈ σ (checks the per-cell parameters)
    np.testing.assert_allclose(t["rmse_oracle"], 1.0, atol=0.12)
    np.testing.assert_array_equal(t["cell"], [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(t["n_spikes"], tiny_data.spikes[:, :2].transpose(0, 1).sum(-1).reshape(-1))


def test_evaluate_tiny_networks_end_to_end(tiny_data, tmp_path):
    models = {"DS-F": DSF(TINY_CNN), "DS-NF": DSNF(TINY_RNN)}
    result = evaluation.evaluate(models, tiny_data, TINY, meta={"checkpoints": "untrained"})
    t = result.traces
    n_traces, n_spikes = 3 * TINY.n_cells, int(tiny_data.spikes[:, : TINY.n_cells].sum())
    assert all(values.shape == (n_traces,) for values in t.values())
    for slug in ("dsf", "dsnf"):
        assert (t[f"log_q_true_{slug}"] < 0).all()
        assert (np.abs(t[f"corr_{slug}"]) <= 1).all()
        assert (t[f"rmse_{slug}"] > 0).all()
        assert result.counts["DS-F" if slug == "dsf" else "DS-NF"].sum() == TINY.n_samples * n_spikes
    window = round(TINY.window_s * 60)
    assert result.example["fluorescence"].shape == (window,)
    assert result.example["reconstructions_dsnf"].shape == (TINY.n_reconstructions, window)
    assert result.example["samples_dsf"].shape == (TINY.n_raster, window)
    assert result.meta["checkpoints"] == "untrained" and result.meta["labels"] == ["DS-F", "DS-NF"]
    summary = evaluation.fig2_summary(result)
    assert 0 <= summary["DS-NF > DS-F in log q(true)"] <= 1 and 0 <= summary["DS-F: P(count = 1)"] <= 1
    # the same seed gives the same result
    again = evaluation.evaluate(models, tiny_data, TINY)
    np.testing.assert_array_equal(again.traces["log_q_true_dsnf"], t["log_q_true_dsnf"])
    np.testing.assert_array_equal(again.counts["DS-NF"], result.counts["DS-NF"])
    # cache round trip
    assert cache.load_results(tmp_path) is None
    cache.save_results(result, tmp_path)
    loaded = cache.load_results(tmp_path)
    assert loaded.meta == result.meta
    for name, values in t.items():
        np.testing.assert_allclose(loaded.traces[name], values, rtol=1e-5)
    for label, histogram in result.counts.items():
        np.testing.assert_array_equal(loaded.counts[label], histogram)
    for name, values in result.example.items():
        np.testing.assert_array_equal(loaded.example[name], values)
    for plot in (figures.plot_example, figures.plot_count_histogram, figures.plot_cell_scatter):
        assert isinstance(plot(loaded), Figure)
    matplotlib.pyplot.close("all")


def test_config_validation():
    with pytest.raises(ValueError, match="n_cells"):
        evaluation.Fig2Config(n_cells=0)
    with pytest.raises(ValueError, match="exceed"):
        evaluation.Fig2Config(n_samples=2, n_raster=3)
    with pytest.raises(ValueError, match="example_cell"):
        evaluation.Fig2Config(n_cells=2, example_cell=2)
    with pytest.raises(ValueError, match="window"):
        dataclasses.replace(TINY, window_start_s=9.0).window(60.0)
    assert evaluation.FULL.window(60.0) == slice(3600, 4080)


def test_load_or_compute_shows_the_cache_in_quick_mode_and_writes_it_in_full_mode(tiny_data, tmp_path, monkeypatch):
    def fake_models(quick, retrain=False):
        return {"DS-F": SimpleNamespace(recognition=DSF(TINY_CNN), name="dsf-scdf-60hz", quick=quick),
                "DS-NF": SimpleNamespace(recognition=DSNF(TINY_RNN), name="dsnf-scdf-60hz", quick=quick)}

    monkeypatch.setattr(cache, "load_models", fake_models)
    monkeypatch.setattr(cache, "scdf_test_split", lambda config: tiny_data)
    monkeypatch.setattr(cache, "QUICK", TINY)
    monkeypatch.setattr(cache, "FULL", dataclasses.replace(TINY, n_samples=5))
    quick_run = cache.load_or_compute(quick=True, results_dir=tmp_path)
    assert not quick_run.from_cache and quick_run.shown is quick_run.live  # no cache yet
    assert cache.load_results(tmp_path) is None  # quick mode never writes the cache
    assert quick_run.live.meta["checkpoints"] == {"DS-F": "dsf-scdf-60hz-quick", "DS-NF": "dsnf-scdf-60hz-quick"}
    full_run = cache.load_or_compute(quick=False, results_dir=tmp_path)
    assert full_run.shown.meta["config"]["n_samples"] == 5 and cache.load_results(tmp_path) is not None
    again = cache.load_or_compute(quick=True, results_dir=tmp_path)
    assert again.from_cache and again.shown.meta == full_run.live.meta
    assert again.live.meta["config"]["n_samples"] == TINY.n_samples  # the live run still ran, at quick size
