"""spikebook.data.paths and spikebook.data.remote: where the data live, and the one download path.

No test touches the network: downloads go to a mirror on 127.0.0.1 (the ``serve`` fixture) that holds a
copy of part of the data folder, through pooch's real downloader and the real digest checks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from spikebook.data import paths, remote
from spikebook.data.groundtruth import fetch_chen2013, load_chen2013
from spikebook.data.spikefinder import fetch_spikefinder, read_spikefinder_csv

pytest.importorskip("pooch")

DEAD = "http://127.0.0.1:9/"  # the discard port: nothing listens there


def test_git_blob_id_is_what_git_prints(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert remote.git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object hello.txt
    path.write_bytes(b"")
    assert remote.git_blob_id(path) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_every_file_on_hand_is_pinned_by_its_sha256(data_root: Path) -> None:
    patterns = ("cascade_chen2013/*/*.mat", "spikefinder/train/*.csv", "spikefinder/test/*.csv",
                "spikefinder/submissions/*/*.csv", "spikefinder/official_results/results_24_07_17.csv")
    book = set(remote.dataset_files("chen2013")) | set(remote.dataset_files("spikefinder"))
    on_hand = {p.relative_to(data_root).as_posix() for pattern in patterns for p in data_root.glob(pattern)} & book
    assert len(on_hand) == 18 + 22 + 8 + 1  # CASCADE; Spikefinder spikes and calcium; submissions; scores
    assert on_hand <= set(remote.FILES)
    for key, entry in remote.FILES.items():
        kind, _, value = entry.digest.partition(":")
        assert entry.source in remote.SOURCES
        if key in book:
            assert kind == "sha256" and hashlib.sha256((data_root / key).read_bytes()).hexdigest() == value, key
        else:  # only the Spikefinder calcium this book never had is pinned by its git blob id
            assert kind == "git-blob" and len(value) == 40 and key.endswith(".calcium.csv"), key
    assert sum(e.digest.startswith("git-blob:") for e in remote.FILES.values()) == 8
    assert book == on_hand  # the book's datasets are on hand, each with its digest
    assert len(remote.dataset_files("spikefinder-full")) == len(remote.dataset_files("spikefinder")) + 8


def test_data_root_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit, env, repo, cache = (tmp_path / name for name in ("explicit", "env", "repo", "cache"))
    for folder in (explicit, env):
        folder.mkdir()
    monkeypatch.setattr(paths, "REPOSITORY_DATA", repo)
    monkeypatch.setattr(paths, "cache_folder", lambda: cache)
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(env))
    assert paths.data_root(explicit) == explicit
    assert paths.data_root() == env
    monkeypatch.delenv(paths.DATA_ENV_VAR)
    assert paths.data_root() == cache and cache.is_dir()  # no repository data: the cache, created
    repo.mkdir()
    assert paths.data_root() == repo  # the repository's shared/data wins over the cache when present
    with pytest.raises(FileNotFoundError, match="nowhere.*does not exist"):
        paths.data_root(tmp_path / "nowhere")  # a mistyped folder is an error, not a new empty one
    monkeypatch.setenv(paths.DATA_ENV_VAR, str(tmp_path / "typo"))
    with pytest.raises(FileNotFoundError, match="SPIKEBOOK_DATA=.*typo"):
        paths.data_root()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        paths.data_root(tmp_path / "file")


@pytest.fixture
def mirror_folder(data_root: Path, tmp_path: Path) -> Path:
    """A copy of the Chen et al. recordings and two small Spikefinder parts, laid out as a data folder."""
    served = tmp_path / "served"
    for key in remote.FILES:
        if key.startswith(("cascade_chen2013/", "spikefinder/submissions/", "spikefinder/official_results/")):
            (served / key).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(data_root / key, served / key)
    return served


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".partial")]


def test_require_fills_an_empty_folder_verified_and_a_second_call_downloads_nothing(
    serve, mirror_folder: Path, tmp_path: Path, data_root: Path
) -> None:
    mirror = serve(mirror_folder)
    root = tmp_path / "fresh" / "data"
    assert remote.require("chen2013", root, progress=False) == root
    keys = remote.dataset_files("chen2013")
    assert sorted(p.lstrip("/") for p in mirror.requests) == sorted(keys)  # each file once, from the mirror
    mask = os.umask(0o022)
    os.umask(mask)
    for key in keys:
        assert remote.digest_matches(root / key, remote.FILES[key].digest)
        assert (root / key).stat().st_mode & 0o777 == 0o666 & ~mask  # readable as open() would make it
    here, there = load_chen2013("GCaMP6s", root=root), load_chen2013("GCaMP6s", root=data_root)
    assert len(here) == len(there) == 18
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.fluorescence, b.fluorescence)
        np.testing.assert_array_equal(a.spikes, b.spikes)
    remote.require("chen2013", root)
    fetch_chen2013(root)
    assert len(mirror.requests) == len(keys)  # nothing downloaded again
    assert fetch_spikefinder(root, parts=("submissions", "official_results")) == root / "spikefinder"
    for key in remote.FILES:
        if key.startswith(("spikefinder/submissions/", "spikefinder/official_")):
            assert (root / key).read_bytes() == (data_root / key).read_bytes()
    assert not leftovers(root)


def test_a_loader_fetches_a_dataset_its_folder_lacks(serve, mirror_folder: Path, tmp_path: Path) -> None:
    serve(mirror_folder)
    recordings = load_chen2013("GCaMP6f", root=tmp_path)  # the folder exists, cascade_chen2013/ does not
    assert len({r.neuron for r in recordings}) == 11


def test_a_corrupted_download_is_rejected_and_leaves_nothing(serve, mirror_folder: Path, tmp_path: Path) -> None:
    key = "spikefinder/submissions/bolte/4.test.spikes.csv"
    served = mirror_folder / key
    served.write_bytes(served.read_bytes()[:-10] + b"0000000000")
    serve(mirror_folder)
    with pytest.raises(ValueError, match="hash mismatch.*nothing was kept"):
        remote.fetch(key, tmp_path)
    assert not (tmp_path / key).exists() and not leftovers(tmp_path)


def test_an_interrupted_download_leaves_no_partial_file(
    serve, mirror_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "spikefinder/official_results/results_24_07_17.csv"
    mirror = serve(mirror_folder, cut=(key,))
    monkeypatch.setattr(remote.time, "sleep", lambda s: None)
    with pytest.raises(ConnectionError, match=f"could not download {mirror.url}{key}"):
        remote.fetch(key, tmp_path)
    assert len(mirror.requests) == remote.ATTEMPTS  # retried, then given up
    assert not (tmp_path / key).exists() and not leftovers(tmp_path)


def test_git_blob_digests_are_checked(serve, mirror_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serve(mirror_folder)
    key = "spikefinder/submissions/bolte/4.test.spikes.csv"
    blob = remote.FILES[key]._replace(digest=f"git-blob:{remote.git_blob_id(mirror_folder / key)}")
    monkeypatch.setitem(remote.FILES, key, blob)
    remote.fetch([key], tmp_path / "a")
    np.testing.assert_array_equal(read_spikefinder_csv(tmp_path / "a" / key), read_spikefinder_csv(mirror_folder / key))
    monkeypatch.setitem(remote.FILES, key, blob._replace(digest="git-blob:" + "0" * 40))
    with pytest.raises(ValueError, match="hash mismatch"):
        remote.fetch([key], tmp_path / "b")
    assert not (tmp_path / "b" / key).exists() and not leftovers(tmp_path / "b")


def test_a_file_the_user_has_is_never_removed_or_replaced(serve, mirror_folder: Path, tmp_path: Path) -> None:
    serve(mirror_folder)
    for key in ("spikefinder/submissions/bolte/4.test.spikes.csv", "spikefinder/train/1.train.calcium.csv"):
        mine = tmp_path / key  # the second is pinned by a git blob id, a file the mirror does not hold
        mine.parent.mkdir(parents=True, exist_ok=True)
        mine.write_text("my own notes\n")
        with pytest.raises(ValueError, match="left as it is.*overwrite=True"):
            remote.fetch(key, tmp_path)
        assert mine.read_text() == "my own notes\n"
    key = "spikefinder/submissions/bolte/4.test.spikes.csv"
    remote.fetch(key, tmp_path, overwrite=True)  # asked for: replaced by the verified file
    assert (tmp_path / key).read_bytes() == (mirror_folder / key).read_bytes()
    with pytest.raises(ValueError, match="not the file this book was computed on"):
        (tmp_path / "cascade_chen2013").mkdir()
        shutil.copytree(mirror_folder / "cascade_chen2013", tmp_path / "cascade_chen2013", dirs_exist_ok=True)
        next((tmp_path / "cascade_chen2013").rglob("*.mat")).write_bytes(b"not a mat file")
        remote.require("chen2013", tmp_path)


def test_offline_with_nothing_cached_the_error_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(remote.URL_ENV_VAR, DEAD)
    monkeypatch.setattr(remote.time, "sleep", lambda s: None)
    with pytest.raises(remote.DataUnavailableError) as info:
        remote.require("spikefinder", tmp_path)
    message = str(info.value)
    assert "'spikefinder'" in message and f"require('spikefinder', '{tmp_path}')" in message
    assert "\n" not in message and info.value._render_traceback_() == [f"DataUnavailableError: {message}"]
    assert not any(tmp_path.rglob("*.*"))  # nothing half-written


def test_urls_and_bad_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "spikefinder/test/4.test.spikes.csv"
    monkeypatch.delenv(remote.URL_ENV_VAR, raising=False)
    assert remote.url_of(key) == remote.SOURCES["spikefinder-raw"] + "truth/4.test.spikes.csv"
    monkeypatch.setenv(remote.URL_ENV_VAR, "http://mirror.example/data")
    assert remote.url_of(key) == f"http://mirror.example/data/{key}"
    for bad in ("md5:abc", "sha256:", "0" * 64):
        with pytest.raises(ValueError, match="digest must be"):
            remote.download(DEAD + "x", bad, tmp_path, "x")
    with pytest.raises(ValueError, match="no downloadable files under"):
        remote.fetch(["spikefinder/train/11.train.spikes.csv"], tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'spikefinders'.*chen2013"):
        remote.require("spikefinders", tmp_path)
    with pytest.raises(ValueError, match="indicators"):
        fetch_chen2013(tmp_path, indicators=("GCaMP7",))
