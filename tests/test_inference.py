"""Tests of spikebook.infer: shapes, NaN handling, exact chunking for DS-F, resampling rules, errors.

Networks are untrained instances (float64 where exact equality is asserted): the plumbing under test
does not depend on the weights, and the tests do not depend on training.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import spikebook
from spikebook import pretrained
from spikebook.inference import MAX_UPSAMPLING, infer
from spikebook.recognition import DSF, DSFDEN, DSNF, CNNConfig, RNNConfig
from spikebook.signal import to_model_rate, to_user_rate


@pytest.fixture
def dsf() -> DSF:
    return DSF().double().eval()


def _traces(n: int, T: int, seed: int = 0) -> np.ndarray:
    """SCF-like traces: baseline −0.3, decaying transients, noise."""
    rng = np.random.default_rng(seed)
    spikes = (rng.random((n, T)) < 0.015).astype(float)
    calcium = np.zeros_like(spikes)
    for t in range(T):
        calcium[:, t] = 0.95 * (calcium[:, t - 1] if t else 0.0) + spikes[:, t]
    return -0.3 + 0.4 * calcium + 0.1 * rng.standard_normal((n, T))


def _marginals(model, f: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model.marginals(torch.from_numpy(np.atleast_2d(f))).numpy()


def test_public_api():
    assert spikebook.infer is infer
    assert "infer" in spikebook.__all__


def test_shape_and_nan_round_trip(dsf):
    x = _traces(4, 1_500)
    x[1, 1_200:] = np.nan  # padding of a shorter trace
    x[2, :50] = np.nan  # leading padding
    x[3, 600:640] = np.nan  # dropped frames inside a trace
    out = infer(x, 60.0, dsf)
    assert out.shape == x.shape and out.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    finite = out[~np.isnan(out)]
    assert (finite >= 0).all() and (finite <= 1).all()
    # each finite run is inferred as its own trace
    np.testing.assert_allclose(out[1, :1_200], _marginals(dsf, x[1, :1_200])[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[3, :600], _marginals(dsf, x[3, :600])[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(out[3, 640:], _marginals(dsf, x[3, 640:])[0], rtol=0, atol=1e-12)


def test_one_dimensional_in_one_dimensional_out():
    x = _traces(1, 800)[0].astype(np.float32)
    out = infer(x, 60.0, DSF())
    assert out.shape == (800,) and out.dtype == np.float32


@pytest.mark.parametrize(("chunk_len", "batch_size"), [(200, 1), (300, 3), (1_000, None), (5_000, None)])
def test_dsf_chunking_is_exact(dsf, chunk_len, batch_size):
    x = _traces(3, 2_345)
    out = infer(x, 60.0, dsf, chunk_len=chunk_len, batch_size=batch_size)
    np.testing.assert_allclose(out, _marginals(dsf, x), rtol=0, atol=1e-12)


def test_dsf_chunking_is_exact_for_a_small_network():
    model = DSF(CNNConfig(filters=(4,), widths=(5,), out_width=3)).double()  # half-width 3
    x = _traces(2, 100)
    out = infer(x, 60.0, model, chunk_len=1, batch_size=7)  # windows of 1 + 2·3 bins
    np.testing.assert_allclose(out, _marginals(model, x), rtol=0, atol=1e-12)


def test_dsnf_single_window_equals_marginals():
    model = DSNF(RNNConfig(n_backward=8, n_forward=8)).double()
    x = _traces(3, 150)
    out = infer(x, 60.0, model, n_samples=7, seed=3)
    with torch.no_grad():
        ref = model.marginals(torch.from_numpy(x), 7, torch.Generator().manual_seed(3)).numpy()
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_dsnf_compiled_equals_eager_and_is_refused_elsewhere():
    model = DSNF(RNNConfig(n_backward=8, n_forward=8)).double()
    x = _traces(2, 150)
    out = infer(x, 60.0, model, n_samples=3, seed=3, compiled=True)
    np.testing.assert_allclose(out, infer(x, 60.0, model, n_samples=3, seed=3), rtol=0, atol=1e-12)
    dsf = DSF()
    np.testing.assert_array_equal(infer(x[0], 60.0, dsf, compiled=True), infer(x[0], 60.0, dsf))  # ignored
    with pytest.raises(ValueError, match="compiled=True is for DS-NF"):
        infer(x, 60.0, DSFDEN(2), compiled=True)


def test_dsnf_chunked_shapes_seeds_and_nan():
    model = DSNF(RNNConfig(n_backward=8, n_forward=8))
    x = _traces(2, 300)
    x[0, 250:] = np.nan
    # at a declared 6 Hz the halo is 5 s = 30 bins: windows of 50 + 2·30 bins, several per trace
    kwargs = {"n_samples": 3, "chunk_len": 50, "model_fs": 6.0}
    a = infer(x, 6.0, model, seed=1, **kwargs)
    b = infer(x, 6.0, model, seed=1, **kwargs)
    c = infer(x, 6.0, model, seed=2, **kwargs)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(x))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[1], c[1])
    assert ((a[1] >= 0) & (a[1] <= 1)).all()


def test_bfloat16_precision_is_close_to_float32():
    # bfloat16 convolutions/matmuls with float32 outputs: ~3 significant digits inside the network
    torch.manual_seed(0)
    x = _traces(4, 400).astype(np.float32)
    for model, kwargs in ((DSF().eval(), {}), (DSNF(RNNConfig(n_backward=8, n_forward=8)).eval(), {"n_samples": 4})):
        ref = infer(x, 60.0, model, **kwargs)
        low = infer(x, 60.0, model, precision="bfloat16", **kwargs)
        assert low.dtype == np.float32 and np.isfinite(low).all()
        assert not np.array_equal(low, ref)  # the path is really taken
        assert np.abs(low - ref).mean() < 2e-3 and np.abs(low - ref).max() < 0.1


def test_networks_return_their_own_dtype_under_autocast():
    f = torch.from_numpy(_traces(2, 120).astype(np.float32))
    spikes = (torch.rand(3, 2, 120) < 0.05).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        for model in (DSF(), DSNF(RNNConfig(n_backward=8, n_forward=8))):
            assert model.marginals(f, 3).dtype == torch.float32
            assert model.log_prob(spikes, f).dtype == torch.float32


@pytest.mark.parametrize("fs", [30.0, 120.0])
def test_resampling_path(dsf, fs):
    x = _traces(2, 900)
    x[1, 700:] = np.nan
    out = infer(x, fs, dsf)
    assert out.shape == x.shape
    np.testing.assert_array_equal(np.isnan(out), np.isnan(x))
    for row, end in ((0, 900), (1, 700)):  # oracle: resample, infer at 60 Hz, integrate back
        p60 = _marginals(dsf, to_model_rate(x[row, :end], fs, 60.0))[0]
        np.testing.assert_allclose(out[row, :end], to_user_rate(p60, end, 60.0, fs), atol=1e-12)
        np.testing.assert_allclose(out[row, :end].sum(), p60.sum(), rtol=1e-10)  # whole model bins here
    if fs > 60.0:
        assert np.nanmax(out) <= 1.0


def test_model_fs_of_an_instance(dsf):
    x = _traces(1, 400)
    # an instance declared to run at 30 Hz sees 30 Hz data unchanged
    np.testing.assert_allclose(infer(x, 30.0, dsf, model_fs=30.0), _marginals(dsf, x), atol=1e-12)


#: Bad traces and rates: every entry of ``infer`` refuses them alike (``spikebook.validate``).
BAD_TRACES = [
    (np.zeros((2, 3, 4)), {}, ValueError, "shape"),
    (np.arange(10), {}, TypeError, "floating-point"),
    (np.zeros((2, 0)), {}, ValueError, "empty"),
    (np.array([[0.1, 0.2], [np.nan, np.nan]]), {}, ValueError, "all NaN"),
    (np.array([0.1, np.inf]), {}, ValueError, "inf"),
    (np.zeros(10), {"fs": 0.0}, ValueError, "positive"),
    (np.zeros(10), {"fs": -60.0}, ValueError, "positive"),
    (np.zeros(10), {"fs": float("nan")}, ValueError, "positive"),
    (np.zeros(10), {"fs": "60"}, TypeError, "number"),
    (np.zeros(10), {"fs": 0.03}, ValueError, r"fs=0.03 Hz is \d+ times below.*at most 100×.*kHz"),  # issue 33 row 12
]


@pytest.mark.parametrize(
    ("traces", "kwargs", "error", "match"),
    BAD_TRACES + [
        (np.zeros(10), {"n_samples": 0}, ValueError, "n_samples"),
        (np.zeros(10), {"chunk_len": 0}, ValueError, "chunk_len"),
        (np.zeros(10), {"precision": "float16"}, ValueError, "precision"),
        (np.zeros(10), {"model": "dsf-nope"}, ValueError, "dsf-scf-60hz"),
        (np.zeros(10), {"model": torch.nn.Linear(2, 2)}, TypeError, "RecognitionModel"),
    ],
)
def test_errors(traces, kwargs, error, match):
    kwargs = {"fs": 60.0, "model": DSF(), **kwargs}
    with pytest.raises(error, match=match):
        infer(traces, **kwargs)


@pytest.mark.parametrize(("traces", "kwargs", "error", "match"), BAD_TRACES)
def test_supervised_entries_refuse_the_same_input(traces, kwargs, error, match):
    kwargs = {"fs": 100.0, "model": "attended-inception-spikefinder", "dataset": 4, **kwargs}
    with pytest.raises(error, match=match):
        infer(traces, **kwargs)


@pytest.mark.parametrize(
    "setting",
    [{"precision": "bfloat16"}, {"batch_size": 8}, {"chunk_len": 500}, {"device": "cpu"}, {"model_fs": 100.0}],
)
def test_supervised_entries_refuse_the_deepspike_settings(setting):
    (name,) = setting
    with pytest.raises(ValueError, match=f"{name}= only for the DeepSpike"):
        infer(np.zeros(100), 100.0, "attended-inception-spikefinder", dataset=4, **setting)


SUPERVISED_ENTRY = "attended-inception-spikefinder"


@pytest.mark.parametrize("dataset", [1, 2, 3, 9, 10])
def test_supervised_entry_refuses_a_dataset_whose_embedding_was_never_trained(dataset):
    """Sets 1-3, 9 and 10 had no training calcium: their embedding rows are random, so they are refused."""
    entry = pretrained.load(SUPERVISED_ENTRY)
    assert entry.trained_datasets == (4, 5, 6, 7, 8)  # the datasets of meta["train_neurons"]
    with pytest.raises(ValueError, match=rf"dataset={dataset}: .*never trained.*trained datasets: 4, 5, 6, 7, 8"
                                         r".*use dataset=None"):
        infer(_traces(1, 500), 100.0, SUPERVISED_ENTRY, dataset=dataset)


def test_supervised_entry_runs_with_a_trained_dataset_and_with_none():
    x = _traces(2, 500)
    entry = pretrained.load(SUPERVISED_ENTRY)
    from spikebook.supervised import predict_fluorescence

    for dataset in (4, 8, None):
        out = infer(x, 100.0, SUPERVISED_ENTRY, dataset=dataset)
        assert out.shape == x.shape and np.isfinite(out).all()
        np.testing.assert_allclose(out, predict_fluorescence(x, 100.0, entry.attended, entry.agnostic, dataset))


def test_an_entry_without_recorded_training_neurons_vouches_for_no_dataset():
    entry = pretrained.load(SUPERVISED_ENTRY)
    assert entry._replace(meta={}).trained_datasets == ()


@pytest.mark.parametrize("model", ["dsf-scf-60hz", "instance"])
def test_deepspike_networks_refuse_a_dataset(model, dsf):
    model = dsf if model == "instance" else model
    with pytest.raises(ValueError, match=r"dataset=4: .*has no dataset embeddings.*attended-inception-spikefinder"):
        infer(_traces(1, 200), 60.0, model, dataset=4)


def test_missing_checkpoint_names_the_command(monkeypatch, tmp_path):
    monkeypatch.setattr(pretrained, "CHECKPOINT_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="python -m spikebook.pretrained train"):
        infer(np.zeros(10), 60.0, "dsf-scf-60hz")


@pytest.mark.skipif(not pretrained.checkpoint_path("dsf-scf-60hz").exists(), reason="checkpoint not trained yet")
def test_pretrained_name():
    x = _traces(2, 600).astype(np.float32)
    out = infer(x, 60.0, "dsf-scf-60hz")
    ref = _marginals(pretrained.load("dsf-scf-60hz").recognition, x)
    np.testing.assert_allclose(out, ref, atol=1e-6)


# ------------------------------------------------------------------ the speed experiment (chapter §3.2)


def test_cnn_flops_of_the_paper_layout():
    from spikebook.experiments.speed import cnn_flops

    # 2·T·(1·30·31 + 30·25·21 + 25·25·21 + 25·20·13 + 20·15·11 + 15·1·11) for T = 10,000
    assert cnn_flops(DSF(), 10_000) == 2 * 10_000 * 39_770


def test_matmul_gflops_restores_torch_threads():
    from spikebook.experiments.speed import matmul_gflops

    before = torch.get_num_threads()
    torch.set_num_threads(2)  # not 1, so that measuring with threads=1 and not restoring would show
    try:
        for dtype in (torch.float32, torch.bfloat16):
            assert matmul_gflops(size=64, repeats=2, dtype=dtype, threads=1) > 0
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_speed_table_smoke_and_csv_round_trip(tmp_path):
    from spikebook.experiments.speed import read_csv, speed_table, speed_traces, write_csv

    traces = speed_traces(4, n_steps=300)
    assert traces.shape == (4, 300) and traces.dtype == np.float32 and np.isfinite(traces).all()
    rows = speed_table(
        n_traces=3, n_steps=300, n_samples=2, nf_traces=2, ar2_traces=2, n_single=2, repeats=1, threads=[1],
        devices=["cpu"],
        dsnf=DSNF(RNNConfig(n_backward=8, n_forward=8)),
    )
    nets = [("DS-F", 1, False), ("DS-F", 3, False), ("DS-NF", 1, False), ("DS-NF", 2, False),
            ("DS-NF", 1, True), ("DS-NF", 2, True)]
    assert [(r.method, r.precision, r.batch, r.compiled) for r in rows] == [
        *[(m, "float32", b, c) for m, b, c in nets], *[(m, "bfloat16", b, c) for m, b, c in nets],
        ("OASIS AR(1)", "float64", 1, False), ("OASIS AR(2)", "float64", 1, False),
    ]
    assert all(r.seconds_per_trace > 0 for r in rows)
    oasis = rows[12].seconds_per_trace
    assert rows[12].ratio_to_oasis == 1.0
    assert all(np.isclose(r.ratio_to_oasis, r.seconds_per_trace / oasis) for r in rows)
    assert rows[0].paper_seconds == 0.05 and rows[8].paper_seconds == 4.6 and np.isnan(rows[13].paper_seconds)
    assert "2 traces, not 3" in rows[3].note and "2 traces, not 3" in rows[5].note
    back = read_csv(write_csv(rows, tmp_path / "speed.csv"))
    def text(table):
        return [(r.method, r.precision, r.device, r.batch, r.note, r.compiled) for r in table]

    assert text(back) == text(rows)
    np.testing.assert_array_equal([r.paper_seconds for r in back], [r.paper_seconds for r in rows])  # NaN = NaN
    np.testing.assert_allclose([r.seconds_per_trace for r in back], [r.seconds_per_trace for r in rows], rtol=1e-5)


def test_raw_fluorescence_gets_a_warning(dsf):
    x = _traces(2, 400)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # ΔF/F-like traces: no warning
        infer(x, 60.0, dsf)
    with pytest.warns(UserWarning, match="look like raw fluorescence"):
        out = infer(1000.0 + 100.0 * x, 60.0, dsf)
    assert out.shape == x.shape  # a warning, not an error: the result is still returned


def test_raw_level_check_survives_a_mostly_nan_input(dsf):
    # 10⁷ samples: the check strides by 100, and the one finite run (1..99) falls between its samples
    x = np.full((1, 10_000_000), np.nan, dtype=np.float32)
    x[0, 1:100] = _traces(1, 99)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # neither the raw-F warning nor numpy's all-NaN median warning
        out = infer(x, 60.0, dsf)
    assert np.isfinite(out[0, 1:100]).all()
    assert np.isnan(out[0, :1]).all() and np.isnan(out[0, 100:]).all()


def test_a_time_by_cells_array_gets_a_warning(dsf):
    """Issue 33 row 4: traces of a fraction of a second, but thousands of them: the array is time × cells."""
    x = _traces(3, 2000)  # 3 cells, 33 s at 60 Hz
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cells × time, or a few short traces: no warning
        infer(x, 60.0, dsf)
        infer(_traces(12, 100), 60.0, dsf)
    with pytest.warns(UserWarning, match=r"2000 traces of 3 samples.*time × cells.*traces\.T"):
        out = infer(x.T, 60.0, dsf)
    assert out.shape == x.T.shape  # a warning, not an error: the result is still returned


def test_a_time_by_cells_array_gets_a_warning_from_the_supervised_entries():
    x = _traces(5, 1500)  # (N, T); read_spikefinder_csv gives the CSV's (T, N), i.e. x.T
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stop at the warning: 1,500 one-trace predictions are not the point
        with pytest.raises(UserWarning, match="time × cells"):
            infer(x.T, 100.0, "attended-inception-spikefinder", dataset=4)


def test_the_largest_up_sampling_is_accepted(dsf):
    """Issue 33 row 12: the bound is MAX_UPSAMPLING, inclusive; just below it the rate is refused."""
    x = _traces(1, 10)
    assert infer(x, 60.0 / MAX_UPSAMPLING, dsf).shape == x.shape  # 10 samples → 1,000 model bins
    with pytest.raises(ValueError, match="fs=0.59 Hz"):
        infer(x, 0.59, dsf)


def test_cuda_device_without_cuda_is_refused_clearly(monkeypatch):
    """Issue 33 row 22: device="cuda" on a CPU-only torch is a ValueError, not an AssertionError."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        infer(np.zeros(100), fs=60.0, model=DSF(), device="cuda")


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_input_tensors_are_accepted(dsf, dtype):
    """Issue 33 row 22: bfloat16/float16 input tensors are read as float32."""
    x = torch.from_numpy(_traces(2, 300)).to(dtype)
    out = infer(x, fs=60.0, model=dsf, device="cpu")
    expected = infer(x.float().numpy(), fs=60.0, model=dsf, device="cpu")
    np.testing.assert_array_equal(out, expected)


def test_masked_samples_are_missing(dsf):
    """Issue 33 row 25: infer treats a masked array's masked samples as NaN."""
    x = _traces(2, 400)
    mask = np.zeros(x.shape, bool)
    mask[1, 300:] = True
    nan = x.copy()
    nan[mask] = np.nan
    out = infer(np.ma.masked_array(x, mask), fs=60.0, model=dsf, device="cpu")
    np.testing.assert_array_equal(out, infer(nan, fs=60.0, model=dsf, device="cpu"))
