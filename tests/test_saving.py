"""Tests of spikebook.saving: atomic checkpoint writes."""

from __future__ import annotations

import torch

from spikebook.saving import save_atomic


def test_save_atomic_round_trip_overwrite_and_no_leftovers(tmp_path):
    path = tmp_path / "sub" / "state.pt"  # the folder does not exist yet
    assert save_atomic({"w": torch.arange(3)}, path) == path
    assert torch.equal(torch.load(path)["w"], torch.arange(3))
    save_atomic({"w": torch.ones(2)}, str(path))  # replaces the old file
    assert torch.equal(torch.load(path)["w"], torch.ones(2))
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.pt"]  # no temporary file left
