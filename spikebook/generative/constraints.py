"""Constrained parameters: raw values are stored, natural values are exposed.

Every generative-model parameter is declared once, at class level, as
``alpha = Constrained(POSITIVE, "gain")``. The module then stores an unconstrained
``nn.Parameter`` called ``raw_alpha`` and ``model.alpha`` returns the constrained value
through a bijection from :mod:`torch.distributions.transforms`:

* :data:`POSITIVE`: softplus, :math:`x = \\log(1 + e^{r})` (rates, gains, noise levels),
* :data:`UNIT_INTERVAL`: sigmoid, :math:`x = 1 / (1 + e^{-r})` (decay factors per step),
* :data:`REAL`: identity (baselines).

Assigning ``model.alpha = 0.3`` writes ``raw_alpha = softplus^{-1}(0.3)``; values outside
the open support raise ``ValueError``. Gradient descent on the raw parameters can therefore
never produce an invalid model.

A parameter shared by all cells has ``shared_ndim`` axes (0 for a gain, 1 for the AR roots
``(p,)``, 1 for a per-compartment gain ``(1+S,)`` of the dendritic model); its per-cell form has one
more, leading, cell axis ``(C, ...)``; a value with more axes is refused when it is assigned (it would
broadcast into the batch axes of every sample). :func:`shared_ndims` reads these numbers off a model, so that
training code can tell per-cell parameters from shared ones without knowing the model.

Taught in: book chapter "From spikes to fluorescence".
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.distributions import transforms

POSITIVE = transforms.SoftplusTransform()
UNIT_INTERVAL = transforms.SigmoidTransform()
REAL = transforms.identity_transform


def as_float_tensor(value: float | Tensor | list, name: str) -> Tensor:
    """Convert ``value`` to a floating tensor (keeping a floating tensor's dtype).

    Raises:
        ValueError: if ``value`` holds NaN or infinite entries.
    """
    if isinstance(value, Tensor) and value.is_floating_point():
        tensor = value.detach().clone()
    else:
        tensor = torch.as_tensor(value, dtype=torch.get_default_dtype())
    if not torch.isfinite(tensor).all():
        raise ValueError(f"{name} must be finite, got {tensor}")
    return tensor


class Constrained:
    """A data descriptor declaring a constrained parameter of an ``nn.Module``.

    Args:
        transform: bijection from the real line onto the parameter's support.
        doc: one line on the parameter's meaning and units (shown by ``help``).
        shared_ndim: number of axes of the parameter when it is shared by all cells (its per-cell
            form has one more, leading, cell axis).
    """

    def __init__(self, transform: transforms.Transform, doc: str = "", shared_ndim: int = 0) -> None:
        self.transform = transform
        self.__doc__ = doc
        self.shared_ndim = int(shared_ndim)

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.raw_name = f"raw_{name}"

    def __get__(self, module: nn.Module | None, owner: type | None = None) -> Tensor:
        if module is None:
            return self  # type: ignore[return-value]  # class access, e.g. for help()
        return self.transform(getattr(module, self.raw_name))

    def __set__(self, module: nn.Module, value: float | Tensor) -> None:
        value = as_float_tensor(value, self.name)
        if value.dim() > self.shared_ndim + 1:  # another axis would broadcast into a batch axis
            axes = "axis" if self.shared_ndim == 1 else "axes"
            raise ValueError(f"{self.name} must have {self.shared_ndim} {axes} (shared by all cells) or "
                             f"{self.shared_ndim + 1} (per cell, a leading cell axis), got shape "
                             f"{tuple(value.shape)}")
        raw = self.transform.inv(value)
        if not (self._inside_open_support(value) & torch.isfinite(raw)).all():
            raise ValueError(f"{self.name} must lie inside {self.transform.codomain}, got {value}")
        module.register_parameter(self.raw_name, nn.Parameter(raw))

    def _inside_open_support(self, value: Tensor) -> Tensor:
        """Elementwise: ``value`` lies strictly inside the support (torch's ``unit_interval`` includes 0 and 1,
        where the sigmoid's inverse would be clamped to a finite raw value instead of failing)."""
        support = self.transform.codomain
        inside = support.check(value)
        if hasattr(support, "lower_bound"):
            inside = inside & (value > support.lower_bound)
        if hasattr(support, "upper_bound"):
            inside = inside & (value < support.upper_bound)
        return inside


def shared_ndims(module: nn.Module) -> dict[str, int]:
    """Raw parameter name (``raw_alpha``) → number of axes of its shared (all-cells) form.

    Looks up the :class:`Constrained` descriptors of ``type(module)`` and its bases (a subclass's
    declaration wins); parameters not declared through a descriptor count as scalars (0).
    """
    found: dict[str, int] = {}
    for klass in reversed(type(module).__mro__):
        for value in vars(klass).values():
            if isinstance(value, Constrained):
                found[value.raw_name] = value.shared_ndim
    return {name: found.get(name, 0) for name, _ in module.named_parameters(recurse=False)}
