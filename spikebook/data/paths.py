"""Where the ground-truth data live: one resolution order for every dataset.

The data folder holds one sub-folder per dataset (``spikefinder/``, ``cascade_chen2013/``). It is, in
this order:

1. an explicit ``path`` given to the call;
2. the folder named by the ``SPIKEBOOK_DATA`` environment variable;
3. ``shared/data`` beside the repository checkout, when present (how the tests and CI stay offline);
4. the per-user cache, ``pooch.os_cache("spikebook")`` (``~/.cache/spikebook`` on Linux), created on
   first use: where Binder, Colab and a fresh clone keep what :func:`spikebook.data.remote.require`
   downloads.

Nothing is read or downloaded on import (downloads: :mod:`spikebook.data.remote`).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DATA_ENV_VAR", "REPOSITORY_DATA", "cache_folder", "data_root"]

#: Environment variable naming the data folder.
DATA_ENV_VAR = "SPIKEBOOK_DATA"

#: ``shared/data`` next to the checkout that holds this package (used only when it exists).
REPOSITORY_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def cache_folder() -> Path:
    """The per-user cache folder, the platform's cache directory for ``spikebook`` (not created here)."""
    import pooch  # imported on use: reading a folder needs no download library

    return Path(pooch.os_cache("spikebook"))


def data_root(path: str | os.PathLike[str] | None = None, create: bool = False) -> Path:
    """Resolve the spikebook data folder (the one that contains ``spikefinder/``, ``cascade_chen2013/``).

    Args:
        path: An explicit folder. If None: ``SPIKEBOOK_DATA``, else the repository's ``shared/data`` when it
            exists, else the per-user cache (created if needed).
        create: Create an explicit or ``SPIKEBOOK_DATA`` folder if it does not exist (for downloads).

    Returns:
        The folder as an absolute :class:`pathlib.Path` (it exists and is a directory).

    Raises:
        FileNotFoundError: If an explicit or ``SPIKEBOOK_DATA`` folder does not exist and ``create`` is
            False; a mistyped path is an error, not a new empty folder.
        NotADirectoryError: If the resolved path is a file.
    """
    if path is not None:
        root, source = Path(path), f"path={str(path)!r}"
    elif env := os.environ.get(DATA_ENV_VAR):
        root, source = Path(env), f"{DATA_ENV_VAR}={env!r}"
    elif REPOSITORY_DATA.is_dir():
        return REPOSITORY_DATA
    else:
        root, source, create = cache_folder(), "the per-user cache", True
    root = root.expanduser().resolve()
    if create and not root.exists():
        root.mkdir(parents=True, exist_ok=True)
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"spikebook data folder {root} (from {source}) is a file, not a folder")
    if not root.is_dir():
        raise FileNotFoundError(
            f"spikebook data folder {root} (from {source}) does not exist: create it, or leave both path and "
            f"{DATA_ENV_VAR} unset to use the per-user cache ({cache_folder()})"
        )
    return root
