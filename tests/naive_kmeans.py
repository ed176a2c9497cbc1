"""Plain numpy / Python references for kmeans_init and kmeans.

The initialisation references re-implement d4p's documented draws with numpy and
the standard library only, never d4p's kernels (the hash in numpy uint64
arithmetic, the races with ``math.log``, potentials with ``math.fsum``), so
comparing them exactly tests the kernels, the chunking, the shortcuts in the
races and the merge over ranks.  The squared distance of a row to a centre is
summed over the columns in order (:func:`sqdist`); d4p's kernel may add the
columns in vector lanes, which can change the last bit of a distance of more
than a few columns.  A draw decided by such a bit would need two races' keys, or
two trials' potentials, equal to rounding: the tests' data have none.

``lloyd`` follows oneDAL's batch Lloyd semantics (daal4py-api.md §12), with the
empty-cluster rule checked against daal4py 2026.2 (the same as scikit-learn's):
the farthest rows from their centroid move to the empty clusters and leave their
old cluster; a cluster left without rows takes the centre of the largest cluster;
nothing moves when every row sits on its centroid.
"""
import math

import numpy as np

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
TAG_RANDOM, TAG_PLUSPLUS, TAG_PARALLEL, TAG_TOPUP, TAG_REDUCE, TAG_FALLBACK = range(1, 7)


def mix64(z):
    """splitmix64's finaliser on Python ints or numpy uint64 arrays."""
    if isinstance(z, np.ndarray):
        with np.errstate(over="ignore"):
            z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
            return z ^ (z >> np.uint64(31))
    z &= M64
    z = ((z ^ (z >> 30)) * MIX1) & M64
    z = ((z ^ (z >> 27)) * MIX2) & M64
    return z ^ (z >> 31)


def stream_key(seed, tag, a, b):
    k = mix64(seed ^ mix64((tag * GOLDEN + 0x5851F42D4C957F2D) & M64))
    k = mix64(k ^ ((a * MIX1 + 0x14057B7EF767814F) & M64))
    return mix64(k ^ ((b * MIX2 + 0x2545F4914F6CDD1D) & M64))


def uniforms(key, n):
    g = np.arange(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = mix64(np.uint64(key) + (g + np.uint64(1)) * np.uint64(GOLDEN))
    return ((h >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0 ** -52


def sqdist(X, c):
    """|x - c|^2 per row from the differences, the columns added in order (exactly 0
    for a row equal to ``c``)."""
    X = np.asarray(X)
    c = np.asarray(c, dtype=np.float64)
    out = np.zeros(X.shape[0])
    for f in range(X.shape[1]):
        t = X[:, f].astype(np.float64) - c[f]
        out += t * t
    return out


def race(key, weights):
    """Index of the smallest -log(u)/w (ties: the first); None if every w is 0."""
    u = uniforms(key, len(weights))
    best, arg = math.inf, None
    for i, (ui, w) in enumerate(zip(u, weights)):
        if w > 0:
            k = -math.log(ui) / w
            if k < best:
                best, arg = k, i
    return arg


def draw(seed, tag, step, ntrials, weights, row_w=None):
    w = weights if row_w is None else weights * row_w
    picks = [race(stream_key(seed, tag, step, t), w) for t in range(ntrials)]
    if any(p is None for p in picks):
        fallback = np.ones(len(w)) if row_w is None else row_w
        picks = [race(stream_key(seed, TAG_FALLBACK, step, t), fallback) for t in range(ntrials)]
    return picks


def first_row(n, seed, tag, row_w=None):
    """The first centre: floor(u * n) for one uniform u, or a weighted draw."""
    if row_w is not None:
        return draw(seed, tag, 0, 1, np.ones(n), row_w)[0]
    u = uniforms(stream_key(seed, tag, 0, 0), 1)[0]
    return min(n - 1, int(u * n))


def deterministic(X, k):
    return np.asarray(X[:k], dtype=np.float64)


def random_rows(X, k, seed, row_w=None):
    u = uniforms(stream_key(seed, TAG_RANDOM, 0, 0), X.shape[0])
    if row_w is not None:  # weighted sampling without replacement
        with np.errstate(divide="ignore"):
            u = -np.log1p(-u) / row_w
    order = np.lexsort((np.arange(len(u)), u))[:k]
    return np.asarray(X[order], dtype=np.float64)


def plus_plus(X, k, ntrials=1, seed=777777, tag=TAG_PLUSPLUS, row_w=None):
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    mind = np.full(n, np.inf)
    centres = [X[first_row(n, seed, tag, row_w)]]
    for s in range(1, k):
        mind = np.minimum(mind, sqdist(X, centres[-1]))
        picks = draw(seed, tag, s, ntrials, mind, row_w)
        best = 0
        if ntrials > 1:
            pots = []
            for i in picks:
                v = np.minimum(mind, sqdist(X, X[i]))
                pots.append(math.fsum(v if row_w is None else v * row_w))
            best = int(np.argmin(pots))
        centres.append(X[picks[best]])
    return np.array(centres)


def parallel_plus(X, k, factor=0.5, rounds=5, seed=777777, row_w=None):
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    ell = factor * k
    mind = np.full(n, np.inf)
    nearest = np.zeros(n, dtype=np.int64)
    cands = [X[first_row(n, seed, TAG_PLUSPLUS, row_w)]]
    ones = np.ones(n) if row_w is None else row_w
    done = 0

    def fold(upto):
        nonlocal done
        for j in range(done, upto):
            d = sqdist(X, cands[j])
            better = d < mind
            mind[better] = d[better]
            nearest[better] = j
        done = upto

    for r in range(1, rounds + 1):
        fold(len(cands))
        phi = math.fsum(mind * ones)
        if not phi > 0:
            break
        u = uniforms(stream_key(seed, TAG_PARALLEL, r, 0), n)
        cands.extend(X[np.flatnonzero(u * phi < ell * (mind * ones))])
    fold(len(cands))
    step = 0
    while len(cands) < k:
        cands.append(X[draw(seed, TAG_TOPUP, step, 1, mind, row_w)[0]])
        fold(len(cands))
        step += 1
    weights = np.bincount(nearest, row_w, minlength=len(cands)).astype(np.float64)
    return plus_plus(np.array(cands), k, 2 + int(math.log(k)), seed, TAG_REDUCE, weights)


def lloyd(X, C, max_iter, threshold=0.0, row_w=None, report_ties=False):
    """oneDAL batch Lloyd: (centroids, labels, objective, iterations); with row
    weights, weighted means and objective.  With ``report_ties``, a fifth value
    says whether an empty cluster's choice of the farthest row was a near tie
    (equal distances in exact arithmetic, e.g. the two rows of a two-row cluster,
    which rounding may order either way)."""
    X = np.asarray(X, dtype=np.float64)
    C = np.array(C, dtype=np.float64)
    k = C.shape[0]
    w = np.ones(len(X)) if row_w is None else np.asarray(row_w, dtype=np.float64)
    it = 0
    tied = False
    for it in range(1, max_iter + 1):
        d = np.stack([sqdist(X, c) for c in C], axis=1)
        labels = d.argmin(axis=1)
        mind = d[np.arange(len(X)), labels]
        counts = np.bincount(labels, w, minlength=k)
        sums = np.array([(X[labels == j] * w[labels == j, None]).sum(axis=0) for j in range(k)])
        moved = {}
        empty = np.flatnonzero(counts == 0)
        if empty.size and mind.max() > 0:
            # the farthest rows (distance desc, index asc) leave their cluster
            order = np.lexsort((np.arange(len(X)), -mind))
            edge = mind[order[:len(empty) + 1]]
            tied |= bool(np.any(np.abs(np.diff(edge)) <= 1e-9 * np.abs(edge[:-1])))
            for j, i in zip(empty, order):
                sums[labels[i]] -= w[i] * X[i]
                counts[labels[i]] -= w[i]
                counts[j] = w[i]
                moved[j] = X[i]
        new = C.copy()
        for j in range(k):
            if j in moved:
                new[j] = moved[j]
            elif counts[j] > 0:
                new[j] = sums[j] / counts[j]
        # a cluster still without rows sits on the largest cluster's centre
        new[counts == 0] = new[np.argmax(counts)]
        shift = ((new - C) ** 2).sum()
        C = new
        if shift <= threshold:
            break
    d = np.stack([sqdist(X, c) for c in C], axis=1)
    labels = d.argmin(axis=1)
    result = C, labels, math.fsum(d[np.arange(len(X)), labels] * w), it
    return result + (tied,) if report_ties else result
