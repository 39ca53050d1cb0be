"""Stand-ins for Spikefinder training sets 7 and 8, rebuilt from the CASCADE Chen et al. (2013) files.

Training sets 7 (GCaMP6f) and 8 (GCaMP6s) are recordings of Chen et al. (2013), which CASCADE also curates
at their native ~60 Hz (``<data root>/cascade_chen2013``). Where the challenge's calcium of these sets is not
on hand, :func:`match_chen2013` finds the CASCADE recording behind each column from the spikes, and
:func:`chen2013_approximation` resamples it to 100 Hz; :func:`spikebook.data.spikefinder.load_spikefinder`
uses them, marking the records ``approximate``.

References:
    Chen T-W et al. (2013), "Ultrasensitive fluorescent proteins for imaging neuronal activity", Nature
    499:295.
    Berens P et al. (2018), PLoS Comput Biol 14(5):e1006157 (Spikefinder).

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import numpy as np

from spikebook.data.groundtruth import CHEN2013_FOLDERS, read_cattached
from spikebook.data.paths import data_root
from spikebook.data.preprocess import bin_spike_times
from spikebook.data.spikefinder.files import (
    SPIKEFINDER_FS,
    SPIKEFINDER_INDICATORS,
    SpikefinderNeuron,
    read_spikefinder_csv,
    spikefinder_file,
    unpad_columns,
)
from spikebook.signal import resample

__all__ = [
    "CHEN2013_MIN_CORRELATION",
    "CHEN2013_SETS",
    "Chen2013Match",
    "chen2013_approximation",
    "match_chen2013",
]

#: Training sets that are Chen et al. (2013) recordings, also in ``<data root>/cascade_chen2013``.
CHEN2013_SETS: dict[int, str] = {7: "GCaMP6f", 8: "GCaMP6s"}

#: A Spikefinder set 7/8 column and a CASCADE recording are the same recording when their smoothed spike
#: trains correlate above this (:func:`match_chen2013`; true matches are at ≥ 0.947, the rest below 0.1).
CHEN2013_MIN_CORRELATION = 0.9


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
    for column, spikes in enumerate(unpad_columns(read_spikefinder_csv(spike_path))):
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
