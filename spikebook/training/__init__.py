"""Training DeepSpike networks: VIMCO (wake), the sleep phase, model selection on the held-out bound.

* :mod:`~spikebook.training.vimco`: :func:`fit_vimco`, amortized variational inference with VIMCO
  (Speiser et al. 2017, §2.2), its :class:`VimcoConfig`, :class:`History` and :class:`FitResult`;
* :mod:`~spikebook.training.chunks`: traces cut into chunks with unscored buffers (:func:`chunk_traces`) and
  the log-weights of their scored bins;
* :mod:`~spikebook.training.per_cell`: per-cell generative parameters, evaluated by indexing
  (:func:`per_step_log_likelihood`) and updated by :class:`PerCellAdam`;
* :mod:`~spikebook.training.sleep`: :func:`fit_sleep`, the sleep phase of wake-sleep;
* :mod:`~spikebook.training.selection`: which evaluated state a run returns (:func:`select_one_se`) and
  when it stops early;
* :mod:`~spikebook.training.state`: snapshots of a module's state (:func:`cpu_state`).

Seeded initial weights come from :func:`spikebook.seeding.seeded`, re-exported here as :func:`seeded`.

Taught in: book chapter "Amortized variational inference".
"""

from spikebook.seeding import seeded
from spikebook.training.chunks import Chunks, chunk_traces
from spikebook.training.per_cell import PerCellAdam, per_step_log_likelihood
from spikebook.training.selection import Selection, select_one_se, stop_early
from spikebook.training.sleep import fit_sleep
from spikebook.training.state import cpu_state
from spikebook.training.vimco import FitResult, History, VimcoConfig, fit_vimco

__all__ = [
    "Chunks",
    "FitResult",
    "History",
    "PerCellAdam",
    "Selection",
    "VimcoConfig",
    "chunk_traces",
    "cpu_state",
    "fit_sleep",
    "fit_vimco",
    "per_step_log_likelihood",
    "seeded",
    "select_one_se",
    "stop_early",
]
