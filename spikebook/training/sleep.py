r"""The sleep phase of wake-sleep: train the recognition network on spikes and traces drawn from the model.

Taught in: book chapters "Dendritic spines: soma + spines (DS-F-DEN)" and "Real GCaMP6 recordings".

References:
    Hinton, Dayan, Frey & Neal (1995). The "wake-sleep" algorithm for unsupervised neural networks.
    Science 268:1158.
    Bornschein & Bengio (2015). Reweighted wake-sleep. ICLR.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from spikebook.generative import BernoulliPrior, CalciumModel
from spikebook.recognition import RecognitionModel
from spikebook.validate import non_negative_int, positive, positive_int

__all__ = ["fit_sleep"]


def fit_sleep(
    recognition: RecognitionModel,
    generative: CalciumModel,
    prior: BernoulliPrior,
    n_steps: int,
    batch_size: int = 16,
    chunk_len: int = 400,
    lr: float = 1e-3,
    seed: int = 0,
    callback: Callable[[int], None] | None = None,
) -> list[float]:
    r"""The *sleep* phase of wake-sleep: fit :math:`q_\phi` to spike trains and traces drawn from the model.

    Each step draws ``batch_size`` spike trains :math:`s \sim p(s)` (the prior) and traces
    :math:`f \sim p_\theta(f \mid s)` for every cell of ``generative``, and takes an Adam step on
    :math:`-\log q_\phi(s \mid f)` per bin (the binary cross-entropy for a factorized :math:`q`; any
    recognition model's ``log_prob``, DS-NF's included) (Hinton et al. 1995; Bornschein & Bengio 2015).
    No recorded data and no labels enter: it teaches the network what events look like under the current
    :math:`\theta`. Before VIMCO (:func:`~spikebook.training.fit_vimco`) it is a starting point; after VIMCO
    has learned :math:`\theta` from the data, it trains the network for that learned model (wake-sleep).

    Runs on CUDA when it is available, like :func:`~spikebook.training.fit_vimco`: the network, the
    generative model and the prior are moved there in place.

    Args:
        recognition: The network, trained in place; takes ``(B, *E, L)`` traces.
        generative: A model of ``C`` cells (per-cell parameters ``(C, ...)``), used as it is (no gradient).
        prior: Spike prior with rate ``(C,)`` or ``(C, *E)`` (one row per cell), or ``()``.
        n_steps: Adam steps.
        batch_size: Simulated chunks per cell and step.
        chunk_len: Bins per simulated chunk.
        lr: Adam learning rate.
        seed: Seed of the simulations.
        callback: Called after every step with the number of steps taken so far (``1 .. n_steps``), e.g. to
            keep snapshots of the network: the state after step ``n`` of a longer run is the state a run of
            ``n`` steps ends in.

    Returns:
        The loss (nats per bin) of every step.

    References:
        Hinton, Dayan, Frey & Neal (1995), Science 268:1158; Bornschein & Bengio (2015), ICLR.
    """
    n_steps = non_negative_int(n_steps, "n_steps")
    batch_size, chunk_len = positive_int(batch_size, "batch_size"), positive_int(chunk_len, "chunk_len")
    lr, seed = positive(lr, "lr"), non_negative_int(seed, "seed")
    device = "cuda" if torch.cuda.is_available() else "cpu"  # as fit_vimco; modules are moved in place
    recognition.to(device)
    generative.to(device)
    prior = prior.to(device)
    generator = torch.Generator(device=device).manual_seed(seed)
    optimizer = torch.optim.Adam(recognition.parameters(), lr=lr)
    dtype = next(recognition.parameters()).dtype
    shape = (batch_size, *prior.p.shape, chunk_len) if prior.p.dim() else (batch_size, chunk_len)
    losses = []
    recognition.train()
    for step in range(1, n_steps + 1):
        with torch.no_grad():
            events = prior.sample(shape, generator)  # (B, C, *E, L)
            f = generative.sample(events, generator)
        if prior.p.dim():  # one chunk per cell and draw: (B * C, *E, L)
            events, f = events.flatten(0, 1), f.flatten(0, 1)
        f = f.to(dtype)
        # −log q(s | f) per bin: for a factorized q the binary cross-entropy of its logits; for DS-NF the
        # teacher-forced autoregressive log-probability (the same code path as its log_prob)
        loss = -recognition.log_prob(events.to(f), f).sum() / events.numel()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if callback is not None:
            callback(step)
    return losses
