"""The register-tiled kernels against numpy: the Gram matrix (kernels/gram.py) with
the cross-products on both paths, and the row-by-centre products of Lloyd's
assignment (kernels/products.py) with k-means on both paths."""
import numpy as np
import pytest
from numba.core.errors import TypingError

import d4p
import naive
import naive_kmeans
from d4p.kernels import gram as gk
from d4p.kernels import products as kprod
from d4p.stats import CoMoments, GramSum


def padded(rows, m, fill=0.0):
    """``rows`` (n, m) in a C-ordered buffer with the kernel's margin set to ``fill``."""
    out = np.full((rows.shape[0], m + gk.PAD), fill)
    out[:, :m] = rows
    return out


def upper(G, m):
    return np.triu(G[:m, :m])


# Small integers: every product and sum is exact, so any order of summation gives
# numpy's result exactly, and a wrong index cannot hide inside a tolerance.
@pytest.mark.parametrize("m", [0, 1, 2, 5, 6, 7, 8, 9, 13, 14, 50, 51, 97])
@pytest.mark.parametrize("nrows", [0, 1, 15, 16, 17, 203])
def test_upper_triangle_is_exact_on_integers(m, nrows):
    rng = np.random.default_rng(m * 1000 + nrows)
    rows = rng.integers(-50, 50, size=(nrows + 5, m)).astype(np.float64)
    D = padded(rows, m, fill=np.nan)  # the margin must not reach the triangle
    G = np.zeros((m + gk.PAD, m + gk.PAD))
    gk.add_upper_gram(D, nrows, m, G)
    assert (upper(G, m) == np.triu(rows[:nrows].T @ rows[:nrows])).all()


def test_adds_to_what_g_holds():
    rows = np.arange(60.0).reshape(12, 5)
    G = np.zeros((12, 12))
    G[:5, :5] = 1.0
    gk.add_upper_gram(padded(rows, 5), 12, 5, G)
    assert (upper(G, 5) == np.triu(rows.T @ rows + 1.0)).all()


def test_rows_beyond_nrows_are_not_read():
    rows = np.ones((40, 3))
    rows[20:] = np.nan
    G = np.zeros((10, 10))
    gk.add_upper_gram(padded(rows, 3), 20, 3, G)
    assert (upper(G, 3) == np.triu(np.full((3, 3), 20.0))).all()


def test_random_rows_match_blas():
    rng = np.random.default_rng(0)
    m, n = 50, 3_000  # many chunks
    rows = rng.normal(size=(n, m)) * 1e3
    G = np.zeros((m + gk.PAD, m + gk.PAD))
    gk.add_upper_gram(padded(rows, m), n, m, G)
    np.testing.assert_allclose(upper(G, m), np.triu(rows.T @ rows), rtol=1e-12, atol=1e-6)


def test_non_finite_values_reach_only_their_entries():
    rows = np.ones((30, 4))
    rows[7, 1] = np.inf
    G = np.zeros((11, 11))
    gk.add_upper_gram(padded(rows, 4), 30, 4, G)
    top = upper(G, 4)
    assert np.isinf(top[1, 1]) and np.isinf(top[0, 1]) and np.isinf(top[1, 3])
    assert top[0, 0] == top[2, 3] == 30.0


@pytest.mark.parametrize("d_cols, g_shape, nrows", [
    (5 + gk.PAD - 1, (5 + gk.PAD,) * 2, 10),      # D without the margin
    (5 + gk.PAD, (5 + gk.PAD - 1, 5 + gk.PAD), 10),  # G too short
    (5 + gk.PAD, (5 + gk.PAD, 5 + gk.PAD - 1), 10),  # G too narrow
    (5 + gk.PAD, (5 + gk.PAD,) * 2, 11),          # more rows than D has
    (5 + gk.PAD, (5 + gk.PAD,) * 2, -1),
])
def test_small_buffers_are_refused(d_cols, g_shape, nrows):
    with pytest.raises(ValueError, match="too small"):
        gk.add_upper_gram(np.zeros((10, d_cols)), nrows, 5, np.zeros(g_shape))


@pytest.mark.parametrize("D", [np.zeros((10, 12), order="F"), np.zeros((10, 12), np.float32),
                               np.zeros((10, 24))[:, ::2]])
def test_only_c_ordered_float64_compiles(D):
    with pytest.raises(TypingError):
        gk.add_upper_gram(D, 10, 5, np.zeros((12, 12)))


@pytest.fixture(params=["tiled", "blas"])
def gram_path(request, monkeypatch):
    """Cross-products through the tiled kernel, then through BLAS (both are correct
    on any processor; the tiles are only slow without FMA)."""
    monkeypatch.setattr(gk, "TILED", request.param == "tiled")
    return request.param


@pytest.mark.parametrize("p, k", [(1, 0), (3, 0), (3, 2), (50, 1), (gk.MAX_COLUMNS + 1, 0)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_gram_sum_of_shifted_rows(gram_path, p, k, order):
    rng = np.random.default_rng(p)
    X = np.asarray(rng.normal(size=(300, p)) + 5.0, order=order)
    Y = np.asarray(rng.normal(size=(300, k)), order=order)
    ref = rng.normal(size=p + k)
    products, resid = GramSum(p + k, rows=64), np.zeros(p + k)
    for lo, hi in [(0, 100), (100, 137), (137, 300)]:  # a ragged middle block
        products.add_shifted(X, lo, Y, lo, hi - lo, ref, resid)
    D = np.hstack([X, Y]) - ref
    total = products.total()
    np.testing.assert_allclose(total, D.T @ D, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(resid, D.sum(axis=0), rtol=1e-12, atol=1e-10)
    assert (total == total.T).all()
    assert GramSum.tiled(p + k) == (gram_path == "tiled" and p + k <= gk.MAX_COLUMNS)
    products.clear()
    assert (products.total() == 0).all()


def test_shifted_rows_may_start_anywhere_in_x_and_y():
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(50, 4)), rng.normal(size=(80, 1))
    ref = np.zeros(5)
    G, resid = np.zeros((5 + gk.PAD,) * 2), np.zeros(5)
    gk.add_shifted_gram(X, 10, Y, 70, 10, ref, np.zeros((16, 5 + gk.PAD)), G, resid)
    D = np.hstack([X[10:20], Y[70:80]])
    np.testing.assert_allclose(upper(G, 5), np.triu(D.T @ D), rtol=1e-13)
    with pytest.raises(ValueError, match="do not match"):
        gk.add_shifted_gram(X, 10, Y, 71, 10, ref, np.zeros((16, 5 + gk.PAD)), G, resid)


@pytest.mark.parametrize("buf_cols, g_size", [(5 + gk.PAD - 1, 5 + gk.PAD), (5 + gk.PAD, 5)])
def test_shifted_gram_refuses_a_buffer_or_product_too_small_for_the_tiles(buf_cols, g_size):
    X, Y = np.ones((20, 4)), np.ones((20, 1))
    with pytest.raises(ValueError, match="do not match"):
        gk.add_shifted_gram(X, 0, Y, 0, 20, np.zeros(5), np.zeros((16, buf_cols)),
                            np.zeros((g_size, g_size)), np.zeros(5))


@pytest.mark.parametrize("view", ["C", "strided rows", "F"])
def test_shifted_gram_of_any_layout_is_the_same(view):
    """The next chunk is prefetched only for row-contiguous X: a hint, so every
    layout gives the same bits."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(600, 14))
    X = {"C": base[:, :7].copy(), "strided rows": base[:, :7],
         "F": np.asfortranarray(base[:, :7])}[view]
    Y = np.zeros((600, 0))
    out = []
    for A in (base[:, :7].copy(), X):
        G, resid = np.zeros((7 + gk.PAD,) * 2), np.zeros(7)
        gk.add_shifted_gram(A, 5, Y, 5, 590, np.full(7, 0.5), np.zeros((16, 7 + gk.PAD)), G, resid)
        out.append((upper(G, 7), resid))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


@pytest.mark.parametrize("n", [500, 40_000])  # one centred block; the shifted sweep
def test_covariance_and_regression_on_both_paths(gram_path, n):
    rng = np.random.default_rng(n)
    X = 1e4 + rng.normal(size=(n, 9)) * np.arange(1.0, 10.0)
    Y = X @ rng.normal(size=(9, 2)) + rng.normal(size=(n, 2))
    res = d4p.covariance().compute(X)
    expected = naive.covariance(X)
    np.testing.assert_allclose(res.covariance, expected["covariance"], rtol=1e-10)
    np.testing.assert_allclose(res.mean[0], expected["mean"], rtol=1e-14)
    stat = CoMoments.from_xy(X, Y)
    np.testing.assert_allclose(stat.cross, naive.covariance(np.hstack([X, Y]))["covariance"]
                               * (n - 1), rtol=1e-10)


def centre_products(A, C, nb=None):
    """``row_centre_products`` of ``A`` with centres ``C`` (k, p): GT (nb, kp)."""
    width = kprod.VECTOR_BYTES // A.itemsize
    k, p = C.shape
    kp = -(-k // width) * width
    Ct = np.zeros((p, kp), dtype=A.dtype)
    Ct[:, :k] = C.T
    nb = A.shape[0] if nb is None else nb
    GT = np.full((nb, kp), np.nan, dtype=A.dtype)
    kprod.row_centre_products(A, nb, Ct, GT)
    return GT


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 3, 4, 5, 9, 12, 13, 20, 25, 49])
@pytest.mark.parametrize("nb", [0, 1, 3, 4, 5, 7, 8, 9, 13])
def test_row_centre_products_are_exact_on_integers(dtype, k, nb):
    rng = np.random.default_rng(k * 100 + nb)
    p = 7
    A = rng.integers(-20, 20, size=(nb + 2, p)).astype(dtype)
    C = rng.integers(-20, 20, size=(k, p)).astype(dtype)
    GT = centre_products(A, C, nb)
    assert (GT[:, :k] == A[:nb] @ C.T).all()
    assert (GT[:, k:] == 0).all()  # the zero columns of Ct


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [2, 10, 16, 30])
def test_a_rows_products_do_not_depend_on_its_place_in_the_block(dtype, k):
    rng = np.random.default_rng(k)
    A = rng.normal(size=(29, 50)).astype(dtype)
    C = rng.normal(size=(k, 50)).astype(dtype)
    whole = centre_products(A, C)
    for i in range(A.shape[0]):
        assert (centre_products(A[i:i + 1], C) == whole[i]).all()
    np.testing.assert_allclose(whole[:, :k], A.astype(np.float64) @ C.T.astype(np.float64),
                               rtol=1e-4 if dtype == np.float32 else 1e-12, atol=1e-4)


def test_row_centre_products_refuse_mismatched_shapes():
    A = np.zeros((5, 3))
    with pytest.raises(ValueError, match="do not match"):
        kprod.row_centre_products(A, 5, np.zeros((3, 6)), np.zeros((5, 6)))  # 6: not whole vectors
    with pytest.raises(ValueError, match="do not match"):
        kprod.row_centre_products(A, 6, np.zeros((3, 4)), np.zeros((6, 4)))  # more rows than A


@pytest.fixture(params=["tiled", "blas"])
def products_path(request, monkeypatch):
    monkeypatch.setattr(kprod, "TILED", request.param == "tiled")
    return request.param


@pytest.mark.parametrize("fptype", ["double", "float"])
def test_kmeans_on_both_product_paths(products_path, fptype):
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 5)) * 10
    X = np.vstack([c + rng.normal(size=(700, 5)) for c in centres])
    X = X.astype(np.float32) if fptype == "float" else X
    init = X[::700][:6].copy()
    res = d4p.kmeans(6, 5, fptype=fptype, assignFlag=True).compute(X, init)
    centroids, labels, objective, _ = naive_kmeans.lloyd(X, init, 5)
    np.testing.assert_allclose(res.centroids, centroids,
                               rtol=1e-4 if fptype == "float" else 1e-10)
    assert (res.assignments.ravel() == labels).all()
    np.testing.assert_allclose(res.objectiveFunction[0, 0], objective, rtol=1e-5)
