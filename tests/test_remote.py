"""spikebook.data.remote: the registry of downloadable files, their digests, and the download path.

No test touches the network: downloads go to a local HTTP server that serves the files on hand in each
source's layout, through the real pooch and the real digest checks.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from spikebook.data import remote
from spikebook.data.groundtruth import fetch_chen2013, load_chen2013
from spikebook.data.spikefinder import fetch_spikefinder, read_spikefinder_csv

pytest.importorskip("pooch")


def test_git_blob_id_is_what_git_prints(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    assert remote.git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object hello.txt
    path.write_bytes(b"")
    assert remote.git_blob_id(path) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_every_file_on_hand_is_pinned_by_its_sha256(data_root: Path) -> None:
    patterns = ("cascade_chen2013/*/*.mat", "spikefinder/train/*.csv", "spikefinder/test/*.csv",
                "spikefinder/submissions/*/*.csv", "spikefinder/official_results/results_24_07_17.csv")
    on_hand = {p.relative_to(data_root).as_posix() for pattern in patterns for p in data_root.glob(pattern)}
    assert len(on_hand) == 18 + 22 + 8 + 1  # CASCADE; Spikefinder spikes and calcium; submissions; scores
    assert on_hand <= set(remote.FILES)
    for key, entry in remote.FILES.items():
        kind, _, value = entry.digest.partition(":")
        assert entry.source in remote.SOURCES
        if key in on_hand:
            assert kind == "sha256" and hashlib.sha256((data_root / key).read_bytes()).hexdigest() == value, key
        else:  # only the Spikefinder calcium this book never had is pinned by its git blob id
            assert kind == "git-blob" and len(value) == 40 and key.endswith(".calcium.csv"), key
    assert sum(e.digest.startswith("git-blob:") for e in remote.FILES.values()) == 8


@pytest.fixture
def mirror(data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Serve the files on hand from a local HTTP server, laid out as in their sources; return its folder."""
    served = tmp_path / "served"
    for key, entry in remote.FILES.items():
        if (data_root / key).is_file():
            link = served / entry.source / entry.path
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(data_root / key)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    for name in ("NO_PROXY", "no_proxy"):  # never send loopback requests through a proxy
        monkeypatch.setenv(name, "127.0.0.1")
    for source in remote.SOURCES:
        monkeypatch.setitem(remote.SOURCES, source, f"{url}{source}/")
    yield served
    server.shutdown()
    server.server_close()


def test_fetch_downloads_verified_copies_into_a_new_folder(mirror: Path, tmp_path: Path, data_root: Path) -> None:
    root = tmp_path / "fresh" / "data"  # not there yet: fetching creates it (reading never does)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_chen2013("GCaMP6s", root=root)
    assert fetch_chen2013(root, indicators=("GCaMP6s",)) == root / "cascade_chen2013"
    here, there = load_chen2013("GCaMP6s", root=root), load_chen2013("GCaMP6s", root=data_root)
    assert len(here) == len(there) == 18
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.fluorescence, b.fluorescence)
        np.testing.assert_array_equal(a.spikes, b.spikes)
    assert not (root / "cascade_chen2013" / "DS09-GCaMP6f-m-V1").exists()
    assert fetch_spikefinder(root, parts=("submissions", "official_results")) == root / "spikefinder"
    fetched = sorted(p.relative_to(root).as_posix() for p in (root / "spikefinder").rglob("*.csv"))
    assert fetched == sorted(k for k in remote.FILES if k.startswith(("spikefinder/submissions/", "spikefinder/official_")))
    for key in fetched:
        assert (root / key).read_bytes() == (data_root / key).read_bytes()
    # files already there with the right hash are kept: with every source gone this still succeeds
    for source in remote.SOURCES:
        remote.SOURCES[source] = "http://127.0.0.1:9/"  # the discard port: nothing listens
    fetch_chen2013(root, indicators=("GCaMP6s",))
    fetch_spikefinder(root, parts=("submissions",))


def test_git_blob_digests_are_checked_and_bad_files_removed(
    mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_root: Path
) -> None:
    key = "spikefinder/test/4.test.calcium.csv"
    source = data_root / key
    good = remote.Remote("spikefinder-raw", "truth/4.test.calcium.csv", f"git-blob:{remote.git_blob_id(source)}")
    monkeypatch.setitem(remote.FILES, key, good)
    remote.fetch([key], tmp_path)
    np.testing.assert_array_equal(read_spikefinder_csv(tmp_path / key), read_spikefinder_csv(source))
    (tmp_path / key).unlink()
    monkeypatch.setitem(remote.FILES, key, good._replace(digest="git-blob:" + "0" * 40))
    with pytest.raises(ValueError, match="hash mismatch.*removed"):
        remote.fetch([key], tmp_path)
    assert not (tmp_path / key).exists()  # so that the next call downloads it afresh


def test_sha256_mismatch_offline_and_bad_arguments(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = next(k for k in remote.FILES if k.startswith("cascade_chen2013/DS14"))
    monkeypatch.setitem(remote.FILES, key, remote.FILES[key]._replace(digest="sha256:" + "0" * 64))
    with pytest.raises(ValueError, match="(?i)hash"):
        remote.fetch([key], tmp_path)
    assert not (tmp_path / key).exists()
    monkeypatch.setitem(remote.SOURCES, "cascade", "http://127.0.0.1:9/")
    with pytest.raises(ConnectionError, match=f"could not download http://127.0.0.1:9/.*{Path(key).name}"):
        remote.fetch([key], tmp_path)
    for bad in ("md5:abc", "sha256:", "0" * 64):
        with pytest.raises(ValueError, match="digest must be"):
            remote.download("http://127.0.0.1:9/x", bad, tmp_path, "x")
    with pytest.raises(ValueError, match="no downloadable files under"):
        remote.fetch(["spikefinder/train/11.train.spikes.csv"], tmp_path)
    with pytest.raises(ValueError, match="indicators"):
        fetch_chen2013(tmp_path, indicators=("GCaMP7",))
