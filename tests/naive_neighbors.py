"""References for brute-force kNN: scikit-learn, and a plain numpy one with exact ties.

scikit-learn's brute force (``ArgKmin``) orders neighbours by distances from the
expanded form ``|q|² + |x|² - 2 q·x`` and sorts them with an unstable sort, so
its order among equal distances is not by training row.  On data without ties
d4p must equal it; ``exact_neighbors`` is the reference where ties matter:
squared differences summed exactly for every pair, ties broken by the lower row.
``metric_neighbors`` is the same for the other metrics, written from their
definitions (scikit-learn's for cosine, zero rows included).
"""
import numpy as np
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

WEIGHTS = {"voteUniform": "uniform", "voteDistance": "distance"}


def sklearn_classifier(X, y, k, vote="voteUniform"):
    return KNeighborsClassifier(k, algorithm="brute", weights=WEIGHTS[vote]).fit(X, y)


def sklearn_regressor(X, y, k, vote="voteUniform"):
    return KNeighborsRegressor(k, algorithm="brute", weights=WEIGHTS[vote]).fit(X, y)


def exact_neighbors(X, Q, k):
    """(distances, indices) of the k nearest rows of X for each row of Q: squared
    differences summed for every pair, ordered by (distance, row)."""
    return metric_neighbors(X, Q, k, "euclidean")


def weights_of(dist, vote):
    """scikit-learn's weights: 1/d, or the zero-distance neighbours alone."""
    if vote == "voteUniform":
        return np.ones_like(dist)
    w = np.empty_like(dist)
    for i, d in enumerate(dist):
        w[i] = (d == 0).astype(float) if (d == 0).any() else 1.0 / d
    return w


def vote(labels_of_neighbours, dist, n_classes, vote_weights="voteUniform"):
    """The class with the largest (weighted) vote, the smallest label on a tie."""
    w = weights_of(dist, vote_weights)
    out = np.empty(labels_of_neighbours.shape[0])
    for i, (labels, wi) in enumerate(zip(labels_of_neighbours, w)):
        scores = np.zeros(n_classes)
        for c, v in zip(labels, wi):
            scores[int(c)] += v
        out[i] = int(np.flatnonzero(scores == scores.max())[0])
    return out


def mean_of(responses_of_neighbours, dist, vote_weights="voteUniform"):
    """(weighted) mean of the neighbours' responses, (n, k, r) -> (n, r)."""
    w = weights_of(dist, vote_weights)
    return (responses_of_neighbours * w[:, :, None]).sum(axis=1) / w.sum(axis=1)[:, None]


def reduced_metric(X, q, metric, p=None):
    """The value d4p orders by, from the definitions: sum |x - q|^p for Minkowski, the
    distance itself for the others."""
    diff = np.abs(X - q)
    if metric == "manhattan":
        return diff.sum(axis=1)
    if metric == "chebyshev":
        return diff.max(axis=1)
    if metric == "minkowski":
        return (diff ** p).sum(axis=1)
    if metric == "euclidean":
        return (diff ** 2).sum(axis=1)
    assert metric == "cosine"
    nx, nq = np.linalg.norm(X, axis=1), np.linalg.norm(q)
    unit = X / np.where(nx == 0, 1.0, nx)[:, None]
    uq = q / (nq if nq else 1.0)
    dots = []
    for u in unit:  # summed column by column: equal rows give equal values
        s = 0.0
        for a, b in zip(u, uq):
            s += a * b
        dots.append(s)
    return np.clip(1.0 - np.array(dots), 0.0, 2.0)


def metric_neighbors(X, Q, k, metric, p=None):
    """(distances, indices) of the k nearest rows of X for each row of Q under
    ``metric``, ordered by (distance, row)."""
    X = np.asarray(X, dtype=np.float64)
    Q = np.asarray(Q, dtype=np.float64)
    dist = np.empty((Q.shape[0], k))
    idx = np.empty((Q.shape[0], k), dtype=np.int64)
    rows = np.arange(X.shape[0])
    for i, q in enumerate(Q):
        r = reduced_metric(X, q, metric, p)
        order = np.lexsort((rows, r))[:k]
        idx[i] = order
        dist[i] = {"minkowski": lambda v: v ** (1.0 / p), "euclidean": np.sqrt}.get(
            metric, lambda v: v)(r[order])
    return dist, idx
