"""Atomic checkpoint writes: what every cached result and resumable training state of the book shares.

Taught in: not a chapter of its own; used by :mod:`spikebook.training`, :mod:`spikebook.pretrained`,
:mod:`spikebook.supervised_training` and the experiments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["save_atomic"]


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save(obj, path)``, written to a temporary file first and then renamed over ``path``.

    A reader (a chapter executed in parallel, a resumed run after a crash) sees the old file or the new
    one, never a half-written one. The parent folder is created if needed.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    torch.save(obj, partial)
    os.replace(partial, path)
    return path
