"""Fig. 2C experiment: per-cell splits never leak held-out bins, a tiny run gives the expected table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spikebook import pretrained
from spikebook.data.simulate import SimulationConfig, simulate
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments.amortization import cache, comparison, figures, per_cell
from spikebook.experiments.amortization.config import FULL_N_STEPS, AmortizationConfig
from spikebook.recognition import DSF, DSNF, CNNConfig, RecognitionModel, RNNConfig
from spikebook.training import VimcoConfig

TINY_CNN = CNNConfig(filters=(4,), widths=(5,), out_width=3)
TINY_RNN = RNNConfig(filters=(4,), widths=(5,), n_features=3, feature_width=3, n_backward=4, n_forward=4)
TINY_VIMCO = VimcoConfig(k_samples=4, chunk_len=120, buffers=(20, 10), batch_size=2)


@pytest.fixture(scope="module")
def data():
    torch.set_num_threads(1)
    return simulate(SimulationConfig(model="SCDF", n_cells=3, n_steps=700), seed=3)


def tiny_config(recognition: str = "DS-F", **kwargs) -> AmortizationConfig:
    network = TINY_CNN if recognition == "DS-F" else TINY_RNN
    defaults = {"recognition": recognition, "n_cells": 2, "n_steps": 3, "eval_every": 2, "training": TINY_VIMCO,
                "heldout_steps": 200, "network": network, "n_samples": 2}
    return AmortizationConfig(**(defaults | kwargs))


def test_split_cell_is_a_disjoint_cover_of_one_cells_traces():
    r, c, t, h = 3, 4, 50, 12
    f = torch.arange(r * c * t, dtype=torch.float32).reshape(r, c, t)  # every value unique
    split = per_cell.split_cell(f, cell=2, heldout_steps=h)
    assert split.train.shape == (r, 1, t - h) and split.heldout.shape == (r, 1, h)
    assert split.train_bins == range(t - h) and split.heldout_bins == range(t - h, t)
    assert set(split.train_bins).isdisjoint(split.heldout_bins)
    assert sorted([*split.train_bins, *split.heldout_bins]) == list(range(t))
    torch.testing.assert_close(split.train, f[:, 2:3, list(split.train_bins)])
    torch.testing.assert_close(split.heldout, f[:, 2:3, list(split.heldout_bins)])
    assert set(split.train.flatten().tolist()).isdisjoint(split.heldout.flatten().tolist())
    own = set(f[:, 2].flatten().tolist())
    assert own == set(split.train.flatten().tolist()) | set(split.heldout.flatten().tolist())


@pytest.mark.parametrize(("cell", "heldout"), [(4, 10), (-1, 10), (0, 0), (0, 50)])
def test_split_cell_rejects_bad_arguments(cell, heldout):
    with pytest.raises(ValueError):
        per_cell.split_cell(torch.zeros(3, 4, 50), cell, heldout)


def test_per_cell_fit_trains_only_on_the_cells_first_bins(data, monkeypatch):
    seen = []
    real_fit = per_cell.fit_vimco

    def spy(recognition, generative, traces, config, **kwargs):
        seen.append((traces.clone(), kwargs["validation"].clone(), config, generative.alpha.shape))
        return real_fit(recognition, generative, traces, config, **kwargs)

    monkeypatch.setattr(per_cell, "fit_vimco", spy)
    config = tiny_config()
    per_cell.fit_single_cell(data.fluorescence, 1, config)
    ((traces, validation, vimco, n_cells),) = seen
    f = data.fluorescence
    torch.testing.assert_close(traces, f[:, 1:2, :500])
    torch.testing.assert_close(validation, f[:, 1:2, 500:])
    assert set(traces.flatten().tolist()).isdisjoint(validation.flatten().tolist())
    assert n_cells == (1,)  # a one-cell generative model
    assert vimco == config.per_cell_training and vimco.n_steps == 3 and vimco.k_samples == 4


def test_config_takes_the_recipes_hyper_parameters_unless_told():
    config = AmortizationConfig(n_steps=7, eval_every=5)
    assert config.pretrained_name == "dsf-scdf-60hz"
    recipe = pretrained.RECIPES["dsf-scdf-60hz"]
    assert config.per_cell_training == VimcoConfig(**{**recipe.training.__dict__, "n_steps": 7, "eval_every": 5})
    assert config.per_cell_heldout_steps == recipe.heldout_steps
    dsnf = AmortizationConfig(recognition="DS-NF")
    assert dsnf.pretrained_name == "dsnf-scdf-60hz"
    assert dsnf.per_cell_training.k_samples == pretrained.RECIPES["dsnf-scdf-60hz"].training.k_samples
    with pytest.raises(ValueError, match="RNNConfig"):
        AmortizationConfig(recognition="DS-NF", network=TINY_CNN)
    with pytest.raises(ValueError, match="n_cells"):
        AmortizationConfig(n_cells=0)


@pytest.mark.parametrize("recognition", ["DS-F", "DS-NF"])
def test_shipped_results_read_with_the_papers_network_names(recognition):
    """The shipped cost files spell the networks "DSF"/"DSNF"; they load as "DS-F"/"DS-NF", unchanged on disk."""
    stem = AmortizationConfig(recognition=recognition).result_stem
    result = cache.load_result(RESULTS_DIR, stem=stem)
    if result is None:
        pytest.skip(f"no cached {stem}.csv")
    assert {c.recognition for c in result.costs} == {recognition}


def test_per_cell_budget_defaults_to_the_models_full_steps():
    assert AmortizationConfig().n_steps == FULL_N_STEPS["DS-F"] == 2_000
    assert AmortizationConfig(recognition="DS-NF").n_steps == FULL_N_STEPS["DS-NF"] == 400
    assert AmortizationConfig(recognition="DS-NF", n_steps=9).per_cell_training.n_steps == 9
    with pytest.raises(ValueError, match="n_steps"):
        AmortizationConfig(n_steps=0)


class _Oracle(RecognitionModel):
    """Marginals equal to given spike trains: a known correlation of 1."""

    def __init__(self, spikes: torch.Tensor) -> None:
        super().__init__()
        self.spikes = torch.nn.Parameter(spikes, requires_grad=False)

    def marginals(self, f, n_samples=30, generator=None):
        return self.spikes.clone()


def test_cell_correlation_known_answers():
    spikes = (torch.rand(3, 400) < 0.05).float()
    spikes[:, 0] = 1.0
    np.testing.assert_allclose(per_cell.cell_correlation(_Oracle(spikes), torch.zeros(3, 400), spikes), 1.0)
    shifted = torch.roll(spikes, 1, dims=-1)  # one bin late: no credit at 60 Hz without binning
    r = per_cell.cell_correlation(_Oracle(shifted), torch.zeros(3, 400), spikes)
    assert r.shape == (3,) and (r < 0.3).all()


@pytest.mark.parametrize("recognition", ["DS-F", "DS-NF"])
def test_tiny_run_returns_the_expected_table(recognition, data, tmp_path):
    config = tiny_config(recognition)
    amortized = DSF(TINY_CNN) if recognition == "DS-F" else DSNF(TINY_RNN)
    result = comparison.run_amortization(amortized, data, config, amortized_steps=11, progress=False)

    assert [s.cell for s in result.scores] == [0, 1]
    for score in result.scores:
        assert -1 <= score.amortized <= 1 and -1 <= score.single_cell <= 1
        assert score.best_step in (0, 2, 3) and score.train_seconds > 0
    # the amortized arm is the given network applied as is
    expected = per_cell.cell_correlation(amortized, data.fluorescence[:, 1], data.spikes[:, 1], 2, config.seed).mean()
    assert math.isclose(result.scores[1].amortized, expected, rel_tol=1e-9)

    amortized_cost, single_cost = result.costs
    assert (amortized_cost.arm, amortized_cost.networks, amortized_cost.training_steps) == ("amortized", 1, 11)
    assert (single_cost.arm, single_cost.networks, single_cost.training_steps) == ("single_cell", 2, 6)
    assert single_cost.training_seconds == pytest.approx(sum(s.train_seconds for s in result.scores))
    assert amortized_cost.training_seconds == pytest.approx(11 * single_cost.training_seconds / 6)
    assert {c.recognition for c in result.costs} == {recognition}

    cache.save_result(result, tmp_path, stem="amortization_test")
    assert cache.load_result(tmp_path, stem="amortization_test") == result
    assert cache.load_result(tmp_path, stem="missing") is None
    fig = figures.plot_amortization(result, title="tiny")
    means = f"amortized {np.mean(result.column('amortized')):.2f}"
    assert means in fig.axes[0].get_title()


def test_warm_start_copies_the_network_and_leaves_it_untouched(data):
    config = tiny_config()
    start = DSF(TINY_CNN)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    fit = per_cell.fit_single_cell(data.fluorescence, 0, config, init=start)
    assert fit.recognition is not start
    for k, v in start.state_dict().items():
        torch.testing.assert_close(v, before[k])
    assert fit.best_bound >= fit.history.heldout_bound[0]  # selection never ends below the start
    if fit.best_step > 0:  # the kept state was trained away from the start
        assert any(not torch.equal(v, before[k]) for k, v in fit.recognition.state_dict().items())


def test_scores_do_not_depend_on_workers_or_order(data):
    """Each per-cell fit is seeded by its cell alone: parallel, sequential and single-cell runs agree."""
    config = tiny_config("DS-F")
    amortized = DSF(TINY_CNN)
    sequential = comparison.run_amortization(amortized, data, config, amortized_steps=11, progress=False)
    parallel = comparison.run_amortization(amortized, data, config, amortized_steps=11, progress=False, workers=2)
    for field in ("amortized", "single_cell", "best_step"):
        np.testing.assert_allclose(parallel.column(field), sequential.column(field), rtol=1e-6)
    alone = per_cell.fit_single_cell(data.fluorescence, 1, config)
    r = per_cell.cell_correlation(alone.recognition, data.fluorescence[:, 1], data.spikes[:, 1], 2, config.seed)
    assert math.isclose(sequential.scores[1].single_cell, r.mean(), rel_tol=1e-6)
    with pytest.raises(ValueError, match="workers"):
        comparison.run_amortization(amortized, data, config, amortized_steps=11, workers=0)
