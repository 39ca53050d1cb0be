"""Pretrained recipes: a quick run trains, saves, loads back identically; errors are clear."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

import spikebook
from spikebook import pretrained
from spikebook.data.groundtruth import load_neurons
from spikebook.generative import SCDF, MLphys
from spikebook.generative.indicators import DRIFT_START
from spikebook.recipes import simulated
from spikebook.recipes.gcamp import QUICK, GcampRecord
from spikebook.recognition import DSF, DSNF
from spikebook.saving import load_checkpoint


@pytest.fixture
def checkpoint_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path)
    return tmp_path


def test_quick_training_round_trip(checkpoint_dir):
    torch.set_num_threads(1)
    result = pretrained.train("dsf-scdf-60hz", quick=True, progress=False)
    assert (checkpoint_dir / "dsf-scdf-60hz-quick.pt").exists()
    assert not list(checkpoint_dir.glob("*.resume"))  # the resumable file is removed at the end
    loaded = pretrained.load("dsf-scdf-60hz", quick=True)
    assert isinstance(loaded.recognition, DSF) and isinstance(loaded.generative, SCDF)
    assert loaded.generative.alpha.shape == (simulated.QUICK.n_cells,)
    f = torch.randn(2, 500)
    torch.testing.assert_close(loaded.recognition.marginals(f), result.recognition.eval().marginals(f))
    torch.testing.assert_close(loaded.generative.alpha, result.generative.alpha)
    assert loaded.history.steps[-1] == simulated.QUICK.train_steps
    assert not loaded.generative.raw_delta.requires_grad and torch.allclose(loaded.generative.delta, torch.ones(()))
    assert pretrained.available() == []  # quick runs are not shipped entries
    torch.rand(10)  # the run depends on its seed alone, not on what drew from torch's generator before
    again = pretrained.train("dsf-scdf-60hz", quick=True, progress=False)
    for a, b in zip(again.recognition.parameters(), result.recognition.parameters(), strict=True):
        assert torch.equal(a, b)


def test_other_seeds_are_saved_beside_the_entry(checkpoint_dir):
    torch.set_num_threads(1)
    zero = pretrained.train("dsf-scdf-60hz", quick=True, progress=False)
    one = pretrained.train("dsf-scdf-60hz", quick=True, progress=False, seed=1)
    assert sorted(p.name for p in checkpoint_dir.iterdir()) == ["dsf-scdf-60hz-quick.pt", "dsf-scdf-60hz-seed1-quick.pt"]
    f = torch.randn(2, 500)
    torch.testing.assert_close(pretrained.load("dsf-scdf-60hz", quick=True).recognition.marginals(f),
                               zero.recognition.eval().marginals(f))  # seed 1 did not overwrite seed 0
    torch.testing.assert_close(pretrained.load("dsf-scdf-60hz", quick=True, seed=1).recognition.marginals(f),
                               one.recognition.eval().marginals(f))
    assert not torch.allclose(zero.recognition.marginals(f), one.recognition.marginals(f))
    with pytest.raises(FileNotFoundError, match="--quick --seed 2"):
        pretrained.load("dsf-scdf-60hz", quick=True, seed=2)
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        pretrained.checkpoint_path("dsf-scdf-60hz", seed=-1)
    for bad in (1.0, True):
        with pytest.raises(TypeError, match="seed must be a non-negative int"):
            pretrained.checkpoint_path("dsf-scdf-60hz", seed=bad)
    with pytest.raises(ValueError, match="no seed runs"):
        pretrained.load("attended-inception-spikefinder", seed=1)


def test_real_data_entry_trains_on_every_neuron_and_loads_back(checkpoint_dir, data_root, monkeypatch):
    torch.set_num_threads(1)
    monkeypatch.setenv("SPIKEBOOK_DATA", str(data_root))
    result = pretrained.train("dsf-gcamp6s-60hz", quick=True, progress=False)
    state = load_checkpoint(checkpoint_dir / "dsf-gcamp6s-60hz-quick.pt")
    neurons = load_neurons("GCaMP6s", data_root)[: QUICK.neurons]
    record = GcampRecord.from_dict(state)
    assert record.train_neurons == tuple(n.name for n in neurons)  # all of them: no fold is left out
    assert record.recipe == pretrained.RECIPES["dsf-gcamp6s-60hz"] and record.sleep.steps in QUICK.sleep_grid
    loaded = pretrained.load("dsf-gcamp6s-60hz", quick=True)
    assert isinstance(loaded.recognition, DSF) and isinstance(loaded.generative, MLphys)
    assert loaded.generative.alpha.shape == (QUICK.max_segments,)  # one model per training segment
    torch.testing.assert_close(loaded.generative.c0, result.generative.c0)
    # the recipe's drifting baseline is trained and rebuilt on load
    assert loaded.generative.drifting
    torch.testing.assert_close(loaded.generative.drift, result.generative.drift)
    f = torch.randn(2, 500) * 0.1
    torch.testing.assert_close(loaded.recognition.marginals(f), result.recognition.eval().marginals(f))
    vimco = record.network("vimco")  # the network before the sleep phase differs
    assert not torch.allclose(vimco.marginals(f), result.recognition.marginals(f))
    # by name through infer, at the recordings' frame rate (no resampling)
    (checkpoint_dir / "dsf-gcamp6s-60hz-quick.pt").rename(checkpoint_dir / "dsf-gcamp6s-60hz.pt")
    assert pretrained.available() == ["dsf-gcamp6s-60hz"]
    trace = neurons[0].traces[0][:3_000]
    probs = spikebook.infer(trace, fs=pretrained.RECIPES["dsf-gcamp6s-60hz"].fs, model="dsf-gcamp6s-60hz")
    np.testing.assert_allclose(probs, result.recognition.marginals(torch.as_tensor(trace)[None])[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_networks_follow_the_recipe():
    recognition, generative = pretrained.make_networks(pretrained.RECIPES["dsnf-scf-60hz"], n_cells=4)
    assert isinstance(recognition, DSNF)
    assert generative.alpha.shape == (4,) and generative.roots.shape == (4, 1)
    gcamp6f = pretrained.RECIPES["dsf-gcamp6f-60hz"]
    recognition, generative = pretrained.make_networks(gcamp6f, n_cells=3)
    assert isinstance(recognition, DSF) and generative.alpha.shape == (3,)
    assert generative.fs == gcamp6f.fs
    for name in ("dsf-gcamp6s-60hz", "dsf-gcamp6f-60hz"):  # both entries have the drifting baseline
        _, generative = pretrained.make_networks(pretrained.RECIPES[name], n_cells=3)
        torch.testing.assert_close(generative.drift, torch.full((3,), DRIFT_START))  # σ starts at 1
    _, generative = pretrained.make_networks(dataclasses.replace(gcamp6f, baseline="constant"), n_cells=3)
    assert not generative.drifting  # without it, eq. (4)'s constant baseline


def test_errors_name_the_fix(checkpoint_dir):
    with pytest.raises(ValueError, match="known"):
        pretrained.load("cascade-universal")
    with pytest.raises(FileNotFoundError, match="python -m spikebook.pretrained train dsf-scf-60hz"):
        pretrained.load("dsf-scf-60hz")


def test_command_line_list_names_every_entry(capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["python -m spikebook.pretrained", "list"])
    pretrained._main()
    lines = capsys.readouterr().out.splitlines()
    listed = {line.split()[0]: line.split()[1] for line in lines}
    assert set(listed) == set(pretrained.RECIPES) | set(pretrained.SUPERVISED)
    assert {name for name, state in listed.items() if state == "on"} == set(pretrained.available())


def test_train_names_the_command_of_a_supervised_entry():
    """Issue 33 row 25: train() of a supervised entry says how it is made, not that the name is unknown."""
    with pytest.raises(ValueError, match="supervised entry.*spikefinder_table --full"):
        pretrained.train("attended-inception-spikefinder")
