"""CoMoments' two sweeps: one common shift (fast) and per-block centring (fallback)."""
import numpy as np
import pytest

import d4p
import naive
from d4p.stats import CoMoments
from spmd import local_rows, spmd


@pytest.fixture
def small_blocks(monkeypatch):
    """64-row blocks, so small data make many blocks; records the path of each
    thread's part of the rows."""
    monkeypatch.setattr(CoMoments, "BLOCK_BYTES", 64 * 8)
    paths = []
    shifted = CoMoments._shifted_sweep.__func__

    def spy(cls, *args):
        total = shifted(cls, *args)
        paths.append("fallback" if total is None else "shifted")
        return total

    monkeypatch.setattr(CoMoments, "_shifted_sweep", classmethod(spy))
    return paths


def assert_cross(stat, X, rtol=1e-10):
    expected = naive.covariance(X)
    n = X.shape[0]
    np.testing.assert_allclose(stat.cross / (n - 1), expected["covariance"], rtol=rtol,
                               atol=1e-12 * np.abs(expected["covariance"]).max())
    np.testing.assert_allclose(stat.mean, expected["mean"], rtol=rtol)
    np.testing.assert_allclose(stat.sum, X.astype(np.longdouble).sum(axis=0), rtol=1e-12)


def test_rows_far_from_the_origin_take_the_shifted_sweep(small_blocks):
    X = 1e9 + np.random.default_rng(0).normal(size=(20_000, 3)) * [1e-3, 1.0, 1e3]
    assert_cross(CoMoments.from_data(X), X)
    assert set(small_blocks) == {"shifted"}


def test_drifting_rows_fall_back_to_centring_each_block(small_blocks):
    # The first block's mean is far from the mean of all rows, relative to their spread.
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(64, 2)), 1e6 + rng.normal(size=(20_000, 2))])
    assert_cross(CoMoments.from_data(X), X)
    assert "fallback" in small_blocks  # the first thread's part holds the drift


def test_both_sweeps_agree(small_blocks, monkeypatch):
    X = np.random.default_rng(2).normal(size=(5_000, 4)) * 1e3 + 7.0
    shifted = CoMoments.from_data(X)
    assert set(small_blocks) == {"shifted"}
    small_blocks.clear()
    monkeypatch.setattr(CoMoments, "SHIFT_CANCELLATION", 0.0)  # nothing is accurate enough
    centred = CoMoments.from_data(X)
    assert set(small_blocks) == {"fallback"}
    np.testing.assert_allclose(shifted.cross, centred.cross, rtol=1e-12)
    np.testing.assert_allclose(shifted.mean, centred.mean, atol=1e-14 * 1e3)  # 1e3: the spread
    assert_cross(centred, X)


def test_constant_columns_give_exact_zeros(small_blocks):
    rng = np.random.default_rng(3)
    X = np.column_stack([np.full(3_000, 0.1), rng.normal(size=3_000), np.full(3_000, -7e8)])
    stat = CoMoments.from_data(X)
    assert set(small_blocks) == {"shifted"}
    assert (stat.cross[0] == 0).all() and (stat.cross[:, 2] == 0).all()
    assert stat.mean[0] == 0.1 and stat.mean[2] == -7e8


@pytest.mark.parametrize("p", [3, 4])  # [X | Y] of even and of odd width (padded)
def test_side_by_side_columns_equal_the_stacked_table(small_blocks, p):
    rng = np.random.default_rng(4)
    X = 50 + rng.normal(size=(4_000, p))
    Y = X @ np.arange(1.0, p + 1)[:, None] + rng.normal(size=(4_000, 1))
    stat = CoMoments.from_xy(X, Y)
    assert set(small_blocks) == {"shifted"}
    assert_cross(stat, np.hstack([X, Y]))


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_other_dtypes_accumulate_in_float64(small_blocks, dtype):
    X = (1000 + 10 * np.random.default_rng(5).normal(size=(6_000, 2))).astype(dtype)
    assert_cross(CoMoments.from_data(X), X.astype(np.float64))


def test_a_nan_in_a_later_block_is_reported(small_blocks):
    X = np.random.default_rng(6).normal(size=(3_000, 2))
    X[2_500, 1] = np.nan
    with pytest.raises(ValueError, match="row 2500"):
        d4p.covariance().compute(X)


@spmd
def test_distributed_shifted_and_centred_parts_equals_batch():
    # Default blocks of 2 columns hold 65,536 rows: up to 7 ranks, the larger take the
    # shifted sweep (on a level of 1e6 and on a drifting column), the smaller
    # ones a single centred block, and empty ranks the identity.  (The
    # fallback needs ten blocks in one part; the small_blocks tests cover it.)
    rng = np.random.default_rng(8)
    n = 300_000
    X = np.column_stack([1e6 + rng.normal(size=n), np.linspace(0.0, 1e4, n) + rng.normal(size=n)])
    Y = X @ [[2.0], [-1.0]] + rng.normal(size=(n, 1))
    rows = local_rows(X)
    res = d4p.covariance(distributed=True).compute(rows)
    expected = naive.covariance(X)
    np.testing.assert_allclose(res.covariance, expected["covariance"], rtol=1e-10)
    np.testing.assert_allclose(res.mean[0], expected["mean"], rtol=1e-12)
    model = d4p.linear_regression_training(distributed=True).compute(rows, local_rows(Y)).model
    batch = d4p.linear_regression_training().compute(X, Y).model
    np.testing.assert_allclose(model.Beta, batch.Beta, rtol=1e-9)


@pytest.mark.parametrize("n", [1, 4, 6, 9])  # four-row sweeps and the rows after them
def test_column_sums_say_which_columns_are_constant(n):
    from d4p.kernels.covariance import column_sums

    X = np.column_stack([np.full(n + 2, 3.0), np.arange(n + 2.0), np.full(n + 2, 2.0)])
    X[1 + n - 1, 2] = np.nan  # the last row of the range: constant up to it, then NaN
    same = np.ones(3, dtype=bool)
    sums = column_sums(X, 1, 1 + n, same)
    np.testing.assert_array_equal(sums, X[1:1 + n].sum(axis=0))
    assert same.tolist() == [True, n == 1, False]


def test_sparse_rows_made_dense_block_by_block_equal_the_dense_ones(small_blocks):
    import scipy.sparse as sp

    rng = np.random.default_rng(10)
    X = rng.normal(size=(3_000, 4)) * (rng.random((3_000, 4)) < 0.3) + [0.0, 5.0, 0.0, 0.0]
    Y = rng.normal(size=(3_000, 1))
    for dense, sparse in [(CoMoments.from_data(X), CoMoments.from_data(sp.csr_matrix(X))),
                          (CoMoments.from_xy(X, Y), CoMoments.from_xy(sp.csr_matrix(X), Y))]:
        np.testing.assert_allclose(sparse.cross, dense.cross, rtol=1e-12)
        np.testing.assert_allclose(sparse.mean, dense.mean, rtol=1e-12, atol=1e-15)
    assert "shifted" in small_blocks
