"""``python -m d4p warmup``: compile every kernel ahead of time, so no program compiles.

A program needs no warm-up: each kernel compiles on its first use and is then
loaded from Numba's cache (see d4p/kernels/jit.py).  The warm-up is for images
and installs that want even the first run of every program to start warm.  It
runs each algorithm on tiny inputs of each dtype and memory order, once as is
and once taking the paths of large inputs (:func:`d4p._parallel.large_input_paths`),
through the public API only.
"""
import time

import numpy as np

from ._parallel import large_input_paths


def warmup(verbose=False, dtypes=("float64", "float32"), orders=("C", "F")):
    """Compile every kernel for the given dtypes and memory orders into the cache.

    Returns
    -------
    float
        Seconds taken.
    """
    import d4p

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        for order in orders:
            X = np.asarray(rng.normal(size=(400, 3)), dtype=dtype, order=order)
            for call in CALLS:
                call(d4p, X)
                with large_input_paths():
                    call(d4p, X)
            if verbose:
                print(f"d4p warmup: {np.dtype(dtype).name} {order}-order done", flush=True)
    return time.perf_counter() - start


def _fptype(X):
    return "float" if X.dtype == np.float32 else "double"


def _moments(d4p, X):
    d4p.low_order_moments().compute(X)
    d4p.covariance().compute(X)


def _linear(d4p, X):
    model = d4p.linear_regression_training().compute(X[:, :2], X[:, 2]).model
    d4p.linear_regression_prediction().compute(X[:, :2], model)
    d4p.linear_regression_training(method="qrDense").compute(X[:, :2], X[:, 2])
    d4p.ridge_regression_training().compute(X[:, :2], X[:, 2])


def _decomposition(d4p, X):
    d4p.pca().compute(X)
    d4p.pca(method="svdDense").compute(X)
    d4p.svd().compute(X)
    d4p.qr().compute(X)


def _naive_bayes(d4p, X):
    counts = np.abs(X)
    labels = np.arange(X.shape[0]) % 2
    model = d4p.multinomial_naive_bayes_training(2).compute(counts, labels).model
    d4p.multinomial_naive_bayes_training(2).compute(counts, labels, np.ones(X.shape[0]))
    d4p.multinomial_naive_bayes_prediction(
        2, _fptype(X), resultsToEvaluate="computeClassProbabilities|computeClassLogProbabilities",
    ).compute(counts, model)
    if X.dtype == np.float64 and X.flags.c_contiguous:
        try:
            import scipy.sparse as sp
        except ImportError:  # scipy is optional; the CSR kernels compile on first use
            return
        d4p.multinomial_naive_bayes_training(2).compute(sp.csr_matrix(counts), labels)


def _kmeans(d4p, X):
    for method in ("defaultDense", "randomDense", "plusPlusDense", "parallelPlusDense"):
        d4p.kmeans_init(4, method=method).compute(X)
    d4p.kmeans_init(4, method="plusPlusDense", nTrials=3).compute(X)
    d4p.kmeans(4, 3, _fptype(X)).compute(X, X[:4])


def _logistic(d4p, X):
    for classes in (2, 3):
        labels = np.arange(X.shape[0]) % classes
        model = d4p.logistic_regression_training(classes, penaltyL2=0.01).compute(
            X[:, :2], labels).model
        d4p.logistic_regression_training(classes, penaltyL1=0.01).compute(X[:, :2], labels)
        d4p.logistic_regression_prediction(
            classes, resultsToEvaluate="computeClassLabels|computeClassProbabilities",
        ).compute(X[:, :2], model)


def _neighbors(d4p, X):
    labels = np.arange(X.shape[0]) % 2
    Q = X[:max(1, X.shape[0] // 8)]  # fewer queries than rows: the cost is their product
    model = d4p.bf_knn_classification_training(k=3).compute(X, labels).model
    d4p.bf_knn_classification_prediction(
        k=3, resultsToCompute="computeIndicesOfNeighbors|computeDistances").compute(Q, model)
    d4p.bf_knn_classification_prediction(k=3, metric="manhattan").compute(Q, model)  # one kernel
    model = d4p.bf_knn_regression_training(k=3).compute(X, X[:, :1]).model
    d4p.bf_knn_regression_prediction(k=3).compute(Q, model)


def _density(d4p, X):
    d4p.dbscan(0.5, 3).compute(X)
    d4p.dbscan(0.5, 3, memorySavingMode=True).compute(X, np.ones(X.shape[0]))


#: One call per algorithm family, each taking (d4p, X).
CALLS = (_moments, _linear, _decomposition, _naive_bayes, _kmeans, _logistic, _neighbors,
         _density)
