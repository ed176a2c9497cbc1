"""Labels and weights given as a sparse column, as daal4py's own examples pass them when
they read a CSV file with a CSR reader (daal4py accepts them): the dense answer."""
import numpy as np
import pytest
from scipy import sparse

import d4p
from spmd import local_rows, spmd


def classes(n=90, p=4, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n).astype(np.float64)[:, None]
    X = rng.poisson(2.0 + 3.0 * (np.arange(p) == y), size=(n, p)).astype(np.float64)
    return X, y


def as_csr_column(y):
    return sparse.csr_matrix(y)  # zeros (class 0) become implicit


def test_naive_bayes_takes_sparse_labels_and_weights():
    X, y = classes()
    w = np.linspace(0.5, 2.0, y.shape[0])[:, None]
    for method in ("defaultDense", "fastCSR"):
        algo = d4p.multinomial_naive_bayes_training(3, method=method)
        dense = algo.compute(X, y, w)
        res = algo.compute(sparse.csr_matrix(X), as_csr_column(y), sparse.csr_matrix(w))
        np.testing.assert_allclose(res.model.LogP, dense.model.LogP, rtol=1e-12)
        np.testing.assert_allclose(res.model.LogTheta, dense.model.LogTheta, rtol=1e-12)


def test_logistic_regression_takes_sparse_labels_and_weights():
    X, y = classes()
    algo = d4p.logistic_regression_training(nClasses=3, interceptFlag=True, penaltyL2=0.01)
    dense = algo.compute(X, y)
    res = algo.compute(sparse.csr_matrix(X), as_csr_column(y))
    np.testing.assert_allclose(res.model.Beta, dense.model.Beta, rtol=1e-8, atol=1e-10)
    yb = (y > 0).astype(np.float64)
    w = np.linspace(0.5, 2.0, y.shape[0])[:, None]
    binary = d4p.logistic_regression_training(nClasses=2, interceptFlag=True)
    ref = binary.compute(X, yb, w)
    res = binary.compute(X, as_csr_column(yb), sparse.csr_matrix(w))
    np.testing.assert_allclose(res.model.Beta, ref.model.Beta, rtol=1e-8, atol=1e-10)


def test_knn_classification_takes_sparse_labels():
    X, y = classes(seed=1)
    dense = d4p.bf_knn_classification_training(nClasses=3).compute(X, y)
    res = d4p.bf_knn_classification_training(nClasses=3).compute(X, as_csr_column(y))
    predict = d4p.bf_knn_classification_prediction(nClasses=3, k=3)
    np.testing.assert_array_equal(predict.compute(X, res.model).prediction,
                                  predict.compute(X, dense.model).prediction)


@pytest.mark.parametrize("bad", [np.array([[0.0], [5.0]]), np.array([[0.0], [-1.0]])])
def test_sparse_labels_are_still_checked(bad):
    X = np.ones((2, 3))
    with pytest.raises(ValueError, match="labels"):
        d4p.multinomial_naive_bayes_training(3).compute(X, as_csr_column(bad))


@spmd
def test_distributed_naive_bayes_with_sparse_labels_equals_batch():
    X, y = classes(n=70, seed=2)
    batch = d4p.multinomial_naive_bayes_training(3).compute(X, y)
    rows, labels = local_rows(X), local_rows(y)
    res = d4p.multinomial_naive_bayes_training(3, distributed=True).compute(
        sparse.csr_matrix(rows), as_csr_column(labels))
    np.testing.assert_allclose(res.model.LogTheta, batch.model.LogTheta, rtol=1e-12)
