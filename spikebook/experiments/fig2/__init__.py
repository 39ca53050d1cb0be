"""Fig. 2 A, B and D of Speiser et al. (2017), §3.1: factorized (DS-F) versus correlated (DS-NF) posteriors.

Both recognition models were trained unsupervised (VIMCO) on the simulated SCDF *training* cells
(:mod:`spikebook.pretrained`: ``"dsf-scdf-60hz"`` and ``"dsnf-scdf-60hz"``). Here they are applied,
amortized and without further training, to the first ``n_cells`` cells of the simulated SCDF *test* split
(:func:`spikebook.data.simulate.paper_datasets`, seed 0: disjoint cells, three traces per cell at 0.6, 0.9
and 1.1 Hz). Because the data are simulated, every comparison uses the **true** spikes and the **true**
per-cell generative parameters of the test cells: the learned generative parameters stored in a
checkpoint belong to the training cells and do not exist for test cells.

What is computed, per trace (one cell at one firing rate):

* Fig. 2A — ``n_samples`` spike trains :math:`s^{(k)} \\sim q_\\phi(s \\mid f)` in one pass per model; the
  marginals :math:`q(s_t = 1 \\mid f)` (exact for DS-F; for DS-NF the mean over the same samples of the
  conditional probabilities :math:`q(s_t = 1 \\mid f, s^{(k)}_{<t})`); reconstructions, the noise-free
  fluorescence :math:`\\alpha d_t(s^{(k)}) + \\beta` of eq. (3) under the cell's true parameters, and their
  RMSE to the trace in units of the noise :math:`\\sigma` (1 is a perfect explanation of the trace).
* Fig. 2B — for every true spike, the number of sampled spikes that belong to it, pooled over traces and
  samples into a histogram.
* Fig. 2D — :math:`\\log q_\\phi(s^{\\text{true}} \\mid f)` (nats, time summed) and the Pearson correlation of the
  marginals with the true spikes at the 60 Hz sampling resolution (16.6 ms bins, §2.4).

The package, one job per module:

* :mod:`~spikebook.experiments.fig2.counting`: sampled spikes per true spike and their histogram (Fig. 2B);
* :mod:`~spikebook.experiments.fig2.posterior`: one recognition pass's draws and marginals, and the
  reconstructions of sampled trains;
* :mod:`~spikebook.experiments.fig2.evaluation`: the run's sizes (:class:`~spikebook.experiments.fig2.
  evaluation.Fig2Config`), the evaluation of the models on the test cells, and the numbers the chapter quotes;
* :mod:`~spikebook.experiments.fig2.cache`: the cached full run in the results folder (default: the book's
  ``book/results``) and the chapter's entry point ``load_or_compute``;
* :mod:`~spikebook.experiments.fig2.figures`: the three panels.

References:
    Speiser, Yan, Archer, Buesing, Turaga, Macke (2017). Fast amortized inference of neural activity from
    calcium imaging data with variational autoencoders. NeurIPS 30, §3.1 and Fig. 2.

Taught in: book chapter "Correlated posteriors".
"""
