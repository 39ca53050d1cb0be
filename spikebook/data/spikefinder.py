"""Readers for the Spikefinder challenge files (Berens et al. 2018).

The Spikefinder CSVs (``N.train.spikes.csv``, ``N.test.calcium.csv``, submissions) hold one neuron per
column and one 10 ms time step (100 Hz) per row, under a header row of column numbers ``0,1,...,N-1``.
Columns of one file have different lengths; shorter ones are padded at the end with empty fields, which
are read as NaN. Nothing is read or downloaded on import.

Where the data live: :func:`spikebook.data.paths.data_root` resolves the folder that contains
``spikefinder/`` (with ``train/``, ``test/``, ``submissions/``, ``official_results/``).

* :func:`read_spikefinder_csv`: one CSV as a NaN-padded ``(T, N)`` array.
* :func:`load_spikefinder`: one :class:`SpikefinderNeuron` per column (calcium, spikes, fs, dataset,
  indicator, split), with a :class:`SpikefinderData` report of whatever calcium is missing.
* :func:`chen2013_approximation`: 100 Hz stand-ins for training sets 7/8 built from the CASCADE files.
* :func:`match_chen2013`: which CASCADE recording each column of sets 7/8 is, found from the spikes.
* :func:`split_by_neuron`, :func:`leave_one_dataset_out`, :func:`official_split`: splits of whole
  neurons, never of overlapping windows.
* :func:`fetch_spikefinder`: explicit download of the challenge files, verified (pooch).

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from spikebook.data.groundtruth import CHEN2013_FOLDERS, read_cattached
from spikebook.data.paths import DATA_ENV_VAR, data_root
from spikebook.data.preprocess import bin_spike_times
from spikebook.data.remote import fetch, require
from spikebook.signal import resample

__all__ = [
    "CHEN2013_MIN_CORRELATION",
    "SPIKEFINDER_FS",
    "SPIKEFINDER_INDICATORS",
    "SPIKEFINDER_PARTS",
    "SPIKEFINDER_SETS",
    "Chen2013Match",
    "MissingCalcium",
    "NeuronSplit",
    "SpikefinderData",
    "SpikefinderDataWarning",
    "SpikefinderNeuron",
    "chen2013_approximation",
    "fetch_spikefinder",
    "leave_one_dataset_out",
    "load_spikefinder",
    "match_chen2013",
    "official_split",
    "read_spikefinder_csv",
    "split_by_neuron",
]

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

#: Training sets that are Chen et al. (2013) recordings, also in ``<data root>/cascade_chen2013``.
CHEN2013_SETS: dict[int, str] = {7: "GCaMP6f", 8: "GCaMP6s"}

#: A Spikefinder set 7/8 column and a CASCADE recording are the same recording when their smoothed spike
#: trains correlate above this (:func:`match_chen2013`; true matches are at ≥ 0.947, the rest below 0.1).
CHEN2013_MIN_CORRELATION = 0.9

#: What :func:`fetch_spikefinder` can download: the parts of ``<data root>/spikefinder/``.
SPIKEFINDER_PARTS = ("train", "test", "submissions", "official_results")

Split = Literal["train", "test"]


def _check_split(split: str) -> None:
    if split not in SPIKEFINDER_SETS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


def spikefinder_file(root: Path, split: Split, dataset: int, kind: Literal["calcium", "spikes"]) -> Path:
    """Path of ``<root>/spikefinder/<split>/<dataset>.<split>.<kind>.csv`` (it need not exist)."""
    return root / "spikefinder" / split / f"{dataset}.{split}.{kind}.csv"


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


@dataclass(frozen=True)
class MissingCalcium:
    """Calcium that is not on hand for some columns of one dataset.

    Attributes:
        split: ``"train"`` or ``"test"``.
        dataset: dataset number.
        columns: the columns (neurons) without calcium.
        n_neurons: the number of neurons of the dataset (from the spike file).
        reason: why (which file is absent, or which columns have no CASCADE match).
    """

    split: Split
    dataset: int
    columns: tuple[int, ...]
    n_neurons: int
    reason: str

    @property
    def whole_set(self) -> bool:
        return len(self.columns) == self.n_neurons


class SpikefinderDataWarning(UserWarning):
    """Some Spikefinder data are missing or approximated; the message lists which."""


@dataclass(frozen=True)
class SpikefinderData:
    """The result of :func:`load_spikefinder`.

    Attributes:
        neurons: every neuron whose spike file was found (``calcium`` may be None).
        missing: one entry per dataset with columns lacking calcium (never silently dropped).
        missing_spike_files: ``(split, dataset)`` pairs whose spike file is absent.
    """

    neurons: tuple[SpikefinderNeuron, ...]
    missing: tuple[MissingCalcium, ...]
    missing_spike_files: tuple[tuple[str, int], ...]

    def with_calcium(self) -> list[SpikefinderNeuron]:
        """The neurons usable for training or scoring a model (calcium on hand)."""
        return [n for n in self.neurons if n.calcium is not None]

    def report(self) -> str:
        """A readable list of what is missing or approximated (empty string if nothing)."""
        lines = [f"{s}.{d}: no spike file" for s, d in self.missing_spike_files]
        lines += [
            f"{m.split}.{m.dataset}: no calcium for "
            + ("all" if m.whole_set else f"{len(m.columns)} of")
            + f" {m.n_neurons} neurons"
            + ("" if m.whole_set else f" (columns {list(m.columns)})")
            + f" ({m.reason})"
            for m in self.missing
        ]
        approx = sorted({(n.split, n.dataset) for n in self.neurons if n.approximate})
        lines += [f"{s}.{d}: calcium APPROXIMATED from CASCADE (resampled ~60 -> 100 Hz)" for s, d in approx]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------


def _columns(values: np.ndarray) -> list[np.ndarray]:
    """Split a NaN-padded ``(T, N)`` array into its N columns with the trailing padding cut."""
    out = []
    for j in range(values.shape[1]):
        finite = np.flatnonzero(~np.isnan(values[:, j]))
        out.append(values[: finite[-1] + 1 if finite.size else 0, j].copy())
    return out


class Chen2013Match(NamedTuple):
    """The CASCADE recording that a Spikefinder set 7/8 column was made from."""

    folder: str  #: CASCADE dataset folder, e.g. ``"DS09-GCaMP6f-m-V1"``
    file: str  #: CASCADE file of the neuron
    recording: int  #: index of the recording in the file's ``CAttached``
    correlation: float  #: zero-lag correlation of the two smoothed spike trains


def match_chen2013(
    dataset: int, root: str | os.PathLike[str] | None = None, min_correlation: float = CHEN2013_MIN_CORRELATION
) -> dict[int, Chen2013Match]:
    """Find the CASCADE recording behind each column of Spikefinder training set 7 or 8, from the spikes.

    Both sides are spike trains on a 10 ms grid starting at t = 0: the column of ``N.train.spikes.csv``,
    and the recording's AP times counted in 10 ms bins. Each is smoothed with a 5-bin (50 ms) box and
    Pearson-correlated with the other at zero lag over their common length; a column is matched to the
    recording of the same indicator with the highest correlation, if it exceeds ``min_correlation``. On
    the data here this matches 33 of 37 columns of set 7 and 18 of 21 of set 8, every one at ≥ 0.947 and
    with spike counts equal to within 2 (the others stay below 0.1: recordings not in CASCADE's curation).

    Args:
        dataset: 7 (GCaMP6f) or 8 (GCaMP6s).
        root: The data folder (default: :func:`~spikebook.data.paths.data_root`), holding ``spikefinder/train/N.train.spikes.csv``
            and ``cascade_chen2013/``.
        min_correlation: The threshold for a match.

    Returns:
        ``{column: Chen2013Match}`` for the matched columns.

    Raises:
        ValueError: If ``dataset`` is not 7 or 8.
        FileNotFoundError: If the spikes file or the CASCADE files are absent.
    """
    return _chen2013_matches(dataset, root, min_correlation)[0]


def _chen2013_matches(
    dataset: int, root: str | os.PathLike[str] | None, min_correlation: float
) -> tuple[dict[int, Chen2013Match], dict[str, np.ndarray]]:
    """:func:`match_chen2013`, and the ``CAttached`` structs of every CASCADE file it read, by file name."""
    if dataset not in CHEN2013_SETS:
        raise ValueError(
            f"only training sets {sorted(CHEN2013_SETS)} are Chen et al. 2013 data, got {dataset}"
        )
    root = data_root(root)
    spike_path = spikefinder_file(root, "train", dataset, "spikes")
    if not spike_path.is_file():
        raise FileNotFoundError(f"{spike_path} not found (fetch_spikefinder downloads it)")
    folder = CHEN2013_FOLDERS[CHEN2013_SETS[dataset]]
    files = sorted((root / "cascade_chen2013" / folder).glob("CAttached_*.mat"))
    if not files:
        raise FileNotFoundError(
            f"no CASCADE files in {root / 'cascade_chen2013' / folder} "
            "(spikebook.data.groundtruth.fetch_chen2013 downloads them)"
        )
    box = np.ones(5)
    structs = {path.name: read_cattached(path) for path in files}
    recordings = []
    for name, recs in structs.items():
        for index, rec in enumerate(recs):
            ap_s = np.atleast_1d(rec.events_AP) / 1e4  # events_AP in units of 1e-4 s
            n_bins = int(np.ceil(max(ap_s.max(initial=0.0), float(rec.fluo_time[-1])) * SPIKEFINDER_FS)) + 1
            counts = bin_spike_times(ap_s, (np.arange(n_bins) + 0.5) / SPIKEFINDER_FS)  # [i, i + 1) · 10 ms
            recordings.append((name, index, np.convolve(counts, box, mode="same")))
    matches = {}
    for column, spikes in enumerate(_columns(read_spikefinder_csv(spike_path))):
        smoothed = np.convolve(spikes, box, mode="same")
        best: Chen2013Match | None = None
        for name, index, other in recordings:
            m = min(smoothed.size, other.size)
            a, b = smoothed[:m], other[:m]
            if a.std() == 0 or b.std() == 0:
                continue
            r = float(np.corrcoef(a, b)[0, 1])
            if best is None or r > best.correlation:
                best = Chen2013Match(folder, name, index, r)
        if best is not None and best.correlation > min_correlation:
            matches[column] = best
    return matches, structs


def chen2013_approximation(
    dataset: int, root: str | os.PathLike[str] | None = None
) -> dict[int, SpikefinderNeuron]:
    """Approximate Spikefinder training set 7 or 8 at 100 Hz from the CASCADE Chen et al. (2013) files.

    For each column with a CASCADE match (:func:`match_chen2013`), the matched
    recording's ``fluo_mean`` (ΔF/F at ~60.06 Hz) is resampled to 100 Hz with the polyphase filter of
    :func:`spikebook.signal.resample`, and its AP times are re-binned on the 100 Hz grid
    ``t_0 + i / 100`` s (``t_0`` the first frame time), so sample ``i`` of calcium and spikes refer to the
    same instant. The result is **not** the challenge's calcium (different preprocessing and length); the
    records carry ``approximate=True``.

    Args:
        dataset: 7 (GCaMP6f) or 8 (GCaMP6s).
        root: the data folder (default: :func:`~spikebook.data.paths.data_root`), holding ``cascade_chen2013/`` and the set's
            ``spikefinder/train/N.train.spikes.csv`` (to match columns to recordings).

    Returns:
        ``{column: SpikefinderNeuron}`` for the matched columns only.

    Raises:
        ValueError: if ``dataset`` is not 7 or 8.
        FileNotFoundError: if the spikes file or the CASCADE files are absent.
    """
    matches, structs = _chen2013_matches(dataset, root, CHEN2013_MIN_CORRELATION)
    out = {}
    for column, match in matches.items():
        index = match.recording
        rec = structs[match.file][index]
        frames_s = np.asarray(rec.fluo_time, dtype=np.float64)
        fs_native = 1.0 / float(np.median(np.diff(frames_s)))
        calcium = resample(np.asarray(rec.fluo_mean, dtype=np.float64), fs_native, SPIKEFINDER_FS)
        grid_s = frames_s[0] + np.arange(calcium.size) / SPIKEFINDER_FS
        spikes = bin_spike_times(np.atleast_1d(rec.events_AP) / 1e4, grid_s)  # events_AP in units of 1e-4 s
        out[column] = SpikefinderNeuron(
            calcium=calcium,
            spikes=spikes,
            fs=SPIKEFINDER_FS,
            dataset=dataset,
            split="train",
            column=column,
            indicator=SPIKEFINDER_INDICATORS[dataset],
            approximate=True,
            source=f"cascade:{match.file}#{index}",
        )
    return out


def load_spikefinder(
    split: Split,
    datasets: Sequence[int] | None = None,
    root: str | os.PathLike[str] | None = None,
    *,
    approximate_chen2013: bool = True,
    warn: bool = True,
) -> SpikefinderData:
    """Read the Spikefinder neurons of one split, one record per neuron.

    For each dataset, ``N.<split>.spikes.csv`` gives the neurons; ``N.<split>.calcium.csv`` their calcium
    when present. Where the calcium file of training set 7 or 8 is absent and ``approximate_chen2013`` is
    set, the matched CASCADE recordings stand in (:func:`chen2013_approximation`; ``approximate=True``,
    and those neurons' spikes are the CASCADE ones). Whatever is missing is listed in
    :attr:`SpikefinderData.missing` and, if ``warn``, announced with a :class:`SpikefinderDataWarning`.
    With the complete official data nothing is missing and no approximation is used.

    Args:
        split: ``"train"`` (sets 1-10) or ``"test"`` (sets 1-5).
        datasets: dataset numbers to read (default: all of the split).
        root: the data folder (default: :func:`~spikebook.data.paths.data_root`); without a ``spikefinder/``
            there, the book's files are downloaded first (:func:`spikebook.data.remote.require`).
        approximate_chen2013: rebuild missing set 7/8 calcium from ``cascade_chen2013/``.
        warn: issue a warning listing what is missing or approximated.

    Returns:
        :class:`SpikefinderData`; every neuron is ``(T,)`` at 100 Hz, padding removed.

    Raises:
        ValueError: for an unknown split or dataset, or if calcium and spikes of a column differ in length.
        FileNotFoundError: if the data folder does not exist.
    """
    _check_split(split)
    datasets = SPIKEFINDER_SETS[split] if datasets is None else tuple(datasets)
    bad = [d for d in datasets if d not in SPIKEFINDER_SETS[split]]
    if bad:
        raise ValueError(f"no {split} datasets {bad}; the {split} sets are {SPIKEFINDER_SETS[split]}")
    root = data_root(root)
    if not (root / "spikefinder").is_dir():
        require("spikefinder", root)
    neurons: list[SpikefinderNeuron] = []
    missing: list[MissingCalcium] = []
    missing_spikes: list[tuple[str, int]] = []
    for d in datasets:
        spike_path = spikefinder_file(root, split, d, "spikes")
        if not spike_path.is_file():
            missing_spikes.append((split, d))
            continue
        spikes = _columns(read_spikefinder_csv(spike_path))
        calcium_path = spikefinder_file(root, split, d, "calcium")
        calcium: dict[int, np.ndarray] = {}
        approx: dict[int, SpikefinderNeuron] = {}
        reason = ""
        if calcium_path.is_file():
            cols = _columns(read_spikefinder_csv(calcium_path))
            if len(cols) != len(spikes):
                raise ValueError(
                    f"{calcium_path.name} has {len(cols)} columns, {spike_path.name} {len(spikes)}"
                )
            calcium = dict(enumerate(cols))
        elif split == "train" and d in CHEN2013_SETS and approximate_chen2013:
            try:
                approx = chen2013_approximation(d, root)
                reason = f"{calcium_path.name} absent; no CASCADE match for these columns"
            except FileNotFoundError as err:
                reason = f"{calcium_path.name} absent and no CASCADE approximation ({err})"
        else:
            reason = f"{calcium_path.name} absent"
        for j, s in enumerate(spikes):
            if j in approx:
                neurons.append(approx[j])
                continue
            c = calcium.get(j)
            if c is not None and c.size != s.size:
                raise ValueError(f"{split}.{d} column {j}: calcium has {c.size} samples, spikes {s.size}")
            neurons.append(
                SpikefinderNeuron(
                    calcium=c,
                    spikes=s,
                    fs=SPIKEFINDER_FS,
                    dataset=d,
                    split=split,
                    column=j,
                    indicator=SPIKEFINDER_INDICATORS[d],
                    source=calcium_path.name if c is not None else "",
                )
            )
        lacking = tuple(j for j in range(len(spikes)) if j not in calcium and j not in approx)
        if lacking:
            missing.append(MissingCalcium(split, d, lacking, len(spikes), reason))
    data = SpikefinderData(tuple(neurons), tuple(missing), tuple(missing_spikes))
    if warn and (data.missing or data.missing_spike_files or any(n.approximate for n in neurons)):
        warnings.warn(
            f"Spikefinder {split} data incomplete or approximated:\n{data.report()}",
            SpikefinderDataWarning,
            stacklevel=2,
        )
    return data


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


# ---------------------------------------------------------------------------------------------------------
# Splits that cannot leak: whole neurons only
# ---------------------------------------------------------------------------------------------------------


class NeuronSplit(NamedTuple):
    """Two disjoint sets of whole neurons (no neuron, hence no window, is in both)."""

    train: list[SpikefinderNeuron]
    held_out: list[SpikefinderNeuron]


def _check_unique(neurons: Sequence[SpikefinderNeuron]) -> None:
    keys = [n.key for n in neurons]
    if len(set(keys)) != len(keys):
        raise ValueError("the same neuron (split, dataset, column) appears twice in the input")


def split_by_neuron(
    neurons: Sequence[SpikefinderNeuron], held_out_fraction: float = 0.2, seed: int = 0
) -> NeuronSplit:
    """Hold out a random fraction of the neurons of every dataset (stratified by ``(split, dataset)``).

    Unlike the original code's split of shuffled, overlapping windows (ORIGINAL_CODE.md §1.8), a neuron's
    whole recording goes to one side. Each dataset with at least two neurons gives
    ``max(1, round(held_out_fraction * n))`` of them to ``held_out``; a dataset with one neuron stays in
    ``train``.

    Args:
        neurons: the neurons to split (keys must be unique).
        held_out_fraction: in (0, 1).
        seed: seed of the ``numpy.random.Generator`` that picks the neurons.
    """
    if not 0 < held_out_fraction < 1:
        raise ValueError(f"held_out_fraction must be in (0, 1), got {held_out_fraction}")
    _check_unique(neurons)
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, int], list[SpikefinderNeuron]] = {}
    for n in neurons:
        groups.setdefault((n.split, n.dataset), []).append(n)
    held: set[tuple[str, int, int]] = set()
    for _, group in sorted(groups.items()):
        if len(group) < 2:
            continue
        k = min(len(group) - 1, max(1, round(held_out_fraction * len(group))))
        held.update(group[i].key for i in rng.choice(len(group), size=k, replace=False))
    return NeuronSplit([n for n in neurons if n.key not in held], [n for n in neurons if n.key in held])


def leave_one_dataset_out(neurons: Sequence[SpikefinderNeuron], dataset: int) -> NeuronSplit:
    """Hold out every neuron of one dataset number, from the train *and* the test split.

    Test sets 1-5 come from the same experiments as training sets 1-5, so leaving dataset ``d`` out
    removes both from training.
    """
    _check_unique(neurons)
    if not any(n.dataset == dataset for n in neurons):
        raise ValueError(f"no neuron of dataset {dataset} in the input")
    return NeuronSplit(
        [n for n in neurons if n.dataset != dataset], [n for n in neurons if n.dataset == dataset]
    )


def official_split(neurons: Sequence[SpikefinderNeuron]) -> NeuronSplit:
    """The challenge's split: training neurons vs the official test neurons (different neurons)."""
    _check_unique(neurons)
    return NeuronSplit([n for n in neurons if n.split == "train"], [n for n in neurons if n.split == "test"])
