"""One module per result of the papers: the computation behind a chapter's figure or table.

Each module computes (and caches, for expensive full-mode runs) what its chapter shows; chapters only
call, explain and plot.
"""

from pathlib import Path

#: Where full-mode results are cached for the rendered book (small CSV/JSON/NPZ files).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "book" / "results"
