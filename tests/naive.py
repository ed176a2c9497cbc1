"""Reference implementations the tests compare d4p against.

Plain numpy, made accurate enough to judge a 1e-10 tolerance on data far from
the origin: values are shifted by the first row first (exact when the values lie
within a factor of two of each other, as shifted test data do) and the sums are
taken in long double.
"""
import numpy as np


def _shifted(X):
    X = np.asarray(X, dtype=np.float64)
    origin = X[0].copy()
    return (X - origin).astype(np.longdouble), origin


def moments(X):
    X = np.asarray(X, dtype=np.float64)
    D, origin = _shifted(X)
    n = X.shape[0]
    mean_d = D.mean(axis=0)
    centred = ((D - mean_d) ** 2).sum(axis=0)
    var = centred / (n - 1)
    mean = origin + mean_d
    wide = X.astype(np.longdouble)
    out = {
        "minimum": X.min(axis=0), "maximum": X.max(axis=0), "sum": wide.sum(axis=0),
        "sumSquares": (wide * wide).sum(axis=0), "sumSquaresCentered": centred, "mean": mean,
        "secondOrderRawMoment": (wide * wide).sum(axis=0) / n, "variance": var,
        "standardDeviation": np.sqrt(var), "variation": np.sqrt(var) / mean,
    }
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def covariance(X):
    X = np.asarray(X, dtype=np.float64)
    D, origin = _shifted(X)
    n, p = X.shape
    centred = D - D.mean(axis=0)
    cov = (centred.T @ centred) / (n - 1)
    std = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(std, std)
    return {"covariance": cov.astype(np.float64), "correlation": corr.astype(np.float64),
            "mean": (origin + D.mean(axis=0)).astype(np.float64)}
