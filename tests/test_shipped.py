"""Every shipped checkpoint and cached network gives the numbers it gave when it was made.

The reference (``tests/reference/shipped_outputs.json``) holds, for each network of
``spikebook/checkpoints`` and ``book/results``, summaries of its output on fixed inputs: the sum, the sum
of squares and eight entries. Code that moves or renames things must leave them unchanged (to 1e-6);
``python tests/test_shipped.py`` rewrites the reference, which only retraining a network may justify.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

REFERENCE = Path(__file__).resolve().parent / "reference" / "shipped_outputs.json"
INDEX = np.array([0, 7, 101, 333, 599, 650, 1000, 1799])


def _inputs() -> tuple[torch.Tensor, np.ndarray]:
    g = torch.Generator().manual_seed(123)
    f60 = (torch.randn(3, 600, generator=g) * 0.1).cumsum(-1) * 0.05 + 0.02  # (3, 600) ΔF/F-like at 60 Hz
    x100 = np.random.default_rng(5).standard_normal((2, 1500)).cumsum(-1) * 0.05  # (2, 1500) at 100 Hz
    return f60, x100


def _summary(x) -> list[float]:
    x = np.asarray(x, dtype=np.float64).ravel()
    return [float(x.sum()), float((x**2).sum()), *map(float, x[INDEX % x.size])]


def _marginals(model, f: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        if "n_samples" in model.marginals.__code__.co_varnames:
            return model.marginals(f, 4, torch.Generator().manual_seed(0)).numpy()
        return model.marginals(f).numpy()


def outputs() -> Iterator[tuple[str, list[float]]]:
    """``(what, summary)`` for every shipped network, on the fixed inputs."""
    from spikebook import pretrained
    from spikebook.experiments import RESULTS_DIR
    from spikebook.experiments import spikefinder_table as st
    from spikebook.experiments.gcamp.crossval import N_FOLDS, FoldRun, load_record
    from spikebook.supervised import predict, predict_fluorescence
    from spikebook.training.supervised import load_models

    f60, x100 = _inputs()
    for name in pretrained.RECIPES:
        yield f"pretrained/{name}", _summary(_marginals(pretrained.load(name).recognition, f60))
    entry = pretrained.load("attended-inception-spikefinder")
    for dataset in (*entry.trained_datasets, None):
        yield f"pretrained/attended-inception-spikefinder/dataset={dataset}", _summary(
            predict_fluorescence(x100, 100.0, entry.attended, entry.agnostic, dataset))
    fits, _ = load_models(RESULTS_DIR / st.MODELS_FILE)
    for name, fit in sorted(fits.items()):
        yield f"results/spikefinder_models/{name}", _summary(predict(fit.model, x100[0], 5))
    for indicator in ("GCaMP6s", "GCaMP6f"):
        for network in ("DS-F", "DS-NF"):
            for baseline, drift in (("constant", False), ("drifting", True)):
                for fold in range(N_FOLDS):
                    record = load_record(FoldRun(indicator, network, fold, baseline=baseline))
                    for stage, key in (("slept", "sleep"), ("vimco", "vimco"), ("label_selected", "paper")):
                        try:
                            model = record.network(stage)
                        except ValueError:
                            continue  # a stage this run does not have
                        what = f"results/gcamp/{indicator}/{network}/drift={drift}/fold{fold}/{key}"
                        yield what, _summary(_marginals(model, f60))


@pytest.fixture(scope="module")
def reference() -> dict[str, list[float]]:
    return json.loads(REFERENCE.read_text())


def test_every_shipped_network_gives_its_reference_numbers(reference: dict[str, list[float]]) -> None:
    torch.set_num_threads(1)
    seen = {}
    for what, summary in outputs():
        assert what in reference, f"{what}: a network without a reference"
        np.testing.assert_allclose(summary, reference[what], rtol=1e-6, atol=1e-9, err_msg=what)
        seen[what] = summary
    assert set(seen) == set(reference), f"networks gone: {sorted(set(reference) - set(seen))}"


if __name__ == "__main__":
    torch.set_num_threads(1)
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(json.dumps(dict(outputs()), indent=0) + "\n")
    print(f"wrote {REFERENCE}", file=sys.stderr)
