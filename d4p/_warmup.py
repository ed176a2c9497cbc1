"""Compile every Numba kernel once so later runs load them from the cache."""
import time

import numpy as np

from ._parallel import parallel_variants


def warmup(verbose=False, dtypes=("float64", "float32"), orders=("C", "F")):
    """Run each algorithm on tiny inputs of each dtype and memory order, so that
    Numba compiles every kernel into its cache; returns the seconds taken.

    The cache lives beside the kernels (``d4p/kernels/__pycache__``) when that is
    writable, else in Numba's per-user cache directory; ``NUMBA_CACHE_DIR``
    overrides both.
    """
    import d4p

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    for dtype in dtypes:
        for order in orders:
            X = np.asarray(rng.normal(size=(400, 3)), dtype=dtype, order=order)
            for algo in _algorithms(d4p):
                algo(X)
            with parallel_variants():  # the kernels large inputs use
                for algo in _algorithms(d4p):
                    algo(X)
            if verbose:
                print(f"d4p warmup: {np.dtype(dtype).name} {order}-order done", flush=True)
    return time.perf_counter() - start


def _algorithms(d4p):
    """One call per kernel family; algorithm modules add theirs here."""
    return [
        lambda X: d4p.low_order_moments().compute(X),
        lambda X: d4p.covariance().compute(X),
        lambda X: d4p.linear_regression_prediction().compute(
            X[:, :2], d4p.linear_regression_training().compute(X[:, :2], X[:, 2]).model),
        lambda X: d4p.linear_regression_training(method="qrDense").compute(X[:, :2], X[:, 2]),
        lambda X: d4p.ridge_regression_training().compute(X[:, :2], X[:, 2]),
        lambda X: _naive_bayes(d4p, X),
        lambda X: _kmeans(d4p, X),
    ]


def _kmeans(d4p, X):
    for method in ("defaultDense", "randomDense", "plusPlusDense", "parallelPlusDense"):
        d4p.kmeans_init(4, method=method).compute(X)
    d4p.kmeans_init(4, method="plusPlusDense", nTrials=3).compute(X)
    fptype = "float" if X.dtype == np.float32 else "double"
    d4p.kmeans(4, 3, fptype).compute(X, X[:4])
    import importlib

    importlib.import_module("d4p.clustering")._warm(X)  # the parallel kernels


def _naive_bayes(d4p, X):
    counts = np.abs(X)
    labels = np.arange(X.shape[0]) % 2
    model = d4p.multinomial_naive_bayes_training(2).compute(counts, labels).model
    d4p.multinomial_naive_bayes_training(2).compute(counts, labels, np.ones(X.shape[0]))
    d4p.multinomial_naive_bayes_prediction(
        2, X.dtype.name.replace("float64", "double").replace("float32", "float"),
        resultsToEvaluate="computeClassProbabilities|computeClassLogProbabilities",
    ).compute(counts, model)
    if X.dtype == np.float64 and X.flags.c_contiguous:
        try:
            import scipy.sparse as sp
        except ImportError:  # scipy is optional; the CSR kernels compile on first use
            return
        d4p.multinomial_naive_bayes_training(2).compute(sp.csr_matrix(counts), labels)


def cache_is_warm():
    """True when the moments kernel is in Numba's cache (a proxy for all kernels)."""
    import os

    from .kernels.moments import moments_serial

    try:
        index = moments_serial._cache._cache_file._index_path
    except AttributeError:  # a Numba without these internals: assume warm
        return True
    return os.path.exists(index)
