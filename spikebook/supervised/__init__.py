r"""Supervised spike nets of Bolte & Wildani (Spikefinder 2017 poster): attended convolution, Inception stack.

Laid out by concept, like the DeepSpike side (:mod:`spikebook.generative`, :mod:`spikebook.recognition`):

* :mod:`~spikebook.supervised.features`: the trace, its backward differences, their squares and pooled copies;
* :mod:`~spikebook.supervised.layers`: 'same' convolutions, the attended convolution
  :math:`a_{t,f} = \tanh(E_{d,f})\, h_{t,f}`, the Inception cell;
* :mod:`~spikebook.supervised.models`: the regular (:class:`BolteNet`) and simplified nets with their
  frozen configs, the :class:`Ensemble` of seeds, :func:`model_spec` / :func:`build_model`;
* :mod:`~spikebook.supervised.losses`: multi-scale Pearson, Poisson and clipped binary cross-entropy;
* :mod:`~spikebook.supervised.prediction`: normalised calcium, tiled prediction of whole traces, scoring of
  recorded neurons, and users' traces at any rate (:func:`predict_fluorescence`);
* :mod:`~spikebook.supervised.analysis`: what the attended layer learned.

Training (windows, early stopping on held-out neurons, checkpoints) is :mod:`spikebook.training.supervised`;
the shipped entry's recipe is :mod:`spikebook.recipes.spikefinder`. This package imports only torch, numpy
and the package's lowest layers (:mod:`spikebook.validate`, :mod:`spikebook.signal`, :mod:`spikebook.seeding`,
:mod:`spikebook.metrics`).

Shapes and units: calcium ``(B, T)`` at 100 Hz (10 ms bins), feature maps ``(B, C, T)``, dataset ids
``(B,)`` (``long``, Spikefinder dataset number minus one), outputs ``(B, T)`` non-negative spike rates per
10 ms bin. ``forward`` never returns a loss.

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.

Taught in: book chapters "Supervised CNNs with attended convolution" and "What the embeddings learned".
"""

from spikebook.supervised.analysis import embedding_similarity, linear_filter_responses
from spikebook.supervised.features import SQUARED_CHANNELS, backward_difference, input_features, n_features
from spikebook.supervised.layers import AttendedConv1d, ConvPReLUBN, InceptionCell, SameConv1d, conv1d_same
from spikebook.supervised.losses import LOSSES, bce_clipped, pearson_loss, poisson_nll
from spikebook.supervised.models import (
    BolteConfig,
    BolteNet,
    Ensemble,
    SimplifiedBolteNet,
    SimplifiedConfig,
    SupervisedNet,
    build_model,
    model_spec,
)
from spikebook.supervised.prediction import (
    NORMALIZATIONS,
    SUPERVISED_FS_HZ,
    Normalization,
    Recording,
    check_window,
    normalize_calcium,
    normalized_groups,
    predict,
    predict_fluorescence,
    predict_neurons,
    score_neurons,
)

__all__ = [
    "LOSSES",
    "NORMALIZATIONS",
    "SQUARED_CHANNELS",
    "SUPERVISED_FS_HZ",
    "AttendedConv1d",
    "BolteConfig",
    "BolteNet",
    "ConvPReLUBN",
    "Ensemble",
    "InceptionCell",
    "Normalization",
    "Recording",
    "SameConv1d",
    "SimplifiedBolteNet",
    "SimplifiedConfig",
    "SupervisedNet",
    "backward_difference",
    "bce_clipped",
    "build_model",
    "check_window",
    "conv1d_same",
    "embedding_similarity",
    "input_features",
    "linear_filter_responses",
    "model_spec",
    "n_features",
    "normalize_calcium",
    "normalized_groups",
    "pearson_loss",
    "poisson_nll",
    "predict",
    "predict_fluorescence",
    "predict_neurons",
    "score_neurons",
]
