r"""Amortized versus per-cell variational inference (Speiser et al. 2017, §3.2, Fig. 2C).

The question of Fig. 2C: how much accuracy does *amortization* cost? One recognition network
:math:`q_\phi(s \mid f)` trained on the 50 training cells (the pretrained entry, e.g. ``"dsf-scdf-60hz"``)
is applied, with no further training, to unseen test cells. It is compared with *per-cell* variational
inference: for each test cell a fresh recognition network and a fresh one-cell generative model are
fitted with VIMCO (:func:`spikebook.training.fit_vimco`) to that cell's traces alone — standard
variational inference that uses a network to parametrize :math:`q`, but amortizes nothing.

Protocol, for each of the first ``n_cells`` test cells of ``paper_datasets(data, seed=0)["test"]``
(simulated, three traces of ``T`` bins at 60 Hz per cell):

* **per-cell arm** — the last ``heldout_steps`` bins of each of the cell's three traces are held out; the
  network is trained on the first ``T - heldout_steps`` bins and the training state with the best held-out
  bound is kept (the same selection as :func:`spikebook.pretrained.train`; no labels are used). The
  per-cell hyper-parameters are the amortized network's recipe, except the number of steps.
* **both arms** are scored on the *whole* traces of the cell (variational inference is meant to be
  applied to the data it was fitted on; spike labels enter only the score): Pearson correlation between
  the marginal spike probabilities :math:`q(s_t = 1 \mid f)` and the true spikes at 60 Hz (no binning),
  averaged over the cell's three traces. The paper reports 0.77 (amortized) versus 0.80 (per-cell) with
  DS-NF.

Everything is generic in the recognition model (``"DS-F"`` or ``"DS-NF"``) and in the per-cell budget. The
package, one job per module:

* :mod:`~spikebook.experiments.amortization.config`: :class:`~spikebook.experiments.amortization.config.
  AmortizationConfig`, the experiment's settings;
* :mod:`~spikebook.experiments.amortization.per_cell`: the test cells, the held-out split of one cell, the
  per-cell fit and the score of a network on one cell;
* :mod:`~spikebook.experiments.amortization.comparison`: both arms on the same cells, and their cost;
* :mod:`~spikebook.experiments.amortization.cache`: the two small CSV files of a result in the results
  folder (default: the book's ``book/results``);
* :mod:`~spikebook.experiments.amortization.figures`: Fig. 2C and one cell's marginals;
* ``python -m spikebook.experiments.amortization [--full]``: the command line.

References:
    Speiser, Yan, Archer, Buesing, Turaga & Macke (2017). Fast amortized inference of neural activity
    from calcium imaging data with variational autoencoders. NeurIPS 30, §3.2 and Fig. 2C.

Taught in: book chapter "Amortization".
"""
