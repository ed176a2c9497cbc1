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
    """Starting centroids of the k-means cases: k fixed points drawn like the data
    (from their own seed, so every rank of a distributed run has the same ones);
    50 Lloyd iterations on make_data do not converge from there."""
    return make_data(k, X.shape[1], seed=12345)


N_CLASSES = 20


def make_counts(n, p, seed=0):
    """n x p float64 Poisson counts whose rates depend on a class (naive Bayes), and
    the (n,) float64 classes."""
    rng = np.random.default_rng(seed)
    hidden = rng.integers(0, N_CLASSES, n)
    rates = rng.uniform(0.2, 4.0, size=(N_CLASSES, p))
    X = np.empty((n, p))
    for lo in range(0, n, 1 << 18):  # in blocks, to keep the peak memory low
        X[lo:lo + (1 << 18)] = rng.poisson(rates[hidden[lo:lo + (1 << 18)]])
    return X, hidden.astype(np.float64)


_LABELS = {}


def class_labels(X):
    """The (n,) labels of the naive Bayes cases: a fixed function of each row, so any
    cut of the rows gets the same values.  Cached per data region."""
    key = (X.__array_interface__["data"][0], X.shape, X.strides)
    if key not in _LABELS:
        _LABELS[key] = ((X[:, 0] * 7 + X[:, 1] * 3).astype(np.int64) % N_CLASSES).astype(float)
    return _LABELS[key]
