"""One module, or small package, per result of the papers: the computation behind a chapter's figure or table.

Each computes (and caches, for expensive full-mode runs) what its chapter shows; chapters only call,
explain and plot. A package splits its jobs into modules (e.g. ``scoring``, ``table``, ``cache``,
``figures``) and runs from the command line as ``python -m spikebook.experiments.<name>``; every function
that reads or writes cached results takes the results folder, by default :data:`RESULTS_DIR`.
"""

from pathlib import Path

#: Where full-mode results are cached for the rendered book (small CSV/JSON/NPZ files).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "book" / "results"
