"""The settings of the Fig. 2C experiment: which network, which data, how many cells, the per-cell budget.

Taught in: book chapter "Amortization".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from spikebook import pretrained
from spikebook.recognition import CNNConfig, RNNConfig
from spikebook.training import VimcoConfig
from spikebook.validate import one_of, positive_int

__all__ = ["FULL_N_STEPS", "AmortizationConfig", "RecognitionName"]

RecognitionName = Literal["DS-F", "DS-NF"]

#: Per-cell VIMCO steps of the full runs, per recognition model. The paper stopped each per-cell fit early;
#: a fixed budget keeps the per-cell arm's cost known in advance. By DS-F's 2,000 steps the held-out bound of
#: most cells has levelled off; DS-NF's 400 are what its slower steps afford.
FULL_N_STEPS: dict[RecognitionName, int] = {"DS-F": 2_000, "DS-NF": 400}


@dataclass(frozen=True)
class AmortizationConfig:
    """The Fig. 2C experiment; defaults are the shipped full-mode run (DS-F, CPU budget).

    Attributes:
        recognition: Recognition model of both arms, ``"DS-F"`` or ``"DS-NF"`` (the paper: DS-NF).
        data: Generative model of the simulation and of the per-cell fits (the paper: ``"SCDF"``).
        n_cells: Number of test cells scored, the first ``n_cells`` of the test split (the paper: 30).
        n_steps: VIMCO steps of each per-cell network (the per-cell budget); ``None`` takes
            :data:`FULL_N_STEPS` of the recognition model.
        eval_every: Steps between held-out evaluations (checkpoint selection) of a per-cell fit.
        training: Base VIMCO hyper-parameters of the per-cell fits (``K``, chunks, learning rates);
            ``None`` takes those of the amortized network's recipe. Its ``n_steps`` and ``eval_every``
            are replaced by the two fields above.
        heldout_steps: Bins at the end of every trace held out of per-cell training and used for
            checkpoint selection; ``None`` takes the recipe's (2,000 for DS-F, 600 for DS-NF).
        network: Architecture of the per-cell networks (:class:`~spikebook.recognition.CNNConfig` or
            :class:`~spikebook.recognition.RNNConfig`); ``None`` is the default (paper) layout, the one
            of the pretrained networks.
        n_samples: Samples for the marginals of DS-NF (the paper: 30); DS-F's are exact.
        seed: Seed of the per-cell fits (cell ``c`` uses ``seed + c``) and of the marginal samples.
    """

    recognition: RecognitionName = "DS-F"
    data: Literal["SCF", "SCDF"] = "SCDF"
    n_cells: int = 30
    n_steps: int | None = None
    eval_every: int = 100
    training: VimcoConfig | None = None
    heldout_steps: int | None = None
    network: CNNConfig | RNNConfig | None = None
    n_samples: int = 30
    seed: int = 0

    def __post_init__(self) -> None:
        one_of(self.recognition, ("DS-F", "DS-NF"), "recognition")
        one_of(self.data, ("SCF", "SCDF"), "data")
        if self.n_steps is None:
            object.__setattr__(self, "n_steps", FULL_N_STEPS[self.recognition])
        for name in ("n_cells", "n_steps", "eval_every", "n_samples"):
            positive_int(getattr(self, name), name)
        if self.heldout_steps is not None:
            positive_int(self.heldout_steps, "heldout_steps")
        expected = CNNConfig if self.recognition == "DS-F" else RNNConfig
        if self.network is not None and not isinstance(self.network, expected):
            raise ValueError(f"network must be a {expected.__name__} for {self.recognition}")

    @property
    def pretrained_name(self) -> str:
        """The amortized network's entry in :data:`spikebook.pretrained.RECIPES`, e.g. ``"dsf-scdf-60hz"``."""
        return f"{self.recognition.replace('-', '').lower()}-{self.data.lower()}-60hz"

    @property
    def result_stem(self) -> str:
        """File stem of the cached full-mode result: ``"amortization"`` (DS-F) or ``"amortization_dsnf"``."""
        return "amortization" if self.recognition == "DS-F" else "amortization_dsnf"

    @property
    def recipe(self) -> pretrained.Recipe:
        """The amortized network's recipe (prior, sampling rate, default hyper-parameters)."""
        return pretrained.RECIPES[self.pretrained_name]

    @property
    def per_cell_training(self) -> VimcoConfig:
        """The VIMCO hyper-parameters of one per-cell fit."""
        base = self.recipe.training if self.training is None else self.training
        return dataclasses.replace(base, n_steps=self.n_steps, eval_every=self.eval_every)

    @property
    def per_cell_heldout_steps(self) -> int:
        """Held-out bins at the end of every trace of a per-cell fit."""
        return self.recipe.heldout_steps if self.heldout_steps is None else self.heldout_steps

