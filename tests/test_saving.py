"""Tests of spikebook.saving: atomic checkpoint writes."""

from __future__ import annotations

import pytest
import torch

from spikebook.saving import checkpoint_name, save_atomic


def test_save_atomic_round_trip_overwrite_and_no_leftovers(tmp_path):
    path = tmp_path / "sub" / "state.pt"  # the folder does not exist yet
    assert save_atomic({"w": torch.arange(3)}, path) == path
    assert torch.equal(torch.load(path)["w"], torch.arange(3))
    save_atomic({"w": torch.ones(2)}, str(path))  # replaces the old file
    assert torch.equal(torch.load(path)["w"], torch.ones(2))
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.pt"]  # no temporary file left


def test_checkpoint_names_keep_seeds_and_quick_runs_apart():
    names = {checkpoint_name("net", quick, seed) for quick in (False, True) for seed in (0, 1, 12)}
    assert len(names) == 6 and checkpoint_name("net") == "net.pt"
    assert checkpoint_name("net", quick=True, seed=3) == "net-seed3-quick.pt"
    for bad in (-1, 0.0, 1.0, True, "1"):
        with pytest.raises(ValueError, match="seed must be a non-negative int"):
            checkpoint_name("net", seed=bad)
