"""Reference DBSCAN in plain numpy: all pairwise distances, then scikit-learn's walk.

O(n^2) memory, for small test data only.  Distances are summed column by column
as ``(x_j - y_j)**2`` in float64 (the order scikit-learn's trees use), and the walk
is the one of sklearn/cluster/_dbscan_inner.pyx: points in index order, a new
cluster at each unlabelled core point, expanded depth-first before the next one
starts, so a border point takes the first cluster that reaches it.
"""
import numpy as np


def neighbourhoods(X, eps):
    X = np.asarray(X, dtype=np.float64)
    d2 = np.zeros((X.shape[0], X.shape[0]))
    for j in range(X.shape[1]):
        d2 += (X[:, None, j] - X[None, :, j]) ** 2
    return [np.flatnonzero(row <= eps * eps) for row in d2]


def dbscan(X, eps, min_samples, sample_weight=None):
    """(labels, core mask) as scikit-learn's DBSCAN would give them."""
    hoods = neighbourhoods(X, eps)
    n = len(hoods)
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    core = np.array([w[h].sum() >= min_samples for h in hoods], dtype=bool)
    labels = np.full(n, -1)
    cluster = 0
    for seed in range(n):
        if labels[seed] != -1 or not core[seed]:
            continue
        stack = [seed]
        while stack:
            i = stack.pop()
            if labels[i] != -1:
                continue
            labels[i] = cluster
            if core[i]:
                stack.extend(v for v in hoods[i] if labels[v] == -1)
        cluster += 1
    return labels, core
