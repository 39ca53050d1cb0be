"""The four methods of Table 1's SCF column as predictors, and the Gibbs sampler's convergence check.

A predictor maps a dataset to per-bin predictions ``(R, C, T)``
(:data:`~spikebook.experiments.table1_scf.scoring.Predictor`); the baselines' settings were chosen on the
*validation* cells, never on the test cells.

Taught in: book chapter 'SCF data: Table 1, first column'.
"""

from __future__ import annotations

import numpy as np
import torch

from spikebook.baselines import ar1_gamma, cdec, gibbs_scf
from spikebook.data.simulate import SimulatedData
from spikebook.experiments.table1_scf.scoring import FS, Predictor, model_cells
from spikebook.generative import BernoulliPrior
from spikebook.recognition import RecognitionModel

__all__ = ["cdec_predictor", "default_predictors", "default_sources", "gibbs_log_joint_gap", "gibbs_predictor",
           "recognition_predictor"]


def _traces(data: SimulatedData) -> torch.Tensor:
    """Fluorescence ``(R, C, T)`` → ``(R * C, T)`` float32 for the networks."""
    f = data.fluorescence
    return f.reshape(-1, f.shape[-1]).float()


def recognition_predictor(
    network: RecognitionModel, n_samples: int = 30, seed: int = 0, batch_traces: int = 30
) -> Predictor:
    """Predictor from a recognition network: its marginals :math:`q(s_t = 1 \\mid f)`.

    Args:
        network: DS-F (exact marginals, ``n_samples`` ignored) or DS-NF (Monte-Carlo marginals).
        n_samples: Sampled trains averaged by :meth:`~spikebook.recognition.RecognitionModel.marginals`
            (30 in the paper for DS-NF).
        seed: Seed of the sampling generator.
        batch_traces: Traces per call (bounds memory: DS-NF keeps ``n_samples * batch_traces * T`` logits).

    Returns:
        A :data:`Predictor` returning marginals ``(R, C, T)``.
    """

    def predict(data: SimulatedData) -> np.ndarray:
        f = _traces(data)  # (R * C, T)
        generator = torch.Generator().manual_seed(seed)
        was_training = network.training
        network.eval()
        with torch.no_grad():
            out = torch.cat([network.marginals(chunk, n_samples, generator) for chunk in f.split(batch_traces)])
        network.train(was_training)
        return out.reshape(data.fluorescence.shape).double().numpy()

    return predict


def cdec_predictor(penalty: int = 1, fudge_factor: float | None = 1.0, fs: float = FS) -> Predictor:
    """Predictor: OASIS constrained deconvolution, AR(1), parameters estimated from each trace.

    Choices (made on the 50 *validation* cells, never on the test cells): ``fudge_factor=1.0`` estimates
    :math:`\\gamma` without OASIS's 2% shrinkage (:func:`spikebook.baselines.ar1_gamma`), whose too-fast
    kernel puts extra spikes in the tails; ``penalty=1`` is the convex L1 problem of constrained
    deconvolution (Pnevmatikakis et al. 2016, the paper's CDEC [10]), faster than the greedy L0 refinement
    and not worse there. The noise level and baseline are estimated by OASIS per trace.

    Args:
        penalty: 1 (L1) or 0 (L0), see :func:`spikebook.baselines.cdec`.
        fudge_factor: Shrinkage of the estimated :math:`\\gamma`; ``None`` lets OASIS estimate it with its
            own default (0.98).
        fs: Sampling rate in Hz.

    Returns:
        A :data:`Predictor` returning the deconvolved activity ``(R, C, T)`` (amplitudes, not counts).
    """

    def predict(data: SimulatedData) -> np.ndarray:
        f = data.fluorescence.reshape(-1, data.fluorescence.shape[-1]).double().numpy()  # (N, T)
        if fudge_factor is None:
            spikes = cdec(f, fs, p=1, penalty=penalty).spikes
        else:
            tau_d = -1.0 / (fs * np.log(ar1_gamma(f, fudge_factor)))  # seconds
            spikes = np.concatenate([cdec(y, fs, p=1, penalty=penalty, tau_d=float(tau)).spikes
                                     for y, tau in zip(f, tau_d, strict=True)])
        return spikes.reshape(data.fluorescence.shape)

    return predict


def gibbs_predictor(
    prior_rate_hz: float = 0.9,
    n_sweeps: int = 100,
    burn_in: int = 50,
    group_size: int = 10,
    seed: int = 0,
    fs: float = FS,
) -> Predictor:
    """Predictor: posterior marginals of the block Gibbs sampler with the cells' *true* SCF parameters.

    Uses ``data.model`` (the generative model that simulated the cells). Cells are sorted by their decay
    :math:`\\gamma` and sampled in groups of ``group_size``: a group shares one kernel length (that of its
    slowest cell), so grouping similar cells keeps the cost near :math:`O(N T L_c)`.

    Args:
        prior_rate_hz: Rate of the Bernoulli prior in Hz (0.9: the prior of the DeepSpike recipes; the
            test traces fire at 0.6, 0.9 and 1.1 Hz).
        n_sweeps: Sweeps per chain (see the chapter for the convergence check).
        burn_in: Sweeps discarded before averaging.
        group_size: Cells per call of :func:`spikebook.baselines.gibbs_scf`.
        seed: Seed of the sampler (group ``g`` uses ``seed + g``).
        fs: Sampling rate in Hz.

    Returns:
        A :data:`Predictor` returning marginals ``(R, C, T)``.
    """

    def predict(data: SimulatedData) -> np.ndarray:
        model, f = data.model, data.fluorescence.double()
        n_cells = f.shape[1]
        gamma = model.gamma.detach()[..., 0].expand(n_cells)  # (C,): AR(1) coefficient, or the first one
        order = torch.argsort(gamma)
        out = torch.empty_like(f)
        for g, cells in enumerate(order.split(group_size)):
            sub = model_cells(model, cells, n_cells).double()  # a copy: data.model is left as it is
            result = gibbs_scf(f[:, cells], sub, prior_rate_hz, fs, n_sweeps=n_sweeps, burn_in=burn_in,
                               seed=seed + g)
            out[:, cells] = result.marginals
        return out.numpy()

    return predict


def gibbs_log_joint_gap(
    data: SimulatedData, prior_rate_hz: float = 0.9, n_sweeps: int = 100, seed: int = 0, fs: float = FS
) -> np.ndarray:
    r"""Convergence check of the Gibbs sampler: its log joint per sweep minus that of the true spikes.

    The true spike train of simulated data is an exact draw from the posterior given its trace (when the
    sampler's prior is the one that generated it), so once the chain has converged its
    :math:`\log p(f, s)` fluctuates around :math:`\log p(f, s_\mathrm{true})`: a gap that stays far
    below 0 means the chain has not yet found the posterior's bulk. (With a prior rate different from the
    trace's rate the comparison is approximate.)

    Args:
        data: Cells to check, traces ``(R, C, T)`` and their true model.
        prior_rate_hz: Prior rate of the sampler (Hz).
        n_sweeps: Sweeps to run (burn-in is irrelevant here).
        seed: Seed of the sampler.
        fs: Sampling rate in Hz.

    Returns:
        Gap in nats, ``(R, C, n_sweeps)``.
    """
    model = model_cells(data.model, torch.arange(data.spikes.shape[1]), data.spikes.shape[1]).double()
    f, spikes = data.fluorescence.double(), data.spikes.double()
    run = gibbs_scf(f, model, prior_rate_hz, fs, n_sweeps=n_sweeps, burn_in=0, seed=seed)
    with torch.no_grad():
        truth = model.log_prob(f, spikes) + BernoulliPrior(prior_rate_hz, fs).log_prob(spikes)  # (R, C)
    return (run.log_joint - truth.unsqueeze(-1)).numpy()


def default_predictors(
    dsf: RecognitionModel | None = None,
    dsnf: RecognitionModel | None = None,
    n_sweeps: int = 100,
    burn_in: int = 50,
    prior_rate_hz: float = 0.9,
) -> dict[str, Predictor]:
    """The four methods of the table with the settings of :mod:`spikebook.experiments.table1_scf`.

    Args:
        dsf: The DS-F network (``None``: left out).
        dsnf: The DS-NF network (``None``: left out).
        n_sweeps: Gibbs sweeps per chain.
        burn_in: Gibbs burn-in sweeps.
        prior_rate_hz: Prior rate of the MCMC baseline (Hz).

    Returns:
        Method name → :data:`Predictor`, in :data:`METHODS` order.
    """
    predictors: dict[str, Predictor] = {}
    if dsf is not None:
        predictors["DS-F"] = recognition_predictor(dsf, n_samples=1)
    if dsnf is not None:
        predictors["DS-NF"] = recognition_predictor(dsnf, n_samples=30)
    predictors["CDEC"] = cdec_predictor()
    predictors["MCMC"] = gibbs_predictor(prior_rate_hz, n_sweeps, burn_in)
    return predictors


def default_sources(n_sweeps: int = 100, burn_in: int = 50) -> dict[str, str]:
    """Descriptions of the baselines' settings for the ``source`` column."""
    return {
        "CDEC": "OASIS AR(1), L1, gamma estimated per trace without shrinkage",
        "MCMC": f"block Gibbs, true parameters, prior 0.9 Hz, {n_sweeps} sweeps ({burn_in} burn-in)",
    }
