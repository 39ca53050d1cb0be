r"""Soma + spines: Table 1's dendritic column and Fig. 4 of Speiser et al. (2017), §3.4.

Protocol. Data: :func:`spikebook.data.simulate.simulate_dendritic` (seed 0), 15 cells, each one
recording of a soma and 10 spines, 10,000 samples at 60 Hz, drawn from the soma + spines model of eq. (5)
(:class:`spikebook.generative.Dendritic`) with per-cell firing rates 0.6–1.1 Hz, synaptic input rates
0.3–0.9 Hz per spine, bAP amplitudes 0.3–1.0 and noise sd 0.01–0.05 per compartment (the paper gives no
values; see :data:`spikebook.data.simulate.DENDRITIC_RANGES`). Two methods predict, for every cell, the
somatic spikes and each spine's synaptic inputs:

* **DS-F-DEN** (:class:`spikebook.recognition.DSFDEN`), non-amortized as in the paper: for each cell a
  fresh network and a one-cell generative model are fitted to that cell's recording alone. The
  generative model starts at the centres of the simulation ranges, except the noise sd and baseline of
  each compartment, which are estimated from its trace (noise: OASIS's ``GetSn`` power-spectrum
  estimate, then held fixed; baseline: 10th percentile + 1.28 sd) and :math:`\delta = 1` (fixed, it
  trades off against the gain). Training, wake–sleep: a *sleep phase*
  (:func:`spikebook.training.fit_sleep`: the network learns from traces simulated by the cell's initial
  model; no recorded data, no labels), a *wake phase* (VIMCO on the cell's recording,
  :func:`spikebook.training.fit_vimco`, learning the generative parameters with the network held fixed;
  the state with the best bound on the recording is kept), and a second sleep phase under the learned
  model. (The paper trained the network with VIMCO too: ``vimco_network=True``; see
  :class:`~spikebook.experiments.dendrites.config.DendritesConfig` for why we do not.) Prediction: the
  marginals :math:`q(s_{x,t} = 1 \mid f)`.
* **Foopsi-RR** (:func:`spikebook.baselines.foopsi_rr`): OASIS deconvolution (AR(1), L1, parameters
  estimated per trace) of every compartment, then a Huber regression of each spine's deconvolved
  activity on the soma's, whose positive residual is the synaptic estimate.

Score: Pearson correlation between prediction and true events at the sampling resolution (bins of one
sample, 16.6 ms, as for the SCF column, :mod:`spikebook.experiments.table1_scf`): per cell the soma's
correlation and the mean over its 10 spines; the table reports mean ± s.e.m. (``ddof=1``) over cells.

The package, one job per module:

* :mod:`~spikebook.experiments.dendrites.config`: the settings of a full and a quick run;
* :mod:`~spikebook.experiments.dendrites.fitting`: DS-F-DEN's initial model and its fit to one cell;
* :mod:`~spikebook.experiments.dendrites.table`: both methods on every cell, scored and summarized;
* :mod:`~spikebook.experiments.dendrites.cache`: the full run's cache in the results folder (default: the
  book's ``book/results``) and the chapter's entry point;
* :mod:`~spikebook.experiments.dendrites.figures`: Fig. 4, the summary beside the paper's, the bAP amplitudes;
* ``python -m spikebook.experiments.dendrites [--full] [--workers 15]``: the command line.

References:
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), NeurIPS, §3.4, Fig. 4, Table 1.
    Chen T-W et al. (2013), Nature 499:295 (robust regression of spine signals).

Taught in: book chapter "Dendritic spines".
"""
