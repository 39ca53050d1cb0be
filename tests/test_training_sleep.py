"""Tests of spikebook.training.sleep: the sleep phase of wake-sleep."""

from __future__ import annotations

import pytest
import torch

from spikebook.generative import SCF, BernoulliPrior
from spikebook.recognition import DSF, DSNF, CNNConfig, RNNConfig
from spikebook.training import fit_sleep

TINY_CNN = CNNConfig(filters=(8, 8), widths=(11, 11), out_width=5)


def _two_cells() -> SCF:
    """A two-cell model used as it is (no gradient)."""
    return SCF(gamma=torch.tensor([[0.92], [0.96]]), alpha=torch.tensor([0.3, 0.5]),
               beta=torch.full((2,), -0.25), sigma=torch.tensor([0.05, 0.1])).requires_grad_(False)


@pytest.mark.parametrize("network", ["DSF", "DSNF"])
def test_fit_sleep_step_loss_is_minus_log_q_per_bin_of_the_model_draw(network):
    """The first loss is −log q(s | f) per bin of the untrained network on the pair (s, f) that fit_sleep
    draws (prior, then model, from one generator seeded with ``seed``); then the network changes."""
    torch.manual_seed(0)
    net = DSF(TINY_CNN) if network == "DSF" else DSNF(RNNConfig(filters=(4,), widths=(5,), n_features=3,
                                                                feature_width=3, n_backward=4, n_forward=4))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    generative, prior = _two_cells(), BernoulliPrior(torch.tensor([3.0, 6.0]), 60.0)
    losses = fit_sleep(net, generative, prior, n_steps=2, batch_size=3, chunk_len=50, lr=1e-2, seed=7)

    generator = torch.Generator().manual_seed(7)
    events = prior.sample((3, 2, 50), generator)  # (B, C, L)
    f = generative.sample(events, generator)
    fresh = DSF(TINY_CNN) if network == "DSF" else DSNF(net.config)
    fresh.load_state_dict(before)
    events, f = events.flatten(0, 1), f.flatten(0, 1)  # (B * C, L), as fit_sleep feeds the network
    with torch.no_grad():
        expected = -fresh.log_prob(events, f).sum() / events.numel()
        assert losses[0] == pytest.approx(float(expected), rel=1e-5)
        if network == "DSF":  # for a factorized q it is the binary cross-entropy of the logits
            bce = torch.nn.functional.binary_cross_entropy_with_logits(fresh(f), events)
            assert losses[0] == pytest.approx(float(bce), rel=1e-5)
    assert any(not torch.equal(before[k], v) for k, v in net.state_dict().items())
    with pytest.raises(ValueError, match="n_steps"):
        fit_sleep(net, generative, prior, n_steps=-1)


def test_fit_sleep_callback_sees_every_step_and_a_snapshot_is_the_shorter_run():
    """The callback gets 1 .. n_steps; the state after step 2 of a 4-step run is where a 2-step run ends."""
    generative, prior = _two_cells(), BernoulliPrior(torch.tensor([3.0, 6.0]), 60.0)
    torch.manual_seed(0)
    start = DSF(TINY_CNN).state_dict()
    nets = [DSF(TINY_CNN), DSF(TINY_CNN)]
    for net in nets:
        net.load_state_dict(start)
    seen, snapshots = [], {}

    def keep(step: int) -> None:
        seen.append(step)
        snapshots[step] = {k: v.clone() for k, v in nets[0].state_dict().items()}

    fit_sleep(nets[0], generative, prior, 4, batch_size=2, chunk_len=40, lr=1e-2, seed=3, callback=keep)
    fit_sleep(nets[1], generative, prior, 2, batch_size=2, chunk_len=40, lr=1e-2, seed=3)
    assert seen == [1, 2, 3, 4]
    for k, v in nets[1].state_dict().items():
        assert torch.equal(snapshots[2][k], v)
        assert torch.equal(snapshots[4][k], nets[0].state_dict()[k])
    assert any(not torch.equal(snapshots[2][k], snapshots[4][k]) for k in snapshots[2])
