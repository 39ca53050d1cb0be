"""Tests of spikebook.saving: atomic writes of plain data, and loaders that never run code from a file."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import torch

from spikebook import pretrained, saving
from spikebook.experiments.gcamp import crossval, diagnostics
from spikebook.generative import SCF
from spikebook.recognition import DSF, CNNConfig
from spikebook.saving import CheckpointError, check_plain, checkpoint_name, load_checkpoint, save_atomic
from spikebook.training import VimcoConfig, fit_vimco
from spikebook.training.supervised import load_models


class _Planted:
    """Pickles as a call that creates ``marker``: what a hostile checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def _real_checkpoint() -> dict:
    return {"recognition": DSF().state_dict(), "history": ([0, 10], [-1.0, -0.5], [-1.1, -0.6], [0.1, 0.1]),
            "best_step": 10, "recipe": {"recognition": "DSF", "fs": 60.0}}


def test_save_atomic_round_trip_overwrite_and_no_leftovers(tmp_path):
    path = tmp_path / "sub" / "state.pt"  # the folder does not exist yet
    assert save_atomic({"w": torch.arange(3)}, path) == path
    assert torch.equal(load_checkpoint(path)["w"], torch.arange(3))
    save_atomic({"w": torch.ones(2)}, str(path))  # replaces the old file
    assert torch.equal(load_checkpoint(path)["w"], torch.ones(2))
    assert sorted(p.name for p in path.parent.iterdir()) == ["state.pt"]  # no temporary file left
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask  # not mkstemp's private 0o600


def test_checkpoint_names_keep_seeds_and_quick_runs_apart():
    names = {checkpoint_name("net", quick, seed) for quick in (False, True) for seed in (0, 1, 12)}
    assert len(names) == 6 and checkpoint_name("net") == "net.pt"
    assert checkpoint_name("net", quick=True, seed=3) == "net-seed3-quick.pt"
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        checkpoint_name("net", seed=-1)
    for bad in (0.0, 1.0, True, "1"):  # not an int: the type is wrong
        with pytest.raises(TypeError, match="seed must be a non-negative int"):
            checkpoint_name("net", seed=bad)


# ------------------------------------------------------------------ what may be saved


class _Pair(NamedTuple):
    a: int
    b: int


@dataclasses.dataclass(frozen=True)
class _Config:
    lr: float = 0.1


@pytest.mark.parametrize(
    ("obj", "where", "kind"),
    [
        ({"history": [1.0, np.float64(2.0)]}, r"checkpoint\['history'\]\[1\]", "numpy.float64"),
        ({"a": {"b": np.zeros(2)}}, r"checkpoint\['a'\]\['b'\]", "numpy.ndarray"),
        ({"history": _Pair(1, 2)}, r"checkpoint\['history'\]", "_Pair"),
        ({"config": _Config()}, r"checkpoint\['config'\]", "_Config"),
        ({np.int64(1): 0}, "checkpoint has a key", "numpy.int64"),
        ([_Planted(Path("never"))], r"checkpoint\[0\]", "_Planted"),
    ],
)
def test_save_atomic_refuses_what_load_would_refuse_and_writes_nothing(tmp_path, obj, where, kind):
    path = tmp_path / "run.pt"
    with pytest.raises(TypeError, match=rf"{where}.*{kind}|{where}.*not plain data"):
        save_atomic(obj, path)
    assert list(tmp_path.iterdir()) == []


def test_check_plain_accepts_what_the_package_saves():
    rec_opt = torch.optim.Adam(DSF().parameters())
    check_plain({**_real_checkpoint(), "optimizer": rec_opt.state_dict(), "generator": torch.Generator().get_state(),
                 "config": dataclasses.asdict(VimcoConfig()), "none": None, "shape": torch.Size([2]),
                 "dtype": torch.float32, "scan": {0: 0.5, 100: 0.6}, "neurons": [("train", 4, 0)]})


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    save_atomic({"w": torch.zeros(3)}, path)

    def broken_save(obj, file):
        Path(file).write_bytes(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(saving.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_atomic({"w": torch.ones(3)}, path)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]
    assert torch.equal(load_checkpoint(path)["w"], torch.zeros(3))


def test_concurrent_writers_of_two_files_in_one_folder_keep_their_own_content(tmp_path):
    """``run.pt`` and ``run.resume`` (one stem, two suffixes) written at the same time from two threads: each
    temporary file is unique, so neither write lands in the other's file or fails on a vanished one."""
    paths = {"final": tmp_path / "run.pt", "resume": tmp_path / "run.resume"}
    n_rounds = 60
    errors: list[BaseException] = []
    start = threading.Barrier(len(paths))

    def writer(who: str) -> None:
        try:
            start.wait()
            for i in range(n_rounds):
                save_atomic({"who": who, "round": i, "w": torch.full((20_000,), float(i))}, paths[who])
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(who,)) for who in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for who, path in paths.items():
        state = load_checkpoint(path)
        assert state["who"] == who and state["round"] == n_rounds - 1
        assert torch.equal(state["w"], torch.full((20_000,), float(n_rounds - 1)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt", "run.resume"]


def test_concurrent_writers_of_one_file_leave_one_whole_version(tmp_path):
    path = tmp_path / "run.pt"

    def writer(who: str) -> None:
        for i in range(30):
            save_atomic({"who": who, "w": torch.full((20_000,), float(i))}, path)

    threads = [threading.Thread(target=writer, args=(who,)) for who in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = load_checkpoint(path)
    assert state["who"] in ("a", "b") and torch.equal(state["w"], torch.full((20_000,), 29.0))
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]


# ------------------------------------------------------------------ every loader refuses a bad file


TINY_CNN = CNNConfig(filters=(8, 8), widths=(11, 11), out_width=5)


def _fit_vimco_resume(path: Path) -> None:
    n_cells = 2
    generative = SCF(gamma=torch.full((n_cells, 1), 0.95), alpha=torch.full((n_cells,), 0.4),
                     beta=torch.full((n_cells,), -0.25), sigma=torch.full((n_cells,), 0.05))
    config = VimcoConfig(k_samples=4, chunk_len=60, buffers=(20, 10), batch_size=2, n_steps=2, eval_every=2)
    fit_vimco(DSF(TINY_CNN), generative, torch.zeros(1, n_cells, 200), config, checkpoint_path=path,
              progress=False)


def _loaders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[Callable[[], object], Path]]:
    """Each loader of the package, with the file it reads."""
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    fold = crossval.FoldRun("GCaMP6s", "DS-F", 0).path(tmp_path)
    return {
        "load_checkpoint": (lambda: load_checkpoint(tmp_path / "plain.pt"), tmp_path / "plain.pt"),
        "training.supervised.load_models": (lambda: load_models(tmp_path / "models.pt"), tmp_path / "models.pt"),
        "pretrained.load (DeepSpike)": (lambda: pretrained.load("dsf-scf-60hz"),
                                        pretrained.checkpoint_path("dsf-scf-60hz")),
        "pretrained.load (supervised)": (lambda: pretrained.load("attended-inception-spikefinder"),
                                         pretrained.checkpoint_path("attended-inception-spikefinder")),
        "fit_vimco resume": (lambda: _fit_vimco_resume(tmp_path / "run.resume"), tmp_path / "run.resume"),
        "gcamp.crossval.load_fold": (lambda: crossval.load_fold(crossval.FoldRun("GCaMP6s", "DS-F", 0),
                                                                results_dir=tmp_path), fold),
        "gcamp.diagnostics.learning_curves": (lambda: diagnostics.learning_curves("GCaMP6s", "DS-F", "constant",
                                                                                  results_dir=tmp_path), fold),
    }


LOADERS = ["load_checkpoint", "training.supervised.load_models", "pretrained.load (DeepSpike)",
           "pretrained.load (supervised)", "fit_vimco resume", "gcamp.crossval.load_fold",
           "gcamp.diagnostics.learning_curves"]


@pytest.mark.parametrize("loader", LOADERS)
def test_a_planted_object_is_refused_and_never_executed(tmp_path, monkeypatch, loader):
    load, path = _loaders(tmp_path, monkeypatch)[loader]
    marker = tmp_path / "executed"
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**_real_checkpoint(), "models": {}, "meta": {}, "payload": _Planted(marker)}, path)
    with pytest.raises(CheckpointError, match=rf"{re.escape(str(path))} carries objects that are not plain data "
                                              r"\([\w.]+\); it was refused and nothing in it was executed"):
        load()
    assert not marker.exists()


def test_the_planted_object_does_run_code_when_unpickled_unsafely(tmp_path):
    """The control: the payload of the test above is live, so its refusal is what kept the marker away."""
    marker = tmp_path / "executed"
    torch.save({"payload": _Planted(marker)}, tmp_path / "planted.pt")
    torch.load(tmp_path / "planted.pt", weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("truncated", "is truncated or corrupt"),
        ("text", "is not a spikebook checkpoint"),
        ("empty", "is empty"),
        ("list", "is not a spikebook checkpoint: it holds a list"),
    ],
)
def test_a_truncated_or_foreign_file_is_an_error_naming_it(tmp_path, monkeypatch, loader, content, message):
    load, path = _loaders(tmp_path, monkeypatch)[loader]
    real = save_atomic(_real_checkpoint(), tmp_path / "real.pt").read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if content == "truncated":
        path.write_bytes(real[: len(real) // 2])
    elif content == "text":
        path.write_text("step,bound\n0,-1.5\n")
    elif content == "empty":
        path.write_bytes(b"")
    else:
        torch.save([1, 2], path)
    with pytest.raises(CheckpointError, match=message) as raised:
        load()
    assert str(path) in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_missing_file_is_still_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.pt")


def test_check_writable_creates_nothing_and_names_an_unwritable_path(tmp_path):
    """Issue 33 row 3: a save is checked before training; the check leaves no file or folder behind."""
    target = tmp_path / "new" / "deeper" / "run.pt"
    assert saving.check_writable(target) == target
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(NotADirectoryError, match=re.escape(str(tmp_path / "notes.txt"))):
        saving.check_writable(tmp_path / "notes.txt" / "run.pt")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        saving.check_writable(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes to read-only folders")
def test_check_writable_refuses_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=re.escape(str(folder))):
            saving.check_writable(folder / "run.pt")
    finally:
        folder.chmod(0o700)
