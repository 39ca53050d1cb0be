"""The simulated datasets of Speiser et al. (2017), §2.4.

Protocol: per cell, parameters are drawn uniformly from ranges (heterogeneity across cells);
per cell, one trace of ``n_steps`` samples at ``fs`` Hz for each firing rate, with i.i.d.
Bernoulli spikes; 50 training, 50 validation and 100 test cells.

Default ranges are those of the original notebooks (``notes/ORIGINAL_CODE.md`` §2.3), mapped
from their raw (pre-sigmoid/softplus) values to natural units and then drawn uniformly in
natural units (the notebooks drew uniformly in raw units; the ranges are the same).
The paper's text gives the rates 0.6, 0.9 and 1.1 Hz (default); the notebooks used
0.7, 1.0 and 1.2 Hz — pass ``rates_hz`` to change them.

Layout: traces are ``(R, C, T)`` — rate index, cell, time — so that per-cell parameters of
shape ``(C,)`` broadcast along the cell axis just before time, as everywhere in the package.

Taught in: book chapter "From spikes to fluorescence".
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from spikebook.generative import SCDF, SCF, BernoulliPrior, CalciumModel

ModelName = Literal["SCF", "SCDF"]

#: Parameter ranges (low, high) in natural units; equal bounds fix a parameter.
#: ``gamma`` is the AR(1) decay per 60 Hz step.
PAPER_RANGES = MappingProxyType(
    {
        "SCF": MappingProxyType(
            {"gamma": (0.94, 0.99), "delta": (1.0, 1.0), "alpha": (0.25, 0.5), "beta": (-0.3, -0.3),
             "sigma": (0.07, 0.15)}
        ),
        "SCDF": MappingProxyType(
            {"gamma": (0.924, 0.971), "delta": (1.0, 1.0), "alpha": (0.80, 0.97), "beta": (-0.2, -0.2),
             "sigma": (0.02, 0.05), "kon": (0.0027, 0.0074), "koff": (0.076, 0.119), "eta": (1.97, 2.31),
             "D": (5.5, 6.5)}
        ),
    }
)
_MODELS = {"SCF": SCF, "SCDF": SCDF}


@dataclass(frozen=True)
class SimulationConfig:
    """How to simulate one dataset; the defaults are the paper's (§2.4).

    Attributes:
        model: generative model, ``"SCF"`` or ``"SCDF"``.
        n_cells: number of cells ``C``.
        n_steps: samples per trace ``T``.
        fs: sampling rate in Hz.
        rates_hz: one trace per cell at each of these firing rates (Hz).
    """

    model: ModelName = "SCF"
    n_cells: int = 100
    n_steps: int = 10_000
    fs: float = 60.0
    rates_hz: tuple[float, ...] = (0.6, 0.9, 1.1)

    def __post_init__(self) -> None:
        if self.model not in _MODELS:
            raise ValueError(f"model must be one of {sorted(_MODELS)}, got {self.model!r}")
        if self.n_cells < 1 or self.n_steps < 1:
            raise ValueError("n_cells and n_steps must be positive")
        if self.fs <= 0:
            raise ValueError(f"fs must be positive (Hz), got {self.fs}")
        if not self.rates_hz or any(not 0 < r < self.fs for r in self.rates_hz):
            raise ValueError(f"rates_hz must be non-empty and lie in (0, fs) Hz, got {self.rates_hz}")


class SimulatedData(NamedTuple):
    """A simulated dataset.

    Attributes:
        fluorescence: ``(R, C, T)`` traces.
        spikes: ``(R, C, T)`` binary spike trains.
        model: the generative model with per-cell parameters of shape ``(C,)``.
        config: how the data were made.
    """

    fluorescence: Tensor
    spikes: Tensor
    model: CalciumModel
    config: SimulationConfig


def draw_parameters(
    model: ModelName, n_cells: int, generator: torch.Generator, ranges: dict | None = None
) -> dict[str, Tensor]:
    """Draw per-cell parameters uniformly from ``ranges`` (default :data:`PAPER_RANGES`).

    Returns:
        Parameter name → tensor of shape ``(C,)`` (``gamma``: ``(C, 1)``, AR(1)).
    """
    ranges = PAPER_RANGES[model] if ranges is None else ranges
    params = {}
    for name, (low, high) in ranges.items():
        if low > high:
            raise ValueError(f"range for {name} has low > high: {(low, high)}")
        params[name] = low + (high - low) * torch.rand(n_cells, generator=generator)
    params["gamma"] = params["gamma"].unsqueeze(-1)
    return params


def simulate(config: SimulationConfig = SimulationConfig(), seed: int = 0, ranges: dict | None = None) -> SimulatedData:
    """Simulate one dataset: parameters, spikes and fluorescence, all from one seeded generator.

    Args:
        config: sizes, model, rates.
        seed: seed of the ``torch.Generator``; the same seed gives the same data.
        ranges: parameter ranges overriding :data:`PAPER_RANGES` for ``config.model``.
    """
    generator = torch.Generator().manual_seed(seed)
    model = _MODELS[config.model](**draw_parameters(config.model, config.n_cells, generator, ranges))
    rates = torch.tensor(config.rates_hz).unsqueeze(-1)  # (R, 1): one rate per trace, shared by cells
    prior = BernoulliPrior(rates.expand(-1, config.n_cells), fs=config.fs)
    with torch.no_grad():
        spikes = prior.sample((len(config.rates_hz), config.n_cells, config.n_steps), generator)
        fluorescence = model.sample(spikes, generator)
    return SimulatedData(fluorescence, spikes, model.requires_grad_(False), config)


def paper_datasets(
    model: ModelName = "SCF", seed: int = 0, n_steps: int = 10_000, sizes: tuple[int, int, int] = (50, 50, 100), **kwargs
) -> dict[str, SimulatedData]:
    """The paper's train / validation / test splits (50 / 50 / 100 cells), disjoint cells.

    Each split is simulated from its own seed (``seed``, ``seed + 1``, ``seed + 2``).

    Args:
        model: ``"SCF"`` or ``"SCDF"``.
        seed: base seed.
        n_steps: samples per trace (10,000 in the paper; fewer for quick runs).
        sizes: cells in the train, validation and test splits.
        **kwargs: further :class:`SimulationConfig` fields (``fs``, ``rates_hz``).
    """
    return {
        split: simulate(SimulationConfig(model=model, n_cells=n, n_steps=n_steps, **kwargs), seed=seed + i)
        for i, (split, n) in enumerate(zip(("train", "validation", "test"), sizes, strict=True))
    }
