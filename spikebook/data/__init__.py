"""Data: simulated datasets and real ground truth, read from a folder and fetched only when asked.

* :mod:`spikebook.data.simulate`: the paper's simulated datasets (§2.4), seeded.
* :mod:`spikebook.data.groundtruth`: Chen et al. (2013) GCaMP6 recordings (CASCADE format).
* :mod:`spikebook.data.spikefinder`: the Spikefinder challenge files.
* :mod:`spikebook.data.splits`: leak-free splits across whole neurons (folds, held-out sets).
* :mod:`spikebook.data.preprocess`: slow baseline, ΔF/F, resampling, spike binning.
* :mod:`spikebook.data.paths`: where the data folder is (explicit, ``SPIKEBOOK_DATA``, ``shared/data``, cache).
* :mod:`spikebook.data.remote`: every downloadable file, its pinned source and digest; ``require(name)``,
  the one download path (``python -m spikebook.data fetch NAME`` from a shell).
"""
