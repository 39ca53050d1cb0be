"""spikebook: deep-learning spike inference from calcium imaging, the package behind the book.

The user-facing entry point is :func:`spikebook.infer` (per-bin spike probabilities for NumPy traces). It is
imported on first use, so that ``import spikebook.validate`` (or running ``python -m spikebook.pretrained``)
does not load the whole stack.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "infer"]


def __getattr__(name: str) -> Any:
    if name == "infer":
        from spikebook.inference import infer

        return infer
    raise AttributeError(f"module 'spikebook' has no attribute {name!r}")
