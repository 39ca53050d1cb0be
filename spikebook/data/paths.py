"""Where the ground-truth data live (an explicit folder or ``SPIKEBOOK_DATA``), and how a file gets there.

The data folder holds one sub-folder per dataset (``spikefinder/``, ``cascade_chen2013/``). Nothing is
read or downloaded on import: :func:`download` runs only when a ``fetch_*`` function is called.
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


def download(url: str, sha256: str | None, folder: Path, fname: str) -> Path:
    """Fetch one file with pooch into ``folder / fname``, checked against its SHA256.

    A file already there with the right hash is not downloaded again. Needs a network and ``pooch``
    (imported here only).

    Args:
        url: Where the file is.
        sha256: Its hex digest; ``None`` downloads without a check (the caller says so).
        folder: Target folder (created if needed).
        fname: Target file name.

    Returns:
        The path of the file.

    Raises:
        ConnectionError: If the file cannot be downloaded (e.g. offline); the message names the URL.
        ValueError: If the downloaded file's hash differs from ``sha256`` (not a network problem).
        ImportError: If pooch is not installed.
    """
    import pooch  # optional dependency, imported only when a download is asked for

    known_hash = None if sha256 is None else f"sha256:{sha256}"
    try:
        return Path(pooch.retrieve(url, known_hash=known_hash, path=folder, fname=fname, progressbar=False))
    except ValueError as err:
        if "hash" in str(err).lower():
            raise  # a checksum mismatch is not a network problem
        raise ConnectionError(f"could not download {url}: {err}") from err
    except Exception as err:  # requests' exceptions do not all derive from OSError
        raise ConnectionError(f"could not download {url}: {err}") from err
