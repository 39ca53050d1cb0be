"""The Spikefinder challenge data (Berens et al. 2018): readers, records, the set 7/8 stand-ins, the download.

Where the data live: :func:`spikebook.data.paths.data_root` resolves the folder that contains
``spikefinder/`` (with ``train/``, ``test/``, ``submissions/``, ``official_results/``). Nothing is read or
downloaded on import.

* :mod:`~spikebook.data.spikefinder.files`: the CSV format (:func:`read_spikefinder_csv`, one NaN-padded
  ``(T, N)`` array per file), the datasets' metadata, the :class:`SpikefinderNeuron` record, and
  :func:`fetch_spikefinder`, the explicit download of the challenge files, verified (pooch).
* :mod:`~spikebook.data.spikefinder.chen2013`: training sets 7/8 rebuilt at 100 Hz from the CASCADE files
  (:func:`chen2013_approximation`), each column's recording found from the spikes (:func:`match_chen2013`).
* :mod:`~spikebook.data.spikefinder.loading`: :func:`load_spikefinder`, one :class:`SpikefinderNeuron` per
  column with a :class:`SpikefinderData` report of whatever calcium is missing or approximated.

Splits of whole neurons (never of overlapping windows) are in :mod:`spikebook.data.splits`.

References:
    Berens P et al. (2018), "Community-based benchmarking improves spike rate inference from two-photon
    calcium imaging data", PLoS Comput Biol 14(5):e1006157.

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from spikebook.data.spikefinder.chen2013 import (
    CHEN2013_MIN_CORRELATION,
    CHEN2013_SETS,
    Chen2013Match,
    chen2013_approximation,
    match_chen2013,
)
from spikebook.data.spikefinder.files import (
    SPIKEFINDER_FS,
    SPIKEFINDER_INDICATORS,
    SPIKEFINDER_PARTS,
    SPIKEFINDER_SETS,
    SpikefinderNeuron,
    Split,
    fetch_spikefinder,
    read_spikefinder_csv,
)
from spikebook.data.spikefinder.loading import (
    MissingCalcium,
    SpikefinderData,
    SpikefinderDataWarning,
    load_spikefinder,
)

__all__ = [
    "CHEN2013_MIN_CORRELATION",
    "CHEN2013_SETS",
    "SPIKEFINDER_FS",
    "SPIKEFINDER_INDICATORS",
    "SPIKEFINDER_PARTS",
    "SPIKEFINDER_SETS",
    "Chen2013Match",
    "MissingCalcium",
    "SpikefinderData",
    "SpikefinderDataWarning",
    "SpikefinderNeuron",
    "Split",
    "chen2013_approximation",
    "fetch_spikefinder",
    "load_spikefinder",
    "match_chen2013",
    "read_spikefinder_csv",
]
