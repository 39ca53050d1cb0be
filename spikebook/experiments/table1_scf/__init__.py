r"""Table 1, first column of Speiser et al. (2017): four spike-inference methods on simulated SCF data.

Protocol (paper §3.3 and §2.4): the 100 held-out *test* cells of the simulated SCF data
(:func:`spikebook.data.simulate.paper_datasets`, seed 0; per cell one trace of 10,000 samples at 60 Hz
for each of the firing rates 0.6, 0.9 and 1.1 Hz). Each method predicts a per-bin spike probability (or
spike amplitude) for every trace; the score of a trace is the Pearson correlation between prediction and
true spikes at the sampling resolution (bins of one sample, 16.6 ms: "cross-correlation at the sampling
discretization of 16.6 ms"), a cell's score the mean over its three traces, and the table reports
mean ± s.e.m. over cells:

.. math:: r_c = \frac13 \sum_{i=1}^{3} \operatorname{corr}(\hat s_{c,i}, s_{c,i}), \qquad
    \bar r = \frac1C \sum_c r_c, \qquad \operatorname{sem} = \frac{\operatorname{sd}(r_c)}{\sqrt C}

with the sample standard deviation (``ddof=1``).

The four methods (:func:`~spikebook.experiments.table1_scf.predictors.default_predictors`):

* **DS-F**: the pretrained amortized factorized network ``dsf-scf-60hz`` (trained on the 50 *training*
  cells, applied unchanged to the unseen test cells); its exact marginals :math:`\sigma(\ell_t)`.
* **DS-NF**: the pretrained autoregressive network ``dsnf-scf-60hz``; marginals averaged over 30 sampled
  trains, the paper's estimate.
* **CDEC**: constrained deconvolution with OASIS (:func:`spikebook.baselines.cdec`), AR(1), parameters
  estimated from each trace. The decay :math:`\gamma` is estimated with OASIS's own autocovariance
  estimator *without* its 0.98 shrinkage ("fudge factor"), which otherwise biases :math:`\hat\gamma`
  low by 2%; L1 penalty.
* **MCMC**: the block Gibbs sampler :func:`spikebook.baselines.gibbs_scf` under the SCF model with each
  cell's *true* parameters and the Bernoulli prior of the networks (0.9 Hz); its posterior marginals.
  Knowing the parameters is an advantage the other methods do not have; the paper's MCMC
  (Pnevmatikakis et al. 2013) samples the parameters as well.

The package, one job per module:

* :mod:`~spikebook.experiments.table1_scf.scoring`: the cells scored and the pure computation (data,
  predictors, sizes → per-cell and summary tables), and paired differences between methods;
* :mod:`~spikebook.experiments.table1_scf.predictors`: the four methods as predictors, and the Gibbs
  sampler's convergence check;
* :mod:`~spikebook.experiments.table1_scf.table`: quick and full runs, the cache of the full one in the
  results folder (default: the book's ``book/results``), and the table as the paper prints it;
* :mod:`~spikebook.experiments.table1_scf.figures`: the chapter's plots;
* ``python -m spikebook.experiments.table1_scf``: the full run from the command line.

References:
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), "Fast amortized inference of neural
    activity from calcium imaging data with variational autoencoders", NeurIPS, §3.3 and Table 1.
    Friedrich J, Zhou P, Paninski L (2017), PLoS Comput Biol 13(3):e1005423 (OASIS).
    Pnevmatikakis EA, Merel J, Pakman A, Paninski L (2013), arXiv:1311.6864 (Bayesian spike inference).

Taught in: book chapter 'SCF data: Table 1, first column'.
"""
