"""Real ground truth: the CASCADE reader and the preprocessing steps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from spikebook.data.groundtruth import load_chen2013
from spikebook.data.preprocess import bin_spike_times, delta_f_over_f, percentile_baseline, resample


def test_percentile_baseline_matches_brute_force():
    rng = np.random.default_rng(0)
    f = 1.0 + rng.random(500)
    window = 51
    expected = [np.percentile(np.pad(f, 25, mode="symmetric")[t : t + window], 5, method="lower") for t in range(500)]
    np.testing.assert_allclose(percentile_baseline(f, window=window), expected)


def test_delta_f_over_f_of_a_scaled_constant_with_transients():
    f = np.full(3000, 2.0)
    f[1000:1010] = 4.0
    dff = delta_f_over_f(f, window=600)
    assert np.allclose(dff[:1000], 0.0) and np.allclose(dff[1000:1010], 1.0)
    with pytest.raises(ValueError, match="positive"):
        delta_f_over_f(f - 5.0, window=600)


def test_resample_polyphase_round_trip_and_length():
    t = np.arange(6000) / 60.0
    f = np.sin(2 * np.pi * 0.5 * t)
    up = resample(f, 60.0, 100.0)
    assert len(up) == 10_000
    back = resample(up, 100.0, 60.0)
    np.testing.assert_allclose(back[100:-100], f[100:-100], atol=1e-3)
    np.testing.assert_allclose(up, scipy.signal.resample_poly(f, 5, 3, padtype="line"))
    with pytest.raises(ValueError, match="NaN"):
        resample(np.array([1.0, np.nan]), 60.0, 100.0)


def test_bin_spike_times_centres_bins_on_frames():
    frames = np.arange(10) * 0.1
    counts = bin_spike_times(np.array([0.0, 0.049, 0.051, 0.9, 5.0]), frames)
    np.testing.assert_array_equal(counts, [2, 1, 0, 0, 0, 0, 0, 0, 0, 1])


@pytest.mark.parametrize(("indicator", "n_neurons"), [("GCaMP6s", 7), ("GCaMP6f", 11)])
def test_chen2013_recordings(data_root, indicator, n_neurons):
    recordings = load_chen2013(indicator, root=data_root)
    assert len({r.neuron for r in recordings}) == n_neurons
    for r in recordings:
        assert r.fluorescence.shape == r.spikes.shape
        assert abs(r.fs - 60.06) < 0.1
    total = sum(r.spikes.sum() for r in recordings)
    # the README's AP counts are 1917 and 4327; 2 and 1 APs fall outside the imaged frames and are dropped
    assert total == {"GCaMP6s": 1915, "GCaMP6f": 4326}[indicator]


def test_missing_data_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CASCADE files"):
        load_chen2013("GCaMP6s", root=tmp_path)
    with pytest.raises(ValueError, match="indicator"):
        load_chen2013("GCaMP7", root=tmp_path)


def test_bin_spike_times_causal_counts_spikes_since_the_previous_frame():
    frames = np.array([0.0, 0.1, 0.2, 0.3])
    spikes = np.array([-0.05, 0.0, 0.01, 0.1, 0.149, 0.151, 0.3, 0.31])
    # causal: (t_{i-1}, t_i]; the first frame's bin is (-0.1, 0.0]; 0.31 is after the last frame
    np.testing.assert_array_equal(bin_spike_times(spikes, frames, "causal"), [2, 2, 2, 1])
    # centred: [t_i - 0.05, t_i + 0.05); 0.31 falls in the last frame's bin, -0.05 in the first
    np.testing.assert_array_equal(bin_spike_times(spikes, frames, "centred"), [3, 2, 1, 2])
    with pytest.raises(ValueError, match="convention"):
        bin_spike_times(spikes, frames, "forward")


def test_chen2013_registry_pins_the_files_on_hand(data_root):
    import hashlib

    from spikebook.data.groundtruth import CHEN2013_FOLDERS, CHEN2013_SHA256

    for indicator, folder in CHEN2013_FOLDERS.items():
        files = sorted((data_root / "cascade_chen2013" / folder).glob("*.mat"))
        assert [p.name for p in files] == sorted(CHEN2013_SHA256[indicator])
        for path in files:
            assert hashlib.sha256(path.read_bytes()).hexdigest() == CHEN2013_SHA256[indicator][path.name], path.name


@pytest.fixture
def cascade_server(data_root, monkeypatch):
    """A local HTTP server with the CASCADE folders at its root, standing in for CHEN2013_URL."""
    import functools
    import http.server
    import threading

    for name in ("NO_PROXY", "no_proxy"):  # never send loopback requests through a proxy
        monkeypatch.setenv(name, "127.0.0.1")

    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(data_root / "cascade_chen2013")
    )
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_fetch_chen2013_downloads_checks_and_keeps_verified_files(tmp_path, monkeypatch, cascade_server, data_root):
    pytest.importorskip("pooch")
    from spikebook.data import groundtruth

    monkeypatch.setattr(groundtruth, "CHEN2013_URL", cascade_server)
    root = tmp_path / "fresh" / "data"  # not there yet: fetching creates it (reading never does)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_chen2013("GCaMP6s", root=root)
    target = groundtruth.fetch_chen2013(root, indicators=("GCaMP6s",))
    assert target == root / "cascade_chen2013"
    here = load_chen2013("GCaMP6s", root=root)
    there = load_chen2013("GCaMP6s", root=data_root)
    assert len(here) == len(there) == 18
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.fluorescence, b.fluorescence)
        np.testing.assert_array_equal(a.spikes, b.spikes)
    assert not (target / groundtruth.CHEN2013_FOLDERS["GCaMP6f"]).exists()
    # a file already there with the right hash is not fetched again: with the server gone this still works
    monkeypatch.setattr(groundtruth, "CHEN2013_URL", "http://127.0.0.1:9/")
    groundtruth.fetch_chen2013(root, indicators=("GCaMP6s",))


def test_fetch_chen2013_refuses_a_corrupt_file_and_reports_no_network(tmp_path, monkeypatch, cascade_server):
    pytest.importorskip("pooch")
    from spikebook.data import groundtruth

    registry = {k: dict(v) for k, v in groundtruth.CHEN2013_SHA256.items()}
    name = next(iter(registry["GCaMP6s"]))
    registry["GCaMP6s"] = {name: "0" * 64}  # the served file no longer has the pinned hash
    monkeypatch.setattr(groundtruth, "CHEN2013_SHA256", registry)
    monkeypatch.setattr(groundtruth, "CHEN2013_URL", cascade_server)
    with pytest.raises(ValueError, match="(?i)hash"):
        groundtruth.fetch_chen2013(tmp_path, indicators=("GCaMP6s",))
    monkeypatch.setattr(groundtruth, "CHEN2013_URL", "http://127.0.0.1:9/")  # discard port: nothing listens
    with pytest.raises(ConnectionError, match=f"could not download http://127.0.0.1:9/.*{name}"):
        groundtruth.fetch_chen2013(tmp_path, indicators=("GCaMP6s",))
    with pytest.raises(ValueError, match="indicators"):
        groundtruth.fetch_chen2013(tmp_path, indicators=("GCaMP7",))
