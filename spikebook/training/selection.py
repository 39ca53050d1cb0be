r"""Which evaluated state a training run returns, and when it stops: selection on the held-out bound.

Model selection uses only the held-out bound (no labels). ``"best"`` keeps the state with the highest bound.
``"one_se"`` keeps the *latest* state whose bound is within one standard error of the highest
(:func:`select_one_se`; the one-standard-error rule of Breiman et al. 1984 and Hastie et al. 2009, §7.10,
with "simplest" read as "trained longest"): where the held-out bound has reached a plateau its arg-max is a
draw from the noise, and among states the bound cannot tell apart the one that has optimised the objective
longest is preferred. Early stopping (:func:`stop_early`) counts the age of the selected state.

Taught in: book chapter "Real GCaMP6 recordings" (the one-standard-error rule); the bound itself in
"Amortized variational inference".

References:
    Breiman, Friedman, Olshen & Stone (1984). Classification and Regression Trees, §3.4.3.
    Hastie, Tibshirani & Friedman (2009). The Elements of Statistical Learning, 2nd ed., §7.10.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch

__all__ = ["Selection", "select_one_se", "stop_early"]

#: Which evaluated state a run returns: the highest held-out bound, or the latest within one s.e. of it.
Selection = Literal["best", "one_se"]


def select_one_se(bounds: Sequence[float], standard_errors: Sequence[float]) -> int:
    r"""Index of the latest evaluation within one standard error of the best held-out bound.

    With :math:`i^* = \arg\max_i L_i` (the first maximum; NaN bounds never count), returns the largest
    :math:`i` with :math:`L_i \ge L_{i^*} - \mathrm{se}_{i^*}`: the one-standard-error rule (Breiman et al.
    1984, §3.4.3; Hastie et al. 2009, §7.10), applied along training time.

    Args:
        bounds: Held-out bound of each evaluation, in order, shape ``(N,)``.
        standard_errors: The standard error of each bound, shape ``(N,)``.

    Raises:
        ValueError: if the lengths differ, no bound is finite, or the best bound's standard error is
            negative or not finite.
    """
    bounds = torch.as_tensor(bounds, dtype=torch.float64)
    standard_errors = torch.as_tensor(standard_errors, dtype=torch.float64)
    if bounds.shape != standard_errors.shape or bounds.dim() != 1:
        raise ValueError(f"need one standard error per bound, got {tuple(bounds.shape)} and "
                         f"{tuple(standard_errors.shape)}")
    finite = torch.isfinite(bounds)
    if not finite.any():
        raise ValueError("no finite held-out bound to select from")
    best = int(torch.where(finite, bounds, -math.inf).argmax())
    se = float(standard_errors[best])
    if not (math.isfinite(se) and se >= 0):
        raise ValueError(f"the best bound's standard error must be finite and >= 0, got {se}")
    tied = torch.nonzero(finite & (bounds >= bounds[best] - se)).squeeze(1)
    return int(tied[-1])


def stop_early(step: int, selected_step: int, patience: int | None, min_steps: int = 0) -> bool:
    """Whether to stop at ``step``: the selected state is ``patience`` steps old, and ``step >= min_steps``.

    Checked at evaluations. ``min_steps`` guards against a lucky early evaluation stopping a run that is still
    improving: the held-out bound is noisy.

    Args:
        step: Optimisation steps taken.
        selected_step: Step of the state the selection rule picks now.
        patience: Steps the selected state may age; ``None`` never stops.
        min_steps: No stop before this step.
    """
    return patience is not None and step >= min_steps and step - selected_step >= patience
