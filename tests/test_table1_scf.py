"""Table 1, column 1: the summary statistics, the scoring, the predictors and a tiny end-to-end run."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from spikebook.baselines import gibbs_scf
from spikebook.data.simulate import paper_datasets
from spikebook.experiments.table1_scf import predictors, scoring, table
from spikebook.recognition import DSF, DSNF
from spikebook.recognition.cnn import CNNConfig
from spikebook.recognition.rnn import RNNConfig


@pytest.fixture(autouse=True)
def _one_thread():
    """The Gibbs sampler runs many tiny ops: on a shared machine extra threads only add waiting."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny():
    """Two test-like cells, three rates, 400 samples each."""
    return paper_datasets("SCF", seed=0, n_steps=400, sizes=(1, 1, 2))["test"]


def test_summary_matches_a_hand_computation():
    cells = pd.DataFrame({
        "cell": [0, 1, 2, 3, 0, 1, 2],
        "method": ["CDEC"] * 4 + ["mine"] * 3,
        "corr": [0.5, 0.7, 0.9, np.nan, 0.2, 0.4, 0.9],
    })
    summary = scoring.summarize_cells(cells).set_index("method")
    # CDEC: the NaN cell is left out; mean 0.7, sample sd 0.2, sem 0.2 / sqrt(3).
    assert summary.loc["CDEC", "mean"] == pytest.approx(0.7)
    assert summary.loc["CDEC", "sem"] == pytest.approx(0.2 / math.sqrt(3))
    assert summary.loc["CDEC", "n_cells"] == 3
    assert summary.loc["CDEC", "paper"] == 0.86
    # mine: mean 0.5, deviations -0.3, -0.1, 0.4 -> sd sqrt(0.26 / 2), sem sqrt(0.13 / 3).
    assert summary.loc["mine", "mean"] == pytest.approx(0.5)
    assert summary.loc["mine", "sem"] == pytest.approx(math.sqrt(0.13 / 3))
    assert math.isnan(summary.loc["mine", "paper"])
    assert list(summary.index) == ["CDEC", "mine"]  # paper methods first, in the paper's order


def test_a_perfect_predictor_scores_one_and_scale_does_not_matter(tiny):
    methods = {
        "truth": lambda d: d.spikes.numpy(),
        "scaled": lambda d: 3.0 * d.spikes.numpy() + 0.5,  # CDEC returns amplitudes, not counts
    }
    result = scoring.score_methods(tiny, methods)
    np.testing.assert_allclose(result.cells["corr"], 1.0)
    np.testing.assert_allclose(result.summary["mean"], 1.0)
    np.testing.assert_allclose(result.summary["sem"], 0.0, atol=1e-12)


def test_cell_score_is_the_mean_over_its_traces_of_the_per_bin_correlation(tiny):
    noise = np.random.default_rng(0).normal(size=tuple(tiny.spikes.shape))

    def predict(d):
        return d.spikes.numpy() + noise[:, : d.spikes.shape[1], : d.spikes.shape[2]]

    result = scoring.score_methods(tiny, {"noisy": predict}, sizes={"noisy": (1, 300)})
    truth = tiny.spikes.numpy()[:, 0, :300]
    expected = np.mean([np.corrcoef(truth[i] + noise[i, 0, :300], truth[i])[0, 1] for i in range(3)])
    assert len(result.cells) == 1
    assert result.cells["corr"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert result.summary["n_steps"].iloc[0] == 300
    assert result.predictions["noisy"].shape == (3, 1, 300)


def test_wrong_prediction_shape_is_refused(tiny):
    with pytest.raises(ValueError, match="shape"):
        scoring.score_methods(tiny, {"bad": lambda d: d.spikes.numpy()[..., 1:]})


def test_select_cells_keeps_the_cells_parameters_and_leaves_the_data_alone(tiny):
    alpha = tiny.model.alpha.clone()
    sub = scoring.select_cells(tiny, 1, 100)
    assert sub.fluorescence.shape == sub.spikes.shape == (3, 1, 100)
    assert torch.equal(sub.model.alpha, alpha[:1])
    assert torch.equal(sub.model.gamma, tiny.model.gamma[:1])
    assert torch.equal(sub.model.sigma, tiny.model.sigma[:1])
    assert torch.equal(tiny.model.alpha, alpha) and tiny.fluorescence.shape == (3, 2, 400)
    with pytest.raises(ValueError):
        scoring.select_cells(tiny, 3)


def test_gibbs_predictor_puts_each_groups_marginals_back_on_its_cells(tiny):
    data = scoring.select_cells(tiny, 2, 200)
    predict = predictors.gibbs_predictor(n_sweeps=4, burn_in=1, group_size=1, seed=5)
    out = predict(data)
    ranks = torch.argsort(data.model.gamma[:, 0]).tolist()  # group g holds the g-th slowest-decaying cell
    for g, cell in enumerate(ranks):
        model = scoring.model_cells(data.model, torch.tensor([cell]), 2).double()
        expected = gibbs_scf(data.fluorescence[:, cell : cell + 1].double(), model, 0.9, 60.0, n_sweeps=4,
                             burn_in=1, seed=5 + g).marginals  # (R, 1, T)
        np.testing.assert_allclose(out[:, cell : cell + 1], expected.numpy(), atol=1e-12)


def test_tiny_end_to_end_run_gives_the_table_and_its_cache(tiny, tmp_path):
    dsf = DSF(CNNConfig(filters=(4,), widths=(5,), out_width=3))
    dsnf = DSNF(RNNConfig(filters=(4,), widths=(5,), n_features=3, feature_width=3, n_backward=4, n_forward=4))
    methods = predictors.default_predictors(dsf, dsnf, n_sweeps=6, burn_in=2)
    methods["DS-NF"] = predictors.recognition_predictor(dsnf, n_samples=3)

    quick = table.table1(True, methods, data=tiny, results_dir=tmp_path)  # quick sizes, capped at the tiny data's
    assert not (tmp_path / table.SUMMARY_FILE).exists()  # quick mode writes nothing
    assert list(quick.summary["method"]) == list(scoring.METHODS)
    assert (quick.summary["n_steps"] == 400).all() and (quick.summary["n_cells"] == 2).all()

    full = table.table1(False, methods, predictors.default_sources(6, 2), data=tiny, results_dir=tmp_path)
    assert list(full.summary.columns) == ["method", "mean", "sem", "n_cells", "n_steps", "seconds", "paper",
                                          "paper_sem", "source"]
    assert list(full.summary["method"]) == list(scoring.METHODS)
    assert (full.summary["n_cells"] == 2).all() and (full.summary["n_steps"] == 400).all()
    assert full.cells.shape == (8, 3) and np.isfinite(full.cells["corr"]).all()
    assert (full.cells["corr"].abs() <= 1).all()
    mcmc = full.summary.set_index("method").loc["MCMC"]
    assert mcmc["mean"] > 0.5  # true parameters: even a few sweeps find most spikes
    assert "6 sweeps" in mcmc["source"]

    cached = table.load_cached(tmp_path)
    pd.testing.assert_frame_equal(cached.cells, full.cells, check_exact=False, rtol=1e-5)
    pd.testing.assert_frame_equal(cached.summary, full.summary, check_exact=False, rtol=1e-5)

    # Recomputing one method keeps the others' cached rows.
    again = table.table1(False, {"CDEC": predictors.cdec_predictor(penalty=0)}, {"CDEC": "L0"}, data=tiny,
                         results_dir=tmp_path)
    assert list(again.summary["method"]) == list(scoring.METHODS)
    assert again.summary.set_index("method").loc["CDEC", "source"] == "L0"
    kept = again.cells[again.cells["method"] != "CDEC"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, full.cells[full.cells["method"] != "CDEC"].reset_index(drop=True),
                                  check_exact=False, rtol=1e-5)


def test_paired_differences_match_a_hand_computation():
    cells = pd.DataFrame({
        "cell": [0, 1, 2] * 3,
        "method": ["MCMC"] * 3 + ["CDEC"] * 3 + ["DS-F"] * 3,
        "corr": [0.8, 0.9, 0.7, 0.7, 0.9, 0.5, 0.9, 0.95, np.nan],
    })
    diff = scoring.paired_differences(cells, "MCMC").set_index("method")
    assert list(diff.index) == ["DS-F", "CDEC"]
    # CDEC - MCMC = -0.1, 0, -0.2: mean -0.1, sd 0.1, sem 0.1 / sqrt(3); better in no cell.
    assert diff.loc["CDEC", "mean_diff"] == pytest.approx(-0.1)
    assert diff.loc["CDEC", "sem_diff"] == pytest.approx(0.1 / math.sqrt(3))
    assert diff.loc["CDEC", "frac_better"] == 0.0
    # DS-F: cell 2 is NaN and dropped; differences 0.1, 0.05.
    assert diff.loc["DS-F", "n_cells"] == 2
    assert diff.loc["DS-F", "mean_diff"] == pytest.approx(0.075)
    assert diff.loc["DS-F", "frac_better"] == 1.0


def test_select_cells_by_index(tiny):
    sub = scoring.select_cells(tiny, cells=[1, 0], n_steps=50)
    assert torch.equal(sub.fluorescence, tiny.fluorescence[:, [1, 0], :50])
    assert torch.equal(sub.model.alpha, tiny.model.alpha[[1, 0]])
    with pytest.raises(ValueError):
        scoring.select_cells(tiny, cells=[2])


def test_gibbs_log_joint_gap_starts_far_below_the_truth_and_closes(tiny):
    gap = predictors.gibbs_log_joint_gap(scoring.select_cells(tiny, cells=[0]), n_sweeps=60)
    assert gap.shape == (3, 1, 60)
    assert (gap[..., 0] < -50).all()  # s = 0 leaves every spike unexplained
    # The truth is a posterior draw (up to the prior rate): the chain ends within a few nats of it.
    assert np.abs(gap[..., -10:].mean(-1)).max() < 10
