"""Numba kernels of brute-force k-nearest neighbours (used by d4p/neighbors.py).

A query's neighbours are kept in a max-heap of its k best (squared distance,
global row index) pairs, ordered lexicographically, so ties go to the lower
index.  Blocks of training rows are screened with the expanded form
``|q|² + |x|² - 2 q·x`` (the product comes from BLAS, in float32) and every row
that the rounding bound cannot exclude is re-checked with the exact float64 sum
of squared differences: the heap only ever holds exact values, so the neighbours
are exactly those of the exact distances whatever BLAS does.
"""
import numpy as np

from .jit import kernel

#: Padding of a heap that holds fewer than k rows: sorts after every real row.
NO_ROW = np.iinfo(np.int64).max


@kernel
def before(d1, i1, d2, i2):
    """(d1, i1) comes before (d2, i2): smaller distance, then lower index."""
    return d1 < d2 or (d1 == d2 and i1 < i2)


@kernel
def sift_down(hd, hi, k):
    """Restore the max-heap below the root of one query's heap."""
    pos = 0
    while True:
        left = 2 * pos + 1
        if left >= k:
            return
        big = left
        right = left + 1
        if right < k and before(hd[left], hi[left], hd[right], hi[right]):
            big = right
        if before(hd[big], hi[big], hd[pos], hi[pos]):
            return
        hd[pos], hd[big] = hd[big], hd[pos]
        hi[pos], hi[big] = hi[big], hi[pos]
        pos = big


@kernel
def fold_block(gram, gscale, qn, xn, Q, X, first, slack, floor, heap_d, heap_i):
    """Fold one block of training rows into the queries' heaps.

    Parameters
    ----------
    gram : (m, b) float32 or float64, ``gscale * gram[i, j]`` approximates ``Q[i] . X[j]``
    gscale : float
    qn, xn : (m,), (b,) float64, squared row norms of Q and X
    Q, X : (m, p), (b, p) float64, the queries and the training rows
    first : int, global index of ``X[0]``
    slack, floor : float, the rounding bound of the screened value: the exact squared
        distance is within ``slack * (qn[i] + xn[j]) + floor`` of
        ``qn[i] + xn[j] - 2 gscale gram[i, j]``
    heap_d, heap_i : (m, k) float64 / int64, max-heaps (root = worst kept row),
        updated in place

    Returns
    -------
    int, the number of exact re-checks (for tests and tuning)
    """
    m, b = gram.shape
    p = Q.shape[1]
    k = heap_d.shape[1]
    keep = 1.0 - slack
    xs = np.empty(b)
    for j in range(b):
        xs[j] = keep * xn[j]
    c = -2.0 * gscale
    checks = 0
    for i in range(m):
        hd = heap_d[i]
        hi = heap_i[i]
        qi = keep * qn[i] - floor
        # skip row j when its screened lower bound exceeds the worst kept distance
        limit = hd[0] - qi
        for j in range(b):
            if xs[j] + c * gram[i, j] > limit:
                continue
            exact = 0.0
            for col in range(p):
                t = Q[i, col] - X[j, col]
                exact += t * t
            checks += 1
            idx = first + j
            if before(exact, idx, hd[0], hi[0]):
                hd[0] = exact
                hi[0] = idx
                sift_down(hd, hi, k)
                limit = hd[0] - qi
    return checks


@kernel
def sort_heaps(heap_d, heap_i):
    """Sort each query's heap into ascending (distance, index) order, in place."""
    m, k = heap_d.shape
    for i in range(m):
        hd = heap_d[i]
        hi = heap_i[i]
        for a in range(1, k):
            d, x = hd[a], hi[a]
            b = a - 1
            while b >= 0 and before(d, x, hd[b], hi[b]):
                hd[b + 1] = hd[b]
                hi[b + 1] = hi[b]
                b -= 1
            hd[b + 1] = d
            hi[b + 1] = x


@kernel
def merge_sorted(dists, idx, k):
    """Positions of the k best (distance, index) candidates of each row.

    ``dists`` and ``idx`` are (m, s·k): s lists of k candidates, each sorted
    ascending; the result (m, k) int64 holds column positions in ascending order.
    """
    m, total = dists.shape
    s = total // k
    out = np.empty((m, k), dtype=np.int64)
    heads = np.empty(s, dtype=np.int64)
    for i in range(m):
        for r in range(s):
            heads[r] = r * k
        for slot in range(k):
            best = -1
            for r in range(s):
                h = heads[r]
                if h < (r + 1) * k and (best < 0 or before(dists[i, h], idx[i, h],
                                                             dists[i, best], idx[i, best])):
                    best = h
            out[i, slot] = best
            heads[best // k] += 1
    return out


@kernel
def first_bad_label(y, n_classes):
    """Index of the first label that is not an integer in 0..n_classes-1, or -1."""
    for i in range(y.shape[0]):
        v = y[i]
        if not (v >= 0 and v <= n_classes - 1 and v == np.floor(v)):
            return i
    return -1
