"""The settings of the dendritic experiment: the simulation, DS-F-DEN's wake–sleep training, Fig. 4's window.

Taught in: book chapter "Dendritic spines".
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from spikebook.data.simulate import DendriticConfig
from spikebook.recognition import CNNConfig
from spikebook.training import VimcoConfig
from spikebook.validate import non_negative_int, positive_int

__all__ = ["FULL", "QUICK", "DendritesConfig"]


@dataclass(frozen=True)
class DendritesConfig:
    """The experiment's settings; the defaults are the full run.

    Attributes:
        data: The simulation (15 cells × 10 spines, 10,000 samples at 60 Hz).
        training: VIMCO per cell: K = 32 samples, 8 chunks of 200 bins (buffers 60/40), 300 steps, Adam
            learning rates 3e-4 (network, used only with ``vimco_network``) and 5e-3 (generative), no
            gradient clipping, no decay.
        sleep_steps: Sleep-phase steps before VIMCO (400), on ``sleep_batch`` simulated chunks of
            ``sleep_len`` bins per step.
        final_sleep_steps: Sleep-phase steps after VIMCO, under the learned generative model (3,000: the
            spines keep improving well past a shorter phase).
        vimco_network: Whether VIMCO trains the recognition network as well as θ (the paper's
            procedure). Default ``False``: VIMCO learns θ only and the network comes from the sleep
            phases (a reweighted wake-sleep scheme, Bornschein & Bengio 2015). With 11 compartments ×
            200 bins of binary latents per chunk, VIMCO's score-function gradient for the network is
            too noisy to improve on the sleep phase, while its θ gradient is useful.
        sleep_batch: See ``sleep_steps``.
        sleep_len: See ``sleep_steps``.
        network: DS-F-DEN's hidden layers (DS-F's default) and initial output bias (the logit of the
            prior rate of a spine, ~0.01 per bin).
        prior_soma_hz: Rate of the prior over somatic spikes (centre of the simulated 0.6–1.1 Hz).
        prior_spine_hz: Rate of the prior over synaptic inputs (centre of 0.3–0.9 Hz).
        example_cell: The cell shown in Fig. 4.
        example_s: Window of Fig. 4 in seconds.
        seed: Seed of the data and the fits (cell ``c`` trains with ``seed + c``).
    """

    data: DendriticConfig = field(default_factory=DendriticConfig)
    training: VimcoConfig = field(default_factory=lambda: VimcoConfig(
        k_samples=32, chunk_len=200, buffers=(60, 40), batch_size=8, lr=3e-4, gen_lr=5e-3,
        clip_norm=math.inf, lr_decay=1.0, n_steps=300, eval_every=50,
    ))
    sleep_steps: int = 400
    final_sleep_steps: int = 3_000
    vimco_network: bool = False
    sleep_batch: int = 16
    sleep_len: int = 400
    network: CNNConfig = field(default_factory=lambda: CNNConfig(out_bias=-4.6))
    prior_soma_hz: float = 0.85
    prior_spine_hz: float = 0.6
    example_cell: int = 0
    example_s: tuple[float, float] = (0.0, 12.0)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("sleep_steps", "final_sleep_steps"):
            non_negative_int(getattr(self, name), name)
        for name in ("sleep_batch", "sleep_len"):
            positive_int(getattr(self, name), name)
        if not 0 <= self.example_cell < self.data.n_cells:
            raise ValueError(f"example_cell must lie in [0, {self.data.n_cells})")
        if not (0 < self.prior_soma_hz < self.data.fs and 0 < self.prior_spine_hz < self.data.fs):
            raise ValueError("prior rates must lie in (0, fs) Hz")
        if not 0 <= self.example_s[0] < self.example_s[1]:
            raise ValueError(f"example_s must be an increasing window in seconds, got {self.example_s}")


#: The full run (the paper's sizes).
FULL = DendritesConfig()
#: Quick mode (CI): the same code on 2 cells × 3 spines, 2,000 samples, a few steps.
QUICK = DendritesConfig(
    data=DendriticConfig(n_cells=2, n_spines=3, n_steps=2_000),
    training=dataclasses.replace(FULL.training, n_steps=20, eval_every=10),
    sleep_steps=60,
    final_sleep_steps=40,
    sleep_batch=8,
    example_s=(0.0, 12.0),
)
