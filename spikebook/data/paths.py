"""Where the ground-truth data live: an explicit folder or the ``SPIKEBOOK_DATA`` environment variable.

The data folder holds one sub-folder per dataset (``spikefinder/``, ``cascade_chen2013/``). Nothing is
read or downloaded on import (downloads: :mod:`spikebook.data.remote`).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the data folder.
DATA_ENV_VAR = "SPIKEBOOK_DATA"


def data_root(path: str | os.PathLike[str] | None = None, create: bool = False) -> Path:
    """Resolve the spikebook data folder (the one that contains ``spikefinder/``, ``cascade_chen2013/``).

    Args:
        path: An explicit folder. If None, the ``SPIKEBOOK_DATA`` environment variable is used.
        create: Create the folder if it does not exist (for the ``fetch_*`` downloads).

    Returns:
        The folder as an absolute :class:`pathlib.Path` (it exists and is a directory).

    Raises:
        FileNotFoundError: If neither option is given, or the folder they name does not exist; the message
            names both ways to set it.
    """
    how = f"pass path=... or set the {DATA_ENV_VAR} environment variable to the folder that holds the datasets"
    if path is None:
        env = os.environ.get(DATA_ENV_VAR)
        if not env:
            raise FileNotFoundError(f"no spikebook data folder given: {how}")
        path, source = env, f"{DATA_ENV_VAR}={env!r}"
    else:
        source = f"path={str(path)!r}"
    root = Path(path).expanduser().resolve()
    if create:
        root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        raise FileNotFoundError(f"spikebook data folder {root} (from {source}) does not exist: {how}")
    return root

