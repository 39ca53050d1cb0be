"""Tests of spikebook.training.state: a snapshot is a detached CPU copy that training does not change."""

from __future__ import annotations

import torch

from spikebook.training import cpu_state


def test_cpu_state_is_a_copy_that_later_steps_do_not_change() -> None:
    model = torch.nn.Linear(3, 2)
    snapshot = cpu_state(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight += 1.0
    for k, v in snapshot.items():
        assert v.device.type == "cpu" and not v.requires_grad
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert not torch.equal(snapshot["weight"], model.weight)
