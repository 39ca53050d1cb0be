"""Small models shared by several test modules (imported as ``from factories import ...``; pytest puts
``tests/`` on the path)."""

from __future__ import annotations

import torch

from spikebook.generative import SCF


def scf_cells(n_cells: int) -> SCF:
    """An SCF of ``n_cells`` distinct cells, spike amplitude fixed (it trades off against ``alpha``)."""
    model = SCF(
        gamma=torch.linspace(0.92, 0.96, n_cells).unsqueeze(-1),
        alpha=torch.linspace(0.3, 0.5, n_cells),
        beta=torch.full((n_cells,), -0.25),
        sigma=torch.linspace(0.05, 0.1, n_cells),
    )
    model.raw_delta.requires_grad_(False)
    return model
