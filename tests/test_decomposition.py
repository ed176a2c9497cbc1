"""qr, svd, pca and pca_transform: batch, distributed, streaming, property tests."""
import pickle
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import d4p
from d4p import _parallel, cholesky_qr
from d4p._engine import current_comm
from spmd import local_rows, spmd

TOL = 1e-9


def data(n=200, p=5, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return shift + rng.normal(size=(n, p)) * rng.uniform(0.5, 3, size=p)


def conditioned(n, p, kappa, seed=0):
    """Rows with a given condition number (after equilibration, roughly) and columns
    on very different scales."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.normal(size=(n, p)))
    V, _ = np.linalg.qr(rng.normal(size=(p, p)))
    return (U * np.logspace(0, -np.log10(kappa), p)) @ V.T * rng.uniform(1e-3, 1e3, size=p)


def numpy_r(X):
    R = np.linalg.qr(np.asarray(X, dtype=np.float64), mode="r")
    return R * np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]


def flip(V):
    idx = np.abs(V).argmax(axis=1)
    return V * np.where(V[np.arange(V.shape[0]), idx] < 0, -1.0, 1.0)[:, None]


def assert_close(got, expected, tol=TOL, err_msg=""):
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(np.abs(expected).max(), 1e-300) if expected.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * scale, err_msg=err_msg)


def assert_orthonormal(Q, tol=1e-10):
    k = Q.shape[1]
    np.testing.assert_allclose(Q.T @ Q, np.eye(k), atol=tol)


def standardised(X):
    return (X - X.mean(0)) / np.where(X.std(0, ddof=1) > 0, X.std(0, ddof=1), 1.0)


def gathered(local):
    """The rank-ordered stack of every rank's block (collective)."""
    return np.vstack(current_comm().allgather(local))


# ---- qr, batch -----------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_qr_matches_numpy_any_layout_and_dtype(order, dtype):
    X = np.asarray(data(300, 6, shift=2.0) * 10, dtype=dtype, order=order)
    res = d4p.qr().compute(X)
    assert res.matrixQ.shape == (300, 6) and res.matrixR.shape == (6, 6)
    assert res.matrixQ.dtype == np.float64 and res.matrixR.dtype == np.float64
    assert_close(res.matrixR, numpy_r(X), 1e-12)
    assert (np.diag(res.matrixR) >= 0).all() and np.allclose(np.tril(res.matrixR, -1), 0)
    assert_close(res.matrixQ @ res.matrixR, X, 1e-13)
    assert_orthonormal(res.matrixQ, 1e-12)
    strided = np.asarray(data(600, 12), dtype=dtype)[::2, ::2]
    res = d4p.qr().compute(strided)
    assert_close(res.matrixR, numpy_r(strided), 1e-12)


def test_qr_does_not_modify_the_input():
    X = data(500, 4)
    copy = X.copy()
    d4p.qr().compute(X)
    d4p.svd().compute(X)
    np.testing.assert_array_equal(X, copy)


def test_fptype_float_gives_float32_results():
    X = data(100, 4).astype(np.float32)
    res = d4p.qr("float").compute(X)
    assert res.matrixQ.dtype == np.float32 and res.matrixR.dtype == np.float32
    assert_close(res.matrixR, numpy_r(X), 1e-6)
    s = d4p.svd(fptype="float").compute(X)
    assert {s.singularValues.dtype, s.rightSingularMatrix.dtype, s.leftSingularMatrix.dtype} == \
        {np.dtype(np.float32)}
    p = d4p.pca("float", resultsToCompute="mean|variance|eigenvalue").compute(X)
    assert all(a.dtype == np.float32 for a in (p.eigenvalues, p.eigenvectors, p.means, p.variances))


@pytest.mark.parametrize("kappa", [1e1, 1e4, 1e9])
def test_qr_every_local_path_is_accurate(kappa):
    """One Cholesky pass, CholeskyQR2 and Householder: all Householder quality."""
    X = conditioned(3000, 12, kappa)
    local = cholesky_qr.factor_local(X, want_q=True, keep_data=True)
    path = ("one pass" if local.A is X else "two pass" if local.T is not None else "householder")
    assert path == {1e1: "one pass", 1e4: "two pass", 1e9: "householder"}[kappa]
    res = d4p.qr().compute(X)
    scale = np.linalg.norm(X, axis=0)
    assert (np.abs(res.matrixQ @ res.matrixR - X) / scale).max() < 1e-14
    assert_orthonormal(res.matrixQ, 1e-12 if kappa <= 10 else 1e-14)
    assert (np.abs(res.matrixR - numpy_r(X)) / scale).max() < 1e-15 * kappa * 10


THREADED = {  # algorithm, dtype of the input, (field, tolerance) compared
    "qr": (lambda: d4p.qr(), np.float64, [("matrixR", 1e-12), ("matrixQ", 1e-10)]),
    "svd_float32": (lambda: d4p.svd(), np.float32, [("leftSingularMatrix", 1e-10)]),
    "pca_svd": (lambda: d4p.pca(method="svdDense"), np.float64, [("eigenvalues", 1e-12)]),
    "svd_without_u": (lambda: d4p.svd(leftSingularMatrix="notRequired"), np.float64,
                      [("singularValues", 1e-12)]),
}


@pytest.mark.parametrize("algo", THREADED)
@pytest.mark.parametrize("kappa", [1e1, 1e4])
def test_row_parts_on_threads_give_the_same_answer(monkeypatch, kappa, algo):
    """Large local inputs are split over Python threads (here forced to 3 parts)."""
    make, dtype, fields = THREADED[algo]
    X = (conditioned(6000, 10, kappa, seed=4) + 1.0).astype(dtype)
    serial = make().compute(X)
    monkeypatch.setattr(_parallel, "thread_parts", lambda n, rows: 3)
    threaded = make().compute(X)
    for field, tol in fields:
        assert_close(getattr(threaded, field), getattr(serial, field), tol, err_msg=field)
    if algo == "qr":
        assert_close(threaded.matrixQ @ threaded.matrixR, X, 1e-13)


def test_tsqr_statistic_sends_only_its_r_factor():
    """A rank's local Q factors stay on the rank: what is pickled (what crosses the
    wire) is the p x p R and the row count, whatever the number of rows."""
    from d4p.tsqr import TSQRFactor

    X = data(5000, 6)
    stat = TSQRFactor.from_data(X, want_q=True, keep_data=False)
    assert len(stat.chunks) == 1 and stat.chunks[0].A.shape == (5000, 6)
    wire = pickle.dumps(stat)
    assert len(wire) < 2000
    copy = pickle.loads(wire)
    assert copy.chunks == () and copy.n == 5000
    np.testing.assert_array_equal(copy.r, stat.r)
    merged = TSQRFactor.merge(stat, copy)
    assert merged.n == 10000 and len(merged.chunks) == 1
    assert_close(merged.r.T @ merged.r, 2 * X.T @ X, 1e-12)


def test_qr_rank_deficient_and_zero_columns():
    X = data(200, 4)
    X = np.column_stack([X, X[:, 0] + X[:, 1], np.zeros(200)])
    res = d4p.qr().compute(X)
    assert_close(res.matrixQ @ res.matrixR, X, 1e-13)
    assert_orthonormal(res.matrixQ, 1e-13)
    assert abs(res.matrixR[4, 4]) < 1e-12 * abs(res.matrixR).max() and res.matrixR[5, 5] == 0


def test_qr_fewer_rows_than_columns_follows_numpy_reduced_qr():
    X = data(3, 5)
    res = d4p.qr().compute(X)
    assert res.matrixQ.shape == (3, 3) and res.matrixR.shape == (3, 5)
    assert_close(res.matrixR, numpy_r(X), 1e-13)
    assert_close(res.matrixQ @ res.matrixR, X, 1e-13)
    assert_orthonormal(res.matrixQ)


def test_sparse_input_is_densified():
    sp = pytest.importorskip("scipy.sparse")
    X = sp.random(300, 5, density=0.5, format="csr", random_state=2)
    res = d4p.qr().compute(X)
    assert_close(res.matrixR, numpy_r(X.toarray()), 1e-12)
    p = d4p.pca(method="svdDense").compute(X)
    assert_close(p.eigenvalues, d4p.pca().compute(X.toarray()).eigenvalues)
    few = sp.random(4, 6, density=0.7, format="csr", random_state=3)  # Householder blocks
    assert_close(d4p.pca(method="svdDense").compute(few).eigenvalues,
                 d4p.pca(method="svdDense").compute(few.toarray()).eigenvalues, 1e-12)


# ---- svd, batch ----------------------------------------------------------------------------


def assert_svd(res, X, tol=1e-12):
    _, s, Vt = np.linalg.svd(X, full_matrices=False)
    assert_close(res.singularValues[0], s, tol)
    assert_close(res.rightSingularMatrix, flip(Vt), 1e-10)
    U = res.leftSingularMatrix
    if U is not None:
        assert_close((U * res.singularValues) @ res.rightSingularMatrix, X, 1e-12)
        assert_orthonormal(U)


def test_svd_matches_numpy_with_deterministic_signs():
    X = data(400, 7, shift=1.0)
    res = d4p.svd().compute(X)
    assert res.singularValues.shape == (1, 7) and res.leftSingularMatrix.shape == (400, 7)
    assert_svd(res, X)
    V = res.rightSingularMatrix
    assert (V[np.arange(7), np.abs(V).argmax(1)] > 0).all()


def test_svd_not_required_matrices():
    X = data(100, 4)
    res = d4p.svd(leftSingularMatrix="notRequired").compute(X)
    assert res.leftSingularMatrix is None
    assert_svd(res, X)
    res = d4p.svd(rightSingularMatrix="notRequired").compute(X)
    assert res.rightSingularMatrix is None and res.leftSingularMatrix.shape == (100, 4)
    res = d4p.svd(leftSingularMatrix="requiredInPackedForm").compute(X[:3])
    assert res.singularValues.shape == (1, 3) and res.rightSingularMatrix.shape == (3, 4)
    assert_svd(res, X[:3])


def test_svd_ill_conditioned_small_singular_values():
    X = conditioned(2000, 8, 1e7, seed=3)
    s = d4p.svd(leftSingularMatrix="notRequired").compute(X).singularValues[0]
    np.testing.assert_allclose(s, np.linalg.svd(X, compute_uv=False), rtol=1e-8)


# ---- streaming qr / svd -------------------------------------------------------------------


def stream_chunks(algo, X):
    """Feed ``X`` to ``algo`` in 7 chunks, then three empty ones of each kind."""
    for chunk in np.array_split(X, 7) + [np.empty((0, X.shape[1])), X[:0], []]:
        assert algo.compute(chunk) is None
    return algo


def test_streaming_qr_equals_one_shot_rows_in_order():
    X = data(1000, 5, shift=3.0)
    q = stream_chunks(d4p.qr(streaming=True), X)
    res = q.finalize()
    assert_close(res.matrixR, numpy_r(X), 1e-12)
    assert_close(res.matrixQ @ res.matrixR, X, 1e-13)
    assert_orthonormal(res.matrixQ)
    # more chunks after finalize are added to the earlier ones
    q.compute(X[:10])
    res = q.finalize()
    assert res.matrixQ.shape == (1010, 5)
    assert_close(res.matrixQ @ res.matrixR, np.vstack([X, X[:10]]), 1e-13)


@pytest.mark.parametrize("left", ["", "notRequired"])
def test_streaming_svd_equals_one_shot_rows_in_order(left):
    X = data(1000, 5, shift=3.0)
    assert_svd(stream_chunks(d4p.svd(leftSingularMatrix=left, streaming=True), X).finalize(), X)


def test_streaming_short_chunks_and_bad_chunk():
    X = data(30, 6)
    q = d4p.qr(streaming=True)
    for chunk in np.array_split(X, 10):  # 3 rows each, fewer than the columns
        q.compute(chunk)
    bad = X[:2].copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="nan at row 1, column 1"):
        q.compute(bad)
    with pytest.raises(ValueError, match="7 columns but earlier chunks had 6"):
        q.compute(np.ones((2, 7)))
    res = q.finalize()
    assert_close(res.matrixR, numpy_r(X), 1e-12)
    assert_close(res.matrixQ @ res.matrixR, X, 1e-13)


# ---- pca, batch ----------------------------------------------------------------------------


def sklearn_pca(X):
    from sklearn.decomposition import PCA

    return PCA(svd_solver="full").fit(standardised(X))


@pytest.mark.parametrize("method", ["correlationDense", "defaultDense", "svdDense"])
def test_pca_matches_sklearn_on_random_data(method):
    X = data(500, 6, shift=5.0)
    sk = sklearn_pca(X)
    res = d4p.pca(method=method, isDeterministic=True,
                  resultsToCompute="mean|variance|eigenvalue").compute(X)
    assert_close(res.eigenvalues[0], sk.explained_variance_, 1e-12)
    assert_close(res.eigenvectors, sk.components_, 1e-10)
    assert_close(res.means[0], X.mean(0), 1e-13)
    assert_close(res.variances[0], X.var(0, ddof=1), 1e-12)
    assert set(res.dataForTransform) == {"mean", "variance", "eigenvalue"}


@pytest.mark.parametrize("method", ["correlationDense", "svdDense"])
@pytest.mark.parametrize("dataset", ["breast_cancer", "digits"])
def test_pca_matches_sklearn_on_real_data(method, dataset):
    from sklearn import datasets

    X = getattr(datasets, f"load_{dataset}")().data
    sk = sklearn_pca(X)
    res = d4p.pca(method=method, isDeterministic=True).compute(X)
    assert_close(res.eigenvalues[0], sk.explained_variance_, 1e-11)
    # components with distinct, non-zero eigenvalues are unique
    ev = sk.explained_variance_
    gaps = np.minimum(np.abs(np.diff(ev, prepend=np.inf)), np.abs(np.diff(ev, append=-np.inf)))
    unique = (ev > 1e-8) & (gaps > 1e-6 * ev[0])
    assert unique.sum() > 20
    assert_close(res.eigenvectors[unique], sk.components_[unique], 1e-7)


def test_pca_matches_daal4py_batch_numbers():
    """daal4py 2026.2 batch on this data (correlationDense, all results)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4)) * [1, 2, 3, 4] + [1, 2, 3, 4]
    res = d4p.pca(resultsToCompute="mean|variance|eigenvalue").compute(X)
    np.testing.assert_allclose(res.eigenvalues[0], [1.35266271, 1.23613555, 0.93002874,
                                                    0.48117301], atol=1e-8)
    np.testing.assert_allclose(res.means[0], [0.88109735, 2.10737607, 3.75028847, 5.18594694],
                               atol=1e-8)
    np.testing.assert_allclose(res.variances[0], [0.78650648, 3.50651516, 10.24562962,
                                                  15.88635044], atol=1e-8)
    np.testing.assert_allclose(np.abs(res.eigenvectors), np.abs(DAAL_EIGENVECTORS), atol=1e-8)
    svd_res = d4p.pca(method="svdDense", doScale=False).compute(X)
    # daal4py batch svdDense (doScale=False) reports the singular values instead
    np.testing.assert_allclose(np.sqrt(svd_res.eigenvalues[0] * 19),
                               [5.06957507, 4.84629502, 4.20363486, 3.02362153], atol=1e-7)


DAAL_EIGENVECTORS = np.array([[0.36607786, 0.21726597, -0.53536305, -0.72949908],
                              [0.65967541, -0.47210305, 0.54572861, -0.2100651],
                              [0.40465382, 0.83027511, 0.31381578, 0.22004135],
                              [0.51678878, -0.20138882, -0.5631042, 0.61260555]])


@pytest.mark.parametrize("method", ["correlationDense", "svdDense"])
@pytest.mark.parametrize("k", [1, 3, 5, 0, -1])
def test_pca_n_components(k, method):
    X = data(100, 5)
    full = d4p.pca(resultsToCompute="mean|variance|eigenvalue").compute(X)
    r = d4p.pca(method=method, nComponents=k, resultsToCompute="eigenvalue").compute(X)
    kk = 5 if k <= 0 else k
    assert r.eigenvalues.shape == (1, kk) and r.eigenvectors.shape == (kk, 5)
    assert_close(r.eigenvalues, full.eigenvalues[:, :kk], 1e-12)
    assert r.dataForTransform["mean"] is None
    assert_close(r.dataForTransform["eigenvalue"], full.eigenvalues[:, :kk], 1e-12)


def test_pca_results_to_compute():
    X = data(100, 5)
    res = d4p.pca().compute(X)
    assert res.means is None and res.variances is None
    assert res.dataForTransform == {"mean": None, "variance": None, "eigenvalue": None}
    assert res.eigenvalues.shape == (1, 5) and res.eigenvectors.shape == (5, 5)
    r = d4p.pca(resultsToCompute="variance").compute(X)
    assert r.means is None and r.dataForTransform["mean"] is None
    assert_close(r.dataForTransform["variance"], X.var(0, ddof=1)[None], 1e-12)
    assert d4p.pca(resultsToCompute="none").compute(X).means is None
    with pytest.raises(ValueError, match="nComponents=6 exceeds"):
        d4p.pca(nComponents=6).compute(X)


@pytest.mark.parametrize("method", ["correlationDense", "svdDense"])
def test_pca_is_deterministic_flips_signs(method):
    X = data(100, 5, seed=4)
    plain = d4p.pca(method=method).compute(X).eigenvectors
    det = d4p.pca(method=method, isDeterministic=True).compute(X).eigenvectors
    assert_close(np.abs(det), np.abs(plain), 1e-10)
    assert_close(det, flip(plain), 1e-10)


@pytest.mark.parametrize("method", ["correlationDense", "svdDense"])
def test_pca_constant_column_gives_a_zero_component(method):
    X = data(100, 4)
    X = np.column_stack([X, np.full(100, 0.1)])  # 0.1 is not exact: rounding noise when centred
    res = d4p.pca(method=method, isDeterministic=True, resultsToCompute="variance").compute(X)
    assert res.eigenvalues[0, -1] == 0 and res.variances[0, -1] == 0
    np.testing.assert_array_equal(res.eigenvectors[-1], [0, 0, 0, 0, 1])
    assert_close(res.eigenvalues[0, :4], sklearn_pca(X[:, :4]).explained_variance_, 1e-12)


def test_pca_svd_dense_ill_conditioned_uses_more_passes():
    X = conditioned(4000, 10, 1e5, seed=1)
    X = X - X.mean(0)
    expected = np.linalg.svd(standardised(X), compute_uv=False) ** 2 / (len(X) - 1)
    res = d4p.pca(method="svdDense").compute(X + 10 * X.std(0))
    np.testing.assert_allclose(res.eigenvalues[0], expected, rtol=1e-8)


GIVEN_CORRELATION = {
    "isCorrelation": lambda X, C: d4p.pca(isCorrelation=True, isDeterministic=True).compute(C),
    "argument": lambda X, C: d4p.pca(isDeterministic=True).compute(X, correlation=C),
    "no_data": lambda X, C: d4p.pca(isDeterministic=True, resultsToCompute="mean").compute(None, C),
}


@pytest.mark.parametrize("form", GIVEN_CORRELATION)
def test_pca_of_a_given_correlation_matrix(form):
    X = data(200, 4)
    C = np.corrcoef(X.T)
    expected = d4p.pca(isDeterministic=True, resultsToCompute="eigenvalue").compute(X)
    res = GIVEN_CORRELATION[form](X, C)
    assert_close(res.eigenvalues, expected.eigenvalues, 1e-12)
    assert_close(res.eigenvectors, expected.eigenvectors, 1e-10)
    assert res.means is None


def test_pca_is_correlation_checks():
    X = data(200, 4)
    C = np.corrcoef(X.T)
    with pytest.raises(ValueError, match="square"):
        d4p.pca(isCorrelation=True).compute(X)
    with pytest.raises(ValueError, match="not symmetric"):
        d4p.pca(isCorrelation=True).compute(np.triu(C))
    with pytest.raises(ValueError, match="batch mode only"):
        d4p.pca(isCorrelation=True, distributed=True)


def test_pca_needs_two_rows_and_rejects_normalization():
    with pytest.raises(ValueError, match="at least 2 rows"):
        d4p.pca().compute(np.ones((1, 3)))
    with pytest.raises(TypeError, match="normalization"):
        d4p.pca(normalization=object())
    with pytest.raises(ValueError, match="unknown method"):
        d4p.pca(method="qr")
    with pytest.raises(ValueError, match="unexpected value"):
        d4p.pca(resultsToCompute="mean|bogus")
    with pytest.raises(TypeError):
        d4p.pca(nComponents=1.5)
    with pytest.raises(ValueError):
        d4p.pca(nComponents=-2)


# ---- pca_transform -------------------------------------------------------------------------


def test_pca_transform_matches_daal4py_on_each_entry():
    """daal4py 2026.2 output for the same inputs (three rows, two components)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4)) * [1, 2, 3, 4] + [1, 2, 3, 4]
    dft = {"mean": np.array([[0.88109735, 2.10737607, 3.75028847, 5.18594694]]),
           "variance": np.array([[0.78650648, 3.50651516, 10.24562962, 15.88635044]]),
           "eigenvalue": np.array([[1.35266271, 1.23613555, 0.93002874, 0.48117301]])}
    expected = {
        ("mean", "variance", "eigenvalue"): [[0.00195701, 0.46382078], [-0.95069688, -0.05699494],
                                             [0.06665353, -0.14643276]],
        ("mean",): [[-0.05902838, 1.13682474], [-3.6098688, 0.6131095], [1.35997975, -0.35575694]],
        ("variance",): [[-0.96592922, 1.00585707], [-2.07390407, 0.42680565],
                        [-0.89068456, 0.32736721]],
        ("eigenvalue",): [[-4.35885711, 1.51141651], [-7.41192454, 1.04037176],
                          [-3.13877201, 0.16894506]],
        (): [[-5.06952642, 1.68041755], [-8.62036684, 1.15670232], [-3.65051829, 0.18783587]],
    }
    for keys, want in expected.items():
        got = d4p.pca_transform(nComponents=2).compute(X[:3], DAAL_EIGENVECTORS,
                                                       {k: dft[k] for k in keys})
        np.testing.assert_allclose(got.transformedData, want, atol=2e-7)
    none_values = {"mean": None, "variance": None, "eigenvalue": None}
    got = d4p.pca_transform(nComponents=2).compute(X[:3], DAAL_EIGENVECTORS, none_values)
    np.testing.assert_allclose(got.transformedData, expected[()], atol=2e-7)


def test_pca_transform_whitens_like_sklearn():
    from sklearn.decomposition import PCA

    X = data(300, 5, shift=2.0)
    res = d4p.pca(method="svdDense", isDeterministic=True,
                  resultsToCompute="mean|variance|eigenvalue").compute(X)
    t = d4p.pca_transform(nComponents=3).compute(X, res.eigenvectors, res.dataForTransform)
    sk = PCA(n_components=3, whiten=True, svd_solver="full").fit(standardised(X))
    assert_close(t.transformedData, sk.transform(standardised(X)), 1e-10)
    assert_close(np.cov(t.transformedData.T), np.eye(3), 1e-10)
    f = d4p.pca_transform("float").compute(X, res.eigenvectors, res.dataForTransform)
    assert f.transformedData.dtype == np.float32 and f.transformedData.shape == (300, 5)


def test_pca_transform_checks():
    X = data(10, 3)
    V = np.eye(3)
    with pytest.raises(ValueError, match="exceeds the 3 eigenvectors"):
        d4p.pca_transform(nComponents=4).compute(X, V, None)
    with pytest.raises(ValueError, match="4 columns but the eigenvectors have 3"):
        d4p.pca_transform().compute(np.ones((2, 4)), V, None)
    with pytest.raises(ValueError, match="unexpected dataForTransform key"):
        d4p.pca_transform().compute(X, V, {"means": np.zeros(3)})
    with pytest.raises(ValueError, match=r"\['mean'\] has 2 values"):
        d4p.pca_transform().compute(X, V, {"mean": np.zeros(2)})
    with pytest.raises(ValueError, match="at least 3"):
        d4p.pca_transform().compute(X, V, {"eigenvalue": np.ones(2)})
    bad = X.copy()
    bad[4, 2] = np.inf
    with pytest.raises(ValueError, match="inf at row 4, column 2"):
        d4p.pca_transform().compute(bad, V, {})
    assert d4p.pca_transform().compute(np.empty((0, 3)), V, {}).transformedData.shape == (0, 3)
    assert d4p.pca_transform().compute([], V).transformedData.shape == (0, 3)
    with pytest.raises(ValueError, match="negative"):
        d4p.pca_transform().compute(X, V, {"variance": -np.ones(3)})
    with pytest.raises(ValueError, match="negative"):
        d4p.pca_transform().compute(X, V, {"eigenvalue": -np.ones(3)})
    with pytest.raises(TypeError, match="must be a dict"):
        d4p.pca_transform().compute(X, V, [np.zeros(3)])


NAN_RESULTS = {
    "qr": lambda X: np.isnan(d4p.qr().compute(X).matrixR).any(),
    "svd": lambda X: np.isnan(d4p.svd().compute(X).singularValues).all(),
    "svd_without_u": lambda X: np.isnan(
        d4p.svd(leftSingularMatrix="notRequired").compute(X).singularValues).all(),
    "pca_correlation": lambda X: np.isnan(
        d4p.pca(method="correlationDense").compute(X).eigenvalues).all(),
    "pca_svd": lambda X: np.isnan(d4p.pca(method="svdDense").compute(X).eigenvalues).all(),
}


@pytest.mark.parametrize("algo", NAN_RESULTS)
def test_assume_finite_gives_nan_results_not_errors(algo):
    X = data(50, 3)
    X[3, 1] = np.nan
    with d4p.config_context(assume_finite=True):
        assert NAN_RESULTS[algo](X)


def test_assume_finite_pca_transform_propagates_nan():
    X = data(50, 3)
    X[3, 1] = np.nan
    with d4p.config_context(assume_finite=True):
        t = d4p.pca_transform().compute(X, np.eye(3)).transformedData
    assert np.isnan(t[3, 1]) and np.isfinite(t[4]).all()


# ---- results and constructors --------------------------------------------------------------


RESULTS = {
    "qr": lambda X: d4p.qr().compute(X),
    "svd": lambda X: d4p.svd().compute(X),
    "pca": lambda X: d4p.pca(resultsToCompute="mean").compute(X),
    "pca_transform": lambda X: d4p.pca_transform().compute(X, np.eye(3), {}),
}


@pytest.mark.parametrize("algo", RESULTS)
def test_results_print_pickle_and_are_read_only(algo):
    res = RESULTS[algo](data(20, 3))
    assert pickle.loads(pickle.dumps(res)) == res
    assert type(res).__name__.endswith("_result") and str(res)
    with pytest.raises(AttributeError):
        res.foo = 1


def test_pca_result_prints_its_transform_data():
    X = data(20, 3)
    assert "dataForTransform: {'mean': array(shape=(1, 3)" in str(d4p.pca(
        resultsToCompute="mean").compute(X))


def test_constructor_checks():
    with pytest.raises(ValueError, match="unknown method"):
        d4p.qr(method="nope")
    with pytest.raises(ValueError, match="unexpected value"):
        d4p.svd(leftSingularMatrix="bogus")
    with pytest.raises(ValueError, match="fptype"):
        d4p.svd(fptype="half")
    with pytest.raises(ValueError, match="needs streaming=True"):
        d4p.qr().finalize()
    assert d4p.qr("float", "defaultDense", True, True).streaming
    assert d4p.pca("double", "svdDense", "mean", 2, True, True, False, None, True).nComponents == 2


# ---- distributed -----------------------------------------------------------------------------


def spmd_cases(**cases):
    """One @spmd test per case: ``body(case)`` registered as ``<body name>__<key>`` (a
    separate test on threads and under mpiexec, so a failing case hides no other)."""
    def register(body):
        module = sys.modules[body.__module__]
        for key, case in cases.items():
            def bound(case=case):
                body(case)
            bound.__name__ = bound.__qualname__ = f"{body.__name__}__{key}"
            bound.__module__ = body.__module__
            bound.__doc__ = body.__doc__
            setattr(module, bound.__name__, spmd(bound))
    return register


def short_weights(size):
    """Weights giving empty ranks and ranks with fewer rows than columns."""
    return [(0, 1, 8, 1, 0, 2, 1, 3)[r % 8] for r in range(size)] if size > 1 else [1]


def weights_for(kind):
    """None: local_rows' default split (uneven, an empty rank); "short": short_weights."""
    return short_weights(d4p.num_procs()) if kind == "short" else None


@spmd_cases(default_split=(dict(n=301, p=6, seed=1, shift=4.0), None),
            short_ranks=(dict(n=40, p=8, seed=2), "short"))
def test_distributed_qr_equals_batch_with_empty_and_short_ranks(case):
    shape, weights = case
    X = data(**shape)
    batch = d4p.qr().compute(X)
    rows = local_rows(X, weights_for(weights))
    res = d4p.qr(distributed=True).compute(rows)
    assert_close(res.matrixR, batch.matrixR)
    assert res.matrixQ.shape == (rows.shape[0], X.shape[1])
    assert_close(res.matrixQ @ res.matrixR, rows, 1e-12)
    Q = gathered(res.matrixQ)
    assert_orthonormal(Q)
    assert_close(Q, batch.matrixQ, 1e-9)  # unique: R has a positive diagonal
    Rs = current_comm().allgather(res.matrixR)
    assert all(np.array_equal(R, Rs[0]) for R in Rs)  # the same bits on every rank


@spmd
def test_distributed_qr_total_rows_fewer_than_columns():
    X = data(5, 7, seed=3)
    rows = local_rows(X)
    res = d4p.qr(distributed=True).compute(rows)
    assert res.matrixR.shape == (5, 7) and res.matrixQ.shape == (rows.shape[0], 5)
    assert_close(res.matrixR, numpy_r(X), 1e-12)
    assert_orthonormal(gathered(res.matrixQ))


@spmd_cases(two_pass=1e4, householder=1e9)
def test_distributed_qr_ill_conditioned(kappa):
    X = conditioned(1500, 6, kappa, seed=5)
    batch = d4p.qr().compute(X)
    rows = local_rows(X)
    res = d4p.qr(distributed=True).compute(rows)
    scale = np.linalg.norm(X, axis=0)
    assert (np.abs(res.matrixR - batch.matrixR) / scale).max() < 1e-15 * kappa * 10
    assert (np.abs(res.matrixQ @ res.matrixR - rows) / scale).max(initial=0) < 1e-14
    assert_orthonormal(gathered(res.matrixQ), 1e-13)


@spmd_cases(default_split=None, short_ranks="short")
def test_distributed_svd_equals_batch(weights):
    X = data(40, 5, seed=6, shift=1.0)
    batch = d4p.svd().compute(X)
    rows = local_rows(X, weights_for(weights))
    res = d4p.svd(distributed=True).compute(rows)
    assert_close(res.singularValues, batch.singularValues)
    assert_close(res.rightSingularMatrix, batch.rightSingularMatrix)
    U = res.leftSingularMatrix
    assert U.shape == (rows.shape[0], 5)
    assert_close((U * res.singularValues) @ res.rightSingularMatrix, rows.reshape(-1, 5), 1e-12)
    assert_orthonormal(gathered(U))


@spmd_cases(default_split=None, short_ranks="short")
def test_distributed_svd_without_u_equals_batch(weights):
    X = data(40, 5, seed=6, shift=1.0)
    batch = d4p.svd().compute(X)
    rows = local_rows(X, weights_for(weights))
    r_only = d4p.svd(leftSingularMatrix="notRequired", distributed=True).compute(rows)
    assert r_only.leftSingularMatrix is None
    assert_close(r_only.singularValues, batch.singularValues)
    assert_close(r_only.rightSingularMatrix, batch.rightSingularMatrix)


def streamed(algo, rows):
    """``algo`` fed this rank's rows in 1 + rank chunks (different counts per rank)."""
    for chunk in np.array_split(rows, 1 + d4p.my_procid()):
        algo.compute(chunk)
    return algo


@spmd
def test_distributed_streaming_qr_each_rank_its_chunks():
    X = data(400, 4, seed=7, shift=2.0)
    rows = local_rows(X)
    res = streamed(d4p.qr(distributed=True, streaming=True), rows).finalize()
    assert_close(res.matrixR, numpy_r(X))
    assert_close(res.matrixQ @ res.matrixR, rows.reshape(-1, 4), 1e-12)
    assert_close(gathered(res.matrixQ), d4p.qr().compute(X).matrixQ)


@spmd_cases(with_u="", without_u="notRequired")
def test_distributed_streaming_svd_each_rank_its_chunks(left):
    X = data(400, 4, seed=7, shift=2.0)
    rows = local_rows(X)
    s = streamed(d4p.svd(leftSingularMatrix=left, distributed=True, streaming=True), rows)
    batch = d4p.svd().compute(X)
    res = s.finalize()
    assert_close(res.singularValues, batch.singularValues)
    assert_close(res.rightSingularMatrix, batch.rightSingularMatrix)
    if left == "":
        assert_close(gathered(res.leftSingularMatrix), batch.leftSingularMatrix)
        # a second finalize gives the same (the chunks' factors were not overwritten)
        assert_close(gathered(s.finalize().leftSingularMatrix), batch.leftSingularMatrix)
    else:
        assert res.leftSingularMatrix is None


@spmd_cases(qr="qr", svd="svd", svd_without_u="svd_without_u")
def test_distributed_streaming_a_rank_without_chunks(algo):
    """Rank 0 streams every row; the other ranks call only finalize()."""
    X = data(60, 4, seed=13, shift=1.0)
    make = {"qr": lambda: d4p.qr(distributed=True, streaming=True),
            "svd": lambda: d4p.svd(distributed=True, streaming=True),
            "svd_without_u": lambda: d4p.svd(leftSingularMatrix="notRequired",
                                             distributed=True, streaming=True)}[algo]
    mine = X if d4p.my_procid() == 0 else X[:0]
    s = make()
    if d4p.my_procid() == 0:
        for chunk in np.array_split(X, 3):
            s.compute(chunk)
    res = s.finalize()
    if algo == "qr":
        assert_close(res.matrixR, numpy_r(X))
        assert res.matrixQ.shape == (len(mine), 4)
        assert_close(gathered(res.matrixQ), d4p.qr().compute(X).matrixQ)
    else:
        batch = d4p.svd().compute(X)
        assert_close(res.singularValues, batch.singularValues)
        if algo == "svd":
            assert_close(gathered(res.leftSingularMatrix), batch.leftSingularMatrix)


PCA_SETTINGS = {
    "correlation": dict(method="correlationDense"),
    "svd": dict(method="svdDense"),
    "default_all_results": dict(method="defaultDense", nComponents=3, isDeterministic=True,
                                resultsToCompute="mean|variance|eigenvalue"),
    "svd_some_results": dict(method="svdDense", nComponents=2, isDeterministic=True,
                             resultsToCompute="mean|eigenvalue", doScale=True),
}


def assert_pca_equal(res, batch, signs_fixed):
    assert_close(res.eigenvalues, batch.eigenvalues)
    if signs_fixed:
        assert_close(res.eigenvectors, batch.eigenvectors)
    else:
        assert_close(np.abs(res.eigenvectors), np.abs(batch.eigenvectors))
    for name in ("means", "variances"):
        got, want = getattr(res, name), getattr(batch, name)
        assert (got is None) == (want is None), name
        if want is not None:
            assert_close(got, want, err_msg=name)
    for key, want in batch.dataForTransform.items():
        got = res.dataForTransform[key]
        assert (got is None) == (want is None), key
        if want is not None:
            assert_close(got, want, err_msg=key)


@spmd_cases(**{f"{name}__{split}": (settings_, split) for name, settings_ in PCA_SETTINGS.items()
               for split in ("default_split", "short_ranks")})
def test_distributed_pca_equals_batch_every_parameter_honoured(case):
    settings_, split = case
    X = data(60, 6, seed=8, shift=10.0)
    X[:, 5] = 2.5  # a constant column
    batch = d4p.pca(**settings_).compute(X)
    weights = weights_for("short" if split == "short_ranks" else None)
    res = d4p.pca(distributed=True, **settings_).compute(local_rows(X, weights))
    assert_pca_equal(res, batch, settings_.get("isDeterministic", False))
    everyone = current_comm().allgather(res)
    assert all(r == everyone[0] for r in everyone)  # identical on every rank


@spmd
def test_distributed_pca_then_local_transform():
    X = data(300, 4, seed=9, shift=3.0)
    kw = dict(method="svdDense", isDeterministic=True, resultsToCompute="mean|variance|eigenvalue")
    res = d4p.pca(distributed=True, **kw).compute(local_rows(X))
    rows = local_rows(X)
    t = d4p.pca_transform(nComponents=2).compute(rows, res.eigenvectors, res.dataForTransform)
    batch = d4p.pca(**kw).compute(X)
    expected = d4p.pca_transform(nComponents=2).compute(X, batch.eigenvectors,
                                                        batch.dataForTransform)
    assert_close(gathered(t.transformedData), expected.transformedData)


@spmd
def test_distributed_pca_ill_conditioned_svd_dense():
    X = conditioned(3000, 8, 1e6, seed=10)
    X = X + 5 * X.std(0)
    expected = np.linalg.svd(standardised(X), compute_uv=False) ** 2 / (len(X) - 1)
    res = d4p.pca(method="svdDense", distributed=True).compute(local_rows(X))
    np.testing.assert_allclose(res.eigenvalues[0], expected, rtol=1e-8)


@spmd
def test_distributed_empty_list_ranks():
    X = data(50, 3, seed=11)
    rows = X if d4p.my_procid() == d4p.num_procs() - 1 else []
    assert_close(d4p.qr(distributed=True).compute(rows).matrixR, numpy_r(X))
    assert_close(d4p.pca(distributed=True).compute(rows).eigenvalues,
                 d4p.pca().compute(X).eigenvalues)
    res = d4p.svd(distributed=True).compute(rows)
    assert res.leftSingularMatrix.shape == (len(rows), 3)


# ---- bad input on one rank -----------------------------------------------------------------


DIST_ALGOS = {
    "qr": lambda: d4p.qr(distributed=True),
    "svd": lambda: d4p.svd(distributed=True),
    "svd_without_u": lambda: d4p.svd(leftSingularMatrix="notRequired", distributed=True),
    "pca_correlation": lambda: d4p.pca(distributed=True),
    "pca_svd": lambda: d4p.pca(method="svdDense", distributed=True),
}


def on_last_rank(bad, good):
    return bad if d4p.my_procid() == d4p.num_procs() - 1 else good


def raises_on_every_rank(exc_type, match, run, culprit=None):
    """``run()`` raises ``exc_type`` matching ``match`` here; with several ranks a
    RankError naming ``culprit`` (default: the last rank)."""
    with pytest.raises(exc_type, match=match) as info:
        run()
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)
        culprit = d4p.num_procs() - 1 if culprit is None else culprit
        assert f"rank {culprit}" in str(info.value)
    return info.value


def _good():
    return data(20, 3)


def _nan_row():
    bad = _good()
    bad[2, 1] = np.nan
    return bad


def _short_inf():
    short = _good()[:2].copy()
    short[1, 0] = np.inf  # fewer rows than columns: the Householder path checks too
    return short


BAD_INPUTS = {
    "nan": (r"nan at row 2, column 1", _nan_row),
    "inf_short": (r"inf at row 1, column 0", _short_inf),
    "non_numeric": ("non-numeric", lambda: np.array([["a", "b", "c"]], dtype=object)),
    "more_columns": ("has 4 columns but the other ranks have 3", lambda: np.ones((5, 4))),
}


@spmd_cases(**{f"{algo}__{bad}": (algo, bad) for algo in DIST_ALGOS for bad in BAD_INPUTS})
def test_bad_input_on_one_rank_raises_everywhere(case):
    algo, bad = case
    match, make_bad = BAD_INPUTS[bad]
    if bad == "more_columns" and d4p.num_procs() == 1:
        return  # one rank has nothing to disagree with
    make = DIST_ALGOS[algo]
    err = raises_on_every_rank(ValueError, match,
                               lambda: make().compute(on_last_rank(make_bad(), _good())))
    if d4p.num_procs() > 1:
        assert f"rank {d4p.num_procs() - 1} of {d4p.num_procs()}" in str(err)
    # and the same objects work again afterwards
    assert make().compute(_good()) is not None


@spmd_cases(**{algo: algo for algo in DIST_ALGOS})
def test_no_rows_anywhere_raises_everywhere(algo):
    with pytest.raises(ValueError, match="empty on every rank"):
        DIST_ALGOS[algo]().compute([])
    with pytest.raises(ValueError, match="no rows on any rank"):
        DIST_ALGOS[algo]().compute(np.empty((0, 3)))


@spmd
def test_pca_one_row_in_total_raises_everywhere():
    with pytest.raises(ValueError, match="at least 2 rows"):
        d4p.pca(distributed=True).compute(np.ones((1, 2)) if d4p.my_procid() == 0
                                          else np.empty((0, 2)))


@spmd
def test_correlation_matrix_in_distributed_mode_raises_everywhere():
    C = np.eye(3)
    with pytest.raises(ValueError, match="batch mode") as info:
        d4p.pca(distributed=True).compute(data(10, 3), correlation=on_last_rank(C, None))
    if d4p.num_procs() > 1:
        assert isinstance(info.value, d4p.RankError)


# ---- ranks that disagree on a parameter --------------------------------------------------


def mismatch(name, value, other, **fixed):
    """The constructor arguments of this rank: ``name=value`` on the last rank,
    ``name=other`` on the others (one rank: nothing to disagree with)."""
    return {**fixed, name: on_last_rank(value, other)}


MISMATCHES = {
    "pca_nComponents": (d4p.pca, "nComponents", 2, 3, {}),
    "pca_svd_nComponents": (d4p.pca, "nComponents", 1, -1, dict(method="svdDense")),
    "pca_method": (d4p.pca, "method", "svdDense", "correlationDense", {}),
    "pca_resultsToCompute": (d4p.pca, "resultsToCompute", "mean", "mean|variance", {}),
    "pca_isDeterministic": (d4p.pca, "isDeterministic", True, False, {}),
    "svd_leftSingularMatrix": (d4p.svd, "leftSingularMatrix", "notRequired", "", {}),
    "svd_rightSingularMatrix": (d4p.svd, "rightSingularMatrix", "notRequired",
                                "requiredInPackedForm", {}),
}


@spmd_cases(**MISMATCHES)
def test_ranks_with_different_parameters_raise_everywhere(case):
    cls, name, value, other, fixed = case
    if d4p.num_procs() == 1:
        return
    X = local_rows(data(30, 4, seed=12))
    algo = cls(distributed=True, **mismatch(name, value, other, **fixed))
    err = raises_on_every_rank(ValueError, name, lambda: algo.compute(X))
    assert f"{name} is" in str(err)
    # the ranks are still in step: the next collective works
    assert d4p.qr(distributed=True).compute(X).matrixR.shape == (4, 4)


@spmd_cases(same_default=("", "requiredInPackedForm"), pca_all=(0, -1),
            pca_method=("defaultDense", "correlationDense"))
def test_equivalent_parameter_spellings_agree(case):
    value, other = case
    X = local_rows(data(30, 4, seed=12))
    if isinstance(value, int):
        res = d4p.pca(distributed=True, nComponents=on_last_rank(value, other)).compute(X)
        assert res.eigenvectors.shape == (4, 4)
    elif value == "defaultDense":
        res = d4p.pca(distributed=True, method=on_last_rank(value, other)).compute(X)
        assert res.eigenvectors.shape == (4, 4)
    else:
        res = d4p.svd(distributed=True, leftSingularMatrix=on_last_rank(value, other)).compute(X)
        assert res.leftSingularMatrix.shape == (X.shape[0], 4)


@spmd
def test_fptype_may_differ_between_ranks():
    """fptype only sets the dtype of each rank's results (docs/migrating.md)."""
    X = local_rows(data(30, 4, seed=12))
    fptype = on_last_rank("float", "double")
    want = np.float32 if fptype == "float" else np.float64
    assert d4p.qr(fptype, distributed=True).compute(X).matrixR.dtype == want
    assert d4p.svd(fptype, distributed=True).compute(X).singularValues.dtype == want
    assert d4p.pca(fptype, distributed=True).compute(X).eigenvalues.dtype == want


@spmd
def test_qr_streaming_on_one_rank_only_raises_everywhere():
    """One rank streams (compute, then finalize) while the others compute at once:
    the ranks run different steps, and every rank says so (no hang)."""
    if d4p.num_procs() == 1:
        return
    X = local_rows(data(30, 4, seed=12))
    streaming = on_last_rank(True, False)
    algo = d4p.qr(distributed=True, streaming=streaming)

    def run():
        res = algo.compute(X)
        return algo.finalize() if streaming else res

    err = raises_on_every_rank(ValueError, "different steps", run)
    assert "qr.finalize" in str(err) and "qr.compute" in str(err)


# ---- property test ---------------------------------------------------------------------------


@given(n=st.integers(1, 60), p=st.integers(1, 6), nranks=st.integers(1, 8),
       seed=st.integers(0, 2**32 - 1), shift=st.sampled_from([0.0, 1e3]), data_=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_any_split_equals_numpy(n, p, nranks, seed, shift, data_):
    rng = np.random.default_rng(seed)
    X = shift + rng.normal(size=(n, p)) * rng.uniform(0.1, 10, size=p)
    weights = data_.draw(st.lists(st.integers(0, 5), min_size=nranks, max_size=nranks)
                         .filter(lambda w: sum(w) > 0))

    def body():
        rows = local_rows(X, weights)
        q = d4p.qr(distributed=True).compute(rows)
        s = d4p.svd(distributed=True).compute(rows)
        pcas = [d4p.pca(method=m, distributed=True, isDeterministic=True).compute(rows)
                for m in ("correlationDense", "svdDense")] if n >= 2 else []
        return rows, q, s, pcas, gathered(q.matrixQ), gathered(s.leftSingularMatrix)

    k = min(n, p)
    _, s_np, _ = np.linalg.svd(X, full_matrices=False)
    for rows, q, s, pcas, Q, U in d4p.run_spmd(body, nranks):
        assert q.matrixR.shape == (k, p) and Q.shape == (n, k)
        assert_close(q.matrixR, numpy_r(X), 1e-10)
        assert_close(Q @ q.matrixR, X, 1e-12)
        assert_orthonormal(Q)
        assert_close(s.singularValues[0], s_np, 1e-10)
        assert_close((U * s.singularValues) @ s.rightSingularMatrix, X, 1e-11)
        assert_orthonormal(U)
        if pcas:
            Z = standardised(X)
            ev = np.zeros(p)
            sv = np.linalg.svd(Z, compute_uv=False)
            ev[:sv.size] = sv ** 2 / (n - 1)
            for res in pcas:
                assert_close(res.eigenvalues[0], ev, 1e-9)
