"""Table 1, columns GCaMP6s and GCaMP6f, and Fig. 3 (Speiser et al. 2017, §3.3): DS-F and DS-NF on real
GCaMP6 recordings, cross-validated over neurons.

How a network is trained is the recipe's (:mod:`spikebook.recipes.gcamp`); this package runs it on four folds
of neurons and scores what comes out:

* :mod:`~spikebook.experiments.gcamp.crossval`: the folds, :class:`~spikebook.experiments.gcamp.crossval.FoldRun`
  (one run, its checkpoint and its name), training, the sleep phase and loading;
* :mod:`~spikebook.experiments.gcamp.scoring`: cross-validated predictions, per-neuron scores, CDEC;
* :mod:`~spikebook.experiments.gcamp.diagnostics`: residual power, learning curves, sleep scans, timing lags;
* :mod:`~spikebook.experiments.gcamp.figures`: Fig. 3 and the chapter's other plots;
* :mod:`~spikebook.experiments.gcamp.table`: the table's rows, their cache and summary;
* ``python -m spikebook.experiments.gcamp``: the command line.

Functions that read or write cached results take the results folder (default: the book's ``book/results``).
Every neuron is scored by a network that never saw it; checkpoints are selected on a held-out bound, never on
the test neurons' labels; MCMC and MLspike are quoted from the paper.

Taught in: book chapter "Real GCaMP6 recordings".
"""
