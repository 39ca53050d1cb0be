"""The simulated datasets of Speiser et al. (2017), §2.4.

Protocol: per cell, parameters are drawn uniformly from ranges (heterogeneity across cells);
per cell, one trace of ``n_steps`` samples at ``fs`` Hz for each firing rate, with i.i.d.
Bernoulli spikes; 50 training, 50 validation and 100 test cells.

Default ranges are those of the original notebooks (mackelab/DeepSpike), mapped
from their raw (pre-sigmoid/softplus) values to natural units and then drawn uniformly in
natural units (the notebooks drew uniformly in raw units; the ranges are the same).
The paper's text gives the rates 0.6, 0.9 and 1.1 Hz (default); the notebooks used
0.7, 1.0 and 1.2 Hz — pass ``rates_hz`` to change them.

Layout: traces are ``(R, C, T)`` — rate index, cell, time — so that per-cell parameters of
shape ``(C,)`` broadcast along the cell axis just before time, as everywhere in the package.

The soma + spines data of §3.4 (:func:`simulate_dendritic`) reuse the same per-parameter draws
(:func:`draw_parameters`) with the SCDF ranges for every compartment; see :class:`DendriticConfig`.

Taught in: book chapter "From spikes to fluorescence" (soma + spines: "Dendritic spines").
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, NamedTuple

import torch
from torch import Tensor

from spikebook.generative import SCDF, SCF, BernoulliPrior, CalciumModel, Dendritic
from spikebook.validate import one_of, positive_int, rate_hz

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
        one_of(self.model, _MODELS, "model")
        for name in ("n_cells", "n_steps"):
            positive_int(getattr(self, name), name)
        rate_hz(self.fs, "fs")
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
        Parameter name → tensor of shape ``(C,)`` (``gamma``, if drawn: ``(C, 1)``, AR(1)).
    """
    ranges = PAPER_RANGES[model] if ranges is None else ranges
    params = {}
    for name, (low, high) in ranges.items():
        if low > high:
            raise ValueError(f"range for {name} has low > high: {(low, high)}")
        params[name] = low + (high - low) * torch.rand(n_cells, generator=generator)
    if "gamma" in params:
        params["gamma"] = params["gamma"].unsqueeze(-1)
    return params


def simulate(config: SimulationConfig = SimulationConfig(), seed: int = 0, ranges: dict | None = None) -> SimulatedData:
    """Simulate one dataset: parameters, spikes and fluorescence, all from one seeded generator.

    Args:
        config: sizes, model, rates.
        seed: seed of the ``torch.Generator``; the same seed gives the same data.
        ranges: ``{name: (low, high)}`` replacing :data:`PAPER_RANGES` of ``config.model`` for the
            parameters it names; the others keep the paper's ranges (not the model's defaults, which
            would give every cell the same value), drawn as if the full ranges had been given.

    Raises:
        ValueError: ``ranges`` names a parameter the model has no range for, or has ``low > high``.
    """
    paper = PAPER_RANGES[config.model]
    if ranges is not None:
        unknown = sorted(set(ranges) - set(paper))
        if unknown:
            raise ValueError(f"ranges has parameters the {config.model} model lacks: "
                             f"{', '.join(map(repr, unknown))}; allowed: {', '.join(paper)}")
        ranges = {**paper, **ranges}  # the paper's order: the same draws as the full ranges
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


# ------------------------------------------------------------------------------------------ soma + spines

_SCDF = PAPER_RANGES["SCDF"]

#: Ranges of the soma + spines simulation (§3.4), natural units; the paper gives none. Every compartment
#: (soma and each spine) draws its own calcium decay, gain and baseline from the SCDF ranges and its noise
#: sd from 0.01-0.05 (the SCDF range 0.02-0.05, widened: "a range of noise levels"); the dye is drawn once
#: per cell (shared by its compartments, as in eq. 5) with the SCDF Hill coefficient and [D] but binding
#: and unbinding rates 4x the SCDF ranges (same steady state, rise in ~2-3 samples instead of ~10: a fast
#: synthetic dye; with the SCDF rates the deconvolution baseline reaches only ~0.25 correlation at the
#: soma, far below the paper's 0.66, see the chapter); each spine draws a bAP amplitude.
DENDRITIC_RANGES = MappingProxyType(
    {
        "compartment": MappingProxyType({**{k: _SCDF[k] for k in ("gamma", "delta", "alpha", "beta")},
                                         "sigma": (0.01, 0.05)}),
        "dye": MappingProxyType({"kon": (0.0108, 0.0296), "koff": (0.304, 0.476), "eta": _SCDF["eta"], "D": _SCDF["D"]}),
        "spine": MappingProxyType({"bap": (0.3, 1.0)}),
    }
)


@dataclass(frozen=True)
class DendriticConfig:
    """How to simulate the soma + spines dataset of §3.4 ("15 cells each with 10 dendritic spines with
    a range of firing rates and noise levels"); the paper gives no more detail, so the ranges are ours.

    Attributes:
        n_cells: cells ``C`` (15).
        n_spines: spines ``S`` per cell (10).
        n_steps: samples ``T`` of the one recording per cell (10,000: 167 s at 60 Hz, as in §2.4).
        fs: sampling rate in Hz.
        soma_rate_hz: (low, high) of each cell's firing rate in Hz, drawn uniformly (the span of the
            SCF/SCDF simulations, 0.6 to 1.1 Hz).
        spine_rate_hz: (low, high) of each spine's synaptic input rate in Hz, drawn uniformly.
    """

    n_cells: int = 15
    n_spines: int = 10
    n_steps: int = 10_000
    fs: float = 60.0
    soma_rate_hz: tuple[float, float] = (0.6, 1.1)
    spine_rate_hz: tuple[float, float] = (0.3, 0.9)

    def __post_init__(self) -> None:
        for name in ("n_cells", "n_spines", "n_steps"):
            positive_int(getattr(self, name), name)
        rate_hz(self.fs, "fs")
        for name in ("soma_rate_hz", "spine_rate_hz"):
            low, high = getattr(self, name)
            if not 0 < low <= high < self.fs:
                raise ValueError(f"{name} must satisfy 0 < low <= high < fs, got {(low, high)}")


class DendriticData(NamedTuple):
    """A simulated soma + spines dataset, one recording per cell.

    Attributes:
        fluorescence: ``(C, 1+S, T)`` traces, soma first.
        events: ``(C, 1+S, T)`` binary events: somatic spikes (row 0), synaptic inputs (rows 1..S).
        rates_hz: ``(C, 1+S)`` the rate each row of ``events`` was drawn with.
        model: the :class:`~spikebook.generative.Dendritic` model with per-cell parameters.
        config: how the data were made.
    """

    fluorescence: Tensor
    events: Tensor
    rates_hz: Tensor
    model: Dendritic
    config: DendriticConfig


def simulate_dendritic(config: DendriticConfig = DendriticConfig(), seed: int = 0) -> DendriticData:
    """Simulate soma + spines recordings (§3.4) from eq. (5), all draws from one seeded generator.

    Per cell: dye parameters, a firing rate and, for the soma and every spine, calcium decay, gain,
    baseline and noise (:data:`DENDRITIC_RANGES`, drawn with :func:`draw_parameters`); per spine a bAP
    amplitude and a synaptic input rate. Somatic spikes and synaptic inputs are independent Bernoulli
    trains; fluorescence is drawn from :class:`~spikebook.generative.Dendritic`.

    Args:
        config: sizes and rates.
        seed: seed of the ``torch.Generator``; the same seed gives the same data.

    Returns:
        :class:`DendriticData` with ``(C, 1+S, T)`` fluorescence and events.
    """
    generator = torch.Generator().manual_seed(seed)
    n_cells, n_comp = config.n_cells, 1 + config.n_spines
    comp = draw_parameters("SCDF", n_cells * n_comp, generator, DENDRITIC_RANGES["compartment"])
    comp = {k: v.reshape(n_cells, n_comp, *v.shape[1:]) for k, v in comp.items()}  # (C, 1+S), gamma (C, 1+S, 1)
    dye = draw_parameters("SCDF", n_cells, generator, DENDRITIC_RANGES["dye"])  # (C,)
    bap = draw_parameters("SCDF", n_cells * config.n_spines, generator, DENDRITIC_RANGES["spine"])["bap"]
    model = Dendritic(config.n_spines, bap=bap.reshape(n_cells, config.n_spines), n_cells=n_cells, **comp, **dye)
    rates = torch.cat(
        [
            draw_parameters("SCF", n_cells, generator, {"rate": config.soma_rate_hz})["rate"].unsqueeze(-1),
            draw_parameters("SCF", n_cells * config.n_spines, generator, {"rate": config.spine_rate_hz})[
                "rate"
            ].reshape(n_cells, config.n_spines),
        ],
        -1,
    )  # (C, 1+S) Hz
    with torch.no_grad():
        events = BernoulliPrior(rates, fs=config.fs).sample((n_cells, n_comp, config.n_steps), generator)
        fluorescence = model.sample(events, generator)
    return DendriticData(fluorescence, events, rates, model.requires_grad_(False), config)
