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
    """

    def __init__(self, transform: transforms.Transform, doc: str = "") -> None:
        self.transform = transform
        self.__doc__ = doc

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.raw_name = f"raw_{name}"

    def __get__(self, module: nn.Module | None, owner: type | None = None) -> Tensor:
        if module is None:
            return self  # type: ignore[return-value]  # class access, e.g. for help()
        return self.transform(getattr(module, self.raw_name))

    def __set__(self, module: nn.Module, value: float | Tensor) -> None:
        value = as_float_tensor(value, self.name)
        raw = self.transform.inv(value)
        if not torch.isfinite(raw).all():
            raise ValueError(f"{self.name} must lie inside {self.transform.codomain}, got {value}")
        module.register_parameter(self.raw_name, nn.Parameter(raw))
