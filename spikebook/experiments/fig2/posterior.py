"""What one recognition pass gives (sampled trains and marginals), and the reconstructions of sampled trains.

Fig. 2A shows both: the samples of a posterior, and how well each explains the trace under the cell's true
generative parameters.

Taught in: book chapter "Correlated posteriors".
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

from spikebook.generative import CalciumModel
from spikebook.recognition import RecognitionModel

__all__ = ["PosteriorDraws", "noise_free_mean", "posterior_draws"]


class _NoiseFreeMean(nn.Module):
    """Lets ``functional_call`` evaluate ``model.mean`` with parameters indexed by cell."""

    def __init__(self, model: CalciumModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, spikes: Tensor) -> Tensor:
        return self.model.mean(spikes)


def noise_free_mean(generative: CalciumModel, spikes: Tensor, cells: Tensor) -> Tensor:
    """Reconstructions: the noise-free fluorescence :math:`\\alpha x_t(s) + \\beta` of each trace's own cell.

    Every per-cell parameter (a leading axis of length C) is indexed with ``cells`` so that the model's
    cell axis becomes the trace axis B; shared (0-d) parameters are used as they are.

    Args:
        generative: A model with per-cell parameters of shape ``(C,)`` (AR roots ``(C, p)``).
        spikes: Spike trains, shape ``(K, B, T)`` (or ``(B, T)``).
        cells: Cell of each trace, shape ``(B,)``, integers in ``[0, C)``.

    Returns:
        Noise-free fluorescence, shape of ``spikes``; no gradient.

    References:
        Speiser et al. (2017), eqs. (2)–(4) (SCDF: eq. 3); Fig. 2A "Reconstruction".
    """
    cells = torch.as_tensor(cells, dtype=torch.long)
    params = {}
    for name, param in generative.named_parameters():
        params[f"model.{name}"] = param if param.dim() == 0 else param[cells]
    with torch.no_grad():
        return functional_call(_NoiseFreeMean(generative), params, (spikes,))


class PosteriorDraws(NamedTuple):
    """Samples and marginals of a recognition model from one pass.

    Attributes:
        spikes: Sampled trains, shape ``(n, B, T)``, values in {0, 1}.
        marginals: :math:`q(s_t = 1 \\mid f)`, shape ``(B, T)``: exact for a factorized model, the mean of
            the per-sample conditional probabilities for an autoregressive one (as
            :meth:`~spikebook.recognition.DSNF.marginals`).
    """

    spikes: Tensor
    marginals: Tensor


def posterior_draws(recognition: RecognitionModel, f: Tensor, n_samples: int,
                    generator: torch.Generator | None = None) -> PosteriorDraws:
    """Draw ``n_samples`` trains per trace and the marginals from the same pass (no gradient).

    Args:
        recognition: DS-F, DS-NF or any model with ``sample_and_log_prob``.
        f: Fluorescence, shape ``(B, T)``.
        n_samples: Trains per trace.
        generator: Source of randomness.

    Returns:
        :class:`PosteriorDraws` with spikes ``(n, B, T)`` and marginals ``(B, T)``.
    """
    with torch.no_grad():
        draw = recognition.sample_and_log_prob(f, n_samples, generator)
        probabilities = torch.sigmoid(draw.logits).expand_as(draw.spikes)  # (n, B, T)
        return PosteriorDraws(draw.spikes, probabilities.mean(0))
