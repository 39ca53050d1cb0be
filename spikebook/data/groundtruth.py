"""Ground truth recorded simultaneously with imaging: the Chen et al. (2013) GCaMP6 recordings.

The CASCADE-format files (Rupprecht et al. 2021) hold, per neuron, one or more recordings with the
frame times ``fluo_time`` (s), the fluorescence ``fluo_mean`` and the action-potential times
``events_AP`` (units of 1e-4 s). :func:`load_chen2013` reads a dataset folder into
:class:`Recording`\\ s with spikes counted on the imaging frames (~60 Hz); :func:`fetch_chen2013`
downloads the files (explicitly; nothing is downloaded on import).

Taught in: book chapter "Real GCaMP6 recordings".
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import scipy.io

from spikebook.data.paths import data_root, download
from spikebook.data.preprocess import bin_spike_times

#: Folders of the two indicators inside ``<data root>/cascade_chen2013``.
CHEN2013_FOLDERS = {"GCaMP6f": "DS09-GCaMP6f-m-V1", "GCaMP6s": "DS14-GCaMP6s-m-V1"}

#: Where :func:`fetch_chen2013` gets the files: CASCADE's copies (Rupprecht et al. 2021, datasets DS09 and
#: DS14) in the repository PTRRupprecht/Autocalibrated-spike-inference, pinned to the commit that the
#: book's copy came from, folder ``GT_autocalibration/``.
CHEN2013_URL = (
    "https://raw.githubusercontent.com/PTRRupprecht/Autocalibrated-spike-inference/"
    "b2bb9430136437bd75a467c5fe05e14924e4c6d6/GT_autocalibration/"
)

#: SHA256 of every file, per indicator: those of the copy that the book's results were computed on, so a
#: download that passes the check holds the same data. (The digests are verified; the URL could not be
#: checked from the offline machine the book was written on.)
CHEN2013_SHA256: dict[str, dict[str, str]] = {
    "GCaMP6f": {
        "CAttached_Chen2013_GC6f_cell10_full_mini.mat": "ee9c67539f9c1dbf68c675e4551ba25ea325eb6d75a3b7bd4a03f48bf23a02b4",
        "CAttached_Chen2013_GC6f_cell1B_full_mini.mat": "b48603cf6e69a0d3b24440351cdf44f820f8a1712b95d3eded746d97a2accd44",
        "CAttached_Chen2013_GC6f_cell1C_full_mini.mat": "398efbc5fe3e52882862f54d9e40b6ddfffab4e159b358f534970b5f862553ee",
        "CAttached_Chen2013_GC6f_cell1_mini.mat": "477399a2d9d4b50a2539af65979e5e6f6a2bca625b69c6cab888d5484b18f95a",
        "CAttached_Chen2013_GC6f_cell2C_full_mini.mat": "5924d74cb994d8839fedbc837b8327253130eaad15de051b2db757fec311d818",
        "CAttached_Chen2013_GC6f_cell3C_full_mini.mat": "fec87c9be636ce2b690eb82df579c20448946d00d936bcbdec585dce5cbab178",
        "CAttached_Chen2013_GC6f_cell3_mini.mat": "d77f191879d7afb4cac4052bca0bd59f24553a63a9d54ccaf617882032f20c51",
        "CAttached_Chen2013_GC6f_cell4C_mini.mat": "ba462c282aeeae67a3ac12f1281e6dc5dd29ebe3b2b6f52fd026c504d685e57d",
        "CAttached_Chen2013_GC6f_cell4_full_mini.mat": "a573376e3e866861272ecf0d711b26b5bd1dd1f0eea788234f9d354afd43049b",
        "CAttached_Chen2013_GC6f_cell5C_mini.mat": "bd52072fa4e77414b1cd4f265cb29ce446703c2ff325d62a37b5baf10d2150e0",
        "CAttached_Chen2013_GC6f_cell7C_full_mini.mat": "3ac537f78748e39f10d3d658b98f18960c3ee2d8e163f66fb902714179a98f30",
    },
    "GCaMP6s": {
        "CAttached_Chen2013_GC6s_cell1B_full_mini.mat": "cbd1fd23ea53dc851eb6a33f34a737c8c5c845aa596f5eed40eb0d99c0c8b24b",
        "CAttached_Chen2013_GC6s_cell1C_mini.mat": "f679be20a33fddf5fa053406082cd4ec24352898984f2e23d7ee093088a31d56",
        "CAttached_Chen2013_GC6s_cell1_full_mini.mat": "f98aa0f21007f5cb476f22365d84f9abfad3f1a1fb40ab2afed6d0ec53537ea7",
        "CAttached_Chen2013_GC6s_cell3C_full_mini.mat": "8ba47a129281ef980f57f26d871ce0a37008f28c276672b14461340b47098e79",
        "CAttached_Chen2013_GC6s_cell3_full_mini.mat": "70068c12668da0e2b0cc72be237d17182fd458301be5c6d03f0918afeaa59501",
        "CAttached_Chen2013_GC6s_cell4C_full_mini.mat": "ef1a66e87126eaf1dce655ae0cf78a5ef24670888159199fb71f3617c0cea28d",
        "CAttached_Chen2013_GC6s_cell4_mini.mat": "e893e8de49b4ad4ef2e696a3e1e553d91b96839a58394928ea9a7f341d681a1d",
    },
}


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


def read_cattached(path: str | os.PathLike[str]) -> np.ndarray:
    """The raw ``CAttached`` structs of one CASCADE file (one per recording), always as a 1-D array.

    Raises:
        FileNotFoundError: if the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CASCADE ground-truth file not found: {path}")
    return np.atleast_1d(scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)["CAttached"])


def read_cascade_mat(
    path: str | os.PathLike[str], indicator: str, spike_bins: Literal["centred", "causal"] = "centred"
) -> list[Recording]:
    """Read every recording of one CASCADE ``CAttached_*.mat`` file.

    ``spike_bins`` is the frame-binning convention of :func:`spikebook.data.preprocess.bin_spike_times`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if a recording has NaN fluorescence or non-increasing frame times.
    """
    path = Path(path)
    structs = read_cattached(path)
    neuron = path.stem.removeprefix("CAttached_Chen2013_").removesuffix("_mini")
    recordings = []
    for index, rec in enumerate(structs):
        frames = np.asarray(rec.fluo_time, dtype=np.float64)
        fluorescence = np.asarray(rec.fluo_mean, dtype=np.float64)
        if not np.isfinite(fluorescence).all():
            raise ValueError(f"{path.name} recording {index}: fluorescence has NaN values")
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
        root: the data folder (default: ``SPIKEBOOK_DATA``); it must contain ``cascade_chen2013/``.
        spike_bins: how spike times become counts per frame, ``"centred"`` (the frame's interval around its
            time stamp) or ``"causal"`` (the spikes since the previous frame), see
            :func:`spikebook.data.preprocess.bin_spike_times`.
    """
    if indicator not in CHEN2013_FOLDERS:
        raise ValueError(f"indicator must be one of {sorted(CHEN2013_FOLDERS)}, got {indicator!r}")
    folder = data_root(root) / "cascade_chen2013" / CHEN2013_FOLDERS[indicator]
    files = sorted(folder.glob("CAttached_*.mat"))
    if not files:
        raise FileNotFoundError(f"no CASCADE files in {folder} (fetch_chen2013 downloads them)")
    return [rec for path in files for rec in read_cascade_mat(path, indicator, spike_bins)]


def fetch_chen2013(
    root: str | os.PathLike[str] | None = None,
    indicators: tuple[str, ...] = ("GCaMP6f", "GCaMP6s"),
) -> Path:
    """Download the Chen et al. (2013) CASCADE files into ``<root>/cascade_chen2013/<folder>/``.

    Each file comes from :data:`CHEN2013_URL` and is checked against :data:`CHEN2013_SHA256`; files already
    there with the right hash are kept. Afterwards :func:`load_chen2013` reads them, and Spikefinder
    training sets 7 and 8 can be approximated from them
    (:func:`spikebook.data.spikefinder.chen2013_approximation`). Needs a network and ``pooch``; 18 files,
    ~27 MB.

    Args:
        root: The data folder (default: ``SPIKEBOOK_DATA``), created if needed.
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
    target = data_root(root, create=True) / "cascade_chen2013"
    for indicator in indicators:
        folder = CHEN2013_FOLDERS[indicator]
        for name, sha256 in CHEN2013_SHA256[indicator].items():
            download(CHEN2013_URL + f"{folder}/{name}", sha256, target / folder, name)
    return target
