"""Baselines of Table 1 of Speiser et al. (2017): the classical methods the recognition networks are compared with.

One module per method:

* :mod:`~spikebook.baselines.deconvolution`: constrained deconvolution (CDEC) with OASIS, :func:`cdec`,
  parameters estimated from each trace, and :func:`ar1_gamma`, OASIS's AR(1) estimator without its shrinkage.
* :mod:`~spikebook.baselines.dendritic`: Foopsi-RR, the dendritic baseline (§3.4): :func:`cdec` of soma and
  spines, then the robust regression :func:`remove_bap` that removes the back-propagating action potentials.
* :mod:`~spikebook.baselines.gibbs`: MCMC, the exact block Gibbs sampler :func:`gibbs_scf` over binary spike
  trains under the SCF model with known parameters, and its spike kernel :func:`scf_kernel`.

References:
    Speiser A, Yan J, Archer E, Buesing L, Turaga SC, Macke JH (2017), "Fast amortized inference
    of neural activity from calcium imaging data with variational autoencoders", NeurIPS,
    Table 1.

Taught in: book chapters 'SCF data: Table 1, first column' and "Dendritic spines".
"""

from spikebook.baselines.deconvolution import MIN_STEPS, CdecResult, ar1_gamma, cdec
from spikebook.baselines.dendritic import BapRegression, FoopsiRRResult, foopsi_rr, remove_bap
from spikebook.baselines.gibbs import KERNEL_TOL, GibbsResult, gibbs_scf, scf_kernel

__all__ = [
    "KERNEL_TOL",
    "MIN_STEPS",
    "BapRegression",
    "CdecResult",
    "FoopsiRRResult",
    "GibbsResult",
    "ar1_gamma",
    "cdec",
    "foopsi_rr",
    "gibbs_scf",
    "remove_bap",
    "scf_kernel",
]
