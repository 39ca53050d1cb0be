"""Snapshots of a module's state: copies that later training steps do not change.

A training loop that keeps evaluated states (for model selection, or to score the network at a step it has
already passed) must copy them: ``state_dict()`` returns views of the live parameters.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["cpu_state"]


def cpu_state(module: nn.Module) -> dict[str, Tensor]:
    """A detached CPU copy of ``module``'s state dict, for keeping or saving while training goes on.

    On CPU, a clone; on CUDA, the copy to host memory, which keeps a run's many snapshots off the GPU.
    """
    return {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
