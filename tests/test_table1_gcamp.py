"""Table 1 on GCaMP6 data: preprocessing, folds, the recipe and its record, cross-validation, scoring, diagnostics."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
import torch

import spikebook.recipes.gcamp as gcamp_recipe
from spikebook.data.groundtruth import GcampNeuron, load_neurons
from spikebook.data.preprocess import subtract_baseline
from spikebook.data.splits import neuron_folds
from spikebook.experiments.gcamp import crossval, diagnostics, figures, table
from spikebook.experiments.gcamp.crossval import FoldRun, method_name, training_neurons
from spikebook.experiments.gcamp.scoring import network_predictions
from spikebook.generative import BernoulliPrior, MLphys
from spikebook.generative.indicators import DRIFT_START, INITIAL_MLPHYS
from spikebook.inference import infer
from spikebook.recipes.gcamp import (
    PRIOR_RATE_HZ,
    QUICK,
    SEGMENT_FRAMES,
    SLEEP_CHUNK_LEN,
    GcampRecipe,
    GcampRecord,
    LabelSelection,
    SleepPhase,
    cut_segments,
    initial_mlphys,
    learned_mlphys,
    new_network,
    own_rate_marginals,
    score_neuron,
    sleep_network,
    training_correlation,
)
from spikebook.saving import load_checkpoint, save_atomic
from spikebook.training import History, fit_sleep


def test_subtract_baseline_removes_a_slow_baseline_and_keeps_transients():
    t = np.arange(20_000) / 60.0
    baseline = 0.2 + 0.001 * t  # a slow drift: 0.1 per 100 s window
    transients = np.zeros_like(t)
    transients[::600] = 1.0
    transients = np.convolve(transients, np.exp(-np.arange(120) / 60.0))[: t.size]
    out = subtract_baseline(baseline + transients)
    assert out.shape == t.shape and out.dtype == np.float32
    # Between transients the trace sits at 0 once the drift is removed; the transients keep their size.
    quiet = transients < 0.05
    assert np.abs(out[quiet]).max() < 0.06
    assert out.max() == pytest.approx(transients.max(), abs=0.06)


def test_subtract_baseline_rejects_non_finite():
    with pytest.raises(ValueError):
        subtract_baseline(np.array([0.0, np.nan, 1.0]))


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


@pytest.mark.parametrize("network", ["DS-F", "DS-NF"])
def test_the_recipe_scores_a_recording_exactly_as_infer_runs_the_network(network):
    """The recipe sits below :mod:`spikebook.inference` but runs the same windowed code: identical numbers."""
    model = new_network(network).eval()
    trace = (np.random.default_rng(2).standard_normal(7_000) * 0.05).astype(np.float32)
    np.testing.assert_array_equal(own_rate_marginals(model, trace, 60.06), infer(trace, 60.06, model, model_fs=60.06))


def test_shift_frames_known_answers():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(diagnostics.shift_frames(x, 1), [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(diagnostics.shift_frames(x, -2), [3.0, 4.0, 0.0, 0.0])
    np.testing.assert_array_equal(diagnostics.shift_frames(x, 0), x)


def test_lag_scores_find_a_late_prediction():
    rng = np.random.default_rng(1)
    spikes = [rng.binomial(1, 0.03, 2_000).astype(np.float64) for _ in range(2)]
    neuron = _neuron(spikes, fs=100.0)
    late = [diagnostics.shift_frames(s, 2) for s in spikes]  # the prediction is 2 frames late
    lagged = diagnostics.lag_scores([late], [neuron], range(-3, 2))
    assert list(lagged.lag) == [-3, -2, -1, 0, 1]
    assert lagged.set_index("lag").correlation.idxmax() == -2
    assert lagged.set_index("lag").correlation[-2] == pytest.approx(1.0, abs=1e-3)  # only the zero-filled end differs
    assert lagged.set_index("lag").correlation[0] == pytest.approx(score_neuron(late, neuron))
    on_time = diagnostics.lag_scores([spikes], [neuron], range(-3, 2)).assign(method="B")
    both = pd.concat([lagged.assign(method="A"), on_time, on_time.assign(neuron="m")], ignore_index=True)
    counts = diagnostics.best_lags(both)
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
    cells = pd.DataFrame({"indicator": ["GCaMP6s"] * 3, "neuron": list("abc"), "method": ["DS-F"] * 3,
                          "fold": [0, 1, 2], "correlation": [0.5, 0.6, 0.7], "n_spikes": [1, 2, 3],
                          "inferred_spikes": [1, 2, 3]})
    summary = table.table1_summary(cells).set_index("method")
    assert summary.loc["DS-F", "mean"] == pytest.approx(0.6)
    assert summary.loc["DS-F", "sem"] == pytest.approx(0.1 / math.sqrt(3))
    assert summary.loc["DS-F", "paper"] == table.PAPER_TABLE1["GCaMP6s"]["DS-F"]
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
    lengths = (2 * SEGMENT_FRAMES + 100, SEGMENT_FRAMES - 1, SEGMENT_FRAMES)
    traces = tuple(np.arange(n, dtype=np.float32) + 1e6 * k for k, n in enumerate(lengths))
    neuron = GcampNeuron("n", "GCaMP6s", traces, tuple(t + 0.5 for t in traces), 60.0)
    f, s = cut_segments([neuron], None), cut_segments([neuron], None, "spikes")
    assert f.shape == (3, SEGMENT_FRAMES)  # two from the first recording, none from the short one, one from the last
    np.testing.assert_array_equal(s, f + 0.5)
    assert f[1, 0] == SEGMENT_FRAMES and f[2, 0] == 2e6
    assert cut_segments([neuron], 2).shape == (2, SEGMENT_FRAMES)


def test_a_record_round_trips_through_plain_data_and_names_its_missing_stages(tmp_path):
    record = GcampRecord(GcampRecipe("DS-NF", "GCaMP6f", baseline="drifting"), 3, ("a", "b"),
                         History([0, 5], [-1.0, 1.0], [0.5, 0.7], [0.1, 0.2]), 5, {"w": torch.ones(2)},
                         {"raw_alpha": torch.zeros(3)}, SleepPhase(100, {0: 0.5, 100: 0.6}, {"w": torch.full((2,), 2.0)}))
    save_atomic(record.to_dict(), tmp_path / "run.pt")
    back = GcampRecord.from_dict(load_checkpoint(tmp_path / "run.pt"))
    assert back.recipe == record.recipe and back.seed == 3 and back.train_neurons == ("a", "b")
    assert back.history == record.history and back.best_step == 5 and back.sleep.scan == {0: 0.5, 100: 0.6}
    assert torch.equal(back.state("vimco")["w"], torch.ones(2)) and torch.equal(back.state("slept")["w"], 2 * torch.ones(2))
    with pytest.raises(ValueError, match="without label selection"):
        back.state("label_selected")
    with pytest.raises(ValueError, match="no sleep phase"):
        dataclasses.replace(back, sleep=None).state("slept")
    with pytest.raises(ValueError, match="format 2"):
        GcampRecord.from_dict({"recognition": {}, "history": ()})  # an unversioned (old) file


def test_a_fold_run_validates_and_names_its_file_and_rows(tmp_path):
    run = FoldRun("GCaMP6s", "DS-NF", 3, seed=2, baseline="drifting", quick=True)
    assert run.path(tmp_path) == tmp_path / "gcamp" / "dsnf-gcamp6s-drift-fold3-seed2-quick.pt"
    assert run.name == "DS-NF, drifting baseline, seed 2 on GCaMP6s, fold 3 (quick)"
    assert run.recipe == GcampRecipe("DS-NF", "GCaMP6s", baseline="drifting")
    for bad in ({"network": "DSF"}, {"fold": 4}, {"indicator": "GCaMP7"}, {"baseline": "drift"}):
        with pytest.raises(ValueError):
            FoldRun(**{"indicator": "GCaMP6s", "network": "DS-F", "fold": 0, **bad})


@pytest.mark.skipif(not FoldRun("GCaMP6s", "DS-F", 0).path().exists(), reason="no full-mode fold checkpoints")
def test_every_saved_fold_run_is_a_record_of_its_own_run():
    """The saved runs (migrated once to records of format 2) each name their own recipe, kept the first maximum of
    their sleep scan, and carry a history with one held-out s.e. (NaN: not recorded) per evaluation."""
    runs = [FoldRun(indicator, network, fold, baseline=baseline) for indicator in ("GCaMP6s", "GCaMP6f")
            for network in ("DS-F", "DS-NF") for baseline in ("constant", "drifting") for fold in range(4)]
    for run in runs:
        record = crossval.load_record(run)
        assert record.recipe == run.recipe and record.seed == 0, run.name
        assert record.sleep.steps == max(record.sleep.scan, key=record.sleep.scan.__getitem__), run.name
        assert len(record.history.heldout_se) == len(record.history.steps) == len(record.history.heldout_bound)


def test_fold_runs_and_the_sleep_phase_are_reproducible(data_root, tmp_path, monkeypatch):
    neurons = load_neurons("GCaMP6s", data_root)[: QUICK.neurons]
    run = FoldRun("GCaMP6s", "DS-F", 0, quick=True)
    vimco = crossval.train_fold(run, neurons, progress=False, results_dir=tmp_path).fit.recognition
    with pytest.raises(ValueError, match=r"fold 0 \(quick\): the run has had no sleep phase"):
        crossval.load_fold(run, "slept", tmp_path)

    slept = crossval.sleep_fold(run, neurons, tmp_path).network("slept")
    before, record = crossval.load_fold(run, "vimco", tmp_path)
    after, _ = crossval.load_fold(run, "slept", tmp_path)
    for a, b in zip(vimco.parameters(), before.parameters(), strict=True):
        assert torch.equal(a, b)  # the VIMCO network is kept as it was
    for a, c in zip(slept.parameters(), after.parameters(), strict=True):
        assert torch.equal(a, c)
    # the scan covers the grid, scores each length on the training neurons, and keeps the best
    train = training_neurons(neurons, 0)
    scan, kept = record.sleep.scan, record.sleep.steps
    assert tuple(scan) == QUICK.sleep_grid and kept == max(scan, key=scan.__getitem__)
    assert diagnostics.sleep_choices("GCaMP6s", "DS-F", "constant", quick=True, results_dir=tmp_path).loc[0, "kept"] == kept

    def training_score(model):
        return np.mean([score_neuron([infer(t, n.fs, model, model_fs=n.fs) for t in n.traces], n) for n in train])

    assert scan[0] == pytest.approx(training_score(before))
    assert scan[kept] == pytest.approx(training_score(after))
    # the kept network is where a sleep run of that length ends (a one-length grid forces a sleep phase)
    monkeypatch.setattr(gcamp_recipe, "QUICK", dataclasses.replace(QUICK, sleep_grid=(4,)))
    forced = crossval.sleep_fold(run, neurons, tmp_path).network("slept")
    assert crossval.load_record(run, tmp_path).sleep.steps == 4
    generative, segments = learned_mlphys(record, train, quick=True)
    prior = BernoulliPrior(torch.full((len(segments),), PRIOR_RATE_HZ), train[0].fs)
    direct = record.network("vimco").train()
    fit_sleep(direct, generative.requires_grad_(False), prior, 4, batch_size=1, chunk_len=SLEEP_CHUNK_LEN)
    for a, b, c in zip(direct.parameters(), forced.parameters(), vimco.parameters(), strict=True):
        assert torch.equal(a, b) and not torch.equal(a, c)
    # a second sleep phase starts again from the VIMCO network: same seed, same result
    again = crossval.sleep_fold(run, neurons, tmp_path).network("slept")
    for a, c in zip(again.parameters(), forced.parameters(), strict=True):
        assert torch.equal(a, c)
    # and the VIMCO run itself is reproducible from its seed, whatever drew from torch's generator before;
    # scoring every evaluation on the training neurons (the paper's early stopping) leaves the run as it was
    torch.rand(10)
    with pytest.raises(ValueError, match="without label selection"):
        crossval.load_fold(run, "label_selected", tmp_path)
    labelled = dataclasses.replace(run, label_selection=True)
    retrained = crossval.train_fold(labelled, neurons, progress=False, results_dir=tmp_path).fit.recognition
    for a, b in zip(retrained.parameters(), before.parameters(), strict=True):
        assert torch.equal(a, b)
    paper, record = crossval.load_fold(labelled, "label_selected", tmp_path)
    curve, steps = record.label_selection.curve, record.history.steps
    assert len(curve) == len(steps) == QUICK.n_steps // QUICK.eval_every + 1
    assert record.label_selection.step == steps[int(np.argmax(curve))]
    assert training_correlation(paper, train) == pytest.approx(max(curve), abs=1e-12)
    at_selected = curve[steps.index(record.best_step)]  # the state the bound selected
    assert at_selected == pytest.approx(training_score(before), abs=1e-12)


@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # r of no spikes
def test_sleep_refuses_a_training_neuron_without_a_correlation(data_root, tmp_path):
    """A training neuron without spikes has no correlation, so it cannot vote on the sleep length: an error,
    not a scan that silently drops it (or a NaN that max() would mis-rank)."""
    neurons = load_neurons("GCaMP6s", data_root)[: QUICK.neurons]
    trained = crossval.train_fold(FoldRun("GCaMP6s", "DS-F", 0, quick=True), neurons, progress=False,
                                  results_dir=tmp_path)
    train = training_neurons(neurons, 0)
    silent = dataclasses.replace(train[0], spikes=tuple(np.zeros_like(s) for s in train[0].spikes))
    with pytest.raises(ValueError, match="no correlation"):
        sleep_network(trained.record, [silent, *train[1:]], quick=True)
    with pytest.raises(ValueError, match="was trained on"):  # and only on the neurons the run was trained on
        sleep_network(trained.record, train[1:], quick=True)


@pytest.mark.skipif(not FoldRun("GCaMP6s", "DS-F", 0).path().exists(), reason="no full-mode fold checkpoints")
def test_timing_curves_at_lag_zero_are_the_table_scores(data_root):
    neurons = load_neurons("GCaMP6s", data_root)
    curves = diagnostics.timing_curves(neurons, lags=range(-1, 2))
    assert set(curves.method) == {"DS-F", "CDEC"} and len(curves) == 2 * 3 * len(neurons)
    cached = table.load_cached().cells.query("indicator == 'GCaMP6s'").set_index(["method", "neuron"]).correlation
    at_zero = curves[curves.lag == 0].set_index(["method", "neuron"]).correlation
    for key, r in at_zero.items():
        assert r == pytest.approx(cached[key], abs=1e-6)
    assert len(figures.plot_lag_scores({"GCaMP6s": curves}).axes) == 1


def test_other_seeds_train_into_their_own_files_and_average_as_an_ensemble(data_root, tmp_path):
    assert FoldRun("GCaMP6s", "DS-F", 2, seed=3).path(tmp_path).name == "dsf-gcamp6s-fold2-seed3.pt"
    assert FoldRun("GCaMP6s", "DS-F", 2, quick=True).path(tmp_path).name == "dsf-gcamp6s-fold2-quick.pt"
    result = table.run(("GCaMP6s",), ("DS-F",), quick=True, root=data_root, progress=False, seeds=(0, 1),
                       results_dir=tmp_path)
    # seed 1 never overwrites seed 0's (the shipped) checkpoints
    assert sorted(p.name for p in (tmp_path / "gcamp").iterdir()) == sorted(
        f"dsf-gcamp6s-fold{k}{s}-quick.pt" for k in range(crossval.N_FOLDS) for s in ("", "-seed1"))
    assert set(result.cells.method) == {"DS-F, 2-seed ensemble", "DS-F, 2-seed ensemble, VIMCO only", "CDEC"}

    neurons = load_neurons("GCaMP6s", data_root)[: QUICK.neurons]
    each = [network_predictions(neurons, "DS-F", quick=True, seeds=(s,), results_dir=tmp_path) for s in (0, 1)]
    both = network_predictions(neurons, "DS-F", quick=True, seeds=(0, 1), results_dir=tmp_path)
    assert not np.allclose(each[0][0][0], each[1][0][0])  # two different networks
    for zero, one, mean in zip(*each, both, strict=True):
        for x, y, m in zip(zero, one, mean, strict=True):
            np.testing.assert_allclose(m, (x + y) / 2, rtol=1e-6, atol=1e-7)
    ensemble = result.cells[result.cells.method == "DS-F, 2-seed ensemble"].correlation
    np.testing.assert_allclose(ensemble, [score_neuron(p, n) for p, n in zip(both, neurons, strict=True)])

    assert method_name("DS-F") == "DS-F" and method_name("DS-NF", seeds=(4,)) == "DS-NF, seed 4"
    assert method_name("DS-F", stage="label_selected") == "DS-F, paper's early stopping"
    for bad in ((), (0, 0), (-1,), (True,), (1.0,)):
        with pytest.raises((TypeError, ValueError), match="seeds"):
            method_name("DS-F", seeds=bad)


def test_drifting_baseline_runs_train_into_their_own_files_and_keep_their_drift(data_root, tmp_path):
    assert FoldRun("GCaMP6f", "DS-F", 1, baseline="drifting").path(tmp_path).name == "dsf-gcamp6f-drift-fold1.pt"
    assert method_name("DS-F", "drifting") == "DS-F, drifting baseline"
    assert method_name("DS-F", "drifting", (2,)) == "DS-F, drifting baseline, seed 2"
    segments = np.random.default_rng(0).standard_normal((3, 600)).astype(np.float32)
    start = initial_mlphys("GCaMP6s", segments, 60.0, "drifting")
    assert not initial_mlphys("GCaMP6s", segments, 60.0).drifting
    torch.testing.assert_close(start.drift, start.sigma * DRIFT_START)

    result = table.run(("GCaMP6s",), ("DS-F",), quick=True, root=data_root, progress=False, baseline="drifting",
                       results_dir=tmp_path)
    assert sorted(p.name for p in (tmp_path / "gcamp").iterdir()) == [
        f"dsf-gcamp6s-drift-fold{k}-quick.pt" for k in range(4)]
    assert set(result.cells.method) == {"DS-F, drifting baseline", "DS-F, drifting baseline, VIMCO only", "CDEC"}
    neurons = load_neurons("GCaMP6s", data_root)[: QUICK.neurons]
    train = training_neurons(neurons, 0)
    record = crossval.load_record(FoldRun("GCaMP6s", "DS-F", 0, baseline="drifting", quick=True), tmp_path)
    generative, trained_on = learned_mlphys(record, train, quick=True)
    assert generative.drifting
    torch.testing.assert_close(generative.state_dict()["raw_drift"], record.generative["raw_drift"])
    unlearned = initial_mlphys("GCaMP6s", trained_on, train[0].fs, "drifting")
    assert not torch.equal(generative.drift, unlearned.drift)  # VIMCO learned it


class _TrueSpikes:
    """A stand-in recognition model whose every sample is the true spike train."""

    def __init__(self, spikes: torch.Tensor) -> None:
        self.spikes = spikes

    def sample(self, f, n, generator=None):
        return self.spikes.expand(n, *self.spikes.shape)


def test_slow_residual_power_is_one_for_white_noise_and_large_under_drift():
    generator = torch.Generator().manual_seed(0)
    spikes = (torch.rand(20, 3_600, generator=generator) < 0.015).float()
    constant = MLphys(sigma=0.05, alpha=0.2, fs=60.0)
    drifting = MLphys(sigma=0.05, alpha=0.2, fs=60.0, drift=0.005)
    white = diagnostics.slow_residual_power(_TrueSpikes(spikes), constant,
                                            constant.sample(spikes, generator).detach().numpy())
    assert white.shape == (20,) and np.mean(white) == pytest.approx(1.0, abs=0.15)
    drift = diagnostics.slow_residual_power(_TrueSpikes(spikes), constant,
                                            drifting.sample(spikes, generator).detach().numpy())
    assert np.median(drift) > 10


def _save_run(run: FoldRun, results_dir, steps, heldout, se=None, best_step=None, labels=None) -> None:
    """A record with learning curves only (no weights), saved where ``run``'s goes."""
    nan = [math.nan] * len(steps)
    record = GcampRecord(run.recipe, run.seed, ("n",), History(steps, nan, heldout, nan if se is None else se),
                         steps[-1] if best_step is None else best_step, {}, {}, label_selection=labels)
    run.path(results_dir).parent.mkdir(parents=True, exist_ok=True)
    save_atomic(record.to_dict(), run.path(results_dir))


def test_heldout_bounds_read_the_best_bound_of_each_saved_fold(tmp_path):
    _save_run(FoldRun("GCaMP6s", "DS-F", 1), tmp_path, [200, 400], [-3.0, -1.5])
    _save_run(FoldRun("GCaMP6s", "DS-F", 1, baseline="drifting"), tmp_path, [200], [0.25])
    bounds = diagnostics.heldout_bounds("GCaMP6s", results_dir=tmp_path)
    assert list(bounds.index) == list(range(crossval.N_FOLDS))
    assert bounds.loc[1, "constant baseline"] == -1.5 and bounds.loc[1, "drifting baseline"] == 0.25
    assert bounds.drop(index=1).isna().all().all()  # folds without a checkpoint


def test_learning_curves_read_every_evaluation_of_each_saved_fold(tmp_path):
    assert diagnostics.learning_curves("GCaMP6f", results_dir=tmp_path).empty  # no saved run
    labels = LabelSelection([0.1, 0.6, 0.5], 200, 0.6, {})
    _save_run(FoldRun("GCaMP6f", "DS-F", 2, baseline="drifting"), tmp_path, [0, 200, 400], [-3.0, 1.2, 1.1],
              [0.5, 0.2, 0.2], 400, labels)
    _save_run(FoldRun("GCaMP6f", "DS-F", 3, baseline="drifting"), tmp_path, [0, 200], [-2.0, 0.25])  # no s.e.
    curves = diagnostics.learning_curves("GCaMP6f", results_dir=tmp_path)
    assert curves.fold.tolist() == [2, 2, 2, 3, 3] and curves.step.tolist() == [0, 200, 400, 0, 200]
    assert curves.heldout_bound.tolist() == [-3.0, 1.2, 1.1, -2.0, 0.25]
    assert curves.heldout_se.iloc[:3].tolist() == [0.5, 0.2, 0.2] and curves.heldout_se.iloc[3:].isna().all()
    assert curves.selected.tolist() == [400] * 3 + [200] * 2
    fig = figures.plot_learning_curves({"DS-F, GCaMP6f": curves})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2 * 2 + 2  # held-out + training per fold, vlines
    grid = figures.plot_learning_curves({name: curves for name in "abc"})  # two panels per row, the fourth hidden
    assert [ax.get_visible() for ax in grid.axes] == [True, True, True, False]
    # the labelled columns: only the run trained with label selection has them
    assert curves.train_correlation.iloc[:3].tolist() == [0.1, 0.6, 0.5]
    assert curves.train_correlation.iloc[3:].isna().all()
    assert curves.label_selected_step.iloc[:3].tolist() == [200] * 3
    assert curves.label_selected_step.iloc[3:].isna().all()
    fig = figures.plot_training_correlation({"DS-F, GCaMP6f": curves.query("fold == 2")})
    curve, dot, selected = fig.axes[0].lines
    assert curve.get_ydata().tolist() == [0.1, 0.6, 0.5] and dot.get_xydata().tolist() == [[200, 0.6]]
    assert selected.get_xdata()[0] == 400


def test_plot_fig3_draws_one_count_series_per_network_and_refuses_too_many():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.collections import PathCollection

    t = np.zeros(600)
    example = figures.Fig3Example(t, t, t, t, t, t, 60.0, 0.5)
    cells = pd.DataFrame({"method": [f"net {i}" for i in range(5) for _ in range(3)] + ["CDEC"] * 3,
                          "n_spikes": np.arange(18.0), "inferred_spikes": [*np.arange(15.0), *[np.nan] * 3]})
    fig = figures.plot_fig3(example, cells[cells.method.isin(["net 0", "net 1", "CDEC"])])
    counts = fig.axes[-1]
    assert [c.get_label() for c in counts.collections if isinstance(c, PathCollection)] == ["net 0", "net 1"]
    with pytest.raises(ValueError, match="at most 4 networks"):
        figures.plot_fig3(example, cells)


def test_table1_holds_every_row_of_the_chapter_once(monkeypatch):
    """The full-mode table is the constant- and drifting-baseline runs of both networks on both indicators, with
    the paper's early stopping for the runs of LABEL_SELECTED_RUNS only, and CDEC once per neuron (every run
    adds it)."""
    calls = []

    def fake_run(indicators=("GCaMP6s", "GCaMP6f"), networks=("DS-F", "DS-NF"), baseline="constant",
                 label_selection=False, **_):  # run's defaults
        calls.append((*indicators, *networks, baseline, label_selection))
        stages = ("slept", "vimco", "label_selected")[: 2 + label_selection]
        names = [method_name(n, baseline, stage=stage) for n in networks for stage in stages]
        cells = pd.DataFrame([(ind, f"n{i}", m, 0, 0.1 * i, 1.0, 1.0) for ind in indicators
                              for m in [*names, "CDEC"] for i in range(3)], columns=table.COLUMNS)
        return table.GcampResult(cells, table.table1_summary(cells))

    monkeypatch.setattr(table, "run", fake_run)
    result = table.table1()
    assert sorted(calls) == sorted([
        ("GCaMP6s", "GCaMP6f", "DS-F", "constant", True), ("GCaMP6s", "GCaMP6f", "DS-F", "drifting", True),
        ("GCaMP6s", "GCaMP6f", "DS-NF", "constant", False), ("GCaMP6s", "GCaMP6f", "DS-NF", "drifting", True)])
    counts = result.cells.groupby(["indicator", "method"]).size()
    assert (counts == 3).all()
    # per indicator: 2 networks × 2 baselines × 2 stages, the label-selected rows, and CDEC
    assert counts.groupby(level="indicator").size().to_dict() == {"GCaMP6s": 8 + 3 + 1, "GCaMP6f": 8 + 3 + 1}
    assert ("GCaMP6s", "DS-NF, drifting baseline, paper's early stopping") in counts.index
    assert ("GCaMP6f", "DS-NF, paper's early stopping") not in counts.index
    assert result.summary.query("method == 'CDEC'").n_cells.tolist() == [3, 3]


@pytest.mark.parametrize(("indicator", "network", "baseline"), [
    pytest.param(indicator, network, baseline, marks=pytest.mark.skipif(
        not FoldRun(indicator, network, 0, baseline=baseline).path().exists(), reason="no full-mode fold checkpoints"))
    for indicator in ("GCaMP6s", "GCaMP6f") for network, baseline in sorted(table.LABEL_SELECTED_RUNS)])
def test_cached_label_selected_rows_are_the_saved_networks_scores(data_root, indicator, network, baseline):
    """Every cached row "paper's early stopping" is what the saved label-selected states score on the test
    neurons, and each fold's saved state is the first maximum of its recorded training-neuron curve."""
    neurons = load_neurons(indicator, data_root)
    cached = table.load_cached().cells.query("indicator == @indicator").set_index(["method", "neuron"]).correlation
    method = method_name(network, baseline, stage="label_selected")
    predictions = network_predictions(neurons, network, baseline=baseline, stage="label_selected")
    for neuron, pred in zip(neurons, predictions, strict=True):
        assert score_neuron(pred, neuron) == pytest.approx(cached[(method, neuron.name)], abs=1e-6)
    for _, record in crossval.saved_folds(indicator, network, baseline):
        labels, steps = record.label_selection, record.history.steps
        assert len(labels.curve) == len(steps) and labels.step == steps[int(np.argmax(labels.curve))]
        assert labels.correlation == max(labels.curve)
