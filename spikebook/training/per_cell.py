r"""Per-cell generative parameters: evaluated on a minibatch by indexing, updated row by row.

A generative model fitted to ``C`` cells holds one row per cell for each per-cell raw parameter (shape
``(C,)``; AR roots ``(C, p)``) and a single value for each shared one (``()``; roots ``(p,)``). A parameter is
per-cell when it has one more (leading) axis than its shared form
(:func:`spikebook.generative.constraints.shared_ndims`).

The model is evaluated on a batch of chunks by indexing its raw per-cell parameters with the chunks' cell
indices (:func:`per_step_log_likelihood`, through :func:`torch.func.functional_call`), so the cell axis of
the model becomes the batch axis. Nothing is copied, gradients flow back to the rows of the cells in the
batch only, and mixed-cell batches work as well. :class:`PerCellAdam` keeps Adam's moments and step counts
per row: rows of cells absent from the batch do not move (a plain ``torch.optim.Adam`` would keep moving them
with stale momentum; the original code shared its RMSprop accumulators across cells).

Taught in: book chapter "Amortized variational inference".

References:
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30, §2.2.
    Kingma & Ba (2015). Adam: a method for stochastic optimization. ICLR.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.func import functional_call

from spikebook.generative import CalciumModel
from spikebook.generative.constraints import shared_ndims

__all__ = ["PerCellAdam", "per_step_log_likelihood"]


def _is_per_cell(name: str, param: Tensor, n_cells: int, shared_ndim: int | None = None) -> bool:
    """Whether a raw generative parameter holds one row per cell.

    Args:
        name: Parameter name (``raw_alpha``, ``raw_roots``, possibly with a module prefix).
        param: The parameter.
        n_cells: ``C``.
        shared_ndim: Axes of the parameter's shared form (its per-cell form has one more, leading);
            ``None``: 1 for AR roots ``(p,)``, else 0 (the single-trace models).
    """
    if shared_ndim is None:
        shared_ndim = 1 if name.endswith("raw_roots") else 0
    if param.dim() == shared_ndim:
        return False
    if param.dim() == shared_ndim + 1 and param.shape[0] == n_cells:
        return True
    raise ValueError(
        f"generative parameter {name} has shape {tuple(param.shape)}: expected one row per cell "
        f"(C={n_cells}, then {shared_ndim} more axes) or a shared value ({shared_ndim} axes)"
    )


def _per_cell_flags(generative: CalciumModel, n_cells: int) -> dict[str, bool]:
    """Whether each generative parameter is per-cell; raises on a cell-count mismatch."""
    ndims = shared_ndims(generative)
    return {n: _is_per_cell(n, p, n_cells, ndims.get(n)) for n, p in generative.named_parameters()}


class _GaussianPerStep(nn.Module):
    """Wraps a generative model so that ``functional_call`` can evaluate it with indexed parameters."""

    def __init__(self, model: CalciumModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, f: Tensor, spikes: Tensor) -> Tensor:
        return self.model.log_prob_per_step(f, spikes)


def per_step_log_likelihood(
    generative: CalciumModel,
    f: Tensor,
    spikes: Tensor,
    cells: Tensor,
    per_cell: dict[str, bool] | None = None,
) -> Tensor:
    r"""Per-bin :math:`\log p_\theta(f_t \mid s_{\le t})` of chunks, each with its own cell's parameters.

    The raw per-cell parameters (shape ``(C,)``, roots ``(C, p)``) are indexed with ``cells`` and
    handed to the model through :func:`torch.func.functional_call`, so the model's cell axis becomes
    the chunk axis ``B``. No module is copied, and gradients reach only the rows in ``cells``.

    Args:
        generative: A model with per-cell or shared parameters.
        f: Fluorescence chunks, shape ``(B, L)`` (``(B, *E, L)`` for a model with event axes).
        spikes: Spike samples, shape ``(K, B, L)`` (``(K, B, *E, L)``).
        cells: Cell index of each chunk, shape ``(B,)``.
        per_cell: Parameter name → whether it is per-cell; ``None`` infers it from the shapes with
            ``C = cells.max() + 1`` (pass it explicitly when ``C`` is known).

    Returns:
        Log-likelihood per bin, shape ``(K, B, L)`` (``(K, B, *E, L)``); calcium is zero before the
        chunk's first bin.
    """
    if per_cell is None:
        per_cell = _per_cell_flags(generative, int(cells.max()) + 1)
    params = {f"model.{n}": (p[cells] if per_cell[n] else p) for n, p in generative.named_parameters()}
    return functional_call(_GaussianPerStep(generative), params, (f, spikes))


class PerCellAdam:
    """Adam on the generative parameters with per-row state for per-cell parameters.

    For a per-cell parameter (one row per cell) the moments and the step count are kept per row, and a
    step updates only the rows of the cells in the batch: other cells' parameters do not move, and a
    cell's bias correction counts only its own steps. Shared parameters are ordinary Adam.

    Args:
        params: Name → parameter.
        per_cell: Name → whether the parameter has one row per cell.
        n_cells: ``C``.
        lr: Learning rate.
        betas, eps: Adam's constants.
    """

    def __init__(
        self,
        params: dict[str, nn.Parameter],
        per_cell: dict[str, bool],
        n_cells: int,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self.params, self.per_cell, self.lr, self.betas, self.eps = params, per_cell, lr, betas, eps
        self.state = {
            name: {
                "m": torch.zeros_like(p),
                "v": torch.zeros_like(p),
                "t": torch.zeros(n_cells if per_cell[name] else (), dtype=torch.long, device=p.device),
            }
            for name, p in params.items()
        }

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    @torch.no_grad()
    def step(self, cells: Tensor) -> None:
        """Update the rows of ``cells`` (per-cell parameters) and all shared parameters."""
        b1, b2 = self.betas
        rows = torch.unique(cells)
        for name, p in self.params.items():
            if p.grad is None:
                continue
            st = self.state[name]
            if self.per_cell[name]:
                g, m, v = p.grad[rows], st["m"][rows], st["v"][rows]
                st["t"][rows] += 1
                t = st["t"][rows].reshape(-1, *([1] * (p.dim() - 1))).to(p.dtype)
            else:
                g, m, v = p.grad, st["m"], st["v"]
                st["t"] += 1
                t = st["t"].to(p.dtype)
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            update = self.lr * (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + self.eps)
            if self.per_cell[name]:
                st["m"][rows], st["v"][rows] = m, v
                p[rows] -= update
            else:
                st["m"], st["v"] = m, v
                p -= update

    def state_dict(self) -> dict:
        return {"lr": self.lr, "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state: dict) -> None:
        self.lr = state["lr"]
        self.state = {
            n: {k: v.to(self.params[n].device) for k, v in s.items()} for n, s in state["state"].items()
        }
