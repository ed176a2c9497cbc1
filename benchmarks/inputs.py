"""Benchmark inputs, generated identically in the d4p process and the daal4py worker."""
import numpy as np


def make_data(n, p, seed=0):
    """n x p float64, columns with different scales and a non-zero mean."""
    return np.random.default_rng(seed).normal(size=(n, p)) * np.linspace(1, 3, p) + 1.0


_RESPONSES = {}


def regression_response(X):
    """The (n, 1) response of the regression cases: a fixed linear function of each
    row of X plus a deterministic non-linear part, so any cut of the rows gets the
    same values.  Cached per data region (made once, outside the timings)."""
    key = (X.__array_interface__["data"][0], X.shape, X.strides)
    if key not in _RESPONSES:
        w = np.linspace(-1.0, 1.0, X.shape[1])
        _RESPONSES[key] = (X @ w + 0.5 * np.sin(7.0 * X[:, 0]))[:, None]
    return _RESPONSES[key]


def kmeans_start(X, k=10):
    """Starting centroids of the k-means cases: the first k rows (50 Lloyd
    iterations on make_data do not converge from there)."""
    return np.ascontiguousarray(X[:k])
