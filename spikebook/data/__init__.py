"""Data: simulated datasets (:mod:`spikebook.data.simulate`) and ground-truth readers."""
