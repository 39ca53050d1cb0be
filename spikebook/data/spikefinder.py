"""Readers for the Spikefinder challenge files (Berens et al. 2018).

The Spikefinder CSVs (``N.train.spikes.csv``, ``N.test.calcium.csv``, submissions) hold one neuron per
column and one 10 ms time step (100 Hz) per row, under a header row of column numbers ``0,1,...,N-1``.
Columns of one file have different lengths; shorter ones are padded at the end with empty fields, which
are read as NaN. Nothing is read or downloaded on import.

Where the data live: :func:`spikebook.data.paths.data_root` resolves the folder that contains
``spikefinder/`` (with ``train/``, ``test/``, ``submissions/``, ``official_results/``).

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import numpy as np

from spikebook.data.paths import DATA_ENV_VAR

__all__ = ["read_spikefinder_csv"]

# An empty CSV field: at the start of a line before a comma, between two commas, or after the last comma.
_EMPTY_FIELD = re.compile(r"(?:(?<=,)|^)(?=,|$)", flags=re.MULTILINE)


def read_spikefinder_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a Spikefinder CSV file into a NaN-padded array.

    Args:
        path: A file such as ``.../spikefinder/test/1.test.spikes.csv``: a header row ``0,1,...,N-1``,
            then one row per 10 ms time step (100 Hz), one column per neuron, empty fields as padding.

    Returns:
        float64 array of shape ``(T, N)``: ``T`` the longest column's number of samples, ``N`` the number
        of neurons; padding is NaN. Spike files hold counts per 10 ms bin, calcium files fluorescence in
        arbitrary units, submission files predicted spike rates (arbitrary scale).

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: If the header is not ``0,1,...,N-1`` or a row has the wrong number of fields.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Spikefinder CSV file not found: {path} (see data_root() / ${DATA_ENV_VAR} for the data folder)"
        )
    text = path.read_text()  # universal newlines: '\r\n' files read the same
    header, _, body = text.partition("\n")
    names = [name.strip() for name in header.split(",")]
    if names != [str(j) for j in range(len(names))]:
        raise ValueError(f"{path}: expected a header '0,1,...,N-1', got {header[:80]!r}")
    body = body.removesuffix("\n")
    if not body:
        return np.empty((0, len(names)))
    # np.loadtxt cannot read empty fields; spell them out as 'nan' first (fast, and exact for the rest).
    values = np.loadtxt(io.StringIO(_EMPTY_FIELD.sub("nan", body)), delimiter=",", ndmin=2, dtype=np.float64)
    if values.shape[1] != len(names):
        raise ValueError(f"{path}: header has {len(names)} columns but the rows have {values.shape[1]}")
    return values
