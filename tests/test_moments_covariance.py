"""low_order_moments and covariance: batch, distributed, streaming, property tests."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import d4p
import naive
from spmd import local_rows, spmd

MOMENT_FIELDS = list(naive.moments(np.ones((2, 1))))


def data(n=200, p=5, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return shift + rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p)


def assert_moments(res, X, rtol=1e-10):
    expected = naive.moments(X)
    for name in MOMENT_FIELDS:
        got = getattr(res, name)
        assert got.shape == (1, X.shape[1]), name
        np.testing.assert_allclose(got[0], expected[name], rtol=rtol, atol=1e-12, err_msg=name)


def assert_covariance(res, X, rtol=1e-10):
    expected = naive.covariance(X)
    for name in ("covariance", "correlation"):
        np.testing.assert_allclose(getattr(res, name), expected[name], rtol=rtol, atol=1e-12,
                                   err_msg=name)
    np.testing.assert_allclose(res.mean[0], expected["mean"], rtol=rtol, atol=1e-12)


# ---- batch ----------------------------------------------------------------------


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32])
def test_batch_matches_numpy_any_layout_and_dtype(order, dtype):
    X = np.asarray(data(300, 4) * 10, dtype=dtype, order=order)
    assert_moments(d4p.low_order_moments().compute(X), X)
    assert_covariance(d4p.covariance().compute(X), X)
    strided = np.asarray(data(600, 8), dtype=dtype)[::2, ::2]
    assert_moments(d4p.low_order_moments().compute(strided), strided)
    assert_covariance(d4p.covariance().compute(strided), strided)


def test_large_enough_for_the_parallel_kernel():
    X = data(200_000, 3, shift=5.0)
    assert_moments(d4p.low_order_moments().compute(X), X)
    assert_covariance(d4p.covariance().compute(X), X)


def test_fptype_float_gives_float32_results():
    X = data(50, 3)
    res = d4p.low_order_moments("float").compute(X)
    assert all(getattr(res, f).dtype == np.float32 for f in MOMENT_FIELDS)
    cov = d4p.covariance(fptype="float").compute(X.astype(np.float32))
    assert cov.covariance.dtype == np.float32 and cov.mean.dtype == np.float32
    np.testing.assert_allclose(cov.covariance, np.cov(X.T), rtol=1e-5)


def test_float32_input_accumulates_in_float64():
    X = (1000 + np.random.default_rng(3).normal(size=(100_000, 2))).astype(np.float32)
    res = d4p.low_order_moments().compute(X)
    np.testing.assert_allclose(res.variance[0], X.astype(np.float64).var(0, ddof=1), rtol=1e-9)


@pytest.mark.parametrize("nranks", [1, 4])
def test_variance_of_1e8_plus_noise_is_accurate(nranks):
    X = 1e8 + np.random.default_rng(7).normal(size=(1_000_000, 1))
    exact = np.var(X - 1e8, ddof=1)  # subtracting 1e8 is exact here

    def body():
        rows = np.array_split(X, d4p.num_procs())[d4p.my_procid()]
        return (d4p.low_order_moments(distributed=True).compute(rows).variance[0, 0],
                d4p.covariance(distributed=True).compute(rows).covariance[0, 0])

    for var, cov in d4p.run_spmd(body, nranks):
        assert abs(var - exact) / exact < 1e-9
        assert abs(cov - exact) / exact < 1e-9


@pytest.mark.parametrize("p", [3, 50])  # the four-row and the two-row sweeps
def test_chunks_that_start_with_outliers_stay_accurate(p):
    # Each C-ordered chunk is shifted by the mean of its first eight rows; here
    # they are 1e8 and the rest 1e3 + noise, so the shifted sums would cancel 2-4
    # digits (errors 3e-14 to 3e-12) and the kernel must sweep those chunks again
    # around their mean (errors below 3e-15).
    from d4p.kernels.moments import chunk_rows

    rows = chunk_rows(p)
    X = 1e3 + np.random.default_rng(1).normal(size=(20 * rows, p))
    X[np.arange(len(X)) % rows < 8] = 1e8
    res = d4p.low_order_moments().compute(X)
    expected = naive.moments(X)
    for name in ("sumSquaresCentered", "variance", "sum", "sumSquares"):
        np.testing.assert_allclose(getattr(res, name)[0], expected[name], rtol=1e-14,
                                   err_msg=name)
    np.testing.assert_allclose(res.mean[0], expected["mean"], rtol=1e-13)


@pytest.mark.parametrize("n", [5, 5000])  # chunks of fewer and of more than 8 rows
def test_constant_columns_have_exactly_zero_spread(n):
    X = np.random.default_rng(4).normal(size=(n, 20))
    X[:, 3], X[:, 7] = 0.1, -3e7 / 7
    res = d4p.low_order_moments().compute(X)
    assert (res.sumSquaresCentered[0, [3, 7]] == 0).all() and (res.variance[0, [3, 7]] == 0).all()
    assert res.mean[0, 3] == 0.1 and res.mean[0, 7] == -3e7 / 7


def test_shifted_sweep_keeps_the_spread_of_data_far_from_zero():
    X = 1e6 + np.random.default_rng(2).normal(size=(50_000, 20)) * 1e-3
    res = d4p.low_order_moments().compute(X)
    expected = naive.moments(X)
    for name in ("sumSquaresCentered", "variance", "mean", "sum", "sumSquares"):
        np.testing.assert_allclose(getattr(res, name)[0], expected[name], rtol=1e-12,
                                   err_msg=name)


def test_non_finite_values_under_assume_finite_propagate_like_numpy():
    X = np.random.default_rng(0).normal(size=(5000, 20))
    X[10, 1], X[20, 2], X[30, 3] = np.inf, -np.inf, np.nan
    with d4p.config_context(assume_finite=True):
        res = d4p.low_order_moments().compute(X)
    np.testing.assert_allclose(res.sum[0, :4], [X[:, 0].sum(), np.inf, -np.inf, np.nan],
                               rtol=1e-10)
    np.testing.assert_array_equal(res.sumSquares[0, 1:4], [np.inf, np.inf, np.nan])
    assert res.maximum[0, 1] == np.inf and res.minimum[0, 2] == -np.inf
    assert np.isnan(res.variance[0, 1:4]).all()
    np.testing.assert_allclose(res.variance[0, 4:], X[:, 4:].var(0, ddof=1), rtol=1e-12)


def test_squares_beyond_the_float64_range_give_inf_like_numpy():
    X = 1e200 * np.random.default_rng(0).normal(size=(3000, 20))
    res = d4p.low_order_moments().compute(X)
    assert (res.sumSquares == np.inf).all()
    np.testing.assert_allclose(res.mean[0], X.mean(0), rtol=1e-12)
    np.testing.assert_allclose(res.maximum[0], X.max(0), rtol=0)


def test_estimates_to_compute_leaves_others_none():
    X = data(20, 2)
    res = d4p.low_order_moments(estimatesToCompute="estimatesMinMax").compute(X)
    np.testing.assert_array_equal(res.minimum[0], X.min(0))
    assert res.mean is None and res.variance is None
    res = d4p.low_order_moments(estimatesToCompute="estimatesMeanVariance").compute(X)
    np.testing.assert_allclose(res.variance[0], X.var(0, ddof=1))
    assert res.minimum is None


def test_covariance_and_correlation_are_separate_fields():
    X = data(30, 3)
    for kind in ("", "covarianceMatrix", "correlationMatrix"):
        res = d4p.covariance(outputMatrixType=kind).compute(X)
        assert_covariance(res, X)


def test_constant_column_has_nan_correlation_like_numpy():
    X = np.column_stack([np.arange(5.0), np.ones(5)])
    res = d4p.covariance().compute(X)
    assert res.covariance[1, 1] == 0
    assert np.isnan(res.correlation[0, 1]) and np.isnan(res.correlation[1, 1])
    assert res.correlation[0, 0] == 1


def test_results_print_pickle_and_are_read_only():
    res = d4p.covariance().compute(data(10, 2))
    text = str(res)
    assert "covariance: array(shape=(2, 2), dtype=float64)" in text and "mean" in text
    assert pickle.loads(pickle.dumps(res)) == res
    with pytest.raises(AttributeError):
        res.mean = None
    m = d4p.low_order_moments().compute(data(10, 2))
    assert pickle.loads(pickle.dumps(m)) == m and "variation" in str(m)


def test_constructor_checks():
    with pytest.raises(ValueError, match="unknown method"):
        d4p.covariance(method="nope")
    with pytest.raises(ValueError, match="precomputed sums"):
        d4p.low_order_moments(method="sumDense")
    with pytest.raises(ValueError, match="fptype"):
        d4p.covariance(fptype="half")
    with pytest.raises(ValueError, match="unexpected value"):
        d4p.covariance(outputMatrixType="bogus")
    assert d4p.covariance("float", "singlePassDense").method == "singlePassDense"
    with pytest.raises(ValueError, match="needs streaming=True"):
        d4p.covariance().finalize()


def test_sparse_input_any_method():
    sp = pytest.importorskip("scipy.sparse")
    X = sp.random(500, 6, density=0.2, format="csr", random_state=1) * 5
    dense = X.toarray()
    for method in ("defaultDense", "fastCSR", "singlePassCSR"):
        assert_moments(d4p.low_order_moments(method=method).compute(X), dense)
        assert_covariance(d4p.covariance(method=method).compute(X), dense)
    assert_moments(d4p.low_order_moments().compute(X.tocoo()), dense)


# ---- streaming ----------------------------------------------------------------------


def test_streaming_batch_equals_one_shot():
    X = data(1000, 4)
    m, c = d4p.low_order_moments(streaming=True), d4p.covariance(streaming=True)
    for chunk in np.array_split(X, 7):
        assert m.compute(chunk) is None
        c.compute(chunk)
    assert_moments(m.finalize(), X)
    assert_covariance(c.finalize(), X)


def test_streaming_bad_chunk_raises_and_loses_nothing():
    X = data(100, 3)
    m = d4p.low_order_moments(streaming=True)
    m.compute(X[:50])
    bad = X[50:60].copy()
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="inf at row 0, column 0"):
        m.compute(bad)
    with pytest.raises(ValueError, match="4 columns but earlier chunks had 3"):
        m.compute(np.ones((2, 4)))
    m.compute(X[50:])
    assert_moments(m.finalize(), X)


@spmd
def test_distributed_streaming_each_rank_its_chunks():
    X = data(700, 4, seed=5)
    rows = local_rows(X)
    m = d4p.low_order_moments(distributed=True, streaming=True)
    c = d4p.covariance(distributed=True, streaming=True)
    for chunk in np.array_split(rows, 1 + d4p.my_procid()):  # different counts per rank
        m.compute(chunk)
        c.compute(chunk)
    assert_moments(m.finalize(), X)
    assert_covariance(c.finalize(), X)


# ---- distributed ----------------------------------------------------------------------


@spmd
def test_distributed_equals_batch_on_all_ranks():
    X = data(501, 6, seed=11, shift=3.0)
    rows = local_rows(X)
    assert_moments(d4p.low_order_moments(distributed=True).compute(rows), X)
    assert_covariance(d4p.covariance(distributed=True).compute(rows), X)
    res = d4p.covariance(fptype="float", distributed=True).compute(rows.astype(np.float32))
    assert res.covariance.dtype == np.float32


@spmd
def test_empty_rank_given_as_empty_list():
    X = data(40, 3, seed=2)
    rank, size = d4p.my_procid(), d4p.num_procs()
    rows = X if rank == size - 1 else []
    assert_moments(d4p.low_order_moments(distributed=True).compute(rows), X)


@given(
    n=st.integers(2, 60), p=st.integers(1, 5), nranks=st.integers(1, 8),
    seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1e-3, 1.0, 1e6]),
    shift=st.sampled_from([0.0, 1e4, -1e7]), data_=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_equals_numpy(n, p, nranks, seed, scale, shift, data_):
    rng = np.random.default_rng(seed)
    X = shift + scale * rng.normal(size=(n, p))
    weights = data_.draw(st.lists(st.integers(0, 5), min_size=nranks, max_size=nranks)
                         .filter(lambda w: sum(w) > 0))

    def body():
        rows = local_rows(X, weights)
        return (d4p.low_order_moments(distributed=True).compute(rows),
                d4p.covariance(distributed=True).compute(rows))

    for moments, cov in d4p.run_spmd(body, nranks):
        assert_moments(moments, X)
        assert_covariance(cov, X)
