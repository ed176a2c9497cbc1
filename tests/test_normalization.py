"""normalization_zscore, and pca's normalization= (daal4py's pca.py example passes one)."""
import numpy as np
import pytest

import d4p
from spmd import local_rows, spmd


def data(n=60, p=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) * [1.0, 2.0, 5.0, 0.5] + 3.0


def test_zscore_centres_by_default_and_scales_with_do_scale():
    X = data()
    res = d4p.normalization_zscore().compute(X)
    np.testing.assert_allclose(res.normalizedData, X - X.mean(0), atol=1e-12)
    assert res.means is None and res.variances is None
    res = d4p.normalization_zscore(doScale=True, resultsToCompute="mean|variance").compute(X)
    np.testing.assert_allclose(res.normalizedData, (X - X.mean(0)) / X.std(0, ddof=1),
                               atol=1e-12)
    np.testing.assert_allclose(res.means, X.mean(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(res.variances, X.var(0, ddof=1, keepdims=True), rtol=1e-12)


def test_zscore_constant_column_dtype_and_checks():
    X = data()
    X[:, 1] = 7.0
    res = d4p.normalization_zscore(fptype="float", doScale=True).compute(X.astype(np.float32))
    assert res.normalizedData.dtype == np.float32
    assert np.all(res.normalizedData[:, 1] == 0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        d4p.normalization_zscore(doScale=True).compute(X[:1])
    with pytest.raises(ValueError):
        d4p.normalization_zscore(resultsToCompute="mean|bogus")
    with pytest.raises(TypeError):
        d4p.normalization_zscore(doScale=1)


@pytest.mark.parametrize("method", ["svdDense", "correlationDense"])
def test_pca_with_a_scaling_zscore_is_the_default_pca(method):
    X = data()
    default = d4p.pca(method=method, isDeterministic=True).compute(X)
    res = d4p.pca(method=method, isDeterministic=True,
                  normalization=d4p.normalization_zscore(doScale=True)).compute(X)
    np.testing.assert_allclose(res.eigenvalues, default.eigenvalues, rtol=1e-10)
    np.testing.assert_allclose(res.eigenvectors, default.eigenvectors, atol=1e-10)


def test_pca_svd_with_a_centring_zscore_is_the_covariance_pca():
    from sklearn.decomposition import PCA

    X = data()
    res = d4p.pca(method="svdDense", isDeterministic=True,
                  normalization=d4p.normalization_zscore()).compute(X)
    ref = PCA().fit(X)
    np.testing.assert_allclose(res.eigenvalues[0], ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(res.eigenvectors), np.abs(ref.components_), atol=1e-10)
    # correlationDense ignores the object, as daal4py does
    corr = d4p.pca(normalization=d4p.normalization_zscore()).compute(X)
    np.testing.assert_allclose(corr.eigenvalues, d4p.pca().compute(X).eigenvalues, rtol=1e-12)


def test_pca_rejects_other_normalization_objects():
    with pytest.raises(TypeError, match="normalization"):
        d4p.pca(normalization=d4p.low_order_moments())


@spmd
def test_distributed_pca_with_a_centring_zscore_equals_batch():
    X = data(n=80, seed=3)
    zscore = d4p.normalization_zscore()
    batch = d4p.pca(method="svdDense", isDeterministic=True, normalization=zscore).compute(X)
    res = d4p.pca(method="svdDense", isDeterministic=True, normalization=zscore,
                  distributed=True).compute(local_rows(X))
    np.testing.assert_allclose(res.eigenvalues, batch.eigenvalues, rtol=1e-9)
    np.testing.assert_allclose(res.eigenvectors, batch.eigenvectors, atol=1e-9)
