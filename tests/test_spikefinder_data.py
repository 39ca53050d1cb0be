"""Tests of spikebook.data.spikefinder and of the splits of its neurons (spikebook.data.splits): readers on the
real files, set 7/8 approximations, splits."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from spikebook.data import remote
from spikebook.data.paths import DATA_ENV_VAR, data_root
from spikebook.data.spikefinder import (
    SpikefinderDataWarning,
    fetch_spikefinder,
    load_spikefinder,
    match_chen2013,
    read_spikefinder_csv,
)
from spikebook.data.splits import leave_one_dataset_out, official_split, split_by_neuron

DATA = data_root()  # the package's resolution: SPIKEBOOK_DATA, ../shared/data, the user cache
COUNTS = {
    "train": dict(zip(range(1, 11), (11, 21, 13, 6, 9, 9, 37, 21, 20, 27))),
    "test": dict(zip(range(1, 6), (5, 10, 6, 3, 8))),
}
# The data curator's column -> recording table (see the data folder's README); spikebook recomputes it,
# so only the tests that compare with it need it (a folder filled by the fetch_* functions has none).
MAPPING = DATA / "cascade_chen2013" / "spikefinder_7_8_to_cascade_mapping.csv"
SET8_SPIKES = DATA / "spikefinder" / "train" / "8.train.spikes.csv"
HAVE_SET8 = SET8_SPIKES.is_file() and any((DATA / "cascade_chen2013" / "DS14-GCaMP6s-m-V1").glob("*.mat"))


@pytest.fixture(scope="module")
def loaded() -> dict:
    if not (DATA / "spikefinder").is_dir():
        pytest.skip(f"Spikefinder data not found under {DATA} (set {DATA_ENV_VAR})")
    out = {}
    for split in ("train", "test"):
        with pytest.warns(SpikefinderDataWarning):
            out[split] = load_spikefinder(split, root=DATA)
    return out


def test_neuron_counts_per_set(loaded: dict) -> None:
    for split, counts in COUNTS.items():
        got = {d: sum(n.dataset == d for n in loaded[split].neurons) for d in counts}
        assert got == counts
        assert not loaded[split].missing_spike_files


def test_records_are_consistent(loaded: dict) -> None:
    for split in ("train", "test"):
        for n in loaded[split].neurons:
            assert n.fs == 100.0 and n.split == split
            assert not np.isnan(n.spikes).any() and (n.spikes >= 0).all()
            if n.calcium is not None:
                assert n.calcium.shape == n.spikes.shape
                assert np.isfinite(n.calcium).all()
    assert {n.indicator for n in loaded["train"].neurons if n.dataset == 7} == {"GCaMP6f"}


def test_official_columns_round_trip(loaded: dict) -> None:
    raw = read_spikefinder_csv(DATA / "spikefinder" / "train" / "4.train.spikes.csv")
    for n in (n for n in loaded["train"].neurons if n.dataset == 4):
        col = raw[:, n.column]
        np.testing.assert_array_equal(n.spikes, col[~np.isnan(col)])


def test_missing_report_lists_exactly_the_sets_without_calcium(loaded: dict) -> None:
    whole = {(m.split, m.dataset) for s in ("train", "test") for m in loaded[s].missing if m.whole_set}
    assert whole == {("train", d) for d in (1, 2, 3, 9, 10)} | {("test", 2)}
    partial = {m.dataset: m.columns for m in loaded["train"].missing if not m.whole_set}
    assert partial == {7: (13, 18, 19, 36), 8: (9, 14, 15)}
    for split in ("train", "test"):
        lacking = {(n.dataset, n.column) for n in loaded[split].neurons if n.calcium is None}
        listed = {(m.dataset, j) for m in loaded[split].missing for j in m.columns}
        assert lacking == listed
    assert "train.1: no calcium for all 11 neurons" in loaded["train"].report()


def test_without_approximation_sets_7_and_8_are_missing() -> None:
    if not (DATA / "spikefinder").is_dir():
        pytest.skip("no data")
    data = load_spikefinder("train", datasets=[7, 8], root=DATA, approximate_chen2013=False, warn=False)
    assert [(m.dataset, m.whole_set) for m in data.missing] == [(7, True), (8, True)]
    assert not data.with_calcium()


def test_chen2013_approximation_matches_official_spikes(loaded: dict) -> None:
    if not MAPPING.is_file():
        pytest.skip("no curated mapping table to compare with")
    with MAPPING.open(newline="") as fh:
        matched = {
            (int(r["spikefinder_train_set"]), int(r["spikefinder_column"])): int(r["spikefinder_n_spikes"])
            for r in csv.DictReader(fh)
            if r["cascade_file"]
        }
    approx = {(n.dataset, n.column): n for n in loaded["train"].neurons if n.approximate}
    assert set(approx) == set(matched)  # 33 + 18 columns
    assert len(approx) == 51
    spikes = {
        d: read_spikefinder_csv(DATA / "spikefinder" / "train" / f"{d}.train.spikes.csv") for d in (7, 8)
    }
    for (d, j), n in approx.items():
        official = spikes[d][:, j]
        assert abs(n.spikes.sum() - np.nansum(official)) <= 2, (d, j)
        assert abs(n.spikes.sum() - matched[(d, j)]) <= 2
        assert n.calcium.shape == n.spikes.shape
        assert n.source.startswith("cascade:")


def test_match_chen2013_reproduces_the_curated_mapping() -> None:
    if not MAPPING.is_file():
        pytest.skip("no curated mapping table to compare with")
    with MAPPING.open(newline="") as fh:
        curated = list(csv.DictReader(fh))
    for d in (7, 8):
        matches = match_chen2013(d, DATA)
        rows = [r for r in curated if int(r["spikefinder_train_set"]) == d]
        expected = {
            int(r["spikefinder_column"]): (r["cascade_folder"], r["cascade_file"], int(r["cascade_recording_index_0based"]))
            for r in rows
            if r["cascade_file"]
        }
        assert {j: (m.folder, m.file, m.recording) for j, m in matches.items()} == expected
        for r in rows:
            if r["cascade_file"]:  # the curated correlation is the zero-lag one for the matches
                assert round(matches[int(r["spikefinder_column"])].correlation, 3) == float(r["match_corr"])
    set8 = [r for r in curated if r["spikefinder_train_set"] == "8" and r["cascade_file"]]
    strict = {int(r["spikefinder_column"]) for r in set8 if float(r["match_corr"]) > 0.99}
    assert set(match_chen2013(8, DATA, min_correlation=0.99)) == strict and 0 < len(strict) < len(set8)


def test_match_chen2013_names_what_is_missing(tmp_path: Path) -> None:
    if not SET8_SPIKES.is_file():
        pytest.skip("no Spikefinder set 8 spikes")
    with pytest.raises(ValueError, match="only training sets"):
        match_chen2013(5, tmp_path)
    with pytest.raises(FileNotFoundError, match="fetch_spikefinder"):
        match_chen2013(8, tmp_path)
    (tmp_path / "spikefinder" / "train").mkdir(parents=True)
    (tmp_path / "spikefinder" / "train" / SET8_SPIKES.name).write_bytes(SET8_SPIKES.read_bytes())
    with pytest.raises(FileNotFoundError, match="fetch_chen2013"):
        match_chen2013(8, tmp_path)
    with pytest.warns(SpikefinderDataWarning, match="fetch_chen2013"):  # the loader reports it, then goes on
        data = load_spikefinder("train", datasets=[8], root=tmp_path)
    assert [(m.dataset, m.whole_set) for m in data.missing] == [(8, True)]


def test_chen2013_length_is_duration_times_100() -> None:
    import scipy.io

    from spikebook.data.spikefinder import chen2013_approximation

    if not HAVE_SET8:
        pytest.skip("no Spikefinder set 8 spikes or CASCADE GCaMP6s files")
    approx = chen2013_approximation(8, DATA)
    n = approx[0]
    rec = np.atleast_1d(
        scipy.io.loadmat(
            DATA / "cascade_chen2013" / "DS14-GCaMP6s-m-V1" / n.source.split(":")[1].split("#")[0],
            squeeze_me=True,
            struct_as_record=False,
        )["CAttached"]
    )[int(n.source.split("#")[1])]
    frames = np.asarray(rec.fluo_time)
    duration_s = frames.size * np.median(np.diff(frames))
    assert abs(n.calcium.size - duration_s * 100) <= 2


def test_splits_never_share_a_neuron(loaded: dict) -> None:
    neurons = list(loaded["train"].neurons) + list(loaded["test"].neurons)
    keys = {n.key for n in neurons}
    for split in (
        split_by_neuron(neurons, 0.25, seed=1),
        leave_one_dataset_out(neurons, 3),
        official_split(neurons),
    ):
        a, b = {n.key for n in split.train}, {n.key for n in split.held_out}
        assert not a & b and a | b == keys and b
    lodo = leave_one_dataset_out(neurons, 3)
    assert {n.dataset for n in lodo.held_out} == {3} and {n.split for n in lodo.held_out} == {"train", "test"}
    by_neuron = split_by_neuron(neurons, 0.25, seed=1)
    assert {(n.split, n.dataset) for n in by_neuron.held_out} == {(n.split, n.dataset) for n in neurons}
    with pytest.raises(ValueError, match="twice"):
        split_by_neuron(neurons + neurons[:1])


def test_bad_arguments_and_offline_fetch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="split"):
        load_spikefinder("validation", root=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no test datasets"):
        load_spikefinder("test", datasets=[7], root=tmp_path)
    (tmp_path / "spikefinder").mkdir()  # a folder of one's own, partial: read as it is, what lacks reported
    with pytest.warns(SpikefinderDataWarning):
        empty = load_spikefinder("test", root=tmp_path)
    assert empty.missing_spike_files == tuple(("test", d) for d in range(1, 6))
    monkeypatch.setattr(remote.time, "sleep", lambda s: None)  # offline (the conftest's dead mirror): no waiting
    with pytest.raises(ConnectionError, match="could not download http://127.0.0.1:9/spikefinder/test/"):
        fetch_spikefinder(tmp_path, parts=["test"])
    with pytest.raises(ValueError, match="parts"):
        fetch_spikefinder(tmp_path, parts=["validation"])


# ---------------------------------------------------------------------------------- malformed CSV files


@pytest.mark.parametrize("ending", ["\n\n", "\n\n\n", "\r\n\r\n", "\n  \n"])
def test_a_trailing_blank_line_does_not_make_a_csv_unreadable(tmp_path, ending):
    """Issue 33 row 21: blank lines at the end of a file are its end, not a row."""
    path = tmp_path / "1.test.spikes.csv"
    path.write_bytes(("0,1,2\n1,2,3\n4,,6" + ending).encode())
    np.testing.assert_array_equal(read_spikefinder_csv(path), [[1.0, 2.0, 3.0], [4.0, np.nan, 6.0]])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("0,1\n1,2\n3,abc\n", r"line 3, column 1: 'abc' is not a number"),  # a text cell
        ("0,1,2\n1,2,3\n4,5\n6,7,8\n", r"line 3 has 2 fields but the header has 3"),  # a ragged row
        ("0,1\n1,2,3\n4,5,6\n", r"line 2 has 3 fields but the header has 2"),  # every row too long
        ("0,1\n1,2\n\n3,4\n", r"line 3 is blank"),  # a blank line inside the file
    ],
)
def test_a_malformed_csv_names_the_file_and_the_line(tmp_path, text, match):
    """Issue 33 row 21: the file and the 1-based line number of the file (the header is line 1)."""
    path = tmp_path / "1.test.calcium.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=rf"1\.test\.calcium\.csv, {match}"):
        read_spikefinder_csv(path)


def test_a_binary_file_is_named(tmp_path):
    path = tmp_path / "1.test.calcium.csv"
    path.write_bytes(b"0,1\n\xff\xfe\x00\n")
    with pytest.raises(ValueError, match=r"1\.test\.calcium\.csv.*not a text"):
        read_spikefinder_csv(path)
