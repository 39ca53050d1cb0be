"""How long simulating the paper's data takes: 100 cells x 3 traces x 10,000 steps per model.

Prints a table; next to it the same AR(1) work (Bernoulli spikes, AR(1) filter, gain, noise)
done with numpy and ``scipy.signal.lfilter``. Run: ``python benchmarks/bench_simulate.py``.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import torch

from spikebook.data.simulate import SimulationConfig, simulate
from spikebook.experiments.speed import best_time
from spikebook.generative import BernoulliPrior, MLphys

N_CELLS, N_RATES, N_STEPS, FS = 100, 3, 10_000, 60.0


def lfilter_reference() -> None:
    rng = np.random.default_rng(0)
    gamma = rng.uniform(0.94, 0.99, N_CELLS)
    spikes = (rng.random((N_RATES, N_CELLS, N_STEPS)) < 0.9 / FS).astype(float)
    calcium = np.stack([scipy.signal.lfilter([1.0], [1.0, -g], spikes[:, i], axis=-1) for i, g in enumerate(gamma)], 1)
    _ = 0.3 * calcium - 0.3 + 0.1 * rng.standard_normal(calcium.shape)


def mlphys() -> None:
    generator = torch.Generator().manual_seed(0)
    spikes = BernoulliPrior(0.9, FS).sample((N_RATES, N_CELLS, N_STEPS), generator)
    with torch.no_grad():
        MLphys(tau_decay=torch.full((N_CELLS,), 1.0), eta=2.0, fs=FS).sample(spikes, generator)


def main() -> None:
    rows = [("scipy lfilter AR(1) (reference)", best_time(lfilter_reference, repeats=5))]
    for model in ("SCF", "SCDF"):
        config = SimulationConfig(model=model, n_cells=N_CELLS, n_steps=N_STEPS, fs=FS)
        rows.append((f"spikebook {model}", best_time(lambda config=config: simulate(config), repeats=5)))
    rows.append(("spikebook MLphys", best_time(mlphys, repeats=5)))
    print(f"{N_CELLS} cells x {N_RATES} traces x {N_STEPS} steps, torch threads = {torch.get_num_threads()}")
    print(f"{'what':34s} {'seconds':>8s} {'x lfilter':>9s}")
    for name, seconds in rows:
        print(f"{name:34s} {seconds:8.3f} {seconds / rows[0][1]:9.2f}")


if __name__ == "__main__":
    main()
