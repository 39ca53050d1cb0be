"""spikebook: deep-learning spike inference from calcium imaging, the package behind the book."""

__version__ = "0.1.0"
