"""The Spikefinder files (Berens et al. 2018): their CSV format, the datasets, one record per neuron.

The Spikefinder CSVs (``N.train.spikes.csv``, ``N.test.calcium.csv``, submissions) hold one neuron per
column and one 10 ms time step (100 Hz) per row, under a header row of column numbers ``0,1,...,N-1``.
Columns of one file have different lengths; shorter ones are padded at the end with empty fields, which
are read as NaN. Nothing is read or downloaded on import; :func:`fetch_spikefinder` downloads explicitly.

References:
    Berens P et al. (2018), "Community-based benchmarking improves spike rate inference from two-photon
    calcium imaging data", PLoS Comput Biol 14(5):e1006157.

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from spikebook.data.paths import DATA_ENV_VAR
from spikebook.data.remote import fetch

__all__ = [
    "SPIKEFINDER_FS",
    "SPIKEFINDER_INDICATORS",
    "SPIKEFINDER_PARTS",
    "SPIKEFINDER_SETS",
    "SpikefinderNeuron",
    "Split",
    "fetch_spikefinder",
    "read_spikefinder_csv",
    "spikefinder_file",
    "unpad_columns",
]

# ---------------------------------------------------------------------------------------------------------
# Dataset metadata
# ---------------------------------------------------------------------------------------------------------

#: Sampling rate of every Spikefinder file, in Hz (10 ms bins).
SPIKEFINDER_FS = 100.0

#: Dataset numbers of each official split.
SPIKEFINDER_SETS: dict[str, tuple[int, ...]] = {"train": tuple(range(1, 11)), "test": (1, 2, 3, 4, 5)}

#: Calcium indicator per dataset number (test sets 1-5 share the experiments of training sets 1-5). Set 9
#: follows the poster and Berens et al. (2018); the challenge web site labels it "OGB-1", which looks wrong.
SPIKEFINDER_INDICATORS: dict[int, str] = {
    1: "OGB-1",
    2: "OGB-1",
    3: "GCaMP6s",
    4: "OGB-1",
    5: "GCaMP6s",
    6: "GCaMP5k",
    7: "GCaMP6f",
    8: "GCaMP6s",
    9: "jRCaMP1a",
    10: "jRGECO1a",
}

#: What :func:`fetch_spikefinder` can download: the parts of ``<data root>/spikefinder/``.
SPIKEFINDER_PARTS = ("train", "test", "submissions", "official_results")

Split = Literal["train", "test"]


def spikefinder_file(root: Path, split: Split, dataset: int, kind: Literal["calcium", "spikes"]) -> Path:
    """Path of ``<root>/spikefinder/<split>/<dataset>.<split>.<kind>.csv`` (it need not exist)."""
    return root / "spikefinder" / split / f"{dataset}.{split}.{kind}.csv"


# ---------------------------------------------------------------------------------------------------------
# The CSV format
# ---------------------------------------------------------------------------------------------------------

# An empty CSV field: at the start of a line before a comma, between two commas, or after the last comma.
_EMPTY_FIELD = re.compile(r"(?:(?<=,)|^)(?=,|$)", flags=re.MULTILINE)
# Blank (or whitespace-only) lines at the end of a file.
_TRAILING_BLANK_LINES = re.compile(r"(?:\n[ \t]*)+\Z|\A[ \t]*\Z")


def read_spikefinder_csv(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a Spikefinder CSV file into a NaN-padded array.

    Args:
        path: A file such as ``.../spikefinder/test/1.test.spikes.csv``: a header row ``0,1,...,N-1``,
            then one row per 10 ms time step (100 Hz), one column per neuron, empty fields as padding.

    Returns:
        float64 array of shape ``(T, N)``: ``T`` the longest column's number of samples, ``N`` the number
        of neurons; padding is NaN. Spike files hold counts per 10 ms bin, calcium files fluorescence in
        arbitrary units, submission files predicted spike rates (arbitrary scale). This is the file's own
        layout, time down the rows, which :func:`spikebook.metrics.spikefinder_correlation` takes; it is
        the transpose of spikebook's cells × time: pass ``.T`` to :func:`spikebook.infer` (which warns when
        given a time × cells array), or use the per-neuron records of
        :func:`spikebook.data.spikefinder.load_spikefinder`.

    Blank lines at the end of the file are its end, not rows.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: naming the file and, for a bad row, its line number (1-based, the header is line 1):
            not a text file; a header other than ``0,1,...,N-1``; a blank line inside the file (with
            ``N ≥ 2``: a row of padding is ``N - 1`` commas); a row whose number of fields is not ``N``; a
            field that is not a number (its column numbered from 0, as in the header).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Spikefinder CSV file not found: {path} (see data_root() / ${DATA_ENV_VAR} for the data folder)"
        )
    try:
        text = path.read_text()  # universal newlines: '\r\n' files read the same
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a text file, so not a Spikefinder CSV file ({error})") from error
    header, _, body = text.partition("\n")
    names = [name.strip() for name in header.split(",")]
    if names != [str(j) for j in range(len(names))]:
        raise ValueError(f"{path}: expected a header '0,1,...,N-1', got {header[:80]!r}")
    body = _TRAILING_BLANK_LINES.sub("", body)
    if not body:
        return np.empty((0, len(names)))
    # np.loadtxt cannot read empty fields; spell them out as 'nan' first (fast, and exact for the rest).
    # Should it fail, the slow look for the first bad line only runs then.
    try:
        values = np.loadtxt(io.StringIO(_EMPTY_FIELD.sub("nan", body)), delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path}, {_first_bad_line(body, len(names)) or error}") from error
    if values.shape[1] != len(names):
        raise ValueError(f"{path}, {_first_bad_line(body, len(names))}")
    return values


def _first_bad_line(body: str, n_columns: int) -> str | None:
    """What is wrong with the first bad row of a CSV body (the lines after the header), or None."""
    for number, line in enumerate(body.split("\n"), start=2):  # the header is line 1
        if n_columns > 1 and not line.strip():
            return f"line {number} is blank (a row of padding is {n_columns - 1} commas)"
        fields = line.split(",")
        if len(fields) != n_columns:
            return f"line {number} has {len(fields)} fields but the header has {n_columns}"
        for column, field in enumerate(fields):
            if field.strip():
                try:
                    float(field)
                except ValueError:
                    return f"line {number}, column {column}: {field[:40]!r} is not a number"
    return None


def unpad_columns(values: np.ndarray) -> list[np.ndarray]:
    """Split a NaN-padded ``(T, N)`` array into its N columns with the trailing padding cut."""
    out = []
    for j in range(values.shape[1]):
        finite = np.flatnonzero(~np.isnan(values[:, j]))
        out.append(values[: finite[-1] + 1 if finite.size else 0, j].copy())
    return out


# ---------------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikefinderNeuron:
    """One Spikefinder neuron (one CSV column), padding removed.

    Attributes:
        calcium: ``(T,)`` fluorescence at ``fs`` Hz (arbitrary units), or None where no calcium is on hand.
        spikes: ``(T,)`` spike counts per 10 ms bin. For ``approximate`` neurons these are the CASCADE AP
            times re-binned at 100 Hz, not the official column.
        fs: sampling rate in Hz (100).
        dataset: the Spikefinder dataset number, 1-10 (use ``dataset - 1`` as an embedding index).
        split: ``"train"`` or ``"test"``.
        column: the column in the official CSV (0-based).
        indicator: e.g. ``"GCaMP6s"``.
        approximate: True where the data were rebuilt from another source (sets 7/8 from CASCADE at ~60 Hz,
            resampled) and are *not* the challenge's files.
        source: where the calcium came from (a file name, or ``"cascade:<file>#<index>"``).
    """

    calcium: np.ndarray | None
    spikes: np.ndarray
    fs: float
    dataset: int
    split: Split
    column: int
    indicator: str
    approximate: bool = False
    source: str = ""

    @property
    def key(self) -> tuple[str, int, int]:
        """``(split, dataset, column)``: identifies the neuron; used by the splits."""
        return (self.split, self.dataset, self.column)

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return self.spikes.size / self.fs


# ---------------------------------------------------------------------------------------------------------
# Download (explicit, never on import)
# ---------------------------------------------------------------------------------------------------------


def fetch_spikefinder(
    root: str | os.PathLike[str] | None = None,
    parts: Sequence[str] = SPIKEFINDER_PARTS,
) -> Path:
    """Download the Spikefinder files into ``<root>/spikefinder/<part>/``, each checked against its digest.

    The source is the organisers' analysis repository (berenslab/spikefinder_analysis, pinned commits; the
    entries of :data:`spikebook.data.remote.FILES` under ``spikefinder/``): calcium and spikes of every
    training and test set (the official test spikes were released there after the challenge), the
    test-set predictions of the Bolte and DeepSpike submissions and the published per-cell scores. Files the
    book's results were computed with are checked against their SHA256; the calcium this book never had
    (training sets 1, 2, 3, 7-10, test set 2) against its git blob id. Files already there and verified are
    kept. Needs a network and ``pooch``.

    Args:
        root: the data folder (default: :func:`~spikebook.data.paths.data_root`), created if needed.
        parts: which of :data:`SPIKEFINDER_PARTS`.

    Returns:
        ``<root>/spikefinder``.

    Raises:
        ValueError: for an unknown part, or a downloaded file whose digest differs.
        ConnectionError: if a file cannot be downloaded (e.g. offline); the message names its URL.
    """
    bad = [part for part in parts if part not in SPIKEFINDER_PARTS]
    if bad:
        raise ValueError(f"parts must be among {SPIKEFINDER_PARTS}, got {bad}")
    return fetch((f"spikefinder/{part}/" for part in parts), root) / "spikefinder"

