r"""The supervised spike nets of Bolte & Wildani, their frozen configurations, and the mean of several.

* :class:`BolteNet` (the poster's "regular model", a reconstruction: attended first layer + Inception
  cells, original code: codekansas/spikefinder) and :class:`SimplifiedBolteNet` (attended conv + one conv + 1x1 output,
  §1.6), each built from a frozen config (:class:`BolteConfig`, :class:`SimplifiedConfig`).
* :class:`Ensemble`: the mean rate of independently trained networks (seeds).
* :func:`model_spec` / :func:`build_model`: a network as plain data (class name and config) and back, what
  a checkpoint stores beside the weights.

Shapes and units: calcium ``(B, T)`` at 100 Hz (10 ms bins), dataset ids ``(B,)`` (``long``, Spikefinder
dataset number minus one), outputs ``(B, T)`` non-negative spike rates per 10 ms bin. ``forward`` never
returns a loss (:mod:`spikebook.supervised.losses`).

References:
    Bolte B, Wildani A (2017). Deep convolutional neural networks for spike inference. Spikefinder poster.
    Lakshminarayanan B, Pritzel A, Blundell C (2017). Simple and scalable predictive uncertainty estimation
    using deep ensembles. NeurIPS (ensembles of seeds).
    Rupprecht P et al. (2021). Nat Neurosci 24:1324-1337 (CASCADE averages five networks per model).

Taught in: book chapter "Supervised CNNs with attended convolution".
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from spikebook.seeding import seeded
from spikebook.supervised.features import input_features, n_features
from spikebook.supervised.layers import AttendedConv1d, InceptionCell, SameConv1d
from spikebook.validate import finite, one_of, positive, positive_int

__all__ = [
    "BolteConfig",
    "BolteNet",
    "Ensemble",
    "SimplifiedBolteNet",
    "SimplifiedConfig",
    "SupervisedNet",
    "build_model",
    "model_spec",
]

Output = Literal["sigmoid", "softplus"]


def _output(z: Tensor, kind: Output) -> Tensor:
    return torch.sigmoid(z) if kind == "sigmoid" else F.softplus(z)


def _check_common(n_datasets: int, dropout: float, output: str) -> None:
    positive_int(n_datasets, "n_datasets")
    if not 0 <= finite(dropout, "dropout") < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    one_of(output, ("sigmoid", "softplus"), "output")


@dataclass(frozen=True)
class BolteConfig:
    """The regular model (reconstruction of the poster's; defaults from the submitted code, §1.5).

    Attributes:
        n_datasets: rows of the dataset embedding.
        as_submitted_features: use the original's copies instead of differences (§1.3).
        attend_channels: filters of the attended first layer.
        attend_kernel: its kernel in samples. 1 keeps the submitted model's receptive field of 45 samples
            (with ``as_submitted_features``); ``097a38a`` used 2.
        n_cells: Inception cells (3 submitted).
        width: scale of the Inception cells' and the head's channels (1 submitted; 0.25 is CPU-sized).
        dropout: before the output layer (0.5).
        output: ``"sigmoid"`` (original; a probability per bin) or ``"softplus"`` (an unbounded rate).
    """

    n_datasets: int = 10
    as_submitted_features: bool = False
    attend_channels: int = 256
    attend_kernel: int = 1
    n_cells: int = 3
    width: float = 1.0
    dropout: float = 0.5
    output: Output = "sigmoid"

    def __post_init__(self) -> None:
        _check_common(self.n_datasets, self.dropout, self.output)
        positive_int(self.attend_channels, "attend_channels")
        positive_int(self.attend_kernel, "attend_kernel")
        positive_int(self.n_cells, "n_cells")
        positive(self.width, "width")


class BolteNet(nn.Module):
    """Regular model: features → attended conv (ReLU) → Inception cells → conv 64×5 tanh → 1×1 conv 128 tanh
    → dropout → 1×1 conv → sigmoid/softplus.

    The poster's model has an attended first layer *and* stacked Inception cells; no commit of the original
    code has both (original code: codekansas/spikefinder), so this is a reconstruction. Outputs are not cropped; cropping the
    window ends is the training loop's job.

    Receptive field (:attr:`receptive_field`): ``1 + 4`` (pooled features) ``+ 2`` (second difference; 0 with
    the as-submitted copies) ``+ (attend_kernel - 1) + 12 n_cells + 4`` (final k=5): 45 samples (0.45 s) as
    submitted, 47 with true differences.
    """

    def __init__(self, config: BolteConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or BolteConfig()
        self.attend = AttendedConv1d(
            n_features(True), config.attend_channels, config.attend_kernel, config.n_datasets, nn.ReLU()
        )
        cells, channels = [], config.attend_channels
        for _ in range(config.n_cells):
            cells.append(InceptionCell(channels, config.width))
            channels = cells[-1].out_channels
        self.cells = nn.Sequential(*cells)
        h1, h2 = max(1, round(64 * config.width)), max(1, round(128 * config.width))
        self.head = nn.Sequential(
            SameConv1d(channels, h1, 5),
            nn.Tanh(),
            nn.Conv1d(h1, h2, 1),
            nn.Tanh(),
            nn.Dropout(config.dropout),
            nn.Conv1d(h2, 1, 1),
        )
        nn.init.xavier_normal_(self.head[-1].weight)  # Glorot-normal, as the original output layer

    @property
    def receptive_field(self) -> int:
        """Number of input samples that one output sample depends on."""
        c = self.config
        diff = 0 if c.as_submitted_features else 2
        return 1 + 4 + diff + (c.attend_kernel - 1) + (InceptionCell.receptive_field - 1) * c.n_cells + 4

    def forward(self, calcium: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args: ``calcium`` ``(B, T)`` at 100 Hz; ``dataset`` ``(B,)`` long or None. Returns ``(B, T)`` ≥ 0."""
        x = input_features(calcium, as_submitted=self.config.as_submitted_features, pooled=True)
        h = self.cells(self.attend(x, dataset))  # (B, 256, T)
        return _output(self.head(h).squeeze(1), self.config.output)


@dataclass(frozen=True)
class SimplifiedConfig:
    """The simplified model (closest code ``3e33447``, original code: codekansas/spikefinder).

    Attributes:
        n_datasets: rows of the dataset embedding.
        as_submitted_features: use the original's copies instead of differences.
        channels: filters of both conv layers and the 1×1 layer (512).
        kernel: kernel of both conv layers in samples (20).
        dropout: after each hidden layer (0.5).
        output: ``"sigmoid"`` or ``"softplus"``.
    """

    n_datasets: int = 10
    as_submitted_features: bool = False
    channels: int = 512
    kernel: int = 20
    dropout: float = 0.5
    output: Output = "sigmoid"

    def __post_init__(self) -> None:
        _check_common(self.n_datasets, self.dropout, self.output)
        positive_int(self.channels, "channels")
        positive_int(self.kernel, "kernel")


class SimplifiedBolteNet(nn.Module):
    """Simplified model: 6 features → BatchNorm → attended conv (tanh) → conv (tanh) → 1×1 conv (tanh)
    → 1×1 output, dropout after each hidden layer.

    The original normalised over time (``BatchNormalization(axis=1)``), here over channels; its gain was
    :math:`E_d` without tanh, here :math:`\\tanh(E_d)` as in the poster's attended convolution.
    """

    def __init__(self, config: SimplifiedConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or SimplifiedConfig()
        self.norm = nn.BatchNorm1d(n_features(False))
        self.attend = AttendedConv1d(n_features(False), c.channels, c.kernel, c.n_datasets, nn.Tanh())
        self.body = nn.Sequential(
            nn.Dropout(c.dropout),
            SameConv1d(c.channels, c.channels, c.kernel),
            nn.Tanh(),
            nn.Dropout(c.dropout),
            nn.Conv1d(c.channels, c.channels, 1),
            nn.Tanh(),
            nn.Dropout(c.dropout),
            nn.Conv1d(c.channels, 1, 1),
        )

    @property
    def receptive_field(self) -> int:
        """Input samples one output depends on: ``2 (k - 1) + 1`` plus 2 for the second difference."""
        return 2 * (self.config.kernel - 1) + 1 + (0 if self.config.as_submitted_features else 2)

    def forward(self, calcium: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args: ``calcium`` ``(B, T)`` at 100 Hz; ``dataset`` ``(B,)`` long or None. Returns ``(B, T)`` ≥ 0."""
        x = self.norm(input_features(calcium, as_submitted=self.config.as_submitted_features, pooled=False))
        return _output(self.body(self.attend(x, dataset)).squeeze(1), self.config.output)


class Ensemble(nn.Module):
    """The mean spike rate of several networks, usually one layout trained from different seeds.

    .. math:: \\hat r_t = \\frac1M \\sum_{m=1}^{M} r^{(m)}_t

    Called like one of its members (same arguments, same output). Averaging independently trained networks
    removes part of the seed-to-seed variance of their predictions (Lakshminarayanan et al. 2017); CASCADE
    averages five networks per model (Rupprecht et al. 2021). Training an ``Ensemble`` as a whole (e.g.
    fine-tuning it) fits the mean rate, all members at once.
    """

    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = nn.ModuleList(members)

    @property
    def receptive_field(self) -> int:
        """The widest member's receptive field, in samples."""
        return max(m.receptive_field for m in self.members)

    def forward(self, calcium: Tensor, dataset: Tensor | None = None) -> Tensor:
        """Args and output as the members'; returns the mean of their ``(B, T)`` rates."""
        return torch.stack([m(calcium, dataset) for m in self.members]).mean(0)


#: Any network of this module: what training, prediction and the checkpoints take.
SupervisedNet = BolteNet | SimplifiedBolteNet | Ensemble

_CLASSES = {"BolteNet": (BolteNet, BolteConfig), "SimplifiedBolteNet": (SimplifiedBolteNet, SimplifiedConfig)}


def model_spec(model: SupervisedNet) -> dict[str, Any]:
    """``{"class": ..., "config": {...}}`` (an :class:`Ensemble`: ``{"class": "Ensemble", "members": [...]}``):
    what :func:`build_model` needs to rebuild ``model``, as plain data (no class is pickled)."""
    if isinstance(model, Ensemble):
        return {"class": "Ensemble", "members": [model_spec(m) for m in model.members]}
    return {"class": type(model).__name__, "config": dataclasses.asdict(model.config)}


def build_model(spec: dict[str, Any], seed: int | None = None) -> SupervisedNet:
    """A fresh network from :func:`model_spec`'s dictionary; ``seed`` fixes the initial weights.

    The weights are drawn inside :func:`spikebook.seeding.seeded`, so the caller's random stream is left as
    it was.
    """
    one_of(spec.get("class"), (*_CLASSES, "Ensemble"), "the model class")
    with seeded(seed):
        if spec["class"] == "Ensemble":
            return Ensemble([build_model(member) for member in spec["members"]])
        cls, config_cls = _CLASSES[spec["class"]]
        return cls(config_cls(**spec["config"]))
