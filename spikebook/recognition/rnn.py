"""DS-NF: the non-factorized recognition model (CNN features → backward GRU → stochastic forward GRU).

Shapes: fluorescence ``f`` is ``(B, T)``; spike samples ``(n, B, T)`` in {0, 1}; log-probabilities
``(n, B)`` with time summed; marginals ``(B, T)``.

References:
    Speiser et al. (2017). Fast amortized inference of neural activity from calcium imaging data with
    variational autoencoders. NeurIPS 30, §2.3.

The model and its one eager, differentiable per-step loop live here; the GRU weight folding it shares with
the compiled inference path, and that path itself, live in :mod:`spikebook.recognition.gru`.

Taught in: book chapter "Amortized variational inference".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikebook.recognition.base import (
    RecognitionModel,
    SampleResult,
    bernoulli_log_prob,
    check_spikes,
    check_trace,
    logistic_thresholds,
)
from spikebook.recognition.cnn import TemporalCNN, _check_positive_odd, _validate_layers
from spikebook.recognition.gru import BLOCK, Folded, compiled_backward, compiled_marginals, fold_forward
from spikebook.validate import finite, positive_int

__all__ = ["DSNF", "RNNConfig"]

_Out = TypeVar("_Out")


@dataclass(frozen=True)
class RNNConfig:
    """Architecture of DS-NF; the defaults are the original code's Ex2 settings.

    Attributes:
        filters: Channels of the hidden conv layers of the CNN front-end (original: 20, 15, 15, 15).
        widths: Their odd kernel widths in bins (original: 31, 21, 21, 11).
        n_features: Channels of the last conv layer (LeakyReLU), the feature vector u_t (original: 13).
        feature_width: Odd kernel width of that layer (original: 11).
        negative_slope: LeakyReLU slope (original: 0.2).
        n_backward: Units of the backward GRU (paper and original: 64).
        n_forward: Units of the stochastic forward GRU (paper and original: 64).
        out_bias: Initial bias of the output logit; −5 gives σ(−5) ≈ 0.0067 spikes per bin at the start.
    """

    filters: tuple[int, ...] = (20, 15, 15, 15)
    widths: tuple[int, ...] = (31, 21, 21, 11)
    n_features: int = 13
    feature_width: int = 11
    negative_slope: float = 0.2
    n_backward: int = 64
    n_forward: int = 64
    out_bias: float = -5.0

    def __post_init__(self) -> None:
        _validate_layers(self, self.filters, self.widths)
        _check_positive_odd("feature_width", self.feature_width)
        for name in ("n_features", "n_backward", "n_forward"):
            object.__setattr__(self, name, positive_int(getattr(self, name), name))
        if not self.negative_slope >= 0:
            raise ValueError(f"negative_slope must be ≥ 0, got {self.negative_slope}")
        finite(self.out_bias, "out_bias")


class DSNF(RecognitionModel):
    """DS-NF: autoregressive posterior over spike trains, :math:`q(s|f) = \\prod_t q(s_t | f, s_{<t})`.

    The paper (§2.3): "we use the temporal ordering over spikes and factorize the joint distribution
    ... by conditioning spikes at t on all previously sampled spikes. Our RNN uses a CNN as described
    above to extract features from the input trace. Additional input is provided by a backwards RNN
    which also receives input from the CNN features. The outputs of the forward RNN and CNN are
    transformed into Bernoulli spike probabilities through a dense sigmoid layer. This probability and
    the sample drawn from it are relayed to the forward RNN in the next time step. Forward and
    backward RNN have a single layer with 64 gated recurrent units each." As implemented (original
    code, ``GRUX_BernoulliRecognition``):

    .. math::
        u = \\mathrm{CNN}_\\phi(f), \\quad x_t = [u_t, f_t], \\quad
        b_t = \\mathrm{GRU}_\\leftarrow(x_t, b_{t+1}), \\quad c_t = [x_t, b_t],

        h_t = \\mathrm{GRU}_\\rightarrow([c_t, s_{t-1}], h_{t-1}), \\quad
        q(s_t = 1 \\mid f, s_{<t}) = \\sigma(w^\\top [c_t, h_t] + w_0),

    with :math:`h_0 = 0`, :math:`s_0 = 0` and :math:`b_{T+1} = 0`. Differences from the text and the
    original code: the paper says the probability *and* the sample are relayed to the forward RNN; the
    original code (and this one) feeds back only the sample :math:`s_{t-1}`. The original's ``[:-2]``
    slice of the output layer's inputs dropped :math:`s_{t-1}` *and, by mistake, the last backward-GRU
    unit*; we keep all of :math:`b_t`. The original also clipped the forward cell's gradients at ±10
    during training (Lasagne ``grad_clipping``); that is not reproduced here.

    Sampling draws the n samples for all B traces together as one batch of n·B rows and loops over
    time only. :meth:`log_prob` is computed by teacher forcing (the given spikes are fed back instead
    of samples) through the *same* per-step code, so both define one distribution.

    Speed notes: per step one matmul computes :math:`h_t [w_h \\mid W_{hh}^\\top]`, i.e. the
    logit of step t and the hidden-gate pre-activations of step t + 1; input projections of
    :math:`c_t` are precomputed for blocks of time steps; per-step tensors come from ``unbind`` (indexing
    ``x[t]`` in the loop would make autograd allocate a full-size zero tensor per step); the candidate
    gate uses :math:`\\tanh x = 2\\sigma(2x) - 1` because torch's CPU tanh is much slower than its
    sigmoid (the algebra is folded into the weights, :func:`~spikebook.recognition.gru.fold_gru`). The
    backward GRU is ``nn.GRU``, slow on CPU for long traces. ``marginals(..., compiled=True)`` runs both
    recurrences as :func:`torch.compile`-d blocks of steps in rows × units layout, one fused gate kernel
    and one matmul per step (:mod:`spikebook.recognition.gru`; chapter "Speed"). Training and
    :meth:`log_prob` keep the eager loop (autograd).

    Shapes: ``f`` is ``(B, T)``; samples ``(n, B, T)``; log-probabilities ``(n, B)``; marginals
    ``(B, T)``. No normalisation happens inside the network: pass ΔF/F-like traces.

    Initialisation follows the original Lasagne defaults: CNN as in :class:`~.cnn.TemporalCNN`; GRU
    weights :math:`\\mathcal N(0, 0.1^2)` and zero biases; output layer Glorot-uniform weights and bias
    ``out_bias``. (PyTorch's GRU puts a bias inside the reset-gated term and uses z where Lasagne uses
    1 − z; these are reparametrisations of the same family.)

    Args:
        config: Architecture; ``None`` gives the original code's Ex2 default (:class:`RNNConfig`).

    References:
        Speiser et al. (2017), §2.3 (DS-NF); original code ``GRUX_BernoulliRecognition``.

    Taught in: book chapter "Amortized variational inference".
    """

    def __init__(self, config: RNNConfig | None = None) -> None:
        super().__init__()
        self.config = RNNConfig() if config is None else config
        c = self.config
        self.cnn = TemporalCNN(
            c.filters + (c.n_features,), c.widths + (c.feature_width,), c.negative_slope, activate_last=True
        )
        n_x = c.n_features + 1  # x_t = [u_t, f_t]
        self.n_context = n_x + c.n_backward  # c_t = [u_t, f_t, b_t]
        self.backward_rnn = nn.GRU(n_x, c.n_backward, batch_first=True)
        self.cell = nn.GRUCell(self.n_context + 1, c.n_forward)  # input [c_t, s_{t-1}]
        self.out = nn.Linear(self.n_context + c.n_forward, 1)  # input [c_t, h_t]
        for module in (self.backward_rnn, self.cell):
            for name, param in module.named_parameters():
                if name.startswith("weight"):
                    nn.init.normal_(param, 0.0, 0.1)
                else:
                    nn.init.zeros_(param)
        nn.init.xavier_uniform_(self.out.weight)
        nn.init.constant_(self.out.bias, c.out_bias)

    # ---------------------------------------------------------------- deterministic part
    def context(self, f: Tensor) -> Tensor:
        """The sample-independent per-step input :math:`c_t = [u_t, f_t, b_t]`.

        Args:
            f: Fluorescence, shape ``(B, T)``.

        Returns:
            Context, shape ``(B, T, n_features + 1 + n_backward)``.
        """
        f = check_trace(f, like=self.out.weight)
        return self._context(f)

    def _context(self, f: Tensor, compiled: bool = False) -> Tensor:
        u = self.cnn(f).transpose(1, 2).to(f.dtype)  # (B, T, n_features); f's dtype also under autocast
        x = torch.cat([u, f.unsqueeze(-1)], dim=-1)  # (B, T, n_features + 1)
        # The GRU in f's dtype: under CPU autocast it would cast its weights at every time step.
        with torch.autocast(f.device.type, enabled=False):
            if compiled:
                b = compiled_backward(self.backward_rnn, x)
            else:
                b = self.backward_rnn(x.flip(1))[0].flip(1)  # (B, T, n_backward), b_t sees f_t ... f_T
        return torch.cat([x, b], dim=-1)

    # ---------------------------------------------------------------- the one per-step loop
    def _run(self, loop: Callable[..., _Out], ctx: Tensor, *args: object) -> _Out:
        """Call a forward loop (:meth:`_loop` or :meth:`_compiled_marginals`) with autocast off.

        Under torch.autocast (e.g. ``infer(..., precision="bfloat16")``) only the per-step recurrent
        matmul runs in the low-precision dtype, passed to the loop as its last argument ``low``, with fp32
        state and gate arithmetic: mixed-dtype elementwise ops would cost more than the matmul saves
        (measured on CPU).
        """
        dev = ctx.device.type
        low = torch.get_autocast_dtype(dev) if torch.is_autocast_enabled(dev) else None  # torch >= 2.4
        with torch.autocast(dev, enabled=False):
            return loop(ctx, *args, low)

    def _folded(self) -> Folded:
        """The forward cell and output layer rearranged for the per-step loops (:func:`fold_forward`)."""
        return fold_forward(self.cell, self.out)

    def _loop(
        self, ctx: Tensor, drive: Tensor, teacher_forced: bool, low: torch.dtype | None
    ) -> tuple[Tensor, Tensor]:
        """Run the stochastic forward GRU over time for n·B rows at once (eager, differentiable).

        Args:
            ctx: Context :math:`c_t`, shape ``(B, T, D)``.
            drive: Shape ``(n, B, T)``. If ``teacher_forced``, the spikes to feed back (log_prob);
                otherwise logistic thresholds, and :math:`s_t = [\\ell_t > \\text{threshold}_t]`.
            teacher_forced: Which of the two ``drive`` is.
            low: The recurrent matmul's dtype under autocast, or ``None`` (see :meth:`_run`).

        Returns:
            ``(spikes, logits)``, each ``(n, B, T)``; ``logits[..., t]`` is the logit of
            :math:`q(s_t = 1 \\mid f, s_{<t})`.
        """
        n, B, _ = drive.shape
        N, H = n * B, self.config.n_forward
        w = self._folded()
        w_rec, b_rec = w.w_rec, w.b_rec.unsqueeze(1)  # (1 + 3H, H), (1 + 3H, 1)
        if low is not None:
            w_rec, b_rec = w_rec.to(low), b_rec.to(low)
        # Rows are kept *transposed*, units × (n, B): every gate is then a contiguous block of rows of
        # the matmul's output, and the sample-independent input terms (3H, 1, B) broadcast over the n
        # samples without being copied n times (faster per step than rows × units).
        g = ctx.new_full((H, N), 0.5)  # h_0 = 0
        s = ctx.new_zeros(1, n, B)  # s_0 = 0: no spike before the trace
        gh_rz, gh_n = w.b_h[1:].view(3 * H, 1, 1).expand(3 * H, n, B).contiguous().split([2 * H, H])  # h_0 = 0
        w_is_rz, w_is_n = w.cell.w_ih[:, -1].reshape(3 * H, 1, 1).split([2 * H, H])
        logits: list[Tensor] = []
        spikes: list[Tensor] = []
        drive = drive.permute(2, 0, 1).unsqueeze(1)  # (T, 1, n, B)
        for ctx_blk, drive_blk in zip(ctx.split(BLOCK, dim=1), drive.split(BLOCK, dim=0)):
            # Input projections for the whole block, once per trace (not per sample).
            gi_blk = F.linear(ctx_blk, w.cell.w_ih[:, :-1], w.cell.b_ih).permute(1, 2, 0).unsqueeze(2)  # (L, 3H, 1, B)
            gi_rz_blk, gi_n_blk = gi_blk.contiguous().split([2 * H, H], dim=1)
            lo_blk = F.linear(ctx_blk, w.w_oc.unsqueeze(0), w.b_o)  # (B, L, 1)
            lo_blk = lo_blk.permute(1, 2, 0).unsqueeze(2).contiguous()  # (L, 1, 1, B)
            # The loop body is kept to ~10 tensor ops: at this size each op costs µs of dispatch.
            for gi_rz, gi_n, lo, d in zip(
                gi_rz_blk.unbind(0), gi_n_blk.unbind(0), lo_blk.unbind(0), drive_blk.unbind(0)
            ):
                # addcmul and in-place updates: one pass over the (H, n, B) data per op, no temporaries
                rz = torch.addcmul(gi_rz, s, w_is_rz).add_(gh_rz).sigmoid_()  # (2H, n, B)
                r, z = rz.chunk(2, dim=0)  # (H, n, B) each
                cand = torch.addcmul(gi_n, s, w_is_n).addcmul_(r, gh_n).sigmoid_()  # (H, n, B)
                g = torch.lerp(cand.reshape(H, N), g, z.reshape(H, N))  # (1 − z)·cand + z·g
                if low is None:
                    rec = torch.addmm(b_rec, w_rec, g).view(1 + 3 * H, n, B)
                else:
                    rec = torch.addmm(b_rec, w_rec, g.to(low)).to(g.dtype).view(1 + 3 * H, n, B)
                lo_h, gh_rz, gh_n = rec.split([1, 2 * H, H])
                logit = lo + lo_h  # (1, n, B)
                s = d if teacher_forced else (logit > d).to(logit.dtype)  # (1, n, B)
                logits.append(logit)
                spikes.append(s)
        return torch.cat(spikes, 0).permute(1, 2, 0), torch.cat(logits, 0).permute(1, 2, 0)

    # ---------------------------------------------------------------- the contract
    def forward(self, f: Tensor, spikes: Tensor) -> Tensor:
        """Teacher-forced conditional logits :math:`\\ell_t = \\mathrm{logit}\\, q(s_t = 1 \\mid f, s_{<t})`.

        Never a loss.

        Args:
            f: Fluorescence, shape ``(B, T)``.
            spikes: The spikes fed back, shape ``(n, B, T)`` or ``(B, T)``, values in {0, 1}.

        Returns:
            Logits, shape ``(n, B, T)``.
        """
        f = check_trace(f, like=self.out.weight)
        spikes = check_spikes(spikes, f)
        return self._run(self._loop, self._context(f), spikes, True)[1]

    def log_prob(self, spikes: Tensor, f: Tensor) -> Tensor:
        """:math:`\\log q_\\phi(s \\mid f) = \\sum_t \\log q(s_t \\mid f, s_{<t})` by teacher forcing.

        Computed from logits (stable; the original clipped p to [0.001, 0.999] instead).

        Args:
            spikes: Spike trains, shape ``(n, B, T)`` or ``(B, T)``, values in {0, 1}.
            f: Fluorescence, shape ``(B, T)``.

        Returns:
            Log-probabilities, shape ``(n, B)``, time summed; differentiable.
        """
        f = check_trace(f, like=self.out.weight)
        spikes = check_spikes(spikes, f)
        logits = self._run(self._loop, self._context(f), spikes, True)[1]  # teacher forced
        return bernoulli_log_prob(logits, spikes)

    def _sample_pass(self, f: Tensor, n: int, generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
        positive_int(n, "n")
        f = check_trace(f, like=self.out.weight)
        thresholds = logistic_thresholds((n, *f.shape), f, generator)  # (n, B, T)
        return self._run(self._loop, self._context(f), thresholds, False)  # sampled

    def sample(self, f: Tensor, n: int = 1, generator: torch.Generator | None = None) -> Tensor:
        """Draw spike trains autoregressively, feeding each sampled spike back to the forward GRU.

        Args:
            f: Fluorescence, shape ``(B, T)``.
            n: Number of samples per trace (batched with the traces, n·B rows).
            generator: Source of randomness; seed it for reproducible samples.

        Returns:
            Spikes, shape ``(n, B, T)``, values in {0, 1}; no gradient.
        """
        with torch.no_grad():
            return self._sample_pass(f, n, generator)[0]

    def sample_and_log_prob(
        self, f: Tensor, n: int = 1, generator: torch.Generator | None = None
    ) -> SampleResult:
        """Draw ``n`` samples and their log-probability in a single pass over time.

        Equal to ``log_prob(sample(f, n, g), f)`` with the same generator state, at half the cost.

        Args:
            f: Fluorescence, shape ``(B, T)``.
            n: Number of samples per trace.
            generator: Source of randomness.

        Returns:
            ``SampleResult(spikes (n, B, T), log_prob (n, B), logits)``; log_prob and logits are differentiable.
        """
        spikes, logits = self._sample_pass(f, n, generator)
        return SampleResult(spikes, bernoulli_log_prob(logits, spikes), logits)

    def marginals(
        self, f: Tensor, n_samples: int = 30, generator: torch.Generator | None = None, compiled: bool = False
    ) -> Tensor:
        """Monte-Carlo estimate of :math:`q(s_t = 1 \\mid f)`, the paper's prediction.

        Averages the per-step conditional probabilities :math:`q(s_t = 1 \\mid f, s^{(i)}_{<t})` over
        ``n_samples`` sampled trains :math:`s^{(i)}` (lower variance than averaging the samples; the
        original evaluated with 5 samples).

        Args:
            f: Fluorescence, shape ``(B, T)``.
            n_samples: Number of sampled trains to average over.
            generator: Source of randomness.
            compiled: Run the backward GRU and the sampling loop as :func:`torch.compile`-d blocks of
                steps (:func:`~spikebook.recognition.gru.compiled_marginals`: the same arithmetic in a
                rows × units layout with one fused kernel per step): faster on CPU once compiled, which
                takes tens of seconds per new batch shape and needs a C++ compiler. The same thresholds are
                drawn, so the samples are those of the eager loop up to float rounding (a spike flips
                only where a logit lies within rounding of its threshold).

        Returns:
            Probabilities, shape ``(B, T)``; no gradient.
        """
        positive_int(n_samples, "n_samples")
        with torch.no_grad():
            if not compiled:
                logits = self._sample_pass(f, n_samples, generator)[1]  # (n_samples, B, T)
                return torch.sigmoid(logits).mean(0)
            f = check_trace(f, like=self.out.weight)
            thresholds = logistic_thresholds((n_samples, *f.shape), f, generator)  # as in _sample_pass
            return self._run(self._compiled_marginals, self._context(f, compiled=True), thresholds)

    def _compiled_marginals(self, ctx: Tensor, thresholds: Tensor, low: torch.dtype | None) -> Tensor:
        """:meth:`marginals` with ``compiled=True`` (:func:`~spikebook.recognition.gru.compiled_marginals`)."""
        return compiled_marginals(self._folded(), ctx, thresholds, low)
