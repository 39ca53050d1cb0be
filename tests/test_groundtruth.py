"""Real ground truth: the CASCADE reader and the preprocessing steps."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io
import scipy.signal

from spikebook.data import remote
from spikebook.data.groundtruth import load_chen2013, read_cascade_mat
from spikebook.data.preprocess import bin_spike_times, delta_f_over_f, percentile_baseline
from spikebook.signal import resample


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


def test_missing_data_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(remote.time, "sleep", lambda s: None)
    (tmp_path / "cascade_chen2013").mkdir()
    with pytest.raises(FileNotFoundError, match="no CASCADE files"):
        load_chen2013("GCaMP6s", root=tmp_path)
    with pytest.raises(remote.DataUnavailableError, match="'chen2013'.*require"):  # no folder, offline: not fetched
        load_chen2013("GCaMP6s", root=tmp_path / "cascade_chen2013")
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



def _cascade_file(path, **fields):
    """A one-recording CASCADE file: 10 s at 60 Hz and two APs, with ``fields`` replacing or (None) removing."""
    t = np.arange(600) / 60.0
    recording = {"fluo_time": t, "fluo_mean": np.sin(t), "events_AP": np.array([1.0, 2.5]) * 1e4, **fields}
    scipy.io.savemat(path, {"CAttached": {k: v for k, v in recording.items() if v is not None}})
    return path


def test_read_cascade_mat_of_a_well_formed_file(tmp_path):
    (rec,) = read_cascade_mat(_cascade_file(tmp_path / "CAttached_Chen2013_cell1.mat"), "GCaMP6s")
    assert rec.fluorescence.shape == rec.spikes.shape == (600,) and rec.spikes.sum() == 2
    assert rec.fs == pytest.approx(60.0) and rec.neuron == "cell1"


def test_read_cascade_mat_refuses_frame_times_of_another_length(tmp_path):
    """Issue 33 row 6: 500 frame times for 600 fluorescence samples is refused, naming the file."""
    path = _cascade_file(tmp_path / "short.mat", fluo_time=np.arange(500) / 60.0)
    with pytest.raises(ValueError, match=r"short\.mat recording 0: fluo_time has 500 frame times but fluo_mean 600"):
        read_cascade_mat(path, "GCaMP6s")


@pytest.mark.parametrize("field", ["fluo_time", "fluo_mean", "events_AP"])
def test_read_cascade_mat_names_the_file_and_a_missing_field(tmp_path, field):
    """Issue 33 row 20: a missing field is a ValueError naming the file and the field, not AttributeError."""
    path = _cascade_file(tmp_path / "cell.mat", **{field: None})
    with pytest.raises(ValueError, match=rf"cell\.mat recording 0: no field '{field}'"):
        read_cascade_mat(path, "GCaMP6s")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"fluo_time": np.where(np.arange(600) == 5, np.nan, np.arange(600) / 60.0)}, "fluo_time has NaN"),
        ({"fluo_time": np.arange(600)[::-1] / 60.0}, "fluo_time must be increasing"),
        ({"fluo_mean": np.where(np.arange(600) == 5, np.nan, 0.0)}, "fluorescence has NaN"),
    ],
)
def test_read_cascade_mat_names_the_file_of_bad_values(tmp_path, fields, match):
    path = _cascade_file(tmp_path / "cell.mat", **fields)
    with pytest.raises(ValueError, match=rf"{tmp_path.name}.*cell\.mat recording 0: {match}"):
        read_cascade_mat(path, "GCaMP6s")


def test_read_cascade_mat_names_a_file_that_is_not_a_cascade_file(tmp_path):
    scipy.io.savemat(tmp_path / "other.mat", {"Other": 1.0})
    with pytest.raises(ValueError, match=r"other\.mat.*no 'CAttached'.*Other"):
        read_cascade_mat(tmp_path / "other.mat", "GCaMP6s")
    (tmp_path / "text.mat").write_text("not a MATLAB file")
    with pytest.raises(ValueError, match=r"text\.mat.*cannot be read as a MATLAB \.mat file"):
        read_cascade_mat(tmp_path / "text.mat", "GCaMP6s")
