"""Ground truth recorded simultaneously with imaging: the Chen et al. (2013) GCaMP6 recordings.

The CASCADE-format files (Rupprecht et al. 2021) hold, per neuron, one or more recordings with the
frame times ``fluo_time`` (s), the fluorescence ``fluo_mean`` and the action-potential times
``events_AP`` (units of 1e-4 s). :func:`load_chen2013` reads a dataset folder into
:class:`Recording`\\ s with spikes counted on the imaging frames (~60 Hz), :func:`load_neurons` groups them
by neuron ready for the GCaMP6 networks; :func:`fetch_chen2013` downloads the files (explicitly; nothing is
downloaded on import).

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.io

from spikebook.data.paths import data_root
from spikebook.data.preprocess import bin_spike_times, subtract_baseline
from spikebook.data.remote import fetch, require

#: Folders of the two indicators inside ``<data root>/cascade_chen2013``.
CHEN2013_FOLDERS = {"GCaMP6f": "DS09-GCaMP6f-m-V1", "GCaMP6s": "DS14-GCaMP6s-m-V1"}


@dataclass(frozen=True)
class Recording:
    """One imaging recording with its ground-truth spikes.

    Attributes:
        fluorescence: ``(T,)`` fluorescence as stored (CASCADE: ``fluo_mean``).
        spikes: ``(T,)`` spike counts per frame.
        fs: frame rate in Hz (from the median frame interval).
        neuron: neuron name (the file stem, e.g. ``"GC6s_cell1B_full"``).
        index: recording index within the neuron's file.
        indicator: e.g. ``"GCaMP6s"``.
    """

    fluorescence: np.ndarray
    spikes: np.ndarray
    fs: float
    neuron: str
    index: int
    indicator: str


#: The fields of a CASCADE recording this package reads: frame times (s), fluorescence, AP times (1e-4 s).
CASCADE_FIELDS = ("fluo_time", "fluo_mean", "events_AP")


def read_cattached(path: str | os.PathLike[str]) -> np.ndarray:
    """The raw ``CAttached`` structs of one CASCADE file (one per recording), always as a 1-D array.

    Every struct is checked to hold the :data:`CASCADE_FIELDS`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file: it is not a MATLAB file, has no ``CAttached`` variable, or a recording
            lacks one of the :data:`CASCADE_FIELDS`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CASCADE ground-truth file not found: {path}")
    try:
        variables = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except (scipy.io.matlab.MatReadError, ValueError, TypeError, OSError, NotImplementedError) as error:
        raise ValueError(f"{path} cannot be read as a MATLAB .mat file: {error}") from error
    if "CAttached" not in variables:
        found = sorted(k for k in variables if not k.startswith("__"))
        raise ValueError(f"{path} has no 'CAttached' variable, so it is not a CASCADE ground-truth file "
                         f"(variables: {found})")
    structs = np.atleast_1d(variables["CAttached"])
    for index, rec in enumerate(structs):
        for field in CASCADE_FIELDS:
            if not hasattr(rec, field):
                raise ValueError(f"{path} recording {index}: no field {field!r} (a CASCADE recording has "
                                 f"{', '.join(CASCADE_FIELDS)})")
    return structs


def read_cascade_mat(
    path: str | os.PathLike[str], indicator: str, spike_bins: Literal["centred", "causal"] = "centred"
) -> list[Recording]:
    """Read every recording of one CASCADE ``CAttached_*.mat`` file.

    ``spike_bins`` is the frame-binning convention of :func:`spikebook.data.preprocess.bin_spike_times`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the file and the recording: what :func:`read_cattached` refuses; NaN
            fluorescence; frame times that are not finite or not increasing, or not one per fluorescence
            sample.
    """
    path = Path(path)
    structs = read_cattached(path)
    neuron = path.stem.removeprefix("CAttached_Chen2013_").removesuffix("_mini")
    recordings = []
    for index, rec in enumerate(structs):
        where = f"{path} recording {index}"
        frames = np.atleast_1d(np.asarray(rec.fluo_time, dtype=np.float64))
        fluorescence = np.atleast_1d(np.asarray(rec.fluo_mean, dtype=np.float64))
        if not np.isfinite(fluorescence).all():
            raise ValueError(f"{where}: fluorescence has NaN values")
        if frames.shape != fluorescence.shape:  # one time stamp per frame, or the spikes land on other frames
            raise ValueError(f"{where}: fluo_time has {frames.size} frame times but fluo_mean "
                             f"{fluorescence.size} samples; they must be equal, one time per frame")
        if not np.isfinite(frames).all():
            raise ValueError(f"{where}: fluo_time has NaN or infinite frame times "
                             f"(first at frame {int(np.flatnonzero(~np.isfinite(frames))[0])})")
        if frames.size < 2 or not (np.diff(frames) > 0).all():
            raise ValueError(f"{where}: fluo_time must be increasing, with 2 frames or more "
                             f"({frames.size} frames)")
        spikes = bin_spike_times(np.atleast_1d(rec.events_AP) / 1e4, frames, spike_bins)
        fs = 1.0 / float(np.median(np.diff(frames)))
        recordings.append(Recording(fluorescence, spikes, fs, neuron, index, indicator))
    return recordings


def load_chen2013(
    indicator: Literal["GCaMP6f", "GCaMP6s"],
    root: str | os.PathLike[str] | None = None,
    spike_bins: Literal["centred", "causal"] = "centred",
) -> list[Recording]:
    """All recordings of one indicator, sorted by neuron name.

    Args:
        indicator: ``"GCaMP6f"`` (11 neurons here) or ``"GCaMP6s"`` (7 neurons here).
        root: the data folder (default: :func:`~spikebook.data.paths.data_root`). Without a
            ``cascade_chen2013/`` there, the dataset is downloaded first (:func:`spikebook.data.remote.require`).
        spike_bins: how spike times become counts per frame, ``"centred"`` (the frame's interval around its
            time stamp) or ``"causal"`` (the spikes since the previous frame), see
            :func:`spikebook.data.preprocess.bin_spike_times`.
    """
    if indicator not in CHEN2013_FOLDERS:
        raise ValueError(f"indicator must be one of {sorted(CHEN2013_FOLDERS)}, got {indicator!r}")
    base = data_root(root)
    if not (base / "cascade_chen2013").is_dir():
        require("chen2013", base)
    folder = base / "cascade_chen2013" / CHEN2013_FOLDERS[indicator]
    files = sorted(folder.glob("CAttached_*.mat"))
    if not files:
        raise FileNotFoundError(f"no CASCADE files in {folder} (fetch_chen2013 downloads them)")
    return [rec for path in files for rec in read_cascade_mat(path, indicator, spike_bins)]


@dataclass(frozen=True)
class GcampNeuron:
    """One neuron's recordings, preprocessed for the GCaMP6 networks (:func:`load_neurons`).

    Attributes:
        name: CASCADE file stem.
        indicator: ``"GCaMP6s"`` or ``"GCaMP6f"``.
        traces: ΔF/F with the slow baseline removed, per recording, each ``(T_i,)``.
        spikes: Spike counts per frame per recording, each ``(T_i,)``.
        fs: Frame rate in Hz (the mean over the recordings).
    """

    name: str
    indicator: str
    traces: tuple[np.ndarray, ...]
    spikes: tuple[np.ndarray, ...]
    fs: float


def load_neurons(
    indicator: Literal["GCaMP6f", "GCaMP6s"],
    root: str | os.PathLike[str] | None = None,
    spike_bins: Literal["centred", "causal"] = "causal",
) -> list[GcampNeuron]:
    """The recordings of one indicator grouped by neuron, in name order, as the GCaMP6 networks take them.

    Each trace gets the paper's slow-baseline removal (§3.1, :func:`~spikebook.data.preprocess.subtract_baseline`)
    on top of the stored ΔF/F. Spikes are counted ``"causal"``-ly by default, each in the first frame sampled
    after it: MLphys lets :math:`s_t` raise :math:`f_t` in the same bin, so a spike can only show from the next
    sample on (a choice made from the model, before any scoring).

    Args:
        indicator: ``"GCaMP6f"`` or ``"GCaMP6s"``.
        root: The data folder, as for :func:`load_chen2013`.
        spike_bins: As for :func:`load_chen2013`.
    """
    by_neuron: dict[str, list[Recording]] = {}
    for rec in load_chen2013(indicator, root, spike_bins):
        by_neuron.setdefault(rec.neuron, []).append(rec)
    return [
        GcampNeuron(name, indicator, tuple(subtract_baseline(r.fluorescence) for r in recs),
                    tuple(np.asarray(r.spikes, dtype=np.float32) for r in recs), float(np.mean([r.fs for r in recs])))
        for name, recs in sorted(by_neuron.items())
    ]


def fetch_chen2013(
    root: str | os.PathLike[str] | None = None,
    indicators: tuple[str, ...] = ("GCaMP6f", "GCaMP6s"),
) -> Path:
    """Download the Chen et al. (2013) CASCADE files into ``<root>/cascade_chen2013/<folder>/``.

    The files and their SHA256 digests (those of the copy the book's results were computed on) are entries
    of :data:`spikebook.data.remote.FILES`; files already there with the right hash are kept. Afterwards
    :func:`load_chen2013` reads them, and Spikefinder training sets 7 and 8 can be approximated from them
    (:func:`spikebook.data.spikefinder.chen2013_approximation`). Needs a network and ``pooch``; 18 files,
    ~27 MB.

    Args:
        root: The data folder (default: :func:`~spikebook.data.paths.data_root`), created if needed.
        indicators: Which of ``"GCaMP6f"`` (11 files) and ``"GCaMP6s"`` (7 files).

    Returns:
        ``<root>/cascade_chen2013``.

    Raises:
        ValueError: For an unknown indicator, or a downloaded file whose hash differs.
        ConnectionError: If a file cannot be downloaded (e.g. offline); the message names its URL.
    """
    bad = [i for i in indicators if i not in CHEN2013_FOLDERS]
    if bad:
        raise ValueError(f"indicators must be among {sorted(CHEN2013_FOLDERS)}, got {bad}")
    return fetch((f"cascade_chen2013/{CHEN2013_FOLDERS[i]}/" for i in indicators), root) / "cascade_chen2013"
