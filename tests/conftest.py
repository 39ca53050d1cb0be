"""Shared fixtures: a fixed seed for every test and the ground-truth data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``SPIKEBOOK_DATA`` if set, else ``../shared/data`` next to the checkout."""
    root = Path(os.environ.get("SPIKEBOOK_DATA", SHARED_DATA))
    if not root.is_dir():
        pytest.skip(f"ground-truth data folder not found: {root} (set SPIKEBOOK_DATA)")
    return root
