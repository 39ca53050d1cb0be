"""Tests of spikebook.training.selection: the one-standard-error rule and early stopping."""

from __future__ import annotations

import pytest

from spikebook.training import select_one_se, stop_early


def test_select_one_se_takes_the_latest_state_within_one_standard_error() -> None:
    # best 3.0 at index 1 with s.e. 0.2: indices 1 and 3 reach 2.8; the later one is chosen
    assert select_one_se([1.0, 3.0, 2.5, 2.9, 1.0], [0.1, 0.2, 0.1, 0.1, 0.1]) == 3
    assert select_one_se([1.0, 3.0, 2.5, 2.9, 1.0], [0.1, 0.0, 5.0, 5.0, 5.0]) == 1  # the best's s.e. only
    assert select_one_se([1.0, float("nan"), 2.0, 1.5], [0.5, 0.5, 0.5, 0.5]) == 3  # NaN bounds never count
    assert select_one_se([2.0, 2.0], [0.0, 0.0]) == 1  # ties: the later state
    with pytest.raises(ValueError, match="one standard error per bound"):
        select_one_se([1.0, 2.0], [0.1])
    with pytest.raises(ValueError, match="no finite"):
        select_one_se([float("nan")], [0.1])
    with pytest.raises(ValueError, match="finite and >= 0"):
        select_one_se([1.0, 2.0], [0.1, float("nan")])


@pytest.mark.parametrize(
    ("step", "selected_step", "patience", "min_steps", "stop"),
    [(8, 2, 6, 0, True), (7, 2, 6, 0, False), (8, 2, 6, 10, False), (10, 2, 6, 10, True),
     (10**6, 0, None, 0, False)],
)
def test_stop_early_once_the_selected_state_is_patience_steps_old(step, selected_step, patience, min_steps,
                                                                  stop):
    assert stop_early(step, selected_step, patience, min_steps) is stop
