"""Table 1 on GCaMP6 data: preprocessing, folds, scoring, initial generative model."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

from spikebook.experiments.table1_gcamp import (
    INITIAL_MLPHYS,
    PAPER,
    PAPER_STOPPING_RUNS,
    GcampNeuron,
    best_lags,
    fold_checkpoint,
    initial_mlphys,
    lag_scores,
    load_cached,
    load_neurons,
    neuron_folds,
    plot_lag_scores,
    preprocess,
    score_neuron,
    shift_frames,
    summarize,
    timing_curves,
)
from spikebook.saving import load_checkpoint


def test_preprocess_removes_a_slow_baseline_and_keeps_transients():
    t = np.arange(20_000) / 60.0
    baseline = 0.2 + 0.001 * t  # a slow drift: 0.1 per 100 s window
    transients = np.zeros_like(t)
    transients[::600] = 1.0
    transients = np.convolve(transients, np.exp(-np.arange(120) / 60.0))[: t.size]
    out = preprocess(baseline + transients)
    assert out.shape == t.shape and out.dtype == np.float32
    # Between transients the trace sits at 0 once the drift is removed; the transients keep their size.
    quiet = transients < 0.05
    assert np.abs(out[quiet]).max() < 0.06
    assert out.max() == pytest.approx(transients.max(), abs=0.06)


def test_preprocess_rejects_non_finite():
    with pytest.raises(ValueError):
        preprocess(np.array([0.0, np.nan, 1.0]))


@pytest.mark.parametrize("n", [4, 7, 11])
def test_neuron_folds_balanced_deterministic(n):
    folds = neuron_folds(n)
    sizes = np.bincount(folds, minlength=4)
    assert sizes.sum() == n and sizes.max() - sizes.min() <= 1 and sizes.min() >= 1
    np.testing.assert_array_equal(folds, neuron_folds(n))
    assert not np.array_equal(neuron_folds(11, seed=0), neuron_folds(11, seed=1))


def test_neuron_folds_need_enough_neurons():
    with pytest.raises(ValueError, match="at least 4"):
        neuron_folds(3)


def _neuron(spikes: list[np.ndarray], fs: float = 60.06) -> GcampNeuron:
    return GcampNeuron("n", "GCaMP6s", tuple(np.zeros_like(s) for s in spikes), tuple(spikes), fs)


def test_score_neuron_perfect_and_oracle():
    rng = np.random.default_rng(0)
    spikes = [rng.binomial(1, 0.02, 3_000).astype(np.float32), rng.binomial(1, 0.02, 1_500).astype(np.float32)]
    neuron = _neuron(spikes)
    assert score_neuron(spikes, neuron) == pytest.approx(1.0)
    # Oracle for an integer ratio: at 100 Hz, 40 ms bins are sums of 4 samples.
    neuron100 = _neuron(spikes, fs=100.0)
    pred = [s + rng.random(s.size) for s in spikes]
    binned = [np.add.reduceat(x, np.arange(0, x.size - x.size % 4, 4))[: x.size // 4] for x in (*pred, *spikes)]
    expected = np.corrcoef(np.concatenate(binned[:2]), np.concatenate(binned[2:]))[0, 1]
    assert score_neuron(pred, neuron100) == pytest.approx(expected, rel=1e-9)


def test_shift_frames_known_answers():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(shift_frames(x, 1), [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(shift_frames(x, -2), [3.0, 4.0, 0.0, 0.0])
    np.testing.assert_array_equal(shift_frames(x, 0), x)


def test_lag_scores_find_a_late_prediction():
    rng = np.random.default_rng(1)
    spikes = [rng.binomial(1, 0.03, 2_000).astype(np.float64) for _ in range(2)]
    neuron = _neuron(spikes, fs=100.0)
    late = [shift_frames(s, 2) for s in spikes]  # the prediction is 2 frames late
    table = lag_scores([late], [neuron], range(-3, 2))
    assert list(table.lag) == [-3, -2, -1, 0, 1]
    assert table.set_index("lag").correlation.idxmax() == -2
    assert table.set_index("lag").correlation[-2] == pytest.approx(1.0, abs=1e-3)  # only the zero-filled end differs
    assert table.set_index("lag").correlation[0] == pytest.approx(score_neuron(late, neuron))
    on_time = lag_scores([spikes], [neuron], range(-3, 2)).assign(method="B")
    both = pd.concat([table.assign(method="A"), on_time, on_time.assign(neuron="m")], ignore_index=True)
    counts = best_lags(both)
    assert counts.to_dict(orient="index") == {"A": {-2: 1, 0: 0}, "B": {-2: 0, 0: 2}}


def test_initial_noise_is_a_robust_sigma_estimate():
    rng = np.random.default_rng(1)
    segments = (0.05 * rng.standard_normal((3, 20_000))).astype(np.float32)
    segments[:, ::500] += 2.0  # rare large events barely move the median
    model = initial_mlphys("GCaMP6f", segments, 60.0)
    np.testing.assert_allclose(model.sigma.detach().numpy(), 0.05, rtol=0.05)
    assert model.alpha.shape == (3,)
    assert torch.allclose(model.tau_on, torch.tensor(INITIAL_MLPHYS["GCaMP6f"]["tau_on"]))


def test_summary_adds_quoted_rows():
    import pandas as pd

    cells = pd.DataFrame({"indicator": ["GCaMP6s"] * 3, "neuron": list("abc"), "method": ["DS-F"] * 3,
                          "fold": [0, 1, 2], "correlation": [0.5, 0.6, 0.7], "n_spikes": [1, 2, 3],
                          "inferred_spikes": [1, 2, 3]})
    summary = summarize(cells).set_index("method")
    assert summary.loc["DS-F", "mean"] == pytest.approx(0.6)
    assert summary.loc["DS-F", "sem"] == pytest.approx(0.1 / math.sqrt(3))
    assert summary.loc["DS-F", "paper"] == PAPER["GCaMP6s"]["DS-F"]
    assert summary.loc["MLspike", "source"] == "quoted from the paper" and np.isnan(summary.loc["MLspike", "mean"])


def test_load_neurons_real_data(data_root):
    neurons = load_neurons("GCaMP6s", data_root)
    assert len(neurons) == 7
    assert sum(len(n.traces) for n in neurons) == 18
    for n in neurons:
        assert n.fs == pytest.approx(60.06, abs=0.05)
        for f, s in zip(n.traces, n.spikes, strict=True):
            assert f.shape == s.shape and np.isfinite(f).all()
            assert np.percentile(f, 5) == pytest.approx(0.0, abs=0.05)


def test_segments_cut_whole_minutes_and_align_traces_with_spikes():
    from spikebook.experiments.table1_gcamp import SEGMENT_FRAMES, cut_segments

    lengths = (2 * SEGMENT_FRAMES + 100, SEGMENT_FRAMES - 1, SEGMENT_FRAMES)
    traces = tuple(np.arange(n, dtype=np.float32) + 1e6 * k for k, n in enumerate(lengths))
    neuron = GcampNeuron("n", "GCaMP6s", traces, tuple(t + 0.5 for t in traces), 60.0)
    f, s = cut_segments([neuron], None), cut_segments([neuron], None, "spikes")
    assert f.shape == (3, SEGMENT_FRAMES)  # two from the first recording, none from the short one, one from the last
    np.testing.assert_array_equal(s, f + 0.5)
    assert f[1, 0] == SEGMENT_FRAMES and f[2, 0] == 2e6
    assert cut_segments([neuron], 2).shape == (2, SEGMENT_FRAMES)


def test_fold_runs_and_the_sleep_phase_are_reproducible(data_root, tmp_path, monkeypatch):
    from spikebook.experiments import table1_gcamp as tg

    monkeypatch.setattr(tg, "CHECKPOINT_DIR", tmp_path)
    neurons = load_neurons("GCaMP6s", data_root)[: tg.QUICK["neurons"]]
    vimco = tg.train_fold(neurons, neuron_folds(len(neurons)), 0, "DS-F", quick=True, progress=False).recognition
    with pytest.raises(ValueError, match="no sleep phase"):
        tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, stage="sleep")

    slept = tg.sleep_fold("GCaMP6s", "DS-F", 0, neurons, quick=True)
    before, state = tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, stage="vimco")
    after, _ = tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, stage="sleep")
    for a, b in zip(vimco.parameters(), before.parameters(), strict=True):
        assert torch.equal(a, b)  # the VIMCO network is kept as it was
    for a, c in zip(slept.parameters(), after.parameters(), strict=True):
        assert torch.equal(a, c)
    # the scan covers the grid, scores each length on the training neurons, and keeps the best
    train = tg.training_neurons(neurons, neuron_folds(len(neurons)), 0)
    scan, kept = state["sleep_scan"], state["sleep_steps"]
    assert tuple(scan) == tg.QUICK["sleep_grid"] and kept == max(scan, key=scan.__getitem__)
    assert tg.sleep_choices("GCaMP6s", "DS-F", drift=False, quick=True).loc[0, "kept"] == kept

    def training_score(model):
        return np.mean([tg.score_neuron([tg.infer(t, n.fs, model, model_fs=n.fs) for t in n.traces], n)
                        for n in train])

    assert scan[0] == pytest.approx(training_score(before))
    assert scan[kept] == pytest.approx(training_score(after))
    # the kept network is where a sleep run of that length ends (a one-length grid forces a sleep phase)
    monkeypatch.setitem(tg.QUICK, "sleep_grid", (4,))
    forced = tg.sleep_fold("GCaMP6s", "DS-F", 0, neurons, quick=True)
    assert tg.load_fold("GCaMP6s", "DS-F", 0, quick=True)[1]["sleep_steps"] == 4
    generative, segments = tg.learned_mlphys(train, state, quick=True)
    prior = tg.BernoulliPrior(torch.full((len(segments),), tg.PRIOR_RATE_HZ), train[0].fs)
    direct = tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, stage="vimco")[0].train()
    tg.fit_sleep(direct, generative.requires_grad_(False), prior, 4, batch_size=1, chunk_len=tg.SLEEP_LEN)
    for a, b, c in zip(direct.parameters(), forced.parameters(), vimco.parameters(), strict=True):
        assert torch.equal(a, b) and not torch.equal(a, c)
    # a second sleep phase starts again from the VIMCO network: same seed, same result
    again = tg.sleep_fold("GCaMP6s", "DS-F", 0, neurons, quick=True)
    for a, c in zip(again.parameters(), forced.parameters(), strict=True):
        assert torch.equal(a, c)
    # and the VIMCO run itself is reproducible from its seed, whatever drew from torch's generator before;
    # scoring every evaluation on the training neurons (the paper's early stopping) leaves the run as it was
    torch.rand(10)
    with pytest.raises(ValueError, match="without paper_stopping"):
        tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, stage="paper")
    retrained = tg.train_fold(neurons, neuron_folds(len(neurons)), 0, "DS-F", quick=True, progress=False,
                              paper_stopping=True).recognition
    for a, b in zip(retrained.parameters(), before.parameters(), strict=True):
        assert torch.equal(a, b)
    paper, state = tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, stage="paper")
    curve = state["train_correlation"]
    assert len(curve) == len(state["history"][0]) == tg.QUICK["n_steps"] // tg.QUICK["eval_every"] + 1
    assert state["paper_step"] == state["history"][0][int(np.argmax(curve))]
    assert tg.training_correlation(paper, train) == pytest.approx(max(curve), abs=1e-12)
    at_selected = curve[state["history"][0].index(state["best_step"])]  # the state the bound selected
    assert at_selected == pytest.approx(training_score(before), abs=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # r of no spikes
def test_sleep_refuses_a_training_neuron_without_a_correlation(data_root, tmp_path, monkeypatch):
    """A training neuron without spikes has no correlation, so it cannot vote on the sleep length: an error,
    not a scan that silently drops it (or a NaN that max() would mis-rank)."""
    from spikebook.experiments import table1_gcamp as tg

    monkeypatch.setattr(tg, "CHECKPOINT_DIR", tmp_path)
    neurons = load_neurons("GCaMP6s", data_root)[: tg.QUICK["neurons"]]
    folds = neuron_folds(len(neurons))
    tg.train_fold(neurons, folds, 0, "DS-F", quick=True, progress=False)
    train = tg.training_neurons(neurons, folds, 0)
    silent = dataclasses.replace(train[0], spikes=tuple(np.zeros_like(s) for s in train[0].spikes))
    path = fold_checkpoint("GCaMP6s", "DS-F", 0, quick=True)
    with pytest.raises(ValueError, match="no correlation"):
        tg.sleep_network([silent, *train[1:]], path, quick=True)
    assert "sleep_steps" not in load_checkpoint(path)  # nothing saved


@pytest.mark.skipif(not fold_checkpoint("GCaMP6s", "DS-F", 0).exists(), reason="no full-mode fold checkpoints")
def test_timing_curves_at_lag_zero_are_the_table_scores(data_root):
    neurons = load_neurons("GCaMP6s", data_root)
    curves = timing_curves(neurons, lags=range(-1, 2))
    assert set(curves.method) == {"DS-F", "CDEC"} and len(curves) == 2 * 3 * len(neurons)
    cached = load_cached().cells.query("indicator == 'GCaMP6s'").set_index(["method", "neuron"]).correlation
    at_zero = curves[curves.lag == 0].set_index(["method", "neuron"]).correlation
    for key, r in at_zero.items():
        assert r == pytest.approx(cached[key], abs=1e-6)
    assert len(plot_lag_scores({"GCaMP6s": curves}).axes) == 1


def test_other_seeds_train_into_their_own_files_and_average_as_an_ensemble(data_root, tmp_path, monkeypatch):
    from spikebook.experiments import table1_gcamp as tg

    monkeypatch.setattr(tg, "CHECKPOINT_DIR", tmp_path)
    assert tg.fold_checkpoint("GCaMP6s", "DS-F", 2, seed=3).name == "dsf-gcamp6s-fold2-seed3.pt"
    assert tg.fold_checkpoint("GCaMP6s", "DS-F", 2, quick=True).name == "dsf-gcamp6s-fold2-quick.pt"
    result = tg.run(("GCaMP6s",), ("DS-F",), quick=True, root=data_root, progress=False, seeds=(0, 1))
    # seed 1 never overwrites seed 0's (the shipped) checkpoints
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"dsf-gcamp6s-fold{k}{s}-quick.pt" for k in range(tg.N_FOLDS) for s in ("", "-seed1"))
    assert set(result.cells.method) == {"DS-F, 2-seed ensemble", "DS-F, 2-seed ensemble, VIMCO only", "CDEC"}

    neurons = load_neurons("GCaMP6s", data_root)[: tg.QUICK["neurons"]]
    each = [tg.network_predictions(neurons, "DS-F", quick=True, seeds=(s,)) for s in (0, 1)]
    both = tg.network_predictions(neurons, "DS-F", quick=True, seeds=(0, 1))
    assert not np.allclose(each[0][0][0], each[1][0][0])  # two different networks
    for zero, one, mean in zip(*each, both, strict=True):
        for x, y, m in zip(zero, one, mean, strict=True):
            np.testing.assert_allclose(m, (x + y) / 2, rtol=1e-6, atol=1e-7)
    ensemble = result.cells[result.cells.method == "DS-F, 2-seed ensemble"].correlation
    np.testing.assert_allclose(ensemble, [tg.score_neuron(p, n) for p, n in zip(both, neurons, strict=True)])

    assert tg.method_name("DS-F") == "DS-F" and tg.method_name("DS-NF", (4,)) == "DS-NF, seed 4"
    for bad in ((), (0, 0), (-1,), (True,), (1.0,)):
        with pytest.raises(ValueError, match="seeds"):
            tg.method_name("DS-F", bad)


def test_drifting_baseline_runs_train_into_their_own_files_and_keep_their_drift(data_root, tmp_path, monkeypatch):
    from spikebook.experiments import table1_gcamp as tg

    monkeypatch.setattr(tg, "CHECKPOINT_DIR", tmp_path)
    assert tg.fold_checkpoint("GCaMP6f", "DS-F", 1, drift=True).name == "dsf-gcamp6f-drift-fold1.pt"
    assert tg.method_name("DS-F", drift=True) == "DS-F, drifting baseline"
    assert tg.method_name("DS-F", (2,), drift=True) == "DS-F, drifting baseline, seed 2"
    segments = np.random.default_rng(0).standard_normal((3, 600)).astype(np.float32)
    start = initial_mlphys("GCaMP6s", segments, 60.0, drift=True)
    assert not initial_mlphys("GCaMP6s", segments, 60.0).drifting
    torch.testing.assert_close(start.drift, start.sigma * tg.DRIFT_START)

    result = tg.run(("GCaMP6s",), ("DS-F",), quick=True, root=data_root, progress=False, drift=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"dsf-gcamp6s-drift-fold{k}-quick.pt" for k in range(4)]
    assert set(result.cells.method) == {"DS-F, drifting baseline", "DS-F, drifting baseline, VIMCO only", "CDEC"}
    neurons = load_neurons("GCaMP6s", data_root)[: tg.QUICK["neurons"]]
    train = tg.training_neurons(neurons, neuron_folds(len(neurons)), 0)
    _, state = tg.load_fold("GCaMP6s", "DS-F", 0, quick=True, drift=True)
    generative, trained_on = tg.learned_mlphys(train, state, quick=True)
    assert generative.drifting
    torch.testing.assert_close(generative.state_dict()["raw_drift"], state["generative"]["raw_drift"])
    unlearned = tg.initial_mlphys("GCaMP6s", trained_on, train[0].fs, drift=True)
    assert not torch.equal(generative.drift, unlearned.drift)  # VIMCO learned it


class _TrueSpikes:
    """A stand-in recognition model whose every sample is the true spike train."""

    def __init__(self, spikes: torch.Tensor) -> None:
        self.spikes = spikes

    def sample(self, f, n, generator=None):
        return self.spikes.expand(n, *self.spikes.shape)


def test_slow_residual_power_is_one_for_white_noise_and_large_under_drift():
    from spikebook.experiments.table1_gcamp import slow_residual_power
    from spikebook.generative import MLphys

    generator = torch.Generator().manual_seed(0)
    spikes = (torch.rand(20, 3_600, generator=generator) < 0.015).float()
    constant = MLphys(sigma=0.05, alpha=0.2, fs=60.0)
    drifting = MLphys(sigma=0.05, alpha=0.2, fs=60.0, drift=0.005)
    white = slow_residual_power(_TrueSpikes(spikes), constant, constant.sample(spikes, generator).detach().numpy())
    assert white.shape == (20,) and np.mean(white) == pytest.approx(1.0, abs=0.15)
    drift = slow_residual_power(_TrueSpikes(spikes), constant, drifting.sample(spikes, generator).detach().numpy())
    assert np.median(drift) > 10


def test_heldout_bounds_read_the_best_bound_of_each_saved_fold(tmp_path, monkeypatch):
    from spikebook.experiments import table1_gcamp as tg

    monkeypatch.setattr(tg, "CHECKPOINT_DIR", tmp_path)
    torch.save({"history": ([200, 400], [0.0, 0.0], [-3.0, -1.5]), "best_step": 400},
               tg.fold_checkpoint("GCaMP6s", "DS-F", 1))
    torch.save({"history": ([200], [0.0], [0.25]), "best_step": 200},
               tg.fold_checkpoint("GCaMP6s", "DS-F", 1, drift=True))
    table = tg.heldout_bounds("GCaMP6s")
    assert list(table.index) == list(range(tg.N_FOLDS))
    assert table.loc[1, "constant baseline"] == -1.5 and table.loc[1, "drifting baseline"] == 0.25
    assert table.drop(index=1).isna().all().all()  # folds without a checkpoint


def test_learning_curves_read_every_evaluation_of_each_saved_fold(tmp_path, monkeypatch):
    from spikebook.experiments import table1_gcamp as tg

    monkeypatch.setattr(tg, "CHECKPOINT_DIR", tmp_path)
    assert tg.learning_curves("GCaMP6f").empty  # no saved run
    torch.save({"history": ([0, 200, 400], [float("nan"), 1.0, 1.5], [-3.0, 1.2, 1.1], [0.5, 0.2, 0.2]),
                "best_step": 400, "train_correlation": [0.1, 0.6, 0.5], "paper_step": 200},
               tg.fold_checkpoint("GCaMP6f", "DS-F", 2, drift=True))
    torch.save({"history": ([0, 200], [float("nan"), 0.5], [-2.0, 0.25]), "best_step": 200},  # no s.e.
               tg.fold_checkpoint("GCaMP6f", "DS-F", 3, drift=True))
    curves = tg.learning_curves("GCaMP6f")
    assert curves.fold.tolist() == [2, 2, 2, 3, 3] and curves.step.tolist() == [0, 200, 400, 0, 200]
    assert curves.heldout_bound.tolist() == [-3.0, 1.2, 1.1, -2.0, 0.25]
    assert curves.heldout_se.iloc[:3].tolist() == [0.5, 0.2, 0.2] and curves.heldout_se.iloc[3:].isna().all()
    assert curves.selected.tolist() == [400] * 3 + [200] * 2
    fig = tg.plot_learning_curves({"DS-F, GCaMP6f": curves})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2 * 2 + 2  # held-out + training per fold, vlines
    grid = tg.plot_learning_curves({name: curves for name in "abc"})  # two panels per row, the fourth hidden
    assert [ax.get_visible() for ax in grid.axes] == [True, True, True, False]
    # the labelled columns: only the run trained with paper_stopping has them
    assert curves.train_correlation.iloc[:3].tolist() == [0.1, 0.6, 0.5]
    assert curves.train_correlation.iloc[3:].isna().all()
    assert curves.paper_step.iloc[:3].tolist() == [200] * 3 and curves.paper_step.iloc[3:].isna().all()
    fig = tg.plot_training_correlation({"DS-F, GCaMP6f": curves.query("fold == 2")})
    curve, dot, selected = fig.axes[0].lines
    assert curve.get_ydata().tolist() == [0.1, 0.6, 0.5] and dot.get_xydata().tolist() == [[200, 0.6]]
    assert selected.get_xdata()[0] == 400


def test_plot_fig3_draws_one_count_series_per_network_and_refuses_too_many():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PathCollection

    from spikebook.experiments.table1_gcamp import Fig3Example, plot_fig3

    t = np.zeros(600)
    example = Fig3Example(t, t, t, t, t, t, 60.0, 0.5)
    cells = pd.DataFrame({"method": [f"net {i}" for i in range(5) for _ in range(3)] + ["CDEC"] * 3,
                          "n_spikes": np.arange(18.0), "inferred_spikes": [*np.arange(15.0), *[np.nan] * 3]})
    fig = plot_fig3(example, cells[cells.method.isin(["net 0", "net 1", "CDEC"])])
    counts = fig.axes[-1]
    assert [c.get_label() for c in counts.collections if isinstance(c, PathCollection)] == ["net 0", "net 1"]
    with pytest.raises(ValueError, match="at most 4 networks"):
        plot_fig3(example, cells)


def test_table1_holds_every_row_of_the_chapter_once(monkeypatch):
    """The full-mode table is the constant- and drifting-baseline runs of both networks on both indicators, with
    the paper's early stopping for the runs of PAPER_STOPPING_RUNS only, and CDEC once per neuron (every run
    adds it)."""
    from spikebook.experiments import table1_gcamp as tg

    calls = []

    def fake_run(indicators=("GCaMP6s", "GCaMP6f"), networks=("DS-F", "DS-NF"), drift=False, paper_stopping=False,
                 **_):  # run's defaults
        calls.append((*indicators, *networks, drift, paper_stopping))
        names = [tg.method_name(n, drift=drift) + suffix for n in networks
                 for suffix in ("", tg.VIMCO_ONLY, tg.PAPER_STOPPING)[: 2 + paper_stopping]]
        cells = pd.DataFrame([(ind, f"n{i}", m, 0, 0.1 * i, 1.0, 1.0) for ind in indicators
                              for m in [*names, "CDEC"] for i in range(3)],
                             columns=["indicator", "neuron", "method", "fold", "correlation", "n_spikes",
                                      "inferred_spikes"])
        return tg.GcampResult(cells, tg.summarize(cells))

    monkeypatch.setattr(tg, "run", fake_run)
    result = tg.table1()
    assert sorted(calls) == sorted([
        ("GCaMP6s", "GCaMP6f", "DS-F", False, True), ("GCaMP6s", "GCaMP6f", "DS-F", True, True),
        ("GCaMP6s", "GCaMP6f", "DS-NF", False, False), ("GCaMP6s", "GCaMP6f", "DS-NF", True, True)])
    counts = result.cells.groupby(["indicator", "method"]).size()
    assert (counts == 3).all()
    # per indicator: 2 networks × 2 baselines × 2 stages, the paper-stopping rows, and CDEC
    assert counts.groupby(level="indicator").size().to_dict() == {"GCaMP6s": 8 + 3 + 1, "GCaMP6f": 8 + 3 + 1}
    assert ("GCaMP6s", "DS-NF, drifting baseline, paper's early stopping") in counts.index
    assert ("GCaMP6f", "DS-NF, paper's early stopping") not in counts.index
    assert result.summary.query("method == 'CDEC'").n_cells.tolist() == [3, 3]


@pytest.mark.parametrize(("indicator", "network", "drift"), [
    pytest.param(indicator, network, drift, marks=pytest.mark.skipif(
        not fold_checkpoint(indicator, network, 0, drift=drift).exists(), reason="no full-mode fold checkpoints"))
    for indicator in ("GCaMP6s", "GCaMP6f") for network, drift in sorted(PAPER_STOPPING_RUNS)])
def test_cached_paper_stopping_rows_are_the_saved_networks_scores(data_root, indicator, network, drift):
    """Every cached row "paper's early stopping" is what the saved paper states score on the test neurons, and
    each fold's saved state is the maximum of its recorded training-neuron curve."""
    from spikebook.experiments import table1_gcamp as tg

    neurons = load_neurons(indicator, data_root)
    cached = load_cached().cells.query("indicator == @indicator").set_index(["method", "neuron"]).correlation
    method = tg.method_name(network, drift=drift) + tg.PAPER_STOPPING
    predictions = tg.network_predictions(neurons, network, stage="paper", drift=drift)
    for neuron, pred in zip(neurons, predictions, strict=True):
        assert score_neuron(pred, neuron) == pytest.approx(cached[(method, neuron.name)], abs=1e-6)
    for fold, state in tg.saved_folds(indicator, network, drift=drift):
        curve, steps = state["train_correlation"], state["history"][0]
        assert len(curve) == len(steps) and state["paper_step"] == steps[int(np.argmax(curve))]
        assert state["paper_correlation"] == max(curve)
