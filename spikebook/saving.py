"""Atomic checkpoint writes: what every cached result and resumable training state of the book shares.

Taught in: not a chapter of its own; used by :mod:`spikebook.training`, :mod:`spikebook.pretrained`,
:mod:`spikebook.supervised_training` and the experiments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

__all__ = ["check_seed", "checkpoint_name", "save_atomic"]


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


def check_seed(seed: int, name: str = "seed") -> int:
    """``seed`` if it is a non-negative int (not a bool), else ``ValueError`` naming it ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"{name} must be a non-negative int, got {seed!r}")
    return seed


def checkpoint_name(stem: str, quick: bool = False, seed: int = 0) -> str:
    """The file name of a trained run: ``stem.pt`` for the shipped run (seed 0, full mode).

    Other training seeds and quick (toy) runs get their own names, ``stem-seed3.pt``, ``stem-quick.pt``,
    ``stem-seed3-quick.pt``, so that training them never overwrites the shipped checkpoint.
    """
    seed = check_seed(seed)
    return f"{stem}{f'-seed{seed}' if seed else ''}{'-quick' if quick else ''}.pt"
