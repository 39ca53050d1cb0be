r"""DS-NF's GRU arithmetic made fast: weights folded for sigmoid-only steps, and compiled blocks of steps.

:mod:`spikebook.recognition.rnn` defines DS-NF and its one eager, differentiable per-step loop (sampling,
:meth:`~spikebook.recognition.rnn.DSNF.log_prob`, training). This module holds what that loop shares with
the inference-only fast path ``DSNF.marginals(..., compiled=True)``, and the fast path itself:

* :func:`fold_gru` rewrites a torch GRU for the state :math:`g = (h + 1) / 2`, so a step needs sigmoids
  only (:math:`\tanh x = 2\sigma(2x) - 1`); :func:`fold_forward` adds DS-NF's output layer to the
  forward cell's recurrent matmul (:class:`Folded`).
* :func:`gru_steps` and :func:`forward_steps`: ``U`` steps of the backward GRU and of the stochastic
  forward GRU in rows × units layout, written for :func:`torch.compile` (one fused gate kernel and one
  matmul per step).
* :func:`compiled_backward` and :func:`compiled_marginals` drive them over a trace in blocks of
  :data:`BLOCK` steps, :data:`UNROLL` steps per compiled call. Nothing is compiled on import.

Shapes: fluorescence features ``x`` are ``(B, T, D)``; contexts :math:`c_t` ``(B, T, D)``; logistic
thresholds ``(n, B, T)``; marginals ``(B, T)``.

References:
    Speiser et al. (2017). Fast amortized inference of neural activity from calcium imaging data with
    variational autoencoders. NeurIPS 30, §2.3 (DS-NF).

Taught in: book chapters "Amortized variational inference" and "Speed".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BLOCK",
    "UNROLL",
    "Folded",
    "GRUFold",
    "compiled_backward",
    "compiled_marginals",
    "fold_forward",
    "fold_gru",
    "forward_steps",
    "gru_steps",
]

# Input projections of the forward cell are computed for this many time steps at once, outside the
# per-step loop: big enough for efficient matmuls, small enough that the block stays cache-sized even
# with n * B = 500 rows.
BLOCK = 64

# Time steps per call of the compiled marginal sampler (unrolled inside one compiled graph, so the
# per-call overhead is shared by this many steps).
UNROLL = 8


class GRUFold(NamedTuple):
    """A torch GRU's weights rewritten for the state g = (h + 1) / 2 (see :func:`fold_gru`)."""

    w_ih: Tensor  # (3H, D): input weights
    b_ih: Tensor  # (3H,)
    w_hh: Tensor  # (3H, H): recurrent weights on g
    b_hh: Tensor  # (3H,): their bias on g
    b_h0: Tensor  # (3H,): the recurrent input at h = 0

    def compiled_biases(self) -> tuple[Tensor, Tensor]:
        """The biases of the compiled steps, ``(b_in, b_n)``, whose matmul carries none.

        ``b_in`` is the input bias plus the r and z gates' recurrent bias; ``b_n`` is the candidate gate's
        recurrent bias, which the reset gate multiplies (so it cannot move into the input term).
        """
        b_rz, b_n = self.b_hh.split([2 * self.w_hh.shape[1], self.w_hh.shape[1]])
        return self.b_ih + torch.cat([b_rz, torch.zeros_like(b_n)]), b_n


def fold_gru(weight_ih: Tensor, weight_hh: Tensor, bias_ih: Tensor, bias_hh: Tensor) -> GRUFold:
    """Rewrite a torch GRU (gate order r, z, n) so that a step needs sigmoids only.

    tanh(x) = 2σ(2x) − 1, and torch's CPU sigmoid is several times faster than its tanh. Carrying
    g = (h + 1) / 2 instead of h turns the update h' = (1 − z)·tanh(x) + z·h into
    g' = (1 − z)·σ(2x) + z·g: no tanh and no extra ops. The factor 2 on the candidate gate's rows and
    the shift h = 2g − 1 go into the weights, once per call: W h + b = (2W) g + (b − W 1).
    """
    H = weight_hh.shape[1]
    two = torch.ones(3 * H, dtype=weight_hh.dtype, device=weight_hh.device)
    two[2 * H :] = 2.0
    w_hh = weight_hh * two.unsqueeze(1)  # the recurrent weights on h
    b_h0 = bias_hh * two
    return GRUFold(weight_ih * two.unsqueeze(1), bias_ih * two, 2.0 * w_hh, b_h0 - w_hh.sum(1), b_h0)


class Folded(NamedTuple):
    """DS-NF's forward cell and output layer as the loops use them (see :func:`fold_forward`)."""

    cell: GRUFold  # its w_ih is (3H, D + 1): D columns on c_t, the last on the fed-back spike s_{t-1}
    w_oc: Tensor  # (D,): output weights on c_t
    b_o: Tensor  # (1,): output bias
    w_rec: Tensor  # (1 + 3H, H): [output weights | recurrent weights], both on g = (h + 1) / 2
    b_rec: Tensor  # (1 + 3H,): its bias
    b_h: Tensor  # (1 + 3H,): the same product at h = 0 (the gates' recurrent input at t = 1)


def forward_steps(
    g: Tensor, gh: Tensor, s: Tensor, gi: Tensor, lo: Tensor, thresholds: Tensor,
    w_rec_t: Tensor, w_is: Tensor, b_n: Tensor,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``U`` sampling steps of the forward GRU (rows × units layout) and the mean of q(s_t = 1 | f, s_<t).

    The arithmetic of ``DSNF._loop`` (same folded weights), written for :func:`torch.compile`: one
    fused kernel per step for the gates and the sample, one matmul ``g_t @ w_rec_t``.

    Args:
        g: :math:`g_{t-1} = (h_{t-1} + 1) / 2`, shape ``(n, B, H)``.
        gh: The recurrent gate inputs for step t (``(g_{t-1} @ w_rec_t)[..., 1:]``), ``(n, B, 3H)``.
        s: :math:`s_{t-1}`, shape ``(n, B)``.
        gi: Input terms of steps t … t + U − 1 with the biases of the r and z gates in, ``(U, B, 3H)``.
        lo: Output-logit terms on :math:`c_t` with every bias in, ``(U, B)``.
        thresholds: Logistic thresholds, ``(U, n, B)``.
        w_rec_t: ``w_rec`` transposed, ``(H, 1 + 3H)``, in the matmul's dtype.
        w_is: ``(3H,)``.
        b_n: The candidate gate's recurrent bias (``b_rec``'s, inside the reset gate's product), ``(H,)``.

    Returns:
        ``(g, gh, s, probs)`` after the U steps; ``probs`` is ``(U, B)``, the sample mean of σ(ℓ_t).
    """
    n, B, H = g.shape
    w_r, w_z, w_n = w_is.split(H)
    s = s.unsqueeze(-1)  # (n, B, 1)
    probs = []
    for gi_t, lo_t, d_t in zip(gi.unbind(0), lo.unbind(0), thresholds.unbind(0)):
        # Gate by gate, so that the whole update is one pass over (n, B, H) (a shared (n, B, 3H) input
        # term would be written out and read back).
        r = torch.sigmoid(gi_t[..., :H] + s * w_r + gh[..., :H])
        z = torch.sigmoid(gi_t[..., H : 2 * H] + s * w_z + gh[..., H : 2 * H])
        cand = torch.sigmoid(gi_t[..., 2 * H :] + s * w_n + r * (gh[..., 2 * H :] + b_n))
        g = cand + z * (g - cand)
        rec = torch.mm(g.reshape(n * B, H).to(w_rec_t.dtype), w_rec_t).to(g.dtype).view(n, B, -1)
        logit = lo_t + rec[..., 0]  # (n, B)
        s = (logit > d_t).to(g.dtype).unsqueeze(-1)
        gh = rec[..., 1:]
        probs.append(torch.sigmoid(logit).mean(0))
    return g, gh, s.squeeze(-1), torch.stack(probs)


def gru_steps(g: Tensor, gi: Tensor, w_hh_t: Tensor, b_n: Tensor) -> tuple[Tensor, Tensor]:
    """``U`` steps of a deterministic GRU (rows × units layout, for :func:`torch.compile`): DS-NF's backward GRU.

    The state is g = (h + 1) / 2 and the weights are folded by :func:`fold_gru`, as for the forward cell.

    Args:
        g: :math:`(h_{t-1} + 1) / 2`, shape ``(B, H)``.
        gi: Input terms of U steps with the biases of the r and z gates in, ``(U, B, 3H)``.
        w_hh_t: Recurrent weights for g, ``(H, 3H)``; their bias for g is in ``gi`` (r, z) and ``b_n``.
        b_n: The candidate gate's recurrent bias, inside the reset gate's product, ``(H,)``.

    Returns:
        ``(g, h)``: the last state and the U hidden states :math:`h_t = 2 g_t - 1`, ``(U, B, H)``.
    """
    H = g.shape[1]
    out = []
    for gi_t in gi.unbind(0):
        gh = torch.mm(g, w_hh_t)
        r = torch.sigmoid(gi_t[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi_t[:, H : 2 * H] + gh[:, H : 2 * H])
        cand = torch.sigmoid(gi_t[:, 2 * H :] + r * (gh[:, 2 * H :] + b_n))
        g = cand + z * (g - cand)
        out.append(2.0 * g - 1.0)
    return g, torch.stack(out)


@functools.cache
def _compiled_gru_steps() -> Callable[..., tuple[Tensor, Tensor]]:
    """:func:`gru_steps` through :func:`torch.compile`, built on first use (never on import)."""
    return torch.compile(gru_steps)


@functools.cache
def _compiled_forward_steps() -> Callable[..., tuple[Tensor, Tensor, Tensor, Tensor]]:
    """:func:`forward_steps` through :func:`torch.compile`, built on first use (never on import)."""
    return torch.compile(forward_steps)


def _pad_to_unroll(x: Tensor) -> Tensor:
    """Zero-pad dim 0 (time) to a multiple of :data:`UNROLL`, contiguous, for the compiled steps.

    Padded steps come after every real one in the loop's direction, so they change no kept output (the
    callers drop theirs). Contiguous because the fused kernels are slower on strided inputs, and
    ``F.pad`` keeps its input's strides.
    """
    return F.pad(x, (0, 0) * (x.dim() - 1) + (0, -x.shape[0] % UNROLL)).contiguous()


def fold_forward(cell: nn.GRUCell, out: nn.Linear) -> Folded:
    """DS-NF's forward cell and output layer rearranged for the per-step loops (no new parameters).

    The cell as :func:`fold_gru` gives it, and the output layer's weights on :math:`h_t` stacked on its
    recurrent weights: one matmul per step, ``w_rec @ g_t + b_rec``, gives [logit part of step t | gates of
    t + 1].

    Args:
        cell: The forward ``nn.GRUCell`` with ``H`` units, input :math:`[c_t, s_{t-1}]`.
        out: The output layer, input :math:`[c_t, h_t]` (``D + H`` features), one logit.
    """
    D = out.in_features - cell.hidden_size
    w_out = out.weight[0]
    folded = fold_gru(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    w_oh = w_out[D:]  # on h: 2 w_oh on g, and −Σ w_oh into the bias
    return Folded(
        cell=folded, w_oc=w_out[:D], b_o=out.bias,
        w_rec=torch.cat([2.0 * w_oh.unsqueeze(0), folded.w_hh]),
        b_rec=torch.cat([-w_oh.sum(0, keepdim=True), folded.b_hh]),
        b_h=torch.cat([w_oh.new_zeros(1), folded.b_h0]),
    )


def compiled_backward(rnn: nn.GRU, x: Tensor) -> Tensor:
    r"""DS-NF's backward GRU over ``x`` as compiled blocks of :func:`gru_steps` (no autograd).

    Args:
        rnn: The one-layer, batch-first ``nn.GRU`` with ``H`` units.
        x: Its input :math:`x_t = [u_t, f_t]`, ``(B, T, D)``.

    Returns:
        :math:`b_t`, ``(B, T, H)``; :math:`b_t` sees :math:`x_t \dots x_T`, and :math:`b_{T+1} = 0`.
    """
    B, T, _ = x.shape
    H = rnn.hidden_size
    fold = fold_gru(rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0, rnn.bias_hh_l0)
    b_in, b_n = fold.compiled_biases()
    w_hh_t = fold.w_hh.t().contiguous()  # (H, 3H)
    g = x.new_full((B, H), 0.5)  # b_{T+1} = 0
    steps = _compiled_gru_steps()
    hs: list[Tensor] = []
    x_rev = x.flip(1)
    for t0 in range(0, T, BLOCK):  # input projections per block of steps, as in DSNF._loop
        L = min(BLOCK, T - t0)
        gi = _pad_to_unroll(F.linear(x_rev[:, t0 : t0 + L], fold.w_ih, b_in).transpose(0, 1))  # (L+, B, 3H)
        for u in range(0, L, UNROLL):
            g, h = steps(g, gi[u : u + UNROLL], w_hh_t, b_n)
            hs.append(h[: L - u])
    return torch.cat(hs).flip(0).transpose(0, 1)  # (B, T, H), b_t sees f_t ... f_T


def compiled_marginals(w: Folded, ctx: Tensor, thresholds: Tensor, low: torch.dtype | None) -> Tensor:
    r"""``DSNF.marginals(..., compiled=True)``: blocks of :data:`UNROLL` compiled :func:`forward_steps`.

    Args:
        w: The folded forward cell and output layer (:func:`fold_forward`).
        ctx: Context :math:`c_t`, ``(B, T, D)``.
        thresholds: Logistic thresholds, ``(n, B, T)``: :math:`s_t = [\ell_t > \text{threshold}_t]`.
        low: The recurrent matmul's dtype under autocast, or ``None`` (see ``DSNF._run``).

    Returns:
        The sample mean of :math:`q(s_t = 1 \mid f, s_{<t})`, ``(B, T)``.
    """
    n, B, T = thresholds.shape
    H = w.cell.w_hh.shape[1]
    w_rec_t = w.w_rec.t().to(low or ctx.dtype).contiguous()  # (H, 1 + 3H)
    w_is = w.cell.w_ih[:, -1].contiguous()
    # The matmul carries no bias: b_rec goes into the per-step input terms (computed once per trace).
    b_in, b_n = w.cell.compiled_biases()
    b_lo = w.b_o + w.b_rec[0]
    g = ctx.new_full((n, B, H), 0.5)  # h_0 = 0
    gh = torch.mm(g.view(n * B, H).to(w_rec_t.dtype), w_rec_t).to(ctx.dtype).view(n, B, -1)[..., 1:]
    s = ctx.new_zeros(n, B)  # s_0 = 0
    steps = _compiled_forward_steps()
    probs: list[Tensor] = []
    for t0 in range(0, T, BLOCK):
        ctx_blk = ctx[:, t0 : t0 + BLOCK]
        L = ctx_blk.shape[1]
        gi = _pad_to_unroll(F.linear(ctx_blk, w.cell.w_ih[:, :-1], b_in).transpose(0, 1))  # (L+, B, 3H)
        lo = _pad_to_unroll(F.linear(ctx_blk, w.w_oc.unsqueeze(0), b_lo)[..., 0].t())  # (L+, B)
        d = _pad_to_unroll(thresholds[..., t0 : t0 + L].permute(2, 0, 1))  # (L+, n, B)
        for u in range(0, L, UNROLL):
            g, gh, s, p = steps(g, gh, s, gi[u : u + UNROLL], lo[u : u + UNROLL], d[u : u + UNROLL],
                                w_rec_t, w_is, b_n)
            probs.append(p[: L - u])
    return torch.cat(probs).t()  # (B, T)
