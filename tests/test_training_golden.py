"""Short ``fit_vimco`` runs reproduce their recorded history and weights exactly (to 1e-12).

``tests/test_shipped.py`` checks trained networks, not training: this test pins training itself (the order of
random draws, the optimisers, the evaluations, the selection and a resume) on tiny deterministic runs.
``python tests/test_training_golden.py`` rewrites the reference, which only a deliberate change of the
training algorithm may justify. The reference was recorded on CPU with one thread; on CUDA the test is
skipped.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from factories import scf_cells

from spikebook.data.simulate import SimulationConfig, simulate
from spikebook.generative import BernoulliPrior
from spikebook.recognition import DSF, DSNF, CNNConfig, RNNConfig
from spikebook.training import VimcoConfig, fit_vimco, seeded

REFERENCE = Path(__file__).resolve().parent / "reference" / "fit_vimco_golden.json"
TINY_CNN = CNNConfig(filters=(8, 8), widths=(11, 11), out_width=5)
TINY_RNN = RNNConfig(filters=(4,), widths=(5,), n_features=3, feature_width=3, n_backward=4, n_forward=4)
BASE = VimcoConfig(k_samples=8, chunk_len=60, buffers=(20, 10), batch_size=4, n_steps=6, eval_every=2)
RUNS = {
    "dsf-best": (DSF, BASE),
    "dsf-one_se-patience": (DSF, dataclasses.replace(BASE, n_steps=10, selection="one_se", patience=2)),
    "dsnf-geometric": (DSNF, dataclasses.replace(BASE, baseline="geometric", n_steps=4)),
}


def _summary(t: torch.Tensor) -> list[float]:
    x = t.detach().double().flatten()
    return [float(x.sum()), float((x**2).sum()), *map(float, x[torch.tensor([0, 3, 17]) % x.numel()])]


def _fit(name: str, checkpoint_dir: Path) -> dict:
    network, config = RUNS[name]
    data = simulate(SimulationConfig(n_cells=2, n_steps=200, rates_hz=(1.0, 2.0)), seed=1).fluorescence
    with seeded(3):
        recognition = DSF(TINY_CNN) if network is DSF else DSNF(TINY_RNN)
    prior = BernoulliPrior(torch.tensor([1.0, 2.0]), 60.0)
    path = checkpoint_dir / f"{name}.pt"
    # a first leg of half the steps, then a resume to the end: the resume path is pinned too
    half = dataclasses.replace(config, n_steps=config.n_steps // 2)
    fit_vimco(recognition, scf_cells(2), data[:1], half, prior, seed=5, validation=data[1:], checkpoint_path=path,
              progress=False)
    result = fit_vimco(recognition, scf_cells(2), data[:1], config, prior, seed=5, validation=data[1:],
                       checkpoint_path=path, progress=False)
    weights = {**{f"recognition.{k}": v for k, v in result.recognition.state_dict().items()},
               **{f"generative.{k}": v for k, v in result.generative.state_dict().items()}}
    return {"history": [list(map(float, h)) for h in result.history], "best_step": result.best_step,
            "best_bound": result.best_bound, "weights": {k: _summary(v) for k, v in sorted(weights.items())}}


def outputs(checkpoint_dir: Path) -> Iterator[tuple[str, dict]]:
    torch.set_num_threads(1)
    for name in RUNS:
        yield name, _fit(name, checkpoint_dir)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the reference was recorded on CPU")
def test_short_fit_vimco_runs_give_their_recorded_history_and_weights(tmp_path: Path) -> None:
    reference = json.loads(REFERENCE.read_text())
    threads = torch.get_num_threads()
    try:
        got = dict(outputs(tmp_path))
    finally:
        torch.set_num_threads(threads)
    assert sorted(got) == sorted(reference)
    for name, run in got.items():
        ref = reference[name]
        assert run["best_step"] == ref["best_step"], name
        assert run["history"][0] == ref["history"][0], name
        torch.testing.assert_close(torch.tensor(run["history"][1:], dtype=torch.float64),
                                   torch.tensor(ref["history"][1:], dtype=torch.float64),
                                   rtol=1e-12, atol=1e-12, equal_nan=True, msg=name)
        assert run["best_bound"] == pytest.approx(ref["best_bound"], rel=1e-12, abs=1e-12), name
        assert sorted(run["weights"]) == sorted(ref["weights"]), name
        for key, summary in run["weights"].items():
            assert summary == pytest.approx(ref["weights"][key], rel=1e-12, abs=1e-12), f"{name}: {key}"


if __name__ == "__main__":
    import tempfile

    if len(sys.argv) > 1:
        sys.exit("usage: python tests/test_training_golden.py  (rewrites the reference)")
    with tempfile.TemporaryDirectory() as tmp:
        REFERENCE.write_text(json.dumps(dict(outputs(Path(tmp))), indent=1) + "\n")
    print(f"wrote {REFERENCE}")
