"""DS-F-DEN, non-amortized as in the paper: a one-cell generative model and a network fitted to one recording.

The initial model takes the noise and baseline of each compartment from its trace, so the first sleep phase
already simulates traces at the recording's scale; the rest starts at the centres of the simulation ranges.

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

import torch
from oasis.functions import GetSn

from spikebook.data.simulate import DENDRITIC_RANGES
from spikebook.experiments.dendrites.config import DendritesConfig
from spikebook.generative import BernoulliPrior, Dendritic
from spikebook.recognition import DSFDEN
from spikebook.training import FitResult, fit_sleep, fit_vimco, seeded

__all__ = ["fit_cell", "initial_model"]


def initial_model(f: torch.Tensor) -> Dendritic:
    """A one-cell generative model at the centres of the simulation ranges, noise and baseline from ``f``.

    Args:
        f: The cell's recording, ``(1+S, T)``.

    Returns:
        :class:`~spikebook.generative.Dendritic` with ``n_cells=1`` (parameters ``(1, 1+S)``); ``delta``
        and ``sigma`` do not require gradients.
    """
    centre = {k: sum(v) / 2 for group in DENDRITIC_RANGES.values() for k, v in group.items()}
    noise = torch.tensor([GetSn(x) for x in f.double().numpy()], dtype=torch.float32)  # (1+S,)
    baseline = torch.quantile(f.float(), 0.1, dim=-1) + 1.28 * noise  # 10th percentile of signal-free bins
    model = Dendritic(
        f.shape[0] - 1, gamma=centre["gamma"], delta=1.0, bap=centre["bap"], alpha=centre["alpha"],
        beta=baseline[None], sigma=noise[None], kon=centre["kon"], koff=centre["koff"], eta=centre["eta"],
        D=centre["D"], n_cells=1,
    )
    model.raw_delta.requires_grad_(False)  # trades off against alpha
    model.raw_sigma.requires_grad_(False)  # estimated from the trace (GetSn above) and held fixed
    return model


def fit_cell(f: torch.Tensor, config: DendritesConfig, seed: int) -> tuple[DSFDEN, Dendritic, FitResult]:
    """Non-amortized DS-F-DEN on one cell: sleep, wake (VIMCO on the recording), sleep again.

    1. Sleep phase under the initial model (:func:`initial_model`): ``config.sleep_steps`` steps.
    2. Wake phase: VIMCO on the cell's recording learns the generative parameters θ (and, if
       ``config.vimco_network``, the network too); the state with the best bound on the recording is kept.
    3. Sleep phase under the *learned* θ: ``config.final_sleep_steps`` steps, continuing from the network
       of step 1 (or 2).

    Args:
        f: The cell's recording, ``(1+S, T)``.
        config: Settings.
        seed: Seed of the network's initialisation, the sleep phases and VIMCO.

    Returns:
        The trained network, the fitted generative model and the wake phase's
        :func:`~spikebook.training.fit_vimco` result.
    """
    n_comp = f.shape[0]
    with seeded(seed):  # the initial weights depend on the seed alone; the caller's random stream is kept
        recognition = DSFDEN(n_comp, config.network)
    generative = initial_model(f)
    rates = torch.tensor([[config.prior_soma_hz] + [config.prior_spine_hz] * (n_comp - 1)])  # (1, 1+S)
    prior = BernoulliPrior(rates, config.data.fs)
    fit_sleep(recognition, generative, prior, config.sleep_steps, config.sleep_batch, config.sleep_len, seed=seed)
    recognition.requires_grad_(config.vimco_network)  # frozen: VIMCO learns θ only
    result = fit_vimco(recognition, generative, f[None, None].float(), config.training, prior=prior, seed=seed,
                       progress=False)
    recognition.requires_grad_(True)
    fit_sleep(recognition, generative, prior, config.final_sleep_steps, config.sleep_batch, config.sleep_len,
              seed=seed + 1)
    return recognition, generative, result
