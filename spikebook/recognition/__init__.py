"""Recognition models: amortized approximate posteriors q(s | f) over binary spike trains.

* :class:`DSF`: factorized Bernoulli posterior from a temporal CNN (DS-F).
* :class:`DSNF`: autoregressive posterior, CNN → backward GRU → stochastic forward GRU (DS-NF).
* :class:`DSFDEN`: DS-F with soma + spines in and out (fluorescence ``(B, 1+S, T)``, samples
  ``(n, B, 1+S, T)``), for the dendritic model (§3.4).

Both follow one contract: ``sample(f, n, generator) -> (n, B, T)``, ``log_prob(spikes, f) -> (n, B)``
(time summed), ``marginals(f, n_samples, generator) -> (B, T)``, for fluorescence ``f`` of shape ``(B, T)``.

References:
    Speiser et al. (2017). Fast amortized inference of neural activity from calcium imaging data with
    variational autoencoders. NeurIPS 30, §2.3.

Taught in: book chapter "Amortized variational inference".
"""

from spikebook.recognition.base import RecognitionModel, SampleResult
from spikebook.recognition.cnn import DSF, CNNConfig, TemporalCNN
from spikebook.recognition.dendritic import DSFDEN
from spikebook.recognition.rnn import DSNF, RNNConfig

__all__ = ["DSF", "DSFDEN", "DSNF", "CNNConfig", "RNNConfig", "RecognitionModel", "SampleResult", "TemporalCNN"]
