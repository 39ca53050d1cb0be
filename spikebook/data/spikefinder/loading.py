"""Loading the Spikefinder neurons of one split, with a report of whatever is missing or approximated.

Taught in: book chapter 'Spikefinder and how it is scored'.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spikebook.data.paths import data_root
from spikebook.data.remote import require
from spikebook.data.spikefinder.chen2013 import CHEN2013_SETS, chen2013_approximation
from spikebook.data.spikefinder.files import (
    SPIKEFINDER_FS,
    SPIKEFINDER_INDICATORS,
    SPIKEFINDER_SETS,
    SpikefinderNeuron,
    Split,
    read_spikefinder_csv,
    spikefinder_file,
    unpad_columns,
)

__all__ = ["MissingCalcium", "SpikefinderData", "SpikefinderDataWarning", "load_spikefinder"]


def _check_split(split: str) -> None:
    if split not in SPIKEFINDER_SETS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")


@dataclass(frozen=True)
class MissingCalcium:
    """Calcium that is not on hand for some columns of one dataset.

    Attributes:
        split: ``"train"`` or ``"test"``.
        dataset: dataset number.
        columns: the columns (neurons) without calcium.
        n_neurons: the number of neurons of the dataset (from the spike file).
        reason: why (which file is absent, or which columns have no CASCADE match).
    """

    split: Split
    dataset: int
    columns: tuple[int, ...]
    n_neurons: int
    reason: str

    @property
    def whole_set(self) -> bool:
        return len(self.columns) == self.n_neurons


class SpikefinderDataWarning(UserWarning):
    """Some Spikefinder data are missing or approximated; the message lists which."""


@dataclass(frozen=True)
class SpikefinderData:
    """The result of :func:`load_spikefinder`.

    Attributes:
        neurons: every neuron whose spike file was found (``calcium`` may be None).
        missing: one entry per dataset with columns lacking calcium (never silently dropped).
        missing_spike_files: ``(split, dataset)`` pairs whose spike file is absent.
    """

    neurons: tuple[SpikefinderNeuron, ...]
    missing: tuple[MissingCalcium, ...]
    missing_spike_files: tuple[tuple[str, int], ...]

    def with_calcium(self) -> list[SpikefinderNeuron]:
        """The neurons usable for training or scoring a model (calcium on hand)."""
        return [n for n in self.neurons if n.calcium is not None]

    def report(self) -> str:
        """A readable list of what is missing or approximated (empty string if nothing)."""
        lines = [f"{s}.{d}: no spike file" for s, d in self.missing_spike_files]
        lines += [
            f"{m.split}.{m.dataset}: no calcium for "
            + ("all" if m.whole_set else f"{len(m.columns)} of")
            + f" {m.n_neurons} neurons"
            + ("" if m.whole_set else f" (columns {list(m.columns)})")
            + f" ({m.reason})"
            for m in self.missing
        ]
        approx = sorted({(n.split, n.dataset) for n in self.neurons if n.approximate})
        lines += [f"{s}.{d}: calcium APPROXIMATED from CASCADE (resampled ~60 -> 100 Hz)" for s, d in approx]
        return "\n".join(lines)



def load_spikefinder(
    split: Split,
    datasets: Sequence[int] | None = None,
    root: str | os.PathLike[str] | None = None,
    *,
    approximate_chen2013: bool = True,
    warn: bool = True,
) -> SpikefinderData:
    """Read the Spikefinder neurons of one split, one record per neuron.

    For each dataset, ``N.<split>.spikes.csv`` gives the neurons; ``N.<split>.calcium.csv`` their calcium
    when present. Where the calcium file of training set 7 or 8 is absent and ``approximate_chen2013`` is
    set, the matched CASCADE recordings stand in (:func:`chen2013_approximation`; ``approximate=True``,
    and those neurons' spikes are the CASCADE ones). Whatever is missing is listed in
    :attr:`SpikefinderData.missing` and, if ``warn``, announced with a :class:`SpikefinderDataWarning`.
    With the complete official data nothing is missing and no approximation is used.

    Args:
        split: ``"train"`` (sets 1-10) or ``"test"`` (sets 1-5).
        datasets: dataset numbers to read (default: all of the split).
        root: the data folder (default: :func:`~spikebook.data.paths.data_root`); without a ``spikefinder/``
            there, the book's files are downloaded first (:func:`spikebook.data.remote.require`).
        approximate_chen2013: rebuild missing set 7/8 calcium from ``cascade_chen2013/``.
        warn: issue a warning listing what is missing or approximated.

    Returns:
        :class:`SpikefinderData`; every neuron is ``(T,)`` at 100 Hz, padding removed.

    Raises:
        ValueError: for an unknown split or dataset, or if calcium and spikes of a column differ in length.
        FileNotFoundError: if the data folder does not exist.
    """
    _check_split(split)
    datasets = SPIKEFINDER_SETS[split] if datasets is None else tuple(datasets)
    bad = [d for d in datasets if d not in SPIKEFINDER_SETS[split]]
    if bad:
        raise ValueError(f"no {split} datasets {bad}; the {split} sets are {SPIKEFINDER_SETS[split]}")
    root = data_root(root)
    if not (root / "spikefinder").is_dir():
        require("spikefinder", root)
    neurons: list[SpikefinderNeuron] = []
    missing: list[MissingCalcium] = []
    missing_spikes: list[tuple[str, int]] = []
    for d in datasets:
        spike_path = spikefinder_file(root, split, d, "spikes")
        if not spike_path.is_file():
            missing_spikes.append((split, d))
            continue
        spikes = unpad_columns(read_spikefinder_csv(spike_path))
        calcium_path = spikefinder_file(root, split, d, "calcium")
        calcium: dict[int, np.ndarray] = {}
        approx: dict[int, SpikefinderNeuron] = {}
        reason = ""
        if calcium_path.is_file():
            cols = unpad_columns(read_spikefinder_csv(calcium_path))
            if len(cols) != len(spikes):
                raise ValueError(
                    f"{calcium_path.name} has {len(cols)} columns, {spike_path.name} {len(spikes)}"
                )
            calcium = dict(enumerate(cols))
        elif split == "train" and d in CHEN2013_SETS and approximate_chen2013:
            try:
                approx = chen2013_approximation(d, root)
                reason = f"{calcium_path.name} absent; no CASCADE match for these columns"
            except FileNotFoundError as err:
                reason = f"{calcium_path.name} absent and no CASCADE approximation ({err})"
        else:
            reason = f"{calcium_path.name} absent"
        for j, s in enumerate(spikes):
            if j in approx:
                neurons.append(approx[j])
                continue
            c = calcium.get(j)
            if c is not None and c.size != s.size:
                raise ValueError(f"{split}.{d} column {j}: calcium has {c.size} samples, spikes {s.size}")
            neurons.append(
                SpikefinderNeuron(
                    calcium=c,
                    spikes=s,
                    fs=SPIKEFINDER_FS,
                    dataset=d,
                    split=split,
                    column=j,
                    indicator=SPIKEFINDER_INDICATORS[d],
                    source=calcium_path.name if c is not None else "",
                )
            )
        lacking = tuple(j for j in range(len(spikes)) if j not in calcium and j not in approx)
        if lacking:
            missing.append(MissingCalcium(split, d, lacking, len(spikes), reason))
    data = SpikefinderData(tuple(neurons), tuple(missing), tuple(missing_spikes))
    if warn and (data.missing or data.missing_spike_files or any(n.approximate for n in neurons)):
        warnings.warn(
            f"Spikefinder {split} data incomplete or approximated:\n{data.report()}",
            SpikefinderDataWarning,
            stacklevel=2,
        )
    return data
