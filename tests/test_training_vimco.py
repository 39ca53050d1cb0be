"""Tests of the VIMCO fit: chunks, per-cell evaluation and updates, checkpoints, a smoke run.

Mirrors :mod:`spikebook.training.chunks`, :mod:`spikebook.training.per_cell` and
:mod:`spikebook.training.vimco` (the first two share this file's tiny models and are exercised by the third).
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from factories import scf_cells

from spikebook.data.simulate import SimulationConfig, simulate
from spikebook.generative import SCF, BernoulliPrior
from spikebook.metrics import binned_correlation
from spikebook.objectives import vimco_surrogate
from spikebook.recognition import DSF, DSNF, CNNConfig, RNNConfig
from spikebook.saving import load_checkpoint
from spikebook.training import (
    PerCellAdam,
    VimcoConfig,
    chunk_traces,
    fit_vimco,
    per_step_log_likelihood,
)
from spikebook.training import vimco as training_vimco
from spikebook.training.chunks import _gather, _log_weights
from spikebook.training.per_cell import _is_per_cell

TINY_CNN = CNNConfig(filters=(8, 8), widths=(11, 11), out_width=5)
SMALL = VimcoConfig(k_samples=8, chunk_len=60, buffers=(20, 10), batch_size=4, n_steps=4, eval_every=2)


def _per_cell(model: SCF, n_cells: int) -> dict[str, bool]:
    return {n: _is_per_cell(n, p, n_cells) for n, p in model.named_parameters()}


# ------------------------------------------------------------------ config


def test_config_defaults_are_the_papers() -> None:
    c = VimcoConfig()
    assert (c.k_samples, c.chunk_len, c.buffers, c.batch_size) == (64, 300, (100, 50), 20)
    assert (c.lr, c.clip_norm, c.lr_decay, c.baseline) == (1e-3, 0.02, 0.995, "arithmetic")
    assert c.scored_len == 150


@pytest.mark.parametrize(
    "kwargs",
    [
        {"k_samples": 1},
        {"chunk_len": 150, "buffers": (100, 50)},
        {"buffers": (-1, 5)},
        {"lr": 0.0},
        {"lr_decay": 1.5},
        {"baseline": "harmonic"},
        {"batch_size": 0},
        {"clip_norm": -1.0},
        {"patience": 0},
        {"patience": 2.5},
        {"min_steps": -1},
        {"n_steps": True},
        {"buffers": (1, 2, 3)},
        {"gen_lr": math.inf},
        {"lr": math.inf},  # issue 33 row 9
        {"clip_norm": math.nan},
        {"selection": "last"},
    ],
)
def test_config_rejects_bad_values(kwargs: dict) -> None:
    with pytest.raises((TypeError, ValueError)):  # TypeError: not an int at all (spikebook.validate)
        VimcoConfig(**kwargs)


def test_config_accepts_unclipped_gradients_and_canonical_ints() -> None:
    import numpy as np

    config = VimcoConfig(clip_norm=math.inf, n_steps=np.int64(7), buffers=[np.int64(3), 2])
    assert config.clip_norm == math.inf
    assert type(config.n_steps) is int and config.buffers == (3, 2) and type(config.buffers[0]) is int


# ------------------------------------------------------------------ chunking


@pytest.mark.parametrize("n_steps", [1000, 1010, 300])
def test_chunks_score_every_central_bin(n_steps: int) -> None:
    chunk_len, (b0, b1) = 300, (100, 50)
    chunks = chunk_traces(2, 3, n_steps, chunk_len, (b0, b1))
    starts = chunks.start[(chunks.trace == 0) & (chunks.cell == 0)]
    assert len(chunks.start) == 2 * 3 * len(starts)
    counts = torch.zeros(n_steps, dtype=torch.long)
    for s in starts.tolist():
        assert 0 <= s and s + chunk_len <= n_steps
        counts[s + b0 : s + chunk_len - b1] += 1
    assert (counts[b0 : n_steps - b1] >= 1).all()
    assert (counts[:b0] == 0).all() and (counts[n_steps - b1 :] == 0).all()
    if (n_steps - chunk_len) % (chunk_len - b0 - b1) == 0:
        assert (counts[b0 : n_steps - b1] == 1).all()  # a perfect fit: each scored bin exactly once
    else:  # only the end-aligned last chunk overlaps its predecessor
        assert (counts > 1).sum() < chunk_len - b0 - b1


def test_gather_returns_each_chunks_own_cell_and_trace() -> None:
    traces = torch.randn(2, 3, 500)
    chunks = chunk_traces(2, 3, 500, 100, (20, 10))
    idx = torch.arange(len(chunks.start))
    f = _gather(traces, chunks, idx, 100)  # (N, L)
    assert f.shape == (len(idx), 100)
    for i in idx.tolist():
        r, c, s = chunks.trace[i], chunks.cell[i], chunks.start[i]
        torch.testing.assert_close(f[i], traces[r, c, s : s + 100])


# ------------------------------------------------------------------ per-cell evaluation


def test_per_step_log_likelihood_matches_single_cell_models() -> None:
    """Oracle: indexing raw parameters per chunk equals a one-cell model built from that cell's values."""
    n_cells = 3
    model = scf_cells(n_cells).double()
    cells = torch.tensor([2, 0, 2, 1])
    spikes = (torch.rand(5, 4, 80) < 0.05).double()  # (K, B, L)
    f = torch.randn(4, 80, dtype=torch.float64)
    got = per_step_log_likelihood(model, f, spikes, cells, _per_cell(model, n_cells))
    assert got.shape == (5, 4, 80)
    for b, c in enumerate(cells.tolist()):
        one = SCF(
            gamma=model.gamma[c], alpha=model.alpha[c], beta=model.beta[c], sigma=model.sigma[c]
        ).double()
        torch.testing.assert_close(got[:, b].sum(-1), one.log_prob(f[b], spikes[:, b]))
    got.sum().backward()
    assert model.raw_alpha.grad[[0, 1, 2]].abs().min() > 0
    model.zero_grad()
    per_step_log_likelihood(model, f[:1], spikes[:, :1], cells[:1]).sum().backward()  # cell 2 only
    assert (model.raw_alpha.grad[:2] == 0).all() and model.raw_alpha.grad[2] != 0


def test_log_weights_without_buffers_match_the_models_log_probs() -> None:
    """Oracle: with no buffers the scored sums are the models' own log_prob (+ prior)."""
    config = VimcoConfig(k_samples=6, chunk_len=50, buffers=(0, 0))
    rec, model = DSF(TINY_CNN).double(), scf_cells(2).double()
    prior = BernoulliPrior(torch.tensor([1.0, 2.0]), fs=60.0).double()
    f = torch.randn(3, 50, dtype=torch.float64)
    cells = torch.tensor([1, 1, 1])
    gen = torch.Generator().manual_seed(3)
    log_p, log_q = _log_weights(rec, model, prior, f, cells, config.k_samples, config.buffers,
                                _per_cell(model, 2), gen)
    spikes = rec.sample(f, 6, torch.Generator().manual_seed(3))
    torch.testing.assert_close(log_q, rec.log_prob(spikes, f))
    one = SCF(gamma=model.gamma[1], alpha=model.alpha[1], beta=model.beta[1], sigma=model.sigma[1]).double()
    expected = one.log_prob(f, spikes) + BernoulliPrior(2.0, fs=60.0).double().log_prob(spikes)
    torch.testing.assert_close(log_p, expected)


def test_log_weights_of_dsnf_score_only_central_bins() -> None:
    """DS-NF (autoregressive): log q over the scored bins is the teacher-forced conditionals there."""
    config = VimcoConfig(k_samples=4, chunk_len=40, buffers=(10, 5))
    rec = DSNF(RNNConfig(filters=(4,), widths=(5,), n_features=3, feature_width=3, n_backward=4, n_forward=4))
    rec, model = rec.double(), scf_cells(1).double()
    f = torch.randn(2, 40, dtype=torch.float64)
    cells = torch.zeros(2, dtype=torch.long)
    _, log_q = _log_weights(
        rec,
        model,
        BernoulliPrior(0.02 * 60, 60.0),
        f,
        cells,
        config.k_samples,
        config.buffers,
        _per_cell(model, 1),
        torch.Generator().manual_seed(0),
    )
    spikes = rec.sample(f, 4, torch.Generator().manual_seed(0))
    logits = rec(f, spikes)  # (K, B, L)
    expected = torch.distributions.Bernoulli(logits=logits[..., 10:35]).log_prob(spikes[..., 10:35]).sum(-1)
    torch.testing.assert_close(log_q, expected)
    assert not torch.allclose(log_q, rec.log_prob(spikes, f))  # the buffers are left out


def test_a_step_on_cell_0_leaves_cell_1_unchanged() -> None:
    config = VimcoConfig(k_samples=8, chunk_len=60, buffers=(20, 10))
    rec, model = DSF(TINY_CNN), scf_cells(2)
    per_cell = _per_cell(model, 2)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    opt = PerCellAdam(params, per_cell, 2, lr=0.05)
    f = torch.randn(4, 60) * 0.1

    def step(cell: int) -> None:
        cells = torch.full((4,), cell)
        log_p, log_q = _log_weights(rec, model, BernoulliPrior(1.0, 60.0), f, cells, config.k_samples,
                                    config.buffers, per_cell, None)
        opt.zero_grad()
        (-vimco_surrogate(log_p, log_q).mean()).backward()
        opt.step(cells)

    before = {n: p.detach().clone() for n, p in params.items()}
    step(0)
    for n, p in params.items():
        assert torch.equal(p[1], before[n][1]), n  # cell 1 untouched
        assert not torch.equal(p[0], before[n][0]), n  # cell 0 moved
    after_0 = {n: p.detach().clone() for n, p in params.items()}
    step(1)  # cell 0 has Adam momentum now, but must not move on a cell-1 batch
    for n, p in params.items():
        assert torch.equal(p[0], after_0[n][0]), n
    assert opt.state["raw_alpha"]["t"].tolist() == [1, 1]


# ------------------------------------------------------------------ fit_vimco


@pytest.fixture(scope="module")
def small_data() -> torch.Tensor:
    return simulate(SimulationConfig(n_cells=2, n_steps=200, rates_hz=(1.0, 2.0)), seed=1).fluorescence


def test_checkpoint_round_trip_and_resume(tmp_path, small_data: torch.Tensor) -> None:
    """Resuming from a checkpoint continues the step count and reproduces an uninterrupted run."""
    path = tmp_path / "run.pt"
    torch.manual_seed(0)
    fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, seed=5, checkpoint_path=path, progress=False)
    ckpt = load_checkpoint(path)
    assert ckpt["step"] == 4 and ckpt["config"] == dataclasses.asdict(SMALL)

    # Loading a finished checkpoint trains nothing and restores its states.
    torch.manual_seed(1)
    rec, gen = DSF(TINY_CNN), scf_cells(2)
    res = fit_vimco(rec, gen, small_data, SMALL, seed=5, checkpoint_path=path, progress=False)
    assert res.history.steps == [0, 2, 4]
    best = ckpt["best_state"]
    for k, v in rec.state_dict().items():
        torch.testing.assert_close(v, best["recognition"][k])

    # Continue to 8 steps; compare with an uninterrupted 8-step run.
    longer = dataclasses.replace(SMALL, n_steps=8)
    fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, longer, seed=5, checkpoint_path=path, progress=False)
    resumed = load_checkpoint(path)
    assert resumed["step"] == 8 and resumed["history"][0] == [0, 2, 4, 6, 8]
    torch.manual_seed(0)
    path2 = tmp_path / "straight.pt"
    fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, longer, seed=5, checkpoint_path=path2, progress=False)
    straight = load_checkpoint(path2)
    for part in ("recognition", "generative"):
        for k, v in straight[part].items():
            torch.testing.assert_close(resumed[part][k], v)

    assert resumed["seed"] == 5
    with pytest.raises(ValueError, match="seed 5, not 6"):  # another seed's run is never continued
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, longer, seed=6, checkpoint_path=path, progress=False)
    with pytest.raises(ValueError, match="config"):
        fit_vimco(
            DSF(TINY_CNN),
            scf_cells(2),
            small_data,
            dataclasses.replace(SMALL, lr=0.1),
            checkpoint_path=path,
            progress=False,
        )


@pytest.mark.parametrize(
    ("patience", "min_steps", "steps", "best"),
    [(6, 0, [0, 2, 4, 6, 8], 2), (6, 10, [0, 2, 4, 6, 8, 10], 2), (None, 0, list(range(0, 15, 2)), 12)],
)
def test_patience_stops_once_the_heldout_bound_stalls(monkeypatch, small_data, patience, min_steps, steps, best):
    """With ``patience``, training stops at the first evaluation ``patience`` steps after the best one, not
    before ``min_steps``."""
    bounds = iter([-10.0, -5.0, -6.0, -7.0, -8.0, -9.0, -1.0, -3.0])  # scripted held-out bounds
    monkeypatch.setattr(training_vimco, "_heldout_bound", lambda *args: (next(bounds), 0.0))
    config = dataclasses.replace(SMALL, n_steps=14, eval_every=2, patience=patience, min_steps=min_steps)
    result = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, config, progress=False)
    assert result.history.steps == steps and result.best_step == best


def test_a_run_that_stopped_early_resumes_as_stopped(monkeypatch, tmp_path, small_data) -> None:
    bounds = iter([-10.0, -5.0, -6.0, -7.0, -8.0])  # a resumed run that trained on would exhaust these
    monkeypatch.setattr(training_vimco, "_heldout_bound", lambda *args: (next(bounds), 0.0))
    config = dataclasses.replace(SMALL, n_steps=14, eval_every=2, patience=6)
    path = tmp_path / "run.pt"
    fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, config, checkpoint_path=path, progress=False)
    again = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, config, checkpoint_path=path, progress=False)
    assert again.history.steps == [0, 2, 4, 6, 8] and again.best_step == 2


def test_a_checkpoint_without_a_field_of_the_resumable_record_is_refused(tmp_path, small_data) -> None:
    """A file at ``checkpoint_path`` that lacks part of the record (e.g. written by another program) is
    refused by name before any step, not half-resumed."""
    path = tmp_path / "run.pt"
    fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, seed=5, checkpoint_path=path, progress=False)
    ckpt = load_checkpoint(path)
    del ckpt["states"], ckpt["seed"]
    torch.save(ckpt, path)
    with pytest.raises(ValueError, match="not a resumable fit_vimco checkpoint .no seed, states"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, seed=5, checkpoint_path=path, progress=False)


def test_an_unwritable_checkpoint_path_fails_before_training(tmp_path, monkeypatch, small_data) -> None:
    """Issue 33 row 3: the path is checked before the first step, and the error names it."""
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(training_vimco._VimcoRun, "train_step", lambda self: pytest.fail("trained"))
    with pytest.raises(NotADirectoryError, match="file"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, checkpoint_path=tmp_path / "file" / "run.pt",
                  progress=False)


def test_a_checkpoint_made_on_other_data_is_never_resumed(tmp_path, small_data) -> None:
    """Issue 33 row 10: same config, seed and shapes, other traces (or held-out traces): refused by name."""
    path = tmp_path / "run.pt"
    fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, seed=5, checkpoint_path=path, progress=False)
    with pytest.raises(ValueError, match="other data"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), 2 * small_data + 1, SMALL, seed=5, checkpoint_path=path, progress=False)
    with pytest.raises(ValueError, match="other data"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, seed=5, validation=small_data, checkpoint_path=path,
                  progress=False)
    # the same data in another dtype or memory layout is the same data
    res = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data.double().contiguous(), SMALL, seed=5, checkpoint_path=path,
                    progress=False)
    assert res.history.steps == [0, 2, 4]


def test_one_se_selection_returns_the_state_of_the_chosen_step(monkeypatch, small_data) -> None:
    """``selection="one_se"`` loads the state trained up to the chosen step, and patience counts from it."""
    bounds = iter([-10.0, -5.0, -6.0, -5.5, -8.0, -9.0, -9.5])  # best at step 2; within its s.e. of 1: 2-6
    monkeypatch.setattr(training_vimco, "_heldout_bound", lambda *args: (next(bounds), 1.0))
    config = dataclasses.replace(SMALL, n_steps=14, eval_every=2, patience=6, selection="one_se")
    torch.manual_seed(0)
    result = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, config, progress=False)
    # "best" stops at step 8, 6 steps after step 2 (test above); "one_se" at step 12, 6 steps after step 6
    assert result.history.steps == [0, 2, 4, 6, 8, 10, 12] and result.history.heldout_se == [1.0] * 7
    assert result.best_step == 6 and result.best_bound == -5.5

    # the same seeded run whose best bound is at step 6 holds the step-6 weights
    bounds = iter([-10.0, -9.0, -8.0, -7.0])
    torch.manual_seed(0)
    stop_at_six = dataclasses.replace(config, n_steps=6, selection="best")
    six = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, stop_at_six, progress=False)
    assert six.best_step == 6
    for k, v in six.recognition.state_dict().items():
        torch.testing.assert_close(result.recognition.state_dict()[k], v, rtol=0, atol=0)


def test_fit_vimco_callback_sees_every_evaluation_with_the_state_of_its_step(tmp_path, small_data) -> None:
    """The callback runs at every evaluation (step 0 too) on the network in eval mode, as it is at that step;
    it does not change the run, and a resumed run does not repeat the evaluations already made."""
    seen: list[tuple[int, bool, dict]] = []
    rec = DSF(TINY_CNN)

    def record(step: int) -> None:
        seen.append((step, rec.training, {k: v.clone() for k, v in rec.state_dict().items()}))

    longer = dataclasses.replace(SMALL, n_steps=8)
    torch.manual_seed(0)
    result = fit_vimco(rec, scf_cells(2), small_data, longer, seed=5, progress=False, callback=record)
    assert [s for s, _, _ in seen] == result.history.steps == [0, 2, 4, 6, 8]
    assert not any(training for _, training, _ in seen)
    torch.manual_seed(0)
    plain = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, longer, seed=5, progress=False)
    assert result.history == plain.history
    torch.manual_seed(0)
    four = fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, dataclasses.replace(SMALL, selection="one_se"), seed=5,
                     checkpoint_path=tmp_path / "run.pt", progress=False)
    one_se_states = load_checkpoint(tmp_path / "run.pt")["states"]
    for k, v in one_se_states[-1]["recognition"].items():  # the state at step 4 of the same seeded run
        torch.testing.assert_close(seen[2][2][k], v, rtol=0, atol=0)
    assert four.history.steps == [0, 2, 4]
    # resumed from step 4, the callback sees only the new evaluations
    seen.clear()
    fit_vimco(rec, scf_cells(2), small_data, dataclasses.replace(longer, selection="one_se"), seed=5,
              checkpoint_path=tmp_path / "run.pt", progress=False, callback=record)
    assert [s for s, _, _ in seen] == [6, 8]


def test_bad_inputs_raise(small_data: torch.Tensor) -> None:
    nan = small_data.clone()
    nan[0, 1, 7] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), nan, SMALL, progress=False)
    with pytest.raises(ValueError, match="shorter"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data[..., :50], SMALL, progress=False)
    with pytest.raises(ValueError, match="cell"):
        fit_vimco(DSF(TINY_CNN), scf_cells(3), small_data, SMALL, progress=False)
    with pytest.raises(ValueError, match="cells"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, validation=small_data[:, :1], progress=False)
    with pytest.raises(ValueError, match="prior"):
        fit_vimco(
            DSF(TINY_CNN),
            scf_cells(2),
            small_data,
            SMALL,
            prior=BernoulliPrior(torch.ones(3), 60.0),
            progress=False,
        )
    with pytest.raises(ValueError):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data[0], SMALL, progress=False)  # (C, T), not (R, C, T)
    with pytest.raises(ValueError, match="seed"):
        fit_vimco(DSF(TINY_CNN), scf_cells(2), small_data, SMALL, seed=-1, progress=False)


def test_smoke_training_improves_bound_and_finds_spikes() -> None:
    """300 steps on 3 cells of clean simulated SCF data: the held-out bound rises, spikes are found."""
    ranges = {
        "gamma": (0.94, 0.96),
        "delta": (1.0, 1.0),
        "alpha": (0.4, 0.5),
        "beta": (-0.3, -0.3),
        "sigma": (0.03, 0.04),
    }
    data = simulate(SimulationConfig(n_cells=3, n_steps=3000, rates_hz=(1.0, 1.0)), seed=0, ranges=ranges)
    train, heldout = data.fluorescence[:1], data.fluorescence[1:]
    gen = SCF(
        gamma=torch.full((3, 1), 0.93),
        alpha=torch.full((3,), 0.3),
        beta=torch.full((3,), -0.25),
        sigma=torch.full((3,), 0.1),
    )
    gen.raw_delta.requires_grad_(False)
    config = VimcoConfig(n_steps=300, eval_every=50, batch_size=10)
    res = fit_vimco(
        DSF(TINY_CNN),
        gen,
        train,
        config,
        BernoulliPrior(1.0, 60.0),
        seed=0,
        validation=heldout,
        progress=False,
    )
    bounds = res.history.heldout_bound
    assert res.history.steps == [0, 50, 100, 150, 200, 250, 300]
    assert res.best_bound == max(bounds) and bounds[-1] > bounds[0] + 1.0  # nats per scored bin
    with torch.no_grad():
        marginals = res.recognition.marginals(heldout[0])  # (C, T)
    r = binned_correlation(marginals, data.spikes[1], factor=1)
    assert r.min() > 0.5, r
    assert (gen.sigma < 0.08).all()  # noise level learnt: from 0.1 towards the true 0.03-0.04
