"""spikebook: deep-learning spike inference from calcium imaging, the package behind the book.

The user-facing entry point is :func:`spikebook.infer` (per-bin spike probabilities for NumPy traces).
"""

from spikebook.inference import infer

__version__ = "0.1.0"

__all__ = ["__version__", "infer"]
