"""DS-F-DEN: a multi-input, multi-output factorized CNN posterior over somatic spikes and synaptic inputs.

Shapes: fluorescence ``f`` is ``(B, 1+S, T)`` (soma first, then ``S`` spines, the layout of
:class:`spikebook.generative.Dendritic`); event samples ``(n, B, 1+S, T)`` in {0, 1} (row 0: somatic
spikes, rows 1..S: synaptic inputs); log-probabilities ``(n, B)`` with compartments and time summed;
marginals ``(B, 1+S, T)``.

References:
    Speiser et al. (2017). Fast amortized inference of neural activity from calcium imaging data with
    variational autoencoders. NeurIPS 30, §3.4.

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from spikebook.recognition.base import (
    RecognitionModel,
    SampleResult,
    bernoulli_log_prob,
    logistic_thresholds,
)
from spikebook.recognition.cnn import CNNConfig, TemporalCNN
from spikebook.validate import positive_int

__all__ = ["DSFDEN"]


class DSFDEN(RecognitionModel):
    """DS-F-DEN: factorized Bernoulli posterior over the events of every compartment, from one CNN.

    §3.4: "a multi-input multi-output convolutional neural network (CNN, DS-F) ... to infer a
    fully-factorized Bernoulli posterior distribution over global action potentials and local synaptic
    events". All ``1+S`` traces enter the first layer as channels (so the somatic estimate can use the
    bAPs seen in every spine, and each spine's estimate can discount what the soma explains); the output
    layer has one logit channel per compartment:

    .. math::
        q_\\phi(s \\mid f) = \\prod_{x=0}^{S} \\prod_{t=1}^{T} \\sigma(\\ell_{x,t})^{s_{x,t}}
        (1 - \\sigma(\\ell_{x,t}))^{1 - s_{x,t}}, \\qquad \\ell = \\mathrm{CNN}_\\phi(f^{c}, f^{1}, \\ldots, f^{S}).

    The hidden layers are DS-F's (:class:`~spikebook.recognition.CNNConfig`); the paper gives no
    architecture for DS-F-DEN.

    Args:
        n_compartments: ``1+S``, soma plus spines (at least 1).
        config: Architecture of the hidden and output layers; ``None`` gives DS-F's default.

    References:
        Speiser et al. (2017), §3.4 and Fig. 4.

    Taught in: book chapter "Dendritic spines".
    """

    def __init__(self, n_compartments: int, config: CNNConfig | None = None) -> None:
        super().__init__()
        n_compartments = positive_int(n_compartments, "n_compartments")
        self.n_compartments = n_compartments
        self.config = CNNConfig() if config is None else config
        c = self.config
        self.cnn = TemporalCNN(
            c.filters + (n_compartments,),
            c.widths + (c.out_width,),
            c.negative_slope,
            activate_last=False,
            in_channels=n_compartments,
        )
        nn.init.constant_(self.cnn.convs[-1].bias, c.out_bias)

    @property
    def half_width(self) -> int:
        """Receptive half-width τ in bins."""
        return self.cnn.half_width

    def _check(self, f: Tensor) -> Tensor:
        if not isinstance(f, Tensor):
            raise TypeError(f"fluorescence must be a torch.Tensor of shape (B, 1+S, T), got {type(f).__name__}")
        if f.dim() != 3 or f.shape[1] != self.n_compartments or f.shape[0] < 1 or f.shape[2] < 1:
            raise ValueError(
                f"fluorescence must have shape (B, 1+S, T) with 1+S = {self.n_compartments}, got {tuple(f.shape)}"
            )
        if not f.is_floating_point():
            raise ValueError(f"fluorescence must be a floating-point tensor, got dtype {f.dtype}")
        if not torch.isfinite(f).all():
            raise ValueError("fluorescence contains NaN or inf values; interpolate or drop them first")
        weight = self.cnn.convs[0].weight
        return f.to(dtype=weight.dtype, device=weight.device)

    def forward(self, f: Tensor) -> Tensor:
        """Per-bin event logits, shape ``(B, 1+S, T)`` (never a loss); ``f`` is ``(B, 1+S, T)``."""
        return self.cnn(self._check(f))

    def sample(self, f: Tensor, n: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """Draw ``n`` event trains per recording, shape ``(n, B, 1+S, T)``, values in {0, 1}, no gradient."""
        positive_int(n, "n")
        with torch.no_grad():
            logits = self(f)  # (B, 1+S, T)
            return (logits > logistic_thresholds((n, *logits.shape), logits, generator)).to(logits.dtype)

    def log_prob(self, spikes: Tensor, f: Tensor) -> Tensor:
        """:math:`\\log q_\\phi(s \\mid f)`, compartments and time summed.

        Args:
            spikes: Events, ``(n, B, 1+S, T)`` or ``(B, 1+S, T)``, values in {0, 1}.
            f: Fluorescence, ``(B, 1+S, T)``.

        Returns:
            Log-probabilities, shape ``(n, B)``; differentiable.
        """
        logits = self(f)  # (B, 1+S, T)
        if not isinstance(spikes, Tensor):
            raise TypeError(f"spikes must be a torch.Tensor, got {type(spikes).__name__}")
        spikes = spikes.unsqueeze(0) if spikes.dim() == 3 else spikes
        if spikes.dim() != 4 or spikes.shape[1:] != logits.shape:
            raise ValueError(
                f"spikes must have shape (n, B, 1+S, T) or (B, 1+S, T) with (B, 1+S, T) = {tuple(logits.shape)}, "
                f"got {tuple(spikes.shape)}"
            )
        spikes = spikes.to(logits)
        if ((spikes != 0) & (spikes != 1)).any():
            raise ValueError("spikes must be binary (0 or 1 per bin)")
        return bernoulli_log_prob(logits, spikes).sum(-1)

    def sample_and_log_prob(
        self, f: Tensor, n: int = 1, generator: torch.Generator | None = None
    ) -> SampleResult:
        """Draw ``n`` event trains and their log-probability in one pass of the CNN.

        Returns:
            ``SampleResult(spikes (n, B, 1+S, T), log_prob (n, B), logits (B, 1+S, T))``.
        """
        positive_int(n, "n")
        logits = self(f)  # (B, 1+S, T)
        thresholds = logistic_thresholds((n, *logits.shape), logits, generator)  # (n, B, 1+S, T)
        spikes = (logits.detach() > thresholds).to(logits.dtype)
        return SampleResult(spikes, bernoulli_log_prob(logits, spikes).sum(-1), logits)

    def marginals(self, f: Tensor, n_samples: int = 30, generator: torch.Generator | None = None) -> Tensor:
        """Exact per-bin event probabilities :math:`\\sigma(\\ell_{x,t})`, shape ``(B, 1+S, T)``.

        ``n_samples`` and ``generator`` are ignored (the posterior is factorized); kept for the contract.
        """
        return torch.sigmoid(self(f))
