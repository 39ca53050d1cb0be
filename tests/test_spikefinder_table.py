"""Tests of spikebook.experiments.spikefinder_table and the recipe it trains with, on the data on hand (quick sizes)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from spikebook import pretrained
from spikebook.experiments import RESULTS_DIR
from spikebook.experiments import spikefinder_table as st
from spikebook.recipes.spikefinder import QUICK_TRAINING, TEST_SETS, fit_recipe, load_data
from spikebook.supervised import Ensemble, build_model, predict_neurons, score_neurons
from spikebook.training.supervised import fit_supervised


def test_rescored_submissions_match_published(data_root) -> None:
    rescored = st.rescore_submissions(data_root)
    assert len(rescored) == 48
    np.testing.assert_allclose(rescored.ours, rescored.published, atol=5e-4)
    means = rescored[rescored.team == "bolte"].groupby("dataset").ours.mean()
    for d, r in st.ORIGINAL_SUBMISSION.items():
        assert means[d] == pytest.approx(r, abs=5e-4)


def test_quoted_reference_numbers(data_root) -> None:
    official = st.official_scores(data_root)
    test = official[official.split == "test"]
    best = test.groupby("dataset").r.max()
    bolte = test[test.algo == "bolte"].set_index("dataset").r
    for d in TEST_SETS:
        assert best[d] == pytest.approx(st.BEST_ENTRY[d], abs=5e-4)
        assert bolte[d] == pytest.approx(st.ORIGINAL_SUBMISSION[d], abs=5e-4)


def test_quick_table_has_every_protocol(data_root) -> None:
    result, fits = st.run_table(quick=True, root=data_root, names=["regular", "agnostic"], progress=False)
    assert set(fits) == {"regular", "agnostic"}
    ours = result.scores[result.scores.source == "ours"]
    assert {"in_sample", "validation", "test"} <= set(ours.protocol)
    assert set(ours.model) == {"regular", "agnostic", "OOPSI"}
    layout = st.poster_table(result.scores)
    assert list(layout.columns) == list(range(1, 11))
    assert layout.loc["poster: Model", 7] == 0.82
    # validation and training neurons never overlap
    data = load_data(data_root, quick=True)
    assert not {n.key for n in data.train} & {n.key for n in data.validation}


def test_saving_some_models_keeps_the_others(data_root, tmp_path, monkeypatch) -> None:
    results, checkpoints = tmp_path / "results", tmp_path / "checkpoints"
    checkpoints.mkdir()
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", checkpoints)  # the pretrained entry's file, not the shipped one
    first, _ = st.run_table(quick=True, root=data_root, names=["regular", "simplified"], progress=False, save=True,
                            results_dir=results)
    again, fits = st.run_table(quick=True, root=data_root, names=["simplified"], progress=False, save=True,
                               results_dir=results)
    assert set(fits) == {"simplified"}
    assert (checkpoints / f"{st.PRETRAINED_NAME}.pt").exists() and (results / st.MODELS_FILE).exists()
    cached = st.load_cached(results)
    pd.testing.assert_frame_equal(cached.neurons.reset_index(drop=True), again.neurons.reset_index(drop=True),
                                  check_dtype=False)
    kept = again.neurons[again.neurons.model == "regular"].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, first.neurons[first.neurons.model == "regular"].reset_index(drop=True))
    assert (again.neurons.model == "simplified").sum() == (first.neurons.model == "simplified").sum()
    assert (again.neurons.model == "OOPSI").sum() == (first.neurons.model == "OOPSI").sum()  # not duplicated
    assert set(st.load_cached_models(results)) == {"regular", "simplified"}
    assert set(pd.read_csv(results / st.HISTORY_FILE).model) == {"regular", "simplified"}
    # scoring the cached networks again reproduces every row (the networks and the scorer are deterministic)
    key = ["model", "protocol", "dataset", "column"]
    rescored = st.rescore_cached(data_root, quick=True, results_dir=results).neurons
    rescored = rescored.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(rescored, again.neurons.sort_values(key).reset_index(drop=True), check_dtype=False)


def _same_weights(a, b) -> None:
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_ensemble_recipe_trains_members_from_consecutive_seeds(data_root) -> None:
    data = load_data(data_root, quick=True)
    recipe = st.MODELS["simplified_x5"]
    training = QUICK_TRAINING
    two = fit_recipe(dataclasses.replace(recipe, members=2), data, training, progress=False)
    single = [fit_recipe(dataclasses.replace(recipe, members=1), data, dataclasses.replace(training, seed=s),
                             progress=False) for s in (0, 1)]
    assert isinstance(two.model, Ensemble) and len(two.model.members) == 2
    for member, fit in zip(two.model.members, single):  # member m is the single network of seed m
        _same_weights(member, fit.model)
    a, b = (next(m.parameters()).detach().numpy() for m in two.model.members)
    assert not np.array_equal(a, b)
    r = score_neurons(predict_neurons(two.model, data.validation, window=training.window,
                                      buffer=training.buffer), data.validation)
    assert two.best_val == pytest.approx(float(np.nanmean(r)))


def test_refit_recipe_trains_on_training_and_validation_neurons_without_selection(data_root) -> None:
    data = load_data(data_root, quick=True)
    recipe = st.MODELS["simplified_x5_refit"]
    assert recipe.refit and recipe.training.max_epochs == st.SIMPLIFIED_SELECTED_EPOCH
    # the epoch count is the one the validation neurons chose for the cached single simplified network
    history = pd.read_csv(RESULTS_DIR / st.HISTORY_FILE)
    assert set(history[history.model == "simplified"].best_epoch) == {st.SIMPLIFIED_SELECTED_EPOCH}
    training = dataclasses.replace(QUICK_TRAINING, max_epochs=2)
    fit = fit_recipe(dataclasses.replace(recipe, members=1), data, training, progress=False)
    assert np.isnan(fit.best_val) and fit.best_epoch == 2  # the last epoch, whatever its score
    union = fit_supervised(build_model(recipe.spec, seed=0), data.train + data.validation, None, training,
                           progress=False)
    _same_weights(fit.model, union.model)
    # its validation neurons are in-sample: no validation rows
    rows = pd.DataFrame(st.score_model(fit, data, "simplified_x5_refit"))
    assert "validation" not in set(rows.protocol)
    assert (rows.protocol == "in_sample").sum() == len(data.train) + len(data.validation)


def test_ensemble_members_train_the_same_in_worker_processes(data_root) -> None:
    data = load_data(data_root, quick=True)
    recipe = dataclasses.replace(st.MODELS["simplified_x5"], members=2)
    here = fit_recipe(recipe, data, QUICK_TRAINING, progress=False)
    spawned = fit_recipe(recipe, data, QUICK_TRAINING, progress=False, map_jobs=st.map_members(2))
    for a, b in zip(here.model.members, spawned.model.members, strict=True):
        _same_weights(a, b)
